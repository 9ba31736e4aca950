/**
 * KPI rollups in Postgres (#17): the SQL edge of server/kpi/rollup.ts. Tables: migration
 * 1766500000000_rollups.sql.
 *
 * Maintenance. Records are never patched by delta: an interval's figures can change long after its
 * calls closed (a repeat call within the FCR window, a survey, a transfer that moves the final
 * handler), so an interval touched by new events is marked dirty (markDirty, called with every
 * batch the writer stores) and computed again from the log by the engine (refreshBuckets). That
 * is idempotent (backfill and repair are the same operation) and safe with several nodes on one
 * database: a refresh takes a transaction-scoped advisory lock per interval and per day, clears the
 * dirty flag with its first statement (a row lock), and only then reads the log; a node that stores
 * events afterwards sets the flag again once that transaction ends. Records are written with
 * INSERT ... ON CONFLICT DO UPDATE (replacing under the lock); the day records are recomputed
 * as sums of their 15-minute records in the same transaction.
 *
 * Reading (rollupReport.ts): the report's intervals are split into whole clean days, clean 15-minute
 * records and raw pieces (edges off the grain, intervals dirty or not rolled up, time after asOf);
 * the raw pieces go through the engine exactly as the raw report does, each loading only the
 * contacts whose span overlaps it (loadOverlapping).
 */
import type pg from 'pg';
import { log } from '../../lib/log.ts';
import { allThresholds } from '../kpi/accumulate.ts';
import { AGENT_STREAM_PREFIX, parseEvent, type CcEvent } from '../kpi/events.ts';
import {
  ARRAY_FIELDS,
  DAY_MS,
  floorGrain,
  GRAIN_MS,
  grainBuckets,
  recordSettings,
  rollup,
  rollupFingerprint,
  SUM_FIELDS,
  type AnomalyRecord,
  type DispositionRecord,
} from '../kpi/rollup.ts';
import type { KpiSettings } from '../kpi/settings.ts';
import { AGENT_LOOKBACK_MS, CONTACT_LOOKBACK_MS } from './eventLog.ts';
import type { EventSink } from './writer.ts';

const rlog = log.child({ mod: 'rollups' });

const snake = (f: string) => f.replace(/([A-Z0-9]+)/g, (m) => `_${m.toLowerCase()}`);
/** kpi_rollup's columns for an Acc's sums and per-threshold arrays. */
export const SUM_COLS = SUM_FIELDS.map(snake);
export const ARRAY_COLS = ARRAY_FIELDS.map(snake);

// ---------------------------------------------------------------------------------------------
// Dirty marks, with every stored batch

/**
 * Record the batch's contacts' spans and mark every interval whose figures the batch may change:
 * the span of each contact of the batch's transfer/callback chains, the chains of the same caller's
 * earlier customer calls within the FCR window (their repeat-contact FCR), and for agent streams
 * the time since the stream's previous event (a new session: from its start up to now, at most the
 * agent lookback, since it may cut short a session a crashed node left open). Idempotent; call after the batch is stored.
 */
