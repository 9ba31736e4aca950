/**
 * KPI rollups: the engine's own accumulators (accumulate.ts Acc) kept per 15-minute interval and
 * per centre, queue, skill group and agent, so a report over a long range adds up stored interval
 * records instead of folding every event again. Pure: no SQL (server/store/rollups.ts stores them).
 *
 * Why this is exact. Every report figure is a function (toRow) of an Acc, and an Acc is additive:
 * per-call figures are credited to the one interval where the call entered the queue (customer
 * calls: where they arrived; dispositions: where the wrap-up ended), time in state is cut at
 * interval edges, and the only non-sum, the longest wait, merges by max. So the Acc of any report
 * interval is the merge of the Accs of any split of it into pieces, and a piece's Acc is computed by
 * the same accumulate() from the same events. A report = whole 15-minute records for what is
 * stored and clean, plus the engine run on the raw log for the partial edges and anything not (yet)
 * rolled up; the test (test/unit/kpi/rollup.test.ts) checks any such split against computeReport.
 *
 * What a record holds: counts, sums of milliseconds, the longest wait (max), and one counter per
 * service-level threshold (answered within T, abandoned within / after T). Nothing else is needed:
 * the rates, averages and service levels are ratios of these. Not decomposable, and how handled:
 * - service level for a threshold that is not stored: the record keeps counters for the centre's
 *   thresholds, its queue objectives and a fixed ladder (STORED_THRESHOLDS_SEC: 10 s … 5 min), so a
 *   request for any of those (?slThresholds=45,60) is read from the records in its own order
 *   (recordIndexes); other thresholds, or another short-abandon or FCR window, are answered from the
 *   raw log (the old cost).
 * - repeat-contact FCR (same caller again within fcrWindowSec) and the final handler of a
 *   transfer/callback chain depend on other contacts, possibly days later: the record holds the
 *   counts as of its last computation, and a later contact that changes them marks the affected
 *   intervals dirty (store), which are computed again from the log, never patched by delta.
 * - anomalies (a list, credited to a range if any of the contact's times falls in it): kept as a
 *   small list per anomaly with its credit times (anomalyRecords), not as a count.
 * - percentiles are not part of the report; a wait percentile would need a histogram per record.
 */
import { Acc, accumulate, allThresholds } from './accumulate.ts';
import type { CcEvent } from './events.ts';
import { deriveFacts, formatAnomaly, type Facts } from './facts.ts';
import { dispositionsIn, type DispositionReport, type DispositionRow } from './dispositions.ts';
import type { Bucket } from './intervals.ts';
import { reportHead, rowsOf, type Dimension, type KpiReport, type ReportRequest } from './report.ts';
import type { KpiSettings } from './settings.ts';

/** Size of a rollup record's interval; aligned to UTC (every zone in use is a multiple of 15 min). */
export const GRAIN_MS = 15 * 60_000;
export const DAY_MS = 86_400_000;
export const DIMENSIONS: readonly Dimension[] = ['centre', 'queue', 'skillGroup', 'agent'];

/**
 * Service-level thresholds every record carries besides the centre's own, so the thresholds a
 * manager tries in a report (20/30/60 s, 2 or 3 minutes) are read from the records, not the raw log.
 * Three counters per threshold per record: reading is unchanged, writing costs more (backfill
 * +25 % at 150 k contacts, README "Rollups"), against minutes for a 30-day raw read at scale.
 */
export const STORED_THRESHOLDS_SEC: readonly number[] = [10, 15, 20, 30, 45, 60, 90, 120, 180, 300];

/** The settings records are computed with for a centre with settings `s`: its thresholds plus the ladder. */
export function recordSettings(s: KpiSettings): KpiSettings {
  return { ...s, serviceLevelThresholdsSec: [...new Set([...s.serviceLevelThresholdsSec, ...STORED_THRESHOLDS_SEC])] };
}

/** The settings a record's figures depend on (pass recordSettings(centre)); records computed with others are not used. */
export function rollupFingerprint(s: KpiSettings): string {
  return JSON.stringify({ thresholds: allThresholds(s), shortAbandonSec: s.shortAbandonSec, fcrWindowSec: s.fcrWindowSec });
}

