/**
 * Reading KPI rollups (#17): a report from the stored interval records where they are clean, and
 * from the raw log (contacts overlapping each piece, loadOverlapping) for edges and the rest. The
 * records are written and kept current in rollups.ts; the pure side is server/kpi/rollup.ts.
 */
import type pg from 'pg';
import { Acc, accumulate } from '../kpi/accumulate.ts';
import { dispositionsIn } from '../kpi/dispositions.ts';
import { deriveFacts } from '../kpi/facts.ts';
import { buckets, type Bucket } from '../kpi/intervals.ts';
import { ANOMALY_EXAMPLES, type KpiReport, type ReportRequest } from '../kpi/report.ts';
import {
  ARRAY_FIELDS,
  anomaliesOf,
  anomalyRecords,
  floorGrain,
  GRAIN_MS,
  mergeAcc,
  mergeDispositions,
  planPieces,
  recordIndexes,
  recordSettings,
  reportFromAccs,
  rollupFingerprint,
  SUM_FIELDS,
  type AnomalyRecord,
  type DispositionRecord,
  type Piece,
} from '../kpi/rollup.ts';
import { zoneOf, type KpiSettings } from '../kpi/settings.ts';
import { ARRAY_COLS, loadOverlapping, refreshBuckets, spansOf, SUM_COLS } from './rollups.ts';

export interface RollupReportOptions {
  /** Dirty intervals of the range computed before reading, at most this many (default 32). */
  refreshLimit?: number;
  /** The time now (default req.asOf): dirty intervals that ended before it may be computed. */
  now?: number;
  /**
   * The centre's settings, which the records were computed with (default: the report's own). The
   * report's may ask for other thresholds, any the records carry (recordIndexes; the caller checks).
   */
  centre?: KpiSettings;
}

/** What a report read: pieces by source, for logs and the benchmark. */
export interface RollupReportStats {
  dayPieces: number;
  grainPieces: number;
  rawPieces: number;
  rawMs: number;
  /** Events the raw pieces loaded. */
  rawEvents: number;
  /** Milliseconds reading the stored records (interval status, sums, dispositions). */
  storedMs: number;
  /** ... of which the dispositions. */
  dispositionsMs: number;
}

export const newRollupStats = (): RollupReportStats => ({
  dayPieces: 0,
  grainPieces: 0,
  rawPieces: 0,
  rawMs: 0,
  rawEvents: 0,
  storedMs: 0,
  dispositionsMs: 0,
});

/**
 * The report for req computed from rollup records where they are clean and from the raw log
 * elsewhere; the same figures as computeReport over the raw log (test/integration/store/rollups).
 * Throws if the records cannot answer settings `s` (recordIndexes(centre, s) is undefined).
 */