export async function markDirty(pool: pg.Pool | pg.PoolClient, events: readonly CcEvent[], s: KpiSettings, now: number): Promise<void> {
  const spans = new Map<string, { first: number; last: number; arrived?: number; caller?: string; prev?: string; customer: boolean }>();
  const agentMarks: [number, number][] = [];
  const agentFirst: { stream: string; seq: number; ts: number }[] = [];
  for (const e of events) {
    if (e.contactId.startsWith(AGENT_STREAM_PREFIX)) {
      agentFirst.push({ stream: e.contactId, seq: e.seq, ts: e.ts });
      continue;
    }
    let sp = spans.get(e.contactId);
    if (!sp) spans.set(e.contactId, (sp = { first: e.ts, last: e.ts, customer: false }));
    sp.first = Math.min(sp.first, e.ts);
    sp.last = Math.max(sp.last, e.ts);
    if (e.type === 'contact.arrived') {
      sp.arrived = e.ts;
      sp.caller = e.caller;
      if (e.previousContactId !== undefined) sp.prev = e.previousContactId;
      sp.customer = e.initiation === 'inbound' && e.previousContactId === undefined;
    }
  }
  if (spans.size > 0) {
    const ids = [...spans.keys()];
    const v = ids.map((id) => spans.get(id)!);
    await pool.query(
      `INSERT INTO kpi_contact_spans AS k (contact_id, first_ms, last_ms, arrived_ms, caller, previous_contact_id, customer)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::boolean[])
       ON CONFLICT (contact_id) DO UPDATE SET first_ms = least(k.first_ms, excluded.first_ms), last_ms = greatest(k.last_ms, excluded.last_ms),
         arrived_ms = coalesce(excluded.arrived_ms, k.arrived_ms), caller = coalesce(excluded.caller, k.caller),
         previous_contact_id = coalesce(excluded.previous_contact_id, k.previous_contact_id), customer = k.customer OR excluded.customer`,
      [
        ids,
        v.map((x) => x.first),
        v.map((x) => x.last),
        v.map((x) => x.arrived ?? null),
        v.map((x) => x.caller ?? null),
        v.map((x) => x.prev ?? null),
        v.map((x) => x.customer),
      ],
    );
    // Earlier customer calls of the same callers inside the FCR window: their FCR may flip.
    const arrivals = v.filter((x) => x.customer && x.caller && x.arrived !== undefined);
    const repeatOf =
      arrivals.length === 0
        ? []
        : (
            await pool.query<{ contact_id: string }>(
              `SELECT k.contact_id FROM unnest($1::text[], $2::bigint[]) AS a(caller, at)
               JOIN kpi_contact_spans k ON k.customer AND k.caller = a.caller AND k.arrived_ms < a.at AND k.arrived_ms >= a.at - $3::bigint`,
              [arrivals.map((x) => x.caller!), arrivals.map((x) => x.arrived!), s.fcrWindowSec * 1000],
            )
          ).rows.map((r) => r.contact_id);
    const chain = await closure(pool, [...ids, ...repeatOf]);
    await pool.query(
      `INSERT INTO kpi_rollup_buckets (bucket_start, dirty)
       SELECT DISTINCT g, true FROM kpi_contact_spans k,
         generate_series(k.first_ms - k.first_ms % ${GRAIN_MS}, k.last_ms - k.last_ms % ${GRAIN_MS}, ${GRAIN_MS}) AS g
       WHERE k.contact_id = ANY($1::text[]) ORDER BY g
       ON CONFLICT (bucket_start) DO UPDATE SET dirty = true`,
      [chain],
    );
  }
  if (agentFirst.length > 0) {
    const prev = await pool.query<{ stream: string; seq: number; ts: string }>(
      `SELECT a.stream, a.seq, coalesce(e.ts_ms, a.ts) AS ts FROM unnest($1::text[], $2::int[], $3::bigint[]) AS a(stream, seq, ts)
       LEFT JOIN cc_events e ON e.contact_id = a.stream AND e.seq = a.seq - 1`,
      [agentFirst.map((x) => x.stream), agentFirst.map((x) => x.seq), agentFirst.map((x) => x.ts)],
    );
    prev.rows.forEach((r, i) => {
      const e = agentFirst[i]!;
      // A new session may cut short one a crashed node left open, which counts for AGENT_LOOKBACK_MS at most.
      agentMarks.push([Math.min(Number(r.ts), e.ts), e.seq === 1 ? Math.max(e.ts, Math.min(now, e.ts + AGENT_LOOKBACK_MS)) : e.ts]);
    });
    await pool.query(
      `INSERT INTO kpi_rollup_buckets (bucket_start, dirty)
       SELECT DISTINCT g, true FROM unnest($1::bigint[], $2::bigint[]) AS m(a, b),
         generate_series(m.a - m.a % ${GRAIN_MS}, m.b - m.b % ${GRAIN_MS}, ${GRAIN_MS}) AS g ORDER BY g
       ON CONFLICT (bucket_start) DO UPDATE SET dirty = true`,
      [agentMarks.map((m) => m[0]), agentMarks.map((m) => m[1])],
    );
  }
}

