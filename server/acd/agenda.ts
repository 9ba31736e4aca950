/**
 * The engine's own timers (offer timeouts, wrap-up, escalation, max wait, announcements, back-off)
 * kept in one heap and served by a single clock timer armed for the earliest. Tens of thousands of
 * waiting calls each with several deadlines would otherwise mean tens of thousands of clock timers;
 * cancelling here is O(1) (the entry is skipped when it surfaces).
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { IndexedHeap } from './heap.ts';

export interface Deadline {
  readonly at: number;
  cancelled: boolean;
}

interface Entry extends Deadline {
  seq: number;
  fn: () => void;
  heapIndex: number;
}

export class Agenda {
  private readonly heap = new IndexedHeap<Entry>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  private seq = 0;
  private armed: { handle: TimerHandle; at: number } | undefined;

  /** `run` wraps every firing (the engine uses it to batch its events). */
  constructor(
    private readonly clock: Clock,
    private readonly run: (fn: () => void) => void,
  ) {}

  at(at: number, fn: () => void): Deadline {
    const e: Entry = { at, seq: ++this.seq, fn, cancelled: false, heapIndex: -1 };
    this.heap.push(e);
    if (!this.armed || at < this.armed.at) this.arm();
    return e;
  }

  after(ms: number, fn: () => void): Deadline {
    return this.at(this.clock.now() + ms, fn);
  }

  cancel(d: Deadline | undefined): void {
    if (!d || d.cancelled) return;
    d.cancelled = true;
    this.heap.remove(d as Entry);
  }

  /** Stop the clock timer; pending deadlines are dropped. */
  dispose(): void {
    if (this.armed) this.clock.clearTimeout(this.armed.handle);
    this.armed = undefined;
    while (this.heap.pop());
  }

  private arm(): void {
    if (this.armed) this.clock.clearTimeout(this.armed.handle);
    this.armed = undefined;
    const next = this.heap.peek();
    if (!next) return;
    const at = next.at;
    const handle = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
    this.armed = { handle, at };
  }

  private fire(): void {
    this.armed = undefined;
    const now = this.clock.now();
    for (;;) {
      const next = this.heap.peek();
      if (!next || next.at > now) break;
      this.heap.pop();
      if (next.cancelled) continue;
      next.cancelled = true;
      this.run(next.fn);
    }
    // Always re-arm: a firing may have scheduled or cancelled the entry the old timer was for.
    this.arm();
  }
}
