import { describe, expect, it } from 'vitest';
import { Acc, accumulate } from '../../../server/kpi/accumulate.ts';
import { dispositionsIn } from '../../../server/kpi/dispositions.ts';
import { agentStreamId, type CcEvent, CcEventSchema } from '../../../server/kpi/events.ts';
import { deriveFacts } from '../../../server/kpi/facts.ts';
import { buckets, type Interval } from '../../../server/kpi/intervals.ts';
import { ANOMALY_EXAMPLES, computeReport, type Dimension, type ReportRequest } from '../../../server/kpi/report.ts';
import {
  anomaliesOf,
  anomalyRecords,
  DAY_MS,
  GRAIN_MS,
  grainBuckets,
  mergeAcc,
  mergeDispositions,
  planPieces,
  recordIndexes,
  recordSettings,
  reportFromAccs,
  rollup,
  rollupFingerprint,
  type DispositionRecord,
  type Rollup,
} from '../../../server/kpi/rollup.ts';
import { KpiSettingsSchema, type KpiSettings } from '../../../server/kpi/settings.ts';
import { HOUR, SETTINGS, T0, scriptedDay } from './scriptedDay.ts';
import { syntheticDay } from './syntheticDay.ts';

const S = KpiSettingsSchema.parse(SETTINGS);

/**
 * The report as the store assembles it from records (test harness, pure): clean 15-minute records
 * merged per piece (a day piece is the merge of its 96), raw pieces through the engine.
 */
function viaRollup(events: CcEvent[], r: Rollup, req: ReportRequest & { asOf: number }, s: KpiSettings, clean: (t: number) => boolean) {
  const list = buckets(req.from, req.to, req.interval, 0);
  const pieces = planPieces(list, req.asOf, clean);
  const accs = new Map<string, (Acc | undefined)[]>();
  const add = (key: string, i: number, a: Acc) => {
    const row = accs.get(key) ?? [];
    accs.set(key, row);
    const copy = mergeAcc(new Acc(a.answeredWithin.length), a);
    row[i] = row[i] ? mergeAcc(row[i], copy) : copy;
  };
  const keep = req.keys && req.keys.length > 0 ? new Set(req.keys) : undefined;
  const facts = deriveFacts(events, req.asOf);
  const disp: DispositionRecord[] = [];
  for (const p of pieces) {
    if (p.source === 'raw') {
      for (const [key, l] of accumulate(facts, [{ start: p.start, end: p.end }], req.dimension, (k) => !keep || keep.has(k), req.asOf, s))
        add(key, p.index, l[0]!);
      const d = dispositionsIn(events, p.start, p.end);
      for (const row of d.byQueue) disp.push({ bucketStart: p.start, side: 'queue', row });
      for (const row of d.byAgent) disp.push({ bucketStart: p.start, side: 'agent', row });
      continue;
    }
    for (const rec of r.records)
      if (rec.dimension === req.dimension && rec.bucketStart >= p.start && rec.bucketStart < p.end && (!keep || keep.has(rec.key)))
        add(rec.key, p.index, rec.acc);
    disp.push(...r.dispositions.filter((d) => d.bucketStart >= p.start && d.bucketStart < p.end));
  }
  // Anomalies: stored records plus those of the raw log (deduplicated by anomaliesOf).
  const anomalies = [...r.anomalies, ...anomalyRecords(facts)];
  return reportFromAccs(req, list, accs, s, {
    anomalies: anomaliesOf(anomalies, req.from, req.to, ANOMALY_EXAMPLES),
    dispositions: mergeDispositions(disp, {
      ...(req.dimension === 'queue' ? { queues: req.keys } : {}),
      ...(req.dimension === 'agent' ? { agents: req.keys } : {}),
    }),
  });
}