/**
 * What the survey report reads for [from, to): every event of the contacts that answered a survey
 * in the range and of their transfer/callback chains (an answer counts for the queue that answered
 * its chain), not every contact within a day either side.
 */
export async function loadSurveyed(pool: pg.Pool, from: number, to: number): Promise<CcEvent[]> {
  const seed = await pool.query<{ contact_id: string }>(
    `SELECT DISTINCT contact_id FROM cc_events WHERE type = 'survey.answer' AND ts_ms >= $1 AND ts_ms < $2`,
    [from, to],
  );
  if (seed.rows.length === 0) return [];
  const full = await closure(
    pool,
    seed.rows.map((r) => r.contact_id),
  );
  const r = await pool.query<{ body: unknown }>(`SELECT body FROM cc_events WHERE contact_id = ANY($1::text[])`, [full]);
  return parseRows(r.rows);
}

/** The transfer/callback chains of these contacts (previous and next, transitively; bounded). */
async function closure(pool: pg.Pool | pg.PoolClient, seed: readonly string[]): Promise<string[]> {
  const all = new Set(seed);
  let frontier = [...all];
  for (let round = 0; round < 20 && frontier.length > 0; round++) {
    const r = await pool.query<{ contact_id: string; previous_contact_id: string | null }>(
      `SELECT contact_id, previous_contact_id FROM kpi_contact_spans
       WHERE previous_contact_id IS NOT NULL AND (contact_id = ANY($1::text[]) OR previous_contact_id = ANY($1::text[]))`,
      [frontier],
    );
    frontier = [];
    for (const row of r.rows) {
      for (const id of [row.contact_id, row.previous_contact_id]) {
        if (id !== null && !all.has(id)) {
          all.add(id);
          frontier.push(id);
        }
      }
    }
  }
  return [...all];
}

// ---------------------------------------------------------------------------------------------
// Computing records

/**
 * Everything the engine needs for [from, to) (15-minute intervals, or a report's raw piece): every
 * event of each contact spanning the range and of their chains, the same callers' later arrivals
 * within the FCR window, agent-state events in the range and each agent stream's last state before
 * it. Bounded by each contact's own span, so a 15-minute edge loads the contacts overlapping those
 * 15 minutes, not (as eventLog.loadEvents) every contact with an event within a day of it.
 */
export async function loadOverlapping(pool: pg.Pool | pg.PoolClient, from: number, to: number, s: KpiSettings): Promise<CcEvent[]> {
  // Contacts spanning the range by their recorded spans, and (should a span lag its events: the
  // marks follow the batch's insert, and a failed mark is only logged) every contact with an event
  // inside it, straight from the log.
  const seed = await pool.query<{ contact_id: string }>(
    `SELECT contact_id FROM kpi_contact_spans WHERE first_ms < $2 AND first_ms >= $1::bigint - $3::bigint AND last_ms >= $1
     UNION
     SELECT contact_id FROM cc_events WHERE ts_ms >= $1 AND ts_ms < $2 AND contact_id NOT LIKE 'agent:%'`,
    [from, to, CONTACT_LOOKBACK_MS],
  );
  const full = await closure(
    pool,
    seed.rows.map((r) => r.contact_id),
  );
  const r = await pool.query<{ body: unknown }>(
    `SELECT body FROM cc_events WHERE contact_id = ANY($1::text[])
     UNION ALL
     SELECT body FROM cc_events WHERE contact_id LIKE 'agent:%' AND ts_ms >= $2 AND ts_ms < $3
     UNION ALL
     SELECT body FROM (
       SELECT DISTINCT ON (contact_id) body FROM cc_events
       WHERE contact_id LIKE 'agent:%' AND ts_ms < $2 AND ts_ms >= $2::bigint - $4::bigint
       ORDER BY contact_id, ts_ms DESC, seq DESC
     ) last_state`,
    [full, from, to, AGENT_LOOKBACK_MS],
  );
  const out = parseRows(r.rows);
  // Repeat-contact FCR: the same callers' later customer calls within the window. The callers come
  // from the arrivals just read (not their spans, which may lag); the later calls from the spans.
  const roots = new Map<string, { lo: number; hi: number }>();
  for (const e of out) {
    if (e.type !== 'contact.arrived' || !e.caller || e.initiation !== 'inbound' || e.previousContactId !== undefined) continue;
    const x = roots.get(e.caller);
    if (!x) roots.set(e.caller, { lo: e.ts, hi: e.ts });
    else {
      x.lo = Math.min(x.lo, e.ts);
      x.hi = Math.max(x.hi, e.ts);
    }
  }
  if (roots.size > 0) {
    const callers = [...roots.keys()];
    const later = await pool.query<{ body: unknown }>(
      `SELECT e.body FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS c(caller, lo, hi)
         JOIN kpi_contact_spans k ON k.customer AND k.caller = c.caller AND k.arrived_ms > c.lo AND k.arrived_ms <= c.hi + $4::bigint
         JOIN cc_events e ON e.contact_id = k.contact_id AND e.type = 'contact.arrived'`,
      [callers, callers.map((c) => roots.get(c)!.lo), callers.map((c) => roots.get(c)!.hi), s.fcrWindowSec * 1000],
    );
    out.push(...parseRows(later.rows));
  }
  return out;
}

