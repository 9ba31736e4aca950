/**
 * Live figures a queue keeps about itself: the service level over a sliding window (visible to
 * surge rules) and recent handle times (behind the estimated wait time).
 */

/**
 * How one caller's wait ended, as the service level counts it:
 * - 'met': answered within the threshold;  'late': answered after it;
 * - 'abandoned': hung up after the threshold (counts against the level);
 * - 'short-abandon': hung up within the threshold (left out, as most centres do);
 * - 'timeout': sent out by maxWait or leave-when-empty (counts against).
 */
export type SlOutcome = 'met' | 'late' | 'abandoned' | 'short-abandon' | 'timeout';

/**
 * Service level = met / (met + late + abandoned + timeout) over the last `windowMs`.
 */
export class ServiceLevelWindow {
  private readonly at: number[] = [];
  private readonly kind: SlOutcome[] = [];
  private head = 0;
  private met = 0;
  private counted = 0;
  private answered = 0;
  private abandons = 0;

  constructor(private readonly windowMs: number) {}

  record(at: number, outcome: SlOutcome): void {
    this.at.push(at);
    this.kind.push(outcome);
    this.apply(outcome, 1);
  }

  /** null when no caller in the window counts. */
  value(now: number): number | null {
    this.expire(now);
    return this.counted === 0 ? null : this.met / this.counted;
  }

  counts(now: number): { answered: number; abandoned: number; met: number; counted: number } {
    this.expire(now);
    return { answered: this.answered, abandoned: this.abandons, met: this.met, counted: this.counted };
  }

  private apply(o: SlOutcome, d: 1 | -1): void {
    if (o === 'met') this.met += d;
    if (o !== 'short-abandon') this.counted += d;
    if (o === 'met' || o === 'late') this.answered += d;
    if (o === 'abandoned' || o === 'short-abandon') this.abandons += d;
  }

  private expire(now: number): void {
    const from = now - this.windowMs;
    while (this.head < this.at.length && this.at[this.head]! < from) {
      this.apply(this.kind[this.head]!, -1);
      this.head++;
    }
    // Compact now and then so the arrays do not grow for ever.
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      this.at.splice(0, this.head);
      this.kind.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** Mean of the last `size` handle times (talk + wrap-up), with a prior until the first one. */
export class HandleTimes {
  private readonly ring: number[] = [];
  private next = 0;
  private sum = 0;

  constructor(
    private readonly size: number,
    private readonly priorMs: number,
  ) {}

  record(ms: number): void {
    if (this.ring.length < this.size) {
      this.ring.push(ms);
    } else {
      this.sum -= this.ring[this.next]!;
      this.ring[this.next] = ms;
      this.next = (this.next + 1) % this.size;
    }
    this.sum += ms;
  }

  meanMs(): number {
    return this.ring.length === 0 ? this.priorMs : this.sum / this.ring.length;
  }
}

/**
 * Estimated wait for the caller at `position` when `serving` agents staff the queue: the wait for
 * `position` agents to come free. With exponential handle times each of the `serving` busy agents
 * frees up at rate 1/AHT, so departures come at rate serving/AHT and the position-th one is due
 * after position x AHT / serving. null when nobody serves the queue.
 */
export function estimatedWaitSeconds(position: number, serving: number, ahtMs: number): number | null {
  if (serving <= 0) return null;
  return Math.round((position * ahtMs) / serving / 1000);
}
