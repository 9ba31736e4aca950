/**
 * The same figures wherever they appear: on a synthetic day of 3 000 calls, additive figures add up
 * across intervals, queues add up to the centre, agents add up to the queues, and the per-call
 * drill-down adds up to the report.
 */
import { describe, expect, it } from 'vitest';
import { callDetails, computeReport, type KpiRow } from '../../../server/kpi/report.ts';
import { syntheticDay } from './syntheticDay.ts';

const day0 = Date.UTC(2026, 0, 5);
const range = { from: day0, to: day0 + 86_400_000 };
const events = syntheticDay({ calls: 3_000, agents: 40, day: day0 });
const ADDITIVE = [
  'offered',
  'answered',
  'abandoned',
  'shortAbandoned',
  'exited',
  'handled',
  'transferred',
  'rona',
  'rejected',
  'csatAnswers',
  'fcrEligible',
  'fcrResolved',
] as const;
const SECONDS = ['talkSec', 'holdSec', 'acwSec'] as const;

function sum(rows: KpiRow[], k: keyof KpiRow): number {
  return rows.reduce((s, r) => s + ((r[k] as number | null) ?? 0), 0);
}
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(0.0015 * Math.max(1, a / 1000));

describe('reconciliation on a synthetic day', () => {
  const centreDay = computeReport(events, { ...range, interval: 'range', dimension: 'centre' }).rows[0]!;
  it('has traffic of every kind', () => {
    expect(centreDay.offered).toBeGreaterThan(2_500);
    for (const k of ['abandoned', 'rona', 'csatAnswers', 'holdSec', 'wrapupsExtended'] as const) expect(centreDay[k]).toBeGreaterThan(0);
  });

  it('15-minute intervals add up to the day', () => {
    const rows = computeReport(events, { ...range, interval: '15m', dimension: 'centre' }).rows;
    expect(rows).toHaveLength(96);
    for (const k of ADDITIVE) expect(sum(rows, k), k).toBe(centreDay[k]);
    for (const k of SECONDS) close(sum(rows, k), centreDay[k]);
    expect(sum(rows, 'contactsOffered')).toBe(centreDay.contactsOffered);
    close(sum(rows, 'loggedInSec'), centreDay.loggedInSec!);
    expect(Math.max(...rows.map((r) => r.longestWaitSec ?? 0))).toBe(centreDay.longestWaitSec);
  });

  it('queues and skill groups add up to the centre; agents add up to what queues answered', () => {
    for (const dimension of ['queue', 'skillGroup'] as const) {
      const rows = computeReport(events, { ...range, interval: 'range', dimension }).rows;
      for (const k of ADDITIVE) expect(sum(rows, k), `${dimension}.${k}`).toBe(centreDay[k]);
      const slMet = rows.reduce((s, r) => s + r.serviceLevels![0]!.met, 0);
      expect(slMet).toBe(centreDay.serviceLevels![0]!.met);
    }
    const agents = computeReport(events, { ...range, interval: 'range', dimension: 'agent' }).rows;
    for (const k of ['answered', 'handled', 'rona', 'transferred', 'csatAnswers'] as const) expect(sum(agents, k), k).toBe(centreDay[k]);
    close(sum(agents, 'talkSec'), centreDay.talkSec);
    close(sum(agents, 'loggedInSec'), centreDay.loggedInSec!);
  });

  it('the per-call drill-down adds up to the report', () => {
    const d = callDetails(events, range);
    expect(d).toHaveLength(centreDay.offered!);
    expect(d.filter((x) => x.outcome === 'answered')).toHaveLength(centreDay.answered);
    expect(d.filter((x) => x.shortAbandon)).toHaveLength(centreDay.shortAbandoned!);
    expect(d.filter((x) => x.serviceLevelMet[1]!.met === true)).toHaveLength(centreDay.serviceLevels![1]!.met);
    close(
      d.reduce((s, x) => s + (x.handled ? x.talkSec : 0), 0),
      centreDay.talkSec,
    );
  });
});