function mulberry(seed: number) {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('rollup records (hand-computed truth)', () => {
  // Two calls to sales and one agent: call A enters 09:10:00, waits 12 s, talks 09:10:12-09:20:12
  // (across the 09:15 edge), wrap-up 20 s. Call B enters 09:16:00 and is abandoned after 40 s.
  const ev: CcEvent[] = [];
  const T = Date.UTC(2026, 0, 5, 9, 0, 0);
  const at = (m: number, sec = 0) => T + m * 60_000 + sec * 1000;
  const push = (e: Record<string, unknown>) => ev.push(CcEventSchema.parse(e));
  const agent = agentStreamId('ann', 'b1');
  push({ type: 'agent.state', contactId: agent, seq: 1, ts: at(5), agentId: 'ann', state: 'ready' });
  push({ type: 'agent.state', contactId: agent, seq: 2, ts: at(25), agentId: 'ann', state: 'logged-out' });
  let seq = 0;
  const a = (type: string, ts: number, f: Record<string, unknown> = {}) => push({ type, contactId: 'A', seq: ++seq, ts, ...f });
  a('contact.arrived', at(10), { caller: '+1', dialled: '1' });
  a('queue.enter', at(10), { queue: 'sales' });
  a('queue.connect', at(10, 12), { queue: 'sales', agentId: 'ann' });
  a('call.end', at(20, 12), { endedBy: 'caller' });
  a('wrapup.start', at(20, 12), { agentId: 'ann', queue: 'sales' });
  a('wrapup.end', at(20, 32), { agentId: 'ann', disposition: 'sale' });
  seq = 0;
  const b = (type: string, ts: number, f: Record<string, unknown> = {}) => push({ type, contactId: 'B', seq: ++seq, ts, ...f });
  b('contact.arrived', at(16), { caller: '+2', dialled: '1' });
  b('queue.enter', at(16), { queue: 'sales' });
  b('queue.abandon', at(16, 40), { queue: 'sales' });
  b('call.end', at(16, 40), { endedBy: 'caller' });
  const s = KpiSettingsSchema.parse({ serviceLevelThresholdsSec: [20, 30], shortAbandonSec: 5 });
  const r = rollup(ev, grainBuckets(T, T + HOUR), T + 2 * HOUR, s);
  const rec = (bucketMin: number, dimension: Dimension, key: string) =>
    r.records.find((x) => x.bucketStart === at(bucketMin) && x.dimension === dimension && x.key === key)?.acc;

  it('credits each call to the interval it entered the queue, with SL counters per threshold', () => {
    const q0 = rec(0, 'queue', 'sales')!;
    expect([q0.offered, q0.answered, q0.answeredWaitMs, q0.handled, q0.talkMs, q0.acwMs]).toEqual([1, 1, 12_000, 1, 600_000, 20_000]);
    expect(q0.answeredWithin).toEqual([1, 1]);
    const q1 = rec(15, 'queue', 'sales')!;
    expect([q1.offered, q1.abandoned, q1.abandonedWaitMs, q1.longestWaitMs]).toEqual([1, 1, 40_000, 40_000]);
    expect(q1.abandonedWithin).toEqual([0, 0]);
    expect(q1.abandonedAfter).toEqual([1, 1]);
    expect(rec(30, 'queue', 'sales')).toBeUndefined();
  });

  it('cuts time in state at the interval edges so the pieces add up to the wall clock', () => {
    // ann: ready 09:05-09:25: 10 min in [09:00, 09:15), 10 min in [09:15, 09:30).
    expect(rec(0, 'agent', 'ann')!.loggedInMs).toBe(600_000);
    expect(rec(15, 'agent', 'ann')!.loggedInMs).toBe(600_000);
    // talk 09:10:12-09:20:12: 4 min 48 s before 09:15, 5 min 12 s after; ACW 20 s after.
    expect(rec(0, 'agent', 'ann')!.stateTalkMs).toBe(288_000);
    expect(rec(15, 'agent', 'ann')!.stateTalkMs).toBe(312_000);
    expect(rec(15, 'agent', 'ann')!.stateAcwMs).toBe(20_000);
    // The centre has a record for every interval, quiet or not; customer calls by arrival.
    expect(r.records.filter((x) => x.dimension === 'centre')).toHaveLength(4);
    expect(rec(0, 'centre', '*')!.contactsOffered).toBe(1);
    expect(rec(15, 'centre', '*')!.contactsOffered).toBe(1);
  });

  it('credits dispositions to the interval the wrap-up ended in', () => {
    expect(r.dispositions.map((d) => [d.bucketStart, d.side, d.row.key, d.row.codes])).toEqual([
      [at(15), 'queue', 'sales', { sale: 1 }],
      [at(15), 'agent', 'ann', { sale: 1 }],
    ]);
  });

  it('fingerprints only the settings an Acc depends on', () => {
    expect(rollupFingerprint(s)).toBe(rollupFingerprint({ ...s, serviceLevelMode: 'abandons-met', timeZone: 'Europe/Paris' }));
    expect(rollupFingerprint(s)).not.toBe(rollupFingerprint({ ...s, shortAbandonSec: 3 }));
  });
});

describe('recordIndexes: thresholds a report asks for, read from the records', () => {
  const centre = KpiSettingsSchema.parse({
    ...SETTINGS,
    serviceLevelThresholdsSec: [20, 25],
    queueObjectives: { sales: { thresholdSec: 40, target: 0.8 } },
  });
  const want = (over: Partial<KpiSettings>) => ({ ...centre, ...over });
  it('records carry the centre thresholds, the ladder, then the queue objectives', () => {
    // allThresholds(recordSettings): [20, 25] + ladder without 20 + objective 40.
    expect((JSON.parse(rollupFingerprint(recordSettings(centre))) as { thresholds: number[] }).thresholds).toEqual([
      20, 25, 10, 15, 30, 45, 60, 90, 120, 180, 300, 40,
    ]);
  });
  it('maps any order or subset, refuses what the records lack', () => {
    expect(recordIndexes(centre, centre)).toEqual([0, 1, 11]);
    expect(recordIndexes(centre, want({ serviceLevelThresholdsSec: [30, 20] }))).toEqual([4, 0, 11]);
    expect(recordIndexes(centre, want({ serviceLevelThresholdsSec: [300], queueObjectives: {} }))).toEqual([10]);
    expect(recordIndexes(centre, want({ serviceLevelThresholdsSec: [35] }))).toBeUndefined();
    expect(recordIndexes(centre, want({ shortAbandonSec: 10 }))).toBeUndefined();
    expect(recordIndexes(centre, want({ fcrWindowSec: 3600 }))).toBeUndefined();
  });
  it("a record's counters at those indexes are the engine's for the asked thresholds", () => {
    const events = [...scriptedDay(), ...syntheticDay({ calls: 300, agents: 8, day: T0 + DAY_MS, seed: 3 })];
    const asOf = T0 + 3 * DAY_MS;
    const facts = deriveFacts(events, asOf);
    const list = [{ start: T0 - HOUR, end: T0 + 2 * DAY_MS }];
    const asked = want({ serviceLevelThresholdsSec: [60, 15, 25] });
    const at = recordIndexes(centre, asked)!;
    const stored = accumulate(facts, list, 'queue', () => true, asOf, recordSettings(centre));
    const direct = accumulate(facts, list, 'queue', () => true, asOf, asked);
    expect(direct.size).toBeGreaterThan(1);
    for (const [key, [a]] of direct) {
      const r = stored.get(key)![0]!;
      for (const f of ['answeredWithin', 'abandonedWithin', 'abandonedAfter'] as const) expect(at.map((i) => r[f][i])).toEqual(a![f]);
    }
    // Not vacuous: the thresholds split the answered calls differently.
    const total = [...direct.values()].reduce((n, [a]) => n + a!.answeredWithin[0]! - a!.answeredWithin[1]!, 0);
    expect(total).toBeGreaterThan(0);
  });
});

describe('planPieces', () => {
  it('uses whole clean days, then clean 15-minute records, raw for the edges and the rest', () => {
    const d0 = Date.UTC(2026, 0, 5);
    const from = d0 - 20 * 60_000 + 7_000; // 23:40:07 the day before
    const to = d0 + DAY_MS + 50 * 60_000; // 00:50 the day after
    const dirty = d0 + DAY_MS + 15 * 60_000;
    const p = planPieces([{ start: from, end: to }], to + HOUR, (t) => t !== dirty);
    expect(p.map((x) => [x.source, (x.start - d0) / 60_000, (x.end - d0) / 60_000])).toEqual([
      ['raw', (from - d0) / 60_000, -15],
      ['15m', -15, 0],
      ['day', 0, 1440],
      ['15m', 1440, 1455],
      ['raw', 1455, 1470],
      ['15m', 1470, 1485],
      ['raw', 1485, 1490],
    ]);
  });
});

describe('rollup == raw (property: any split into records and raw edges gives the engine figures)', () => {
  const cases: { name: string; events: CcEvent[]; from: number; to: number; s: KpiSettings }[] = [
    // The scripted hour: transfers, callbacks, FCR repeats, surveys, a call still waiting, anomalies.
    { name: 'scripted hour', events: scriptedDay(), from: T0 - HOUR, to: T0 + 3 * HOUR, s: S },
    {
      name: 'synthetic day',
      events: syntheticDay({ calls: 800, agents: 20, day: Date.UTC(2026, 0, 5) }),
      from: Date.UTC(2026, 0, 5),
      to: Date.UTC(2026, 0, 6),
      s: KpiSettingsSchema.parse({ queueObjectives: { sales: { thresholdSec: 15, target: 0.8 } } }),
    },
  ];
  const intervals: Interval[] = ['15m', '30m', '60m', 'day', 'range'];
  const dims: Dimension[] = ['centre', 'queue', 'skillGroup', 'agent'];
  for (const c of cases) {
    it(`${c.name}: 40 random ranges, intervals, dimensions, key filters and dirty sets`, () => {
      const asOf = c.to;
      const r = rollup(c.events, grainBuckets(c.from, c.to), asOf, c.s);
      const rnd = mulberry(7);
      const keysOf = (d: Dimension) => [...new Set(r.records.filter((x) => x.dimension === d).map((x) => x.key))];
      for (let i = 0; i < 40; i++) {
        const span = c.to - c.from;
        let from = c.from + Math.floor(rnd() * span * 0.5);
        let to = from + 1 + Math.floor(rnd() * (c.to - from - 1));
        if (rnd() < 0.3) from -= from % GRAIN_MS; // sometimes aligned edges
        if (rnd() < 0.3) to -= to % GRAIN_MS;
        if (to <= from) to = from + GRAIN_MS;
        const dimension = dims[Math.floor(rnd() * dims.length)]!;
        const all = keysOf(dimension);
        const keys = rnd() < 0.3 && all.length > 1 ? all.filter(() => rnd() < 0.5) : undefined;
        const dirtyShare = rnd() * 0.4;
        const clean = new Set(r.records.map((x) => x.bucketStart).filter(() => rnd() >= dirtyShare));
        const req = { from, to, interval: intervals[Math.floor(rnd() * intervals.length)]!, dimension, asOf, ...(keys ? { keys } : {}) };
        const raw = computeReport(c.events, req, c.s);
        const rolled = viaRollup(c.events, r, req, c.s, (t) => clean.has(t) && !r.open.has(t));
        expect(rolled, `${JSON.stringify({ ...req, from: new Date(from), to: new Date(to) })}`).toEqual(raw);
      }
    });
  }

  it('the scripted hour has what makes the property worth checking (waiting call, anomalies, FCR, dispositions)', () => {
    const r = rollup(scriptedDay(), grainBuckets(T0 - HOUR, T0 + 3 * HOUR), T0 + 3 * HOUR, S);
    expect(r.open.size).toBeGreaterThan(0);
    expect(r.records.some((x) => x.acc.fcrEligible > 0 && x.acc.fcrResolved < x.acc.fcrEligible)).toBe(true);
    expect(r.records.some((x) => x.acc.csatAnswers > 0)).toBe(true);
    expect(r.dispositions.length).toBeGreaterThan(0);
    const raw = computeReport(scriptedDay(), { from: T0, to: T0 + HOUR, interval: 'range', dimension: 'centre' }, S);
    expect(raw.anomalies.count).toBeGreaterThan(0);
    expect(r.anomalies.length).toBe(raw.anomalies.count);
  });
});