/**
 * Where each of `wanted`'s thresholds (allThresholds order, as its report's Accs) sits in the
 * records of a centre with settings `centre`; undefined when the records cannot answer `wanted`
 * (a threshold they lack, another short-abandon or FCR window).
 */
export function recordIndexes(centre: KpiSettings, wanted: KpiSettings): number[] | undefined {
  if (wanted.shortAbandonSec !== centre.shortAbandonSec || wanted.fcrWindowSec !== centre.fcrWindowSec) return undefined;
  const stored = allThresholds(recordSettings(centre));
  const out = allThresholds(wanted).map((t) => stored.indexOf(t));
  return out.includes(-1) ? undefined : out;
}

/** The scalar fields of an Acc, in a fixed order (the store's columns); longestWaitMs merges by max. */
export const SUM_FIELDS = Object.keys(new Acc(0)).filter(
  (k) => k !== 'longestWaitMs' && typeof (new Acc(0) as unknown as Record<string, unknown>)[k] === 'number',
) as SumField[];
export type SumField = {
  [K in keyof Acc]: Acc[K] extends number ? (K extends 'longestWaitMs' ? never : K) : never;
}[keyof Acc];
export const ARRAY_FIELDS = ['answeredWithin', 'abandonedWithin', 'abandonedAfter'] as const;

export interface RollupRecord {
  bucketStart: number;
  dimension: Dimension;
  key: string;
  acc: Acc;
}

/** Dispositions of the wrap-ups that ended in one interval, per queue and per agent. */
export interface DispositionRecord {
  bucketStart: number;
  side: 'queue' | 'agent';
  row: DispositionRow;
}

/** One anomaly and the times that credit it to a report range (see report.ts anomaliesIn). */
export interface AnomalyRecord {
  contactId: string;
  seq: number;
  ts: number;
  text: string;
  credits: number[];
}

export interface Rollup {
  records: RollupRecord[];
  dispositions: DispositionRecord[];
  anomalies: AnomalyRecord[];
  /** Buckets with a call still waiting at asOf: their longest wait grows with time, so not final. */
  open: Set<number>;
}

/** 15-minute buckets covering [from, to), both aligned to GRAIN_MS. */
export function grainBuckets(from: number, to: number): Bucket[] {
  const out: Bucket[] = [];
  for (let t = from; t < to; t += GRAIN_MS) out.push({ start: t, end: t + GRAIN_MS });
  return out;
}

export const floorGrain = (t: number) => Math.floor(t / GRAIN_MS) * GRAIN_MS;
export const ceilGrain = (t: number) => Math.ceil(t / GRAIN_MS) * GRAIN_MS;

/**
 * The records of the given 15-minute buckets, from events that hold everything those buckets need
 * (store/rollups.ts loads them). One record per (bucket, dimension, key) the engine touched; the
 * centre has one per bucket even when quiet, as in a report.
 */
export function rollup(events: readonly CcEvent[], list: Bucket[], asOf: number, settings: KpiSettings): Rollup {
  const facts = deriveFacts(events, asOf);
  const records: RollupRecord[] = [];
  const open = new Set<number>();
  for (const dimension of DIMENSIONS) {
    for (const [key, accs] of accumulate(facts, list, dimension, () => true, asOf, settings)) {
      accs.forEach((acc, i) => {
        if (isEmpty(acc) && dimension !== 'centre') return;
        if (acc.waiting > 0) open.add(list[i]!.start);
        records.push({ bucketStart: list[i]!.start, dimension, key, acc });
      });
    }
  }
  return { records, dispositions: dispositionRecords(events, list), anomalies: anomalyRecords(facts), open };
}

function isEmpty(a: Acc): boolean {
  for (const f of SUM_FIELDS) if (a[f] !== 0) return false;
  return a.longestWaitMs === 0;
}

