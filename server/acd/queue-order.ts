/**
 * The order callers stand in within one queue, for telling them their position: caller priority
 * first (higher ahead), then arrival. Kept as one arrival-sorted array per priority, so a position
 * costs a binary search and a sum over the few priorities in use, and the usual insert (a new
 * arrival) is an append.
 */
export interface Ordered {
  priority: number;
  arrivedAt: number;
  seq: number;
}

function earlier(a: Ordered, b: Ordered): boolean {
  return a.arrivedAt < b.arrivedAt || (a.arrivedAt === b.arrivedAt && a.seq < b.seq);
}

export class QueueOrder<T extends Ordered> {
  private readonly byPriority = new Map<number, T[]>();
  private priorities: number[] = [];
  private n = 0;

  get size(): number {
    return this.n;
  }

  insert(item: T): void {
    let list = this.byPriority.get(item.priority);
    if (!list) {
      list = [];
      this.byPriority.set(item.priority, list);
      this.priorities = [...this.byPriority.keys()].sort((a, b) => b - a);
    }
    const i = this.lowerBound(list, item);
    // By hand, not splice(): splice returns a new array (of what it removed) on every call.
    list.push(item);
    for (let j = list.length - 1; j > i; j--) list[j] = list[j - 1]!;
    list[i] = item;
    this.n++;
  }

  remove(item: T): boolean {
    const list = this.byPriority.get(item.priority);
    if (!list) return false;
    const i = this.lowerBound(list, item);
    if (list[i] !== item) return false;
    for (let j = i; j < list.length - 1; j++) list[j] = list[j + 1]!;
    list.pop();
    this.n--;
    return true;
  }

  /** 1-based position: everyone of higher priority, plus those of equal priority who came earlier. */
  position(item: T): number {
    let ahead = 0;
    for (const p of this.priorities) {
      const list = this.byPriority.get(p)!;
      if (p > item.priority) ahead += list.length;
      else if (p === item.priority) ahead += this.lowerBound(list, item);
    }
    return ahead + 1;
  }

  /** Everyone in order (priority, then arrival). */
  *values(): IterableIterator<T> {
    for (const p of this.priorities) yield* this.byPriority.get(p)!;
  }

  /** Longest-waiting arrival among all priorities. */
  oldest(): T | undefined {
    let best: T | undefined;
    for (const list of this.byPriority.values()) {
      const f = list[0];
      if (f && (!best || earlier(f, best))) best = f;
    }
    return best;
  }

  private lowerBound(list: T[], item: Ordered): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (earlier(list[mid]!, item)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
