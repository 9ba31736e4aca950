import { describe, expect, it } from 'vitest';
import { erlangA, erlangC, serviceLevel, averageSpeedOfAnswer } from '../../../server/planning/erlang.ts';

/**
 * Erlang C: the worked example of the Call Centre Helper primer "Erlang C formula – made simple"
 * (100 calls in 30 minutes, AHT 180 s -> 10 Erlangs, target 80 % in 20 s; rows for 11..15 agents),
 * recomputed independently with Python's decimal module (50 digits) by the textbook direct sum.
 */
const ERLANG_C_TABLE: [agents: number, pWait: number, sl20: number, asa: number][] = [
  [11, 0.682118, 0.389614, 122.7813],
  [12, 0.449388, 0.640158, 40.4449],
  [13, 0.28527, 0.795595, 17.1162],
  [14, 0.174132, 0.88835, 7.8359],
  [15, 0.102042, 0.941453, 3.6735],
];

/**
 * Erlang A (M/M/N+M), λ = 100 calls / 30 min, AHT 180 s, mean patience 120 s, T = 20 s.
 * P(wait) and P(abandon): Mandelbaum & Zeltyn's closed forms ("The M/M/n+G queue: summary of
 * performance measures"), evaluated with scipy's incomplete gamma. SL and ASA of answered: an
 * independent seeded event simulation of M/M/N+M in Python, 2 000 000 calls (standard error about
 * 0.0004 on SL, so compared to ±0.004). The script is in the commit message of this test.
 */
const ERLANG_A_TABLE: [agents: number, pWait: number, pAbandon: number, slAll: number, slIgnored: number, asa: number][] = [
  [8, 0.722626, 0.257982, 0.4033, 0.4486, 29.2653],
  [10, 0.496853, 0.137464, 0.6396, 0.6841, 14.5722],
  [11, 0.382816, 0.094155, 0.7418, 0.7796, 9.8124],
  [12, 0.279807, 0.061597, 0.8257, 0.8546, 6.3419],
];

describe('Erlang C against the published worked example', () => {
  it.each(ERLANG_C_TABLE)('%i agents: P(wait), SL(20 s), ASA', (n, pw, sl, asa) => {
    expect(erlangC(n, 10)).toBeCloseTo(pw, 6);
    expect(serviceLevel(n, 10, 180, 20)).toBeCloseTo(sl, 6);
    expect(averageSpeedOfAnswer(n, 10, 180)).toBeCloseTo(asa, 3);
  });
});

describe('Erlang A', () => {
  it.each(ERLANG_A_TABLE)('%i agents against closed forms and an independent simulation', (n, pw, pab, slAll, sl, asa) => {
    const r = erlangA(n, 100 / 1800, 180, 120, 20);
    expect(r.pWait).toBeCloseTo(pw, 6);
    expect(r.pAbandon).toBeCloseTo(pab, 6);
    expect(Math.abs(r.serviceLevelAll - slAll)).toBeLessThan(0.004);
    expect(Math.abs(r.serviceLevel - sl)).toBeLessThan(0.004);
    expect(Math.abs(r.asaSec - asa) / asa).toBeLessThan(0.01);
    // Little: mean wait of everyone = P(abandon) / θ (each waiting caller abandons at rate θ).
    expect(r.meanWaitSec).toBeCloseTo(pab * 120, 3);
    expect(r.occupancy).toBeCloseTo((10 * (1 - r.pAbandon)) / n, 9);
  });

  it('tends to Erlang C as patience grows', () => {
    const r = erlangA(13, 100 / 1800, 180, 1e9, 20);
    expect(r.pWait).toBeCloseTo(erlangC(13, 10), 5);
    expect(r.serviceLevelAll).toBeCloseTo(serviceLevel(13, 10, 180, 20), 5);
    expect(r.asaSec).toBeCloseTo(averageSpeedOfAnswer(13, 10, 180), 2);
    expect(r.pAbandon).toBeLessThan(1e-6);
  });

  it('stays finite when overloaded (abandons drain the queue) and with no traffic', () => {
    const r = erlangA(5, 100 / 1800, 180, 60, 20);
    expect(r.pAbandon).toBeGreaterThan(0.4);
    expect(r.occupancy).toBeLessThanOrEqual(1);
    expect(r.serviceLevel).toBeGreaterThanOrEqual(0);
    expect(erlangA(3, 0, 180, 60, 20)).toMatchObject({ pWait: 0, serviceLevel: 1, occupancy: 0 });
    expect(() => erlangA(-1, 1, 180, 60, 20)).toThrow(RangeError);
  });

  it('is quick for a large centre', () => {
    const t0 = performance.now();
    const r = erlangA(1050, 1000 / 180, 180, 120, 20); // 1000 Erlangs
    expect(r.serviceLevel).toBeGreaterThan(0.8);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});