/** dispositionsIn per bucket, fed only each bucket's wrap-up ends and their contacts' events. */
function dispositionRecords(events: readonly CcEvent[], list: Bucket[]): DispositionRecord[] {
  if (list.length === 0) return [];
  const from = list[0]!.start;
  const to = list[list.length - 1]!.end;
  const byContact = new Map<string, CcEvent[]>();
  const endsByBucket = new Map<number, Set<string>>();
  for (const e of events) {
    if (e.type !== 'wrapup.start' && e.type !== 'queue.connect' && e.type !== 'wrapup.end') continue;
    let l = byContact.get(e.contactId);
    if (!l) byContact.set(e.contactId, (l = []));
    l.push(e);
    if (e.type === 'wrapup.end' && e.ts >= from && e.ts < to) {
      const b = floorGrain(e.ts);
      let s = endsByBucket.get(b);
      if (!s) endsByBucket.set(b, (s = new Set()));
      s.add(e.contactId);
    }
  }
  const out: DispositionRecord[] = [];
  for (const b of [...endsByBucket.keys()].sort((x, y) => x - y)) {
    const evs = [...endsByBucket.get(b)!].flatMap((id) => byContact.get(id)!);
    const r = dispositionsIn(evs, b, b + GRAIN_MS);
    for (const row of r.byQueue) out.push({ bucketStart: b, side: 'queue', row });
    for (const row of r.byAgent) out.push({ bucketStart: b, side: 'agent', row });
  }
  return out;
}

/** Each anomaly with the times anomaliesIn credits it by: the contact's arrival and queue entries, else its own time. */
export function anomalyRecords(facts: Facts): AnomalyRecord[] {
  return facts.anomalies.map((a) => {
    const c = facts.contacts.get(a.contactId);
    const credits =
      !c || (c.arrivedTs === undefined && c.queueCalls.length === 0)
        ? [a.ts]
        : [...(c.arrivedTs !== undefined ? [c.arrivedTs] : []), ...c.queueCalls.map((q) => q.enterTs)];
    return { contactId: a.contactId, seq: a.seq, ts: a.ts, text: formatAnomaly(a), credits };
  });
}

/** Add src into dst: sums, max for the longest wait, per-threshold counters element by element. */
export function mergeAcc(dst: Acc, src: Acc): Acc {
  for (const f of SUM_FIELDS) dst[f] += src[f];
  dst.longestWaitMs = Math.max(dst.longestWaitMs, src.longestWaitMs);
  for (const f of ARRAY_FIELDS) src[f].forEach((v, i) => (dst[f][i] = (dst[f][i] ?? 0) + v));
  return dst;
}

/** One piece of a report interval: stored records of a grain over [start, end), or the raw log. */
export interface Piece {
  /** Index of the report bucket the piece belongs to. */
  index: number;
  start: number;
  end: number;
  source: 'day' | '15m' | 'raw';
}

/**
 * Split each report bucket into pieces: whole UTC days whose 96 records are all clean, else whole
 * clean 15-minute records, and raw for the rest (edges not on the grain, intervals not rolled up or
 * dirty, and anything after asOf). Adjacent pieces of one source are joined.
 */
export function planPieces(list: readonly Bucket[], asOf: number, clean: (bucketStart: number) => boolean): Piece[] {
  const out: Piece[] = [];
  const push = (p: Piece) => {
    const last = out[out.length - 1];
    if (last && last.index === p.index && last.source === p.source && last.end === p.start) last.end = p.end;
    else if (p.end > p.start) out.push(p);
  };
  list.forEach((b, index) => {
    const s = ceilGrain(b.start);
    const e = Math.max(s, floorGrain(Math.min(b.end, asOf)));
    if (s >= e) return push({ index, start: b.start, end: b.end, source: 'raw' });
    push({ index, start: b.start, end: s, source: 'raw' });
    let t = s;
    while (t < e) {
      const dayEnd = Math.floor(t / DAY_MS) * DAY_MS + DAY_MS;
      if (t % DAY_MS === 0 && dayEnd <= e && allClean(t, dayEnd, clean)) {
        push({ index, start: t, end: dayEnd, source: 'day' });
        t = dayEnd;
        continue;
      }
      push({ index, start: t, end: t + GRAIN_MS, source: clean(t) ? '15m' : 'raw' });
      t += GRAIN_MS;
    }
    push({ index, start: e, end: b.end, source: 'raw' });
  });
  return out;
}