function parseRows(rows: readonly { body: unknown }[]): CcEvent[] {
  const out: CcEvent[] = [];
  for (const row of rows) {
    const p = parseEvent(row.body);
    if (p.ok) out.push(p.event);
  }
  return out;
}

/**
 * Compute the 15-minute intervals of [from, to) (aligned) from the log and store them, with their
 * days. Intervals ending after `now` are left alone. Returns the number of records written.
 */
export async function refreshBuckets(
  pool: pg.Pool,
  from: number,
  to: number,
  s: KpiSettings,
  now: number,
  /** Leave the range alone if, once locked, none of it is dirty any more (another report or node just computed it). */
  onlyIfDirty = false,
): Promise<number> {
  const end = Math.min(to, floorGrain(now));
  if (end <= from) return 0;
  const list = grainBuckets(from, end);
  const starts = list.map((b) => b.start);
  const days = [...new Set(starts.map((t) => Math.floor(t / DAY_MS) * DAY_MS))];
  const rs = recordSettings(s);
  const fp = rollupFingerprint(rs);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `SELECT pg_advisory_xact_lock(hashtext('kpi_rollup'), (b / ${GRAIN_MS})::int) FROM unnest($1::bigint[]) b ORDER BY b`,
      [starts],
    );
    if (onlyIfDirty) {
      const still = await client.query(
        `SELECT 1 FROM kpi_rollup_buckets WHERE bucket_start = ANY($1::bigint[]) AND (dirty OR fp <> $2) LIMIT 1`,
        [starts, fp],
      );
      if (still.rowCount === 0) {
        await client.query('COMMIT');
        return 0;
      }
    }
    // First the flags (row locks): events stored after our read below will set them again.
    await client.query(
      `INSERT INTO kpi_rollup_buckets (bucket_start, fp, dirty, computed_at) SELECT b, $2, false, now() FROM unnest($1::bigint[]) b
       ON CONFLICT (bucket_start) DO UPDATE SET fp = excluded.fp, dirty = false, computed_at = excluded.computed_at`,
      [starts, fp],
    );
    const events = await loadOverlapping(client, from, end, s);
    const r = rollup(events, list, now, rs);
    await client.query(`DELETE FROM kpi_rollup WHERE grain = '15m' AND bucket_start >= $1 AND bucket_start < $2`, [from, end]);
    await client.query(`DELETE FROM kpi_rollup_dispositions WHERE grain = '15m' AND bucket_start >= $1 AND bucket_start < $2`, [from, end]);
    await insertRecords(client, r.records);
    await insertDispositions(client, r.dispositions);
    await saveAnomalies(client, events, r.anomalies);
    // A call still waiting makes its interval's longest wait grow: such an interval is read raw.
    await client.query(`UPDATE kpi_rollup_buckets SET open = (bucket_start = ANY($2::bigint[])) WHERE bucket_start = ANY($1::bigint[])`, [
      starts,
      [...r.open],
    ]);
    await client.query(
      `SELECT pg_advisory_xact_lock(hashtext('kpi_rollup_day'), (d / ${DAY_MS})::int) FROM unnest($1::bigint[]) d ORDER BY d`,
      [days],
    );
    for (const d of days) await rebuildDay(client, d, allThresholds(rs).length);
    await client.query('COMMIT');
    return r.records.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function insertRecords(client: pg.PoolClient, records: ReturnType<typeof rollup>['records']): Promise<void> {
  for (let i = 0; i < records.length; i += 5000) {
    const part = records.slice(i, i + 5000);
    const params: unknown[] = [part.map((x) => x.bucketStart), part.map((x) => x.dimension), part.map((x) => x.key)];
    for (const f of SUM_FIELDS) params.push(part.map((x) => x.acc[f]));
    params.push(part.map((x) => x.acc.longestWaitMs));
    for (const f of ARRAY_FIELDS) params.push(part.map((x) => `{${x.acc[f].join(',')}}`));
    const n = params.length;
    const casts = params.map((_, j) => `$${j + 1}::${j === 1 || j === 2 ? 'text' : j >= n - 3 ? 'text' : 'bigint'}[]`);
    const sel = ['grain', ...params.map((_, j) => (j >= n - 3 ? `c${j}::bigint[]` : `c${j}`))];
    await client.query(
      `INSERT INTO kpi_rollup (grain, bucket_start, dimension, key, ${SUM_COLS.join(', ')}, longest_wait_ms, ${ARRAY_COLS.join(', ')})
       SELECT '15m' AS ${sel.join(', ')} FROM unnest(${casts.join(', ')}) AS u(${params.map((_, j) => `c${j}`).join(', ')})
       ON CONFLICT (dimension, grain, bucket_start, key) DO UPDATE SET ${[...SUM_COLS, 'longest_wait_ms', ...ARRAY_COLS].map((c) => `${c} = excluded.${c}`).join(', ')}`,
      params,
    );
  }
}

