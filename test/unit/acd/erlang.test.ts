import { describe, expect, it } from 'vitest';
import { agentsForServiceLevel, averageSpeedOfAnswer, erlangB, erlangC, serviceLevel } from '../../../server/acd/erlang.ts';

/** Erlang C straight from its textbook sum (fine for small N), to check the recursion. */
function erlangCDirect(n: number, a: number): number {
  let fact = 1;
  let sum = 0;
  for (let k = 0; k < n; k++) {
    if (k > 0) fact *= k;
    sum += a ** k / fact;
  }
  const top = (a ** n / (fact * n)) * (n / (n - a));
  return top / (sum + top);
}

describe('Erlang', () => {
  it('matches hand-computed values', () => {
    // N=2, A=1: C = (1/2 · 2) / (1 + 1 + 1) = 1/3; B = (1/2) / (1 + 1 + 1/2) = 0.2.
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
    expect(erlangB(2, 1)).toBeCloseTo(0.2, 12);
    expect(erlangB(0, 5)).toBe(1);
  });

  it('agrees with the direct formula', () => {
    for (const [n, a] of [
      [5, 3.5],
      [10, 8],
      [20, 17],
      [30, 12.25],
    ] as const) {
      expect(erlangC(n, a)).toBeCloseTo(erlangCDirect(n, a), 10);
    }
  });

  it('service level, ASA and staffing: the textbook case', () => {
    // 100 calls per 30 min, AHT 180 s -> 10 Erlangs. With 11 agents: Pw = 0.6821, ASA = 122.8 s,
    // SL(20 s) = 39.0 % (the worked example in most WFM primers).
    const a = (200 * 180) / 3600;
    expect(a).toBe(10);
    expect(erlangC(11, a)).toBeCloseTo(0.6821, 4);
    expect(averageSpeedOfAnswer(11, a, 180)).toBeCloseTo(122.8, 1);
    expect(serviceLevel(11, a, 180, 20)).toBeCloseTo(0.3896, 4);
    // 13 agents give 79.6 %, so 80/20 takes 14.
    expect(serviceLevel(13, a, 180, 20)).toBeLessThan(0.8);
    expect(agentsForServiceLevel(a, 180, 20, 0.8)).toBe(14);
    expect(averageSpeedOfAnswer(10, a, 180)).toBe(Infinity);
    expect(erlangC(10, a)).toBe(1);
  });

  it('stays finite for large teams', () => {
    const c = erlangC(2000, 1950);
    expect(c).toBeGreaterThan(0);
    expect(c).toBeLessThan(1);
    expect(() => erlangB(-1, 1)).toThrow(RangeError);
  });
});
