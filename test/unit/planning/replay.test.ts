import { describe, expect, it } from 'vitest';
import { AgentSchema, QueueSchema } from '../../../server/acd/config.ts';
import { computeReport } from '../../../server/kpi/report.ts';
import { exponential, mulberry32 } from '../../../server/acd/simulation.ts';
import { dayFromEvents, replay, type ReplayCall, type ReplayConfig, type ReplayDay } from '../../../server/planning/replay.ts';
import { drill, volumeAlertTimeline } from '../../../server/planning/drill.ts';

const T9 = Date.UTC(2026, 0, 5, 9);
const HOUR = 3_600_000;

const cfg = (agents: number): ReplayConfig => ({
  queues: {
    sales: QueueSchema.parse({
      skills: [{ skill: 'sales' }],
      wrapUp: 30,
      wrapUpExtendMax: 600,
      serviceLevel: { threshold: 20, target: 0.8, window: 1800 },
    }),
  },
  agents: Array.from({ length: agents }, (_, i) =>
    AgentSchema.parse({ id: `a${i}`, name: `Agent ${i}`, password: 'secret', skills: { sales: 5 } }),
  ),
});

/**
 * The day that "ran": 09:00–13:00, Poisson 150 calls/h (busier 10–11: 210/h), talk Exp(150 s),
 * wrap-up Exp(30 s), patience Exp(90 s), 8 agents ready 08:55–13:30 with a 15-minute break each.
 * It is run once through the real ACD; its event log is what the centre would have recorded.
 */
function theDay(seed = 11): ReplayDay {
  const rand = mulberry32(seed);
  const calls: ReplayCall[] = [];
  for (let t = T9, i = 0; ; i++) {
    const perHour = t >= T9 + HOUR && t < T9 + 2 * HOUR ? 210 : 150;
    t += exponential(rand, HOUR / perHour);
    if (t >= T9 + 4 * HOUR) break;
    calls.push({
      id: `c${i}`,
      queue: 'sales',
      arrivedAt: Math.round(t),
      talkMs: exponential(rand, 150_000),
      acwMs: exponential(rand, 30_000),
      patienceMs: exponential(rand, 90_000),
      callerId: `+1555${i}`,
    });
  }
  const spans = Array.from({ length: 8 }, (_, i) => {
    const brk = T9 + HOUR + i * 15 * 60_000; // staggered breaks from 10:00
    return [
      { agentId: `a${i}`, state: 'ready' as const, start: T9 - 5 * 60_000, end: brk },
      { agentId: `a${i}`, state: 'not-ready' as const, reason: 'break', start: brk, end: brk + 15 * 60_000 },
      { agentId: `a${i}`, state: 'ready' as const, start: brk + 15 * 60_000, end: T9 + 4.5 * HOUR },
    ];
  }).flat();
  return { calls, spans, meanPatienceMs: 90_000 };
}

const range = { from: T9, to: T9 + 4 * HOUR };
const sl20 = (r: { serviceLevels: { thresholdSec: number; value: number | null }[] | null }) =>
  r.serviceLevels?.find((s) => s.thresholdSec === 20)?.value ?? null;