async function insertDispositions(client: pg.PoolClient, rows: readonly DispositionRecord[]): Promise<void> {
  const flat: { b: number; side: string; key: string; code: string; w: number; d: number; rm: number; r: number; n: number }[] = [];
  for (const { bucketStart: b, side, row } of rows) {
    flat.push({ b, side, key: row.key, code: '', w: row.wrapups, d: row.disposed, rm: row.resolvedMarked, r: row.resolved, n: 0 });
    for (const [code, n] of Object.entries(row.codes)) flat.push({ b, side, key: row.key, code: `=${code}`, w: 0, d: 0, rm: 0, r: 0, n });
  }
  if (flat.length === 0) return;
  await client.query(
    `INSERT INTO kpi_rollup_dispositions (grain, bucket_start, side, key, code, wrapups, disposed, resolved_marked, resolved, n)
     SELECT '15m', * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
     ON CONFLICT (grain, bucket_start, side, key, code) DO UPDATE SET wrapups = excluded.wrapups, disposed = excluded.disposed,
       resolved_marked = excluded.resolved_marked, resolved = excluded.resolved, n = excluded.n`,
    [
      flat.map((x) => x.b),
      flat.map((x) => x.side),
      flat.map((x) => x.key),
      flat.map((x) => x.code),
      flat.map((x) => x.w),
      flat.map((x) => x.d),
      flat.map((x) => x.rm),
      flat.map((x) => x.r),
      flat.map((x) => x.n),
    ],
  );
}