export async function rollupReport(
  pool: pg.Pool,
  req: ReportRequest & { asOf: number },
  s: KpiSettings,
  opts: RollupReportOptions = {},
  stats?: RollupReportStats,
): Promise<KpiReport> {
  const centre = opts.centre ?? s;
  const fp = rollupFingerprint(recordSettings(centre));
  // The report's thresholds, in its own order, picked out of the records' counters.
  const at = recordIndexes(centre, s);
  if (!at) throw new Error('rollupReport: the records do not carry these settings (thresholds, short abandon, FCR window)');
  const n = at.length;
  const list = buckets(req.from, req.to, req.interval, zoneOf(s));
  const lo = floorGrain(req.from);
  const hi = Math.ceil(Math.min(req.to, req.asOf) / GRAIN_MS) * GRAIN_MS;
  const statusOf = async () => {
    const st = await pool.query<{ bucket_start: string; dirty: boolean; open: boolean; fp: string }>(
      `SELECT bucket_start, dirty, open, fp FROM kpi_rollup_buckets WHERE bucket_start >= $1 AND bucket_start < $2`,
      [lo, hi],
    );
    return st.rows;
  };
  const tStored = performance.now();
  let tDisp = 0;
  let rows = await statusOf();
  const dirty = rows.filter((r) => r.dirty && r.fp === fp).map((r) => Number(r.bucket_start));
  if (dirty.length > 0 && dirty.length <= (opts.refreshLimit ?? 32)) {
    const now = opts.now ?? req.asOf;
    for (const [a, b] of spansOf(dirty.filter((t) => t + GRAIN_MS <= req.asOf))) await refreshBuckets(pool, a, b, centre, now, true);
    rows = await statusOf();
  }
  const clean = new Set(rows.filter((r) => !r.dirty && !r.open && r.fp === fp).map((r) => Number(r.bucket_start)));
  const pieces = planPieces(list, req.asOf, (t) => clean.has(t));
  const accs = new Map<string, (Acc | undefined)[]>();
  const add = (key: string, index: number, a: Acc) => {
    let row = accs.get(key);
    if (!row) accs.set(key, (row = []));
    row[index] = row[index] ? mergeAcc(row[index], a) : a;
  };
  const keys = req.keys && req.keys.length > 0 ? [...req.keys] : undefined;
  const stored = pieces.filter((p) => p.source !== 'raw');
  const dispositions: DispositionRecord[] = [];
  if (stored.length > 0) {
    const arr = (c: string) =>
      Array.from({ length: n }, (_, i) => `coalesce(sum(r.${c}[${at[i]! + 1}]), 0)::float8 AS ${c}_${i}`).join(', ');
    const q = await pool.query<Record<string, string | number>>(
      `SELECT p.idx, r.key, ${SUM_COLS.map((c) => `sum(r.${c})::float8 AS ${c}`).join(', ')}, max(r.longest_wait_ms)::float8 AS longest_wait_ms,
         ${ARRAY_COLS.map(arr).join(', ')}
       FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[]) AS p(s, e, grain, idx)
       JOIN kpi_rollup r ON r.dimension = $5 AND r.grain = p.grain AND r.bucket_start >= p.s AND r.bucket_start < p.e
       ${keys ? 'WHERE r.key = ANY($6::text[])' : ''}
       GROUP BY p.idx, r.key`,
      [
        stored.map((p) => p.start),
        stored.map((p) => p.end),
        stored.map((p) => p.source),
        stored.map((p) => p.index),
        req.dimension,
        ...(keys ? [keys] : []),
      ],
    );
    for (const row of q.rows) {
      const a = new Acc(n);
      SUM_FIELDS.forEach((f, i) => (a[f] = Number(row[SUM_COLS[i]!])));
      a.longestWaitMs = Number(row.longest_wait_ms);
      ARRAY_FIELDS.forEach((f, j) => {
        for (let i = 0; i < n; i++) a[f][i] = Number(row[`${ARRAY_COLS[j]}_${i}`]);
      });
      add(String(row.key), Number(row.idx), a);
    }
    const td = performance.now();
    // Dispositions are summed over the whole range, not per piece: adjacent pieces of one grain are
    // one range scan (a chart's 34 half-hour pieces as 34 joined ranges took 0.9 s at 1,000 agents).
    const spans: { s: number; e: number; grain: string }[] = [];
    for (const p of stored) {
      const last = spans[spans.length - 1];
      if (last && last.grain === p.source && last.e === p.start) last.e = p.end;
      else spans.push({ s: p.start, e: p.end, grain: p.source });
    }
    const d = await pool.query<{
      side: 'queue' | 'agent';
      key: string;
      code: string;
      w: number;
      d: number;
      rm: number;
      r: number;
      n: number;
    }>(
      `SELECT x.side, x.key, x.code, sum(x.wrapups)::float8 AS w, sum(x.disposed)::float8 AS d, sum(x.resolved_marked)::float8 AS rm,
         sum(x.resolved)::float8 AS r, sum(x.n)::float8 AS n
       FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS p(s, e, grain)
       JOIN kpi_rollup_dispositions x ON x.grain = p.grain AND x.bucket_start >= p.s AND x.bucket_start < p.e
       GROUP BY x.side, x.key, x.code`,
      [spans.map((p) => p.s), spans.map((p) => p.e), spans.map((p) => p.grain)],
    );
    tDisp = performance.now() - td;
    for (const r of d.rows) {
      const codes: Record<string, number> = r.code === '' ? {} : { [r.code.slice(1)]: r.n };
      dispositions.push({
        bucketStart: 0,
        side: r.side,
        row: { key: r.key, wrapups: r.w, disposed: r.d, codes, resolvedMarked: r.rm, resolved: r.r, fcrAgentRate: null },
      });
    }
  }
  if (stats) {
    stats.storedMs += performance.now() - tStored;
    stats.dispositionsMs += tDisp;
  }
  // Raw pieces: contiguous runs, one load and one engine pass each.
  const anomalies: AnomalyRecord[] = [];
  const t0 = performance.now();
  const raw = pieces.filter((p) => p.source === 'raw');
  const keep = keys ? new Set(keys) : undefined;
  for (const run of runs(raw)) {
    const from = run[0]!.start;
    const to = run[run.length - 1]!.end;
    const events = await loadOverlapping(pool, from, to, s);
    if (stats) stats.rawEvents += events.length;
    const facts = deriveFacts(events, req.asOf);
    const pl: Bucket[] = run.map((p) => ({ start: p.start, end: p.end }));
    for (const [key, list2] of accumulate(facts, pl, req.dimension, (k) => !keep || keep.has(k), req.asOf, s)) {
      list2.forEach((a, i) => add(key, run[i]!.index, a));
    }
    for (const p of run) {
      const r = dispositionsIn(events, p.start, p.end);
      for (const row of r.byQueue) dispositions.push({ bucketStart: p.start, side: 'queue', row });
      for (const row of r.byAgent) dispositions.push({ bucketStart: p.start, side: 'agent', row });
    }
    // Anomalies credited inside the run, as the raw report finds them.
    anomalies.push(...anomalyRecords(facts).filter((a) => a.credits.some((t) => t >= from && t < to)));
  }
  if (stats) {
    stats.rawMs += performance.now() - t0;
    stats.rawPieces += raw.length;
    stats.dayPieces += pieces.filter((p) => p.source === 'day').length;
    stats.grainPieces += pieces.filter((p) => p.source === '15m').length;
  }
  const storedAnomalies = await pool.query<{ contact_id: string; seq: number; ts_ms: string; text: string; credits: string[] }>(
    `SELECT contact_id, seq, ts_ms, text, credits FROM kpi_rollup_anomalies
     WHERE EXISTS (SELECT 1 FROM unnest(credits) c WHERE c >= $1 AND c < $2)`,
    [req.from, req.to],
  );
  for (const a of storedAnomalies.rows)
    anomalies.push({ contactId: a.contact_id, seq: a.seq, ts: Number(a.ts_ms), text: a.text, credits: a.credits.map(Number) });
  return reportFromAccs(req, list, accs, s, {
    anomalies: anomaliesOf(anomalies, req.from, req.to, ANOMALY_EXAMPLES),
    dispositions: mergeDispositions(dispositions, {
      ...(req.dimension === 'queue' ? { queues: req.keys } : {}),
      ...(req.dimension === 'agent' ? { agents: req.keys } : {}),
    }),
  });
}

function runs(pieces: readonly Piece[]): Piece[][] {
  const out: Piece[][] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last && last[last.length - 1]!.end === p.start) last.push(p);
    else out.push([p]);
  }
  return out;
}