describe('what-if replay through the real ACD', () => {
  it('replaying a recorded day reproduces its service level and abandons', () => {
    const ran = replay(theDay(), cfg(8));
    expect(ran.auditFailures).toEqual([]);
    const actual = computeReport(ran.events, { ...range, interval: 'range', dimension: 'queue' }).rows[0]!;
    // Read the day back from its event log and run it again.
    const day = dayFromEvents(ran.events, range.from, range.to);
    expect(day.calls).toHaveLength(actual.offered!);
    expect(day.meanPatienceMs! / 1000).toBeGreaterThan(60); // estimated from abandons + censored waits
    expect(day.meanPatienceMs! / 1000).toBeLessThan(130);
    const again = replay(day, cfg(8));
    const replayed = computeReport(again.events, { ...range, interval: 'range', dimension: 'queue' }).rows[0]!;
    const slDiff = Math.abs(sl20(replayed)! - sl20(actual)!);
    const abDiff = Math.abs(replayed.abandoned! - actual.abandoned!);
    console.log(
      `replay: offered ${actual.offered}; SL20 actual ${(sl20(actual)! * 100).toFixed(1)} % replayed ${(sl20(replayed)! * 100).toFixed(1)} %; abandoned actual ${actual.abandoned} replayed ${replayed.abandoned}; ASA ${actual.asaSec} / ${replayed.asaSec} s`,
    );
    expect(replayed.offered).toBe(actual.offered);
    expect(slDiff).toBeLessThan(0.03);
    expect(abDiff).toBeLessThanOrEqual(Math.max(3, 0.15 * actual.abandoned!));
    // A what-if: two agents fewer is visibly worse.
    const fewer = replay({ ...day, spans: day.spans.filter((s) => s.agentId !== 'a0' && s.agentId !== 'a1') }, cfg(8));
    const worse = computeReport(fewer.events, { ...range, interval: 'range', dimension: 'queue' }).rows[0]!;
    expect(sl20(worse)!).toBeLessThan(sl20(replayed)! - 0.1);
  });

  it('a × 1.5 drill: SL/ASA/abandons by interval and when each alert level fires', () => {
    const ran = replay(theDay(), cfg(8));
    const day = dayFromEvents(ran.events, range.from, range.to);
    const base = drill(day, cfg(8), { name: 'as it was' }, { ...range, intervalMin: 30 });
    const x15 = drill(day, cfg(8), { name: '× 1.5', arrivalFactor: 1.5 }, { ...range, intervalMin: 30 });
    // The day against itself: no surge; Poisson clumping early in an interval may raise one elevated alert
    // (a running interval is judged on the normal prorated to the elapsed part).
    expect(base.volumeAlerts.filter((a) => a.level === 'surge')).toEqual([]);
    expect(base.volumeAlerts.length).toBeLessThanOrEqual(1);
    expect(x15.calls).toBeGreaterThan(day.calls.length * 1.4);
    expect(x15.totals.serviceLevel!).toBeLessThan(base.totals.serviceLevel! - 0.1);
    expect(x15.totals.abandoned!).toBeGreaterThan(base.totals.abandoned!);
    // Every interval sees +50 %: a surge alert fires in each, never before the elevated one.
    const surges = x15.volumeAlerts.filter((a) => a.level === 'surge');
    expect(surges.length).toBeGreaterThanOrEqual(6);
    for (const s of surges) {
      const e = x15.volumeAlerts.find((a) => a.level === 'elevated' && a.intervalStart === s.intervalStart)!;
      expect(e.at).toBeLessThanOrEqual(s.at);
      expect(s.at - s.intervalStart).toBeLessThan(30 * 60_000);
    }
    expect(x15.serviceLevelBreaches.length).toBeGreaterThan(0);
    const firstBreach = new Date(x15.serviceLevelBreaches[0]!.at).toISOString().slice(11, 16);
    const firstSurge = new Date(Math.min(...surges.map((s) => s.at))).toISOString().slice(11, 16);
    console.log(
      `drill × 1.5: SL ${(base.totals.serviceLevel! * 100).toFixed(1)} % -> ${(x15.totals.serviceLevel! * 100).toFixed(1)} %, abandons ${base.totals.abandoned} -> ${x15.totals.abandoned}; first surge alert ${firstSurge}, first SL breach ${firstBreach}`,
    );
    for (const i of x15.intervals) expect(i.offered).toBeGreaterThan(0);
  });

  it('`callcentre drill` replays the day from the store with the given ACD config', async () => {
    const { Command } = await import('commander');
    const { registerDrillCommand } = await import('../../../server/planning/drillCommand.ts');
    const { DEFAULT_KPI_SETTINGS } = await import('../../../server/kpi/settings.ts');
    const ran = replay(theDay(), cfg(8));
    let text = '';
    const program = new Command('callcentre').exitOverride();
    registerDrillCommand(program, {
      out: (s) => (text += s),
      acd: cfg(8),
      openStore: async () => ({ settings: DEFAULT_KPI_SETTINGS, events: async () => ran.events, close: async () => {} }),
    });
    await program.parseAsync([
      'node',
      'callcentre',
      'drill',
      '--from',
      '2026-01-05T09:00:00Z',
      '--to',
      '2026-01-05T13:00:00Z',
      '--factor',
      '1.5',
      '--burst',
      '11:00,10m,60',
    ]);
    expect(text).toContain('== as it was: 661 calls; SL 63.4%');
    expect(text).toMatch(/== × 1\.5: \d+ calls; SL 26\.8%/);
    expect(text).toMatch(/== burst 11:00,10m,60: 721 calls/);
    expect(text).toMatch(/^09:00 {5}sales .* elevated@09:0\d surge@09:0\d$/m);
  });

  it('volume alert timeline by hand', () => {
    // Normal 10 calls per 30 min; 8 calls in the first 10 minutes: prorated normal 3.33 at 10 min is under 5: too early to judge,
    // then at minute 15 (normal 5) the 8th call is +60 %: elevated and surge at once.
    const calls = [
      ...Array.from({ length: 7 }, (_, i) => ({ queue: 'q', arrivedAt: T9 + i * 60_000 })),
      { queue: 'q', arrivedAt: T9 + 14 * 60_000 + 30_000 },
    ];
    const a = volumeAlertTimeline(calls, () => 10, 30 * 60_000);
    expect(a.map((x) => `${x.level}@${(x.at - T9) / 1000}`)).toEqual(['elevated@870', 'surge@870']);
  });
});
