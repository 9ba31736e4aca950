/**
 * When to look at the work orders again: one timer on the injected clock, set to the earliest
 * escalation due (as the store reports it), never sleeping longer than `maxSleepMs` so a change
 * made by another process is seen. `poke()` after any change re-reads at once. Runs are never
 * concurrent: a poke during a run schedules one more run after it.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';

export class EscalationTimer {
  private handle: TimerHandle | undefined;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    /** Fires what is due; returns the next due time (epoch ms) or undefined. */
    private readonly run: () => Promise<number | undefined>,
    private readonly maxSleepMs = 30_000,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.handle) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.running = true;
    void this.run()
      .catch((e: unknown) => {
        this.onError(e);
        return undefined;
      })
      .then((next) => {
        this.running = false;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.poke();
          return;
        }
        const now = this.clock.now();
        const wait = next === undefined ? this.maxSleepMs : Math.min(this.maxSleepMs, Math.max(0, next - now));
        this.handle = this.clock.setTimeout(() => {
          this.handle = undefined;
          this.poke();
        }, wait);
      });
  }

  stop(): void {
    this.stopped = true;
    if (this.handle) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }
}
