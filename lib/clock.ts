/**
 * Time as the domain engines (IVR, ACD, KPI, SIP timers) see it. Engines never call Date.now()
 * or setTimeout directly: they are handed a Clock, so tests drive them with a FakeClock and
 * simulations can run a day of traffic in milliseconds.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque timer handle; only the clock that issued it may clear it. */
export interface TimerHandle {
  readonly id: number;
}

class RealTimer implements TimerHandle {
  constructor(
    readonly id: number,
    readonly inner: NodeJS.Timeout,
  ) {}
}

export class SystemClock implements Clock {
  private seq = 0;
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return new RealTimer(++this.seq, setTimeout(fn, ms));
  }
  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof RealTimer) clearTimeout(handle.inner);
  }
}

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * Deterministic clock for tests and simulations. Timers fire in (due time, creation order) when
 * the test advances time; a timer scheduled by a firing timer fires in the same advance if due.
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    const p = { id, at: this.t + Math.max(0, ms), fn };
    // Keep sorted by (at, id): binary search for the insert point.
    let lo = 0;
    let hi = this.pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.pending[mid]!;
      if (m.at < p.at || (m.at === p.at && m.id < p.id)) lo = mid + 1;
      else hi = mid;
    }
    this.pending.splice(lo, 0, p);
    return { id };
  }
  clearTimeout(handle: TimerHandle): void {
    const i = this.pending.findIndex((p) => p.id === handle.id);
    if (i >= 0) this.pending.splice(i, 1);
  }
  /** Move time forward by ms, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }
  advanceTo(target: number): void {
    for (;;) {
      const next = this.pending[0];
      if (!next || next.at > target) break;
      this.pending.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = Math.max(this.t, target);
  }
  /** Time of the next pending timer, or undefined. */
  nextAt(): number | undefined {
    return this.pending[0]?.at;
  }
  get pendingCount(): number {
    return this.pending.length;
  }
}