function allClean(from: number, to: number, clean: (t: number) => boolean): boolean {
  for (let t = from; t < to; t += GRAIN_MS) if (!clean(t)) return false;
  return true;
}

/** Merge dispositions rows as dispositionsIn would have counted them over the union of ranges. */
export function mergeDispositions(
  rows: readonly DispositionRecord[],
  filter?: { queues?: readonly string[]; agents?: readonly string[] },
): DispositionReport {
  const keepQueue = filter?.queues && filter.queues.length > 0 ? new Set(filter.queues) : undefined;
  const keepAgent = filter?.agents && filter.agents.length > 0 ? new Set(filter.agents) : undefined;
  const sides = { queue: new Map<string, DispositionRow>(), agent: new Map<string, DispositionRow>() };
  for (const { side, row } of rows) {
    if (side === 'queue' ? keepQueue && !keepQueue.has(row.key) : keepAgent && !keepAgent.has(row.key)) continue;
    const m = sides[side];
    const d = m.get(row.key) ?? { key: row.key, wrapups: 0, disposed: 0, codes: {}, resolvedMarked: 0, resolved: 0, fcrAgentRate: null };
    d.wrapups += row.wrapups;
    d.disposed += row.disposed;
    d.resolvedMarked += row.resolvedMarked;
    d.resolved += row.resolved;
    for (const [c, n] of Object.entries(row.codes)) d.codes[c] = (d.codes[c] ?? 0) + n;
    m.set(row.key, d);
  }
  const done = (m: Map<string, DispositionRow>): DispositionRow[] =>
    [...m.keys()].sort().map((k) => {
      const d = m.get(k)!;
      const codes: Record<string, number> = {};
      for (const c of Object.keys(d.codes).sort()) codes[c] = d.codes[c]!;
      return { ...d, codes, fcrAgentRate: d.resolvedMarked > 0 ? d.resolved / d.resolvedMarked : null };
    });
  return { byQueue: done(sides.queue), byAgent: done(sides.agent) };
}

/** The anomalies of a report range from anomaly records, as anomaliesIn selects and orders them. */
export function anomaliesOf(records: readonly AnomalyRecord[], from: number, to: number, examples: number): KpiReport['anomalies'] {
  const seen = new Set<string>();
  const list = records
    .filter((a) => a.credits.some((t) => t >= from && t < to))
    .filter((a) => {
      const k = `${a.contactId}\n${a.seq}`;
      return seen.has(k) ? false : (seen.add(k), true);
    })
    .sort((a, b) => a.ts - b.ts || (a.contactId < b.contactId ? -1 : a.contactId > b.contactId ? 1 : 0) || a.seq - b.seq);
  return { count: list.length, examples: list.slice(0, examples).map((a) => a.text) };
}

/**
 * The report from pieces: each key's Accs per report bucket (merged from records and raw pieces),
 * then the engine's own rows (report.ts rowsOf, accumulate.ts toRow).
 */
export function reportFromAccs(
  req: ReportRequest & { asOf: number },
  list: readonly Bucket[],
  accs: ReadonlyMap<string, readonly (Acc | undefined)[]>,
  settings: KpiSettings,
  extra: Pick<KpiReport, 'anomalies' | 'dispositions'>,
): KpiReport {
  const n = allThresholds(settings).length;
  const keep = req.keys && req.keys.length > 0 ? new Set(req.keys) : undefined;
  const full = new Map<string, Acc[]>();
  for (const [key, row] of accs) {
    if (keep && !keep.has(key)) continue;
    full.set(
      key,
      list.map((_, i) => row[i] ?? new Acc(n)),
    );
  }
  if (req.dimension === 'centre' && (!keep || keep.has('*')) && !full.has('*'))
    full.set(
      '*',
      list.map(() => new Acc(n)),
    );
  return { ...reportHead(req, req.asOf, settings), rows: rowsOf(req.dimension, list, full, settings), ...extra };
}