async function saveAnomalies(client: pg.PoolClient, events: readonly CcEvent[], list: readonly AnomalyRecord[]): Promise<void> {
  // Contacts loaded whole have their anomalies replaced; agent-stream ones are only ever added.
  const whole = [
    ...new Set(events.filter((e) => e.type !== 'contact.arrived' && !e.contactId.startsWith(AGENT_STREAM_PREFIX)).map((e) => e.contactId)),
  ];
  await client.query(`DELETE FROM kpi_rollup_anomalies WHERE contact_id = ANY($1::text[])`, [whole]);
  if (list.length === 0) return;
  await client.query(
    `INSERT INTO kpi_rollup_anomalies (contact_id, seq, ts_ms, text, credits)
     SELECT c, s, t, x, cr::bigint[] FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[]) AS u(c, s, t, x, cr)
     ON CONFLICT (contact_id, seq) DO UPDATE SET ts_ms = excluded.ts_ms, text = excluded.text, credits = excluded.credits`,
    [
      list.map((a) => a.contactId),
      list.map((a) => a.seq),
      list.map((a) => a.ts),
      list.map((a) => a.text),
      list.map((a) => `{${a.credits.join(',')}}`),
    ],
  );
}

/** The day's records: sums of its 15-minute records (max for the longest wait). */
async function rebuildDay(client: pg.PoolClient, day: number, thresholds: number): Promise<void> {
  const arr = (c: string) =>
    `ARRAY[${Array.from({ length: thresholds }, (_, i) => `coalesce(sum(${c}[${i + 1}]), 0)`).join(', ')}]::bigint[]`;
  await client.query(`DELETE FROM kpi_rollup WHERE grain = 'day' AND bucket_start = $1`, [day]);
  await client.query(
    `INSERT INTO kpi_rollup (grain, bucket_start, dimension, key, ${SUM_COLS.join(', ')}, longest_wait_ms, ${ARRAY_COLS.join(', ')})
     SELECT 'day', $1, dimension, key, ${SUM_COLS.map((c) => `sum(${c})`).join(', ')}, max(longest_wait_ms), ${ARRAY_COLS.map(arr).join(', ')}
     FROM kpi_rollup WHERE grain = '15m' AND bucket_start >= $1 AND bucket_start < $2 GROUP BY dimension, key`,
    [day, day + DAY_MS],
  );
  await client.query(`DELETE FROM kpi_rollup_dispositions WHERE grain = 'day' AND bucket_start = $1`, [day]);
  await client.query(
    `INSERT INTO kpi_rollup_dispositions (grain, bucket_start, side, key, code, wrapups, disposed, resolved_marked, resolved, n)
     SELECT 'day', $1, side, key, code, sum(wrapups), sum(disposed), sum(resolved_marked), sum(resolved), sum(n)
     FROM kpi_rollup_dispositions WHERE grain = '15m' AND bucket_start >= $1 AND bucket_start < $2 GROUP BY side, key, code`,
    [day, day + DAY_MS],
  );
}

/**
 * Rebuild [from, to) (widened to whole intervals) from the log, a day per transaction: the
 * backfill and repair command. Refreshes the contact spans of the range first. Idempotent.
 */
export async function backfill(
  pool: pg.Pool,
  from: number,
  to: number,
  s: KpiSettings,
  now: number,
  progress?: (done: number, total: number) => void,
): Promise<{ buckets: number; records: number }> {
  const start = floorGrain(from);
  const end = Math.min(Math.ceil(to / GRAIN_MS) * GRAIN_MS, floorGrain(now));
  await rebuildSpans(pool, start - CONTACT_LOOKBACK_MS, end + DAY_MS);
  let records = 0;
  for (let t = start; t < end;) {
    const next = Math.min(end, Math.floor(t / DAY_MS) * DAY_MS + DAY_MS);
    records += await refreshBuckets(pool, t, next, s, now);
    t = next;
    progress?.(t - start, end - start);
  }
  return { buckets: Math.max(0, (end - start) / GRAIN_MS), records };
}

