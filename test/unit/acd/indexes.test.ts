/**
 * The ACD's two hot-path indexes on their own, after their allocation-free rewrite: available
 * agents (intrusive lines per skill and level) and a queue's order (arrays shifted by hand).
 * Expected answers are worked out by hand from the insertion orders below.
 */
import { describe, expect, it } from 'vitest';
import { AvailableAgents, type RoutableAgent } from '../../../server/acd/available-agents.ts';
import { QueueOrder } from '../../../server/acd/queue-order.ts';

function ag(ord: number, skills: Record<string, number>, idleSince = ord): RoutableAgent {
  return { ord, skills: new Map(Object.entries(skills)), idleSince, occupiedMs: 0 };
}

describe('AvailableAgents', () => {
  it('keeps each level in the order agents became available across remove and re-add', () => {
    const idx = new AvailableAgents<RoutableAgent>();
    const a = ag(0, { s: 3 }, 10);
    const b = ag(1, { s: 3 }, 20);
    const c = ag(2, { s: 3 }, 30);
    idx.add(a);
    idx.add(b);
    idx.add(c);
    expect(idx.select([[{ skill: 's', minLevel: 1 }]], 'longest-idle')).toEqual([a]);
    // a leaves (offered) and comes back later: now the last of the line; b is next.
    idx.remove(a);
    expect(idx.has(a)).toBe(false);
    expect(idx.count('s')).toBe(2);
    a.idleSince = 40;
    idx.add(a);
    idx.add(a); // twice is once
    expect(idx.count('s')).toBe(3);
    expect(idx.select([[{ skill: 's', minLevel: 1 }]], 'longest-idle')).toEqual([b]);
    // Removing the middle and the tail leaves the line linked: b, then a.
    idx.remove(c);
    idx.remove(c); // twice is once
    expect(idx.count('s')).toBe(2);
    idx.remove(b);
    expect(idx.select([[{ skill: 's', minLevel: 1 }]], 'longest-idle')).toEqual([a]);
    idx.remove(a);
    expect(idx.count('s')).toBe(0);
    expect(idx.select([[{ skill: 's', minLevel: 1 }]], 'longest-idle')).toEqual([]);
    // An emptied line takes agents again.
    idx.add(c);
    expect(idx.select([[{ skill: 's', minLevel: 1 }]], 'ring-all', -1, 5)).toEqual([c]);
  });

  it('counts and selects by level, and follows an agent whose skills map was replaced', () => {
    const idx = new AvailableAgents<RoutableAgent>();
    const low = ag(0, { s: 2, t: 9 }, 1);
    const high = ag(1, { s: 8 }, 2);
    idx.add(low);
    idx.add(high);
    expect(idx.count('s', 1)).toBe(2);
    expect(idx.count('s', 5)).toBe(1);
    expect(idx.count('t')).toBe(1);
    expect(idx.select([[{ skill: 's', minLevel: 1 }]], 'highest-skill')).toEqual([high]);
    expect(idx.select([[{ skill: 's', minLevel: 5 }]], 'longest-idle')).toEqual([high]);
    expect(
      idx.select(
        [
          [
            { skill: 's', minLevel: 1 },
            { skill: 't', minLevel: 5 },
          ],
        ],
        'least-occupied',
      ),
    ).toEqual([low]);
    // Skills change the way the engine does it: out of the index, new map, back in.
    idx.remove(low);
    low.skills = new Map([['s', 10]]);
    idx.add(low);
    expect(idx.count('t')).toBe(0);
    expect(idx.count('s', 9)).toBe(1);
    expect(idx.select([[{ skill: 's', minLevel: 1 }]], 'highest-skill')).toEqual([low]);
    // Round-robin after ord 0 takes ord 1, after ord 1 wraps to ord 0.
    expect(idx.select([[{ skill: 's', minLevel: 1 }]], 'round-robin', 0)).toEqual([high]);
    expect(idx.select([[{ skill: 's', minLevel: 1 }]], 'round-robin', 1)).toEqual([low]);
  });
});

describe('QueueOrder', () => {
  const item = (priority: number, arrivedAt: number, seq: number) => ({ priority, arrivedAt, seq });

  it('inserts in the middle, removes from anywhere, and tells positions', () => {
    const o = new QueueOrder<ReturnType<typeof item>>();
    const x1 = item(0, 100, 1);
    const x3 = item(0, 300, 3);
    const x2 = item(0, 200, 2); // resumed place: goes between x1 and x3
    const x0 = item(0, 50, 4); // an older arrival: goes first
    const vip = item(5, 400, 5);
    for (const x of [x1, x3, x2, x0, vip]) o.insert(x);
    expect([...o.values()]).toEqual([vip, x0, x1, x2, x3]);
    expect([x0, x1, x2, x3, vip].map((x) => o.position(x))).toEqual([2, 3, 4, 5, 1]);
    expect(o.remove(x1)).toBe(true);
    expect(o.remove(x1)).toBe(false);
    expect([...o.values()]).toEqual([vip, x0, x2, x3]);
    expect(o.remove(x3)).toBe(true);
    expect(o.remove(x0)).toBe(true);
    expect([...o.values()]).toEqual([vip, x2]);
    expect(o.size).toBe(2);
    expect(o.oldest()).toBe(x2);
  });
});