/** kpi_contact_spans from the log for contacts with events in [from, to). */
export async function rebuildSpans(pool: pg.Pool, from: number, to: number): Promise<void> {
  await pool.query(
    `INSERT INTO kpi_contact_spans AS k (contact_id, first_ms, last_ms, arrived_ms, caller, previous_contact_id, customer)
     SELECT e.contact_id, min(e.ts_ms), max(e.ts_ms),
       max(e.ts_ms) FILTER (WHERE e.type = 'contact.arrived'),
       max(e.body->>'caller') FILTER (WHERE e.type = 'contact.arrived'),
       max(e.body->>'previousContactId') FILTER (WHERE e.type = 'contact.arrived'),
       coalesce(bool_or(e.type = 'contact.arrived' AND coalesce(e.body->>'initiation', 'inbound') = 'inbound' AND NOT (e.body ? 'previousContactId')), false)
     FROM cc_events e
     WHERE e.contact_id IN (SELECT DISTINCT contact_id FROM cc_events WHERE ts_ms >= $1 AND ts_ms < $2 AND contact_id NOT LIKE 'agent:%')
     GROUP BY e.contact_id
     ON CONFLICT (contact_id) DO UPDATE SET first_ms = excluded.first_ms, last_ms = excluded.last_ms, arrived_ms = excluded.arrived_ms,
       caller = excluded.caller, previous_contact_id = excluded.previous_contact_id, customer = excluded.customer`,
    [from, to],
  );
}

/**
 * Compute up to `limit` intervals that have ended and are dirty (oldest first), then those computed
 * with other settings (newest first: after an upgrade or a threshold change the records heal
 * themselves, recent days first, without a backfill). Returns how many. Nodes sharing a database
 * must share their KPI settings, or they recompute each other's intervals.
 */
export async function refreshDirty(pool: pg.Pool, s: KpiSettings, now: number, limit = 16): Promise<number> {
  const r = await pool.query<{ bucket_start: string }>(
    `SELECT bucket_start FROM kpi_rollup_buckets WHERE (dirty OR fp <> $3) AND bucket_start + ${GRAIN_MS} <= $1
     ORDER BY dirty DESC, CASE WHEN dirty THEN bucket_start ELSE -bucket_start END LIMIT $2`,
    [now, limit, rollupFingerprint(recordSettings(s))],
  );
  const starts = r.rows.map((row) => Number(row.bucket_start));
  for (const [a, b] of spansOf(starts)) await refreshBuckets(pool, a, b, s, now, true);
  return starts.length;
}

/** Consecutive 15-minute interval starts joined into [start, end) ranges, one refresh each. */
export function spansOf(starts: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const t of [...starts].sort((x, y) => x - y)) {
    const last = out[out.length - 1];
    if (last && last[1] === t) last[1] = t + GRAIN_MS;
    else out.push([t, t + GRAIN_MS]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wiring: the writer's sink, and a refresher per writing node

/**
 * Wrap the event sink: after each batch is stored, mark the intervals it changes dirty. A lost
 * connection fails the batch (the writer retries it from the spool, and the insert is idempotent);
 * any other failure is logged and the batch kept, so ingestion never stops on a rollup bug
 * (`callcentre rollup` repairs the range).
 */
export function markingSink(sink: EventSink, pool: pg.Pool, settings: () => KpiSettings, now: () => number): EventSink {
  return {
    insert: async (events) => {
      const n = await sink.insert(events);
      try {
        await markDirty(pool, events, settings(), now());
      } catch (err) {
        const msg = (err as Error).message ?? String(err);
        if (/ECONNREFUSED|ECONNRESET|terminat|timeout|Connection/i.test(msg)) throw err;
        rlog.error({ err: msg }, 'could not mark rollup intervals dirty; run `callcentre rollup` over this range');
      }
      return n;
    },
  };
}

/** Every intervalMs, compute the dirty intervals that have ended (any node may; locks keep it single). */
export function startRefresher(pool: pg.Pool, settings: () => KpiSettings, now: () => number, intervalMs = 10_000): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    refreshDirty(pool, settings(), now(), 64)
      .catch((err: unknown) => rlog.warn({ err: (err as Error).message }, 'rollup refresh failed; retried next round'))
      .finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
