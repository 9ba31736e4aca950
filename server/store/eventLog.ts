/**
 * The event log table (cc_events) in Postgres: batched idempotent inserts for the writer, and the
 * reads the KPI engine needs for a report range.
 */
import type pg from 'pg';
import { AGENT_STREAM_PREFIX, parseEvent, type CcEvent } from '../kpi/events.ts';
import { log } from '../../lib/log.ts';
import type { EventSink } from './writer.ts';

const elog = log.child({ mod: 'event-log' });

export class PgEventSink implements EventSink {
  constructor(private readonly pool: pg.Pool) {}

  async insert(events: readonly CcEvent[]): Promise<number> {
    // One statement, arrays unnested server-side: a 500-event batch is one round trip and one
    // transaction, so a batch is either wholly in or wholly retried.
    const r = await this.pool.query(
      `INSERT INTO cc_events (contact_id, seq, ts_ms, type, body)
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::jsonb[])
       ON CONFLICT (contact_id, seq) DO NOTHING`,
      [
        events.map((e) => e.contactId),
        events.map((e) => e.seq),
        events.map((e) => e.ts),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e)),
      ],
    );
    return r.rowCount ?? 0;
  }
}

export interface LoadWindow {
  from: number;
  to: number;
  /** Contacts with any event this long before `from` are loaded whole (calls spanning the edge). */
  lookbackMs: number;
  /** Contacts with any event this long after `to` are loaded whole (callbacks, late wrap-up). */
  lookaheadMs: number;
  /** Arrivals (contact.arrived only) up to this long after `to`: repeat-contact FCR needs no more. */
  arrivalsAheadMs: number;
  /**
   * How far back to look for an agent session's last state before `from`. A session whose last
   * change is older than this is taken as ended (bounds the scan as history grows).
   */
  agentLookbackMs: number;
}

const DAY = 86_400_000;
/** A contact whose first event is longer ago than this before a range is not looked for (raw window and rollups alike). */
export const CONTACT_LOOKBACK_MS = DAY;
/** An agent stream's last state older than this before a range counts as a session ended (raw window and rollups alike). */
export const AGENT_LOOKBACK_MS = 2 * DAY;

/** The raw report's window for [from, to): a day either side, arrivals within the FCR window after it. */
export function reportWindow(from: number, to: number, fcrWindowSec: number): LoadWindow {
  return {
    from,
    to,
    lookbackMs: CONTACT_LOOKBACK_MS,
    lookaheadMs: DAY,
    arrivalsAheadMs: fcrWindowSec * 1000,
    agentLookbackMs: AGENT_LOOKBACK_MS,
  };
}

/**
 * Everything the KPI engine needs for [from, to): every event of each contact that has an event
 * in the widened window, the arrivals of later contacts within the FCR window, the agent-state
 * events inside the range, and each agent's last state before it (so a shift that started earlier
 * is counted from `from`).
 */
export async function loadEvents(pool: pg.Pool, w: LoadWindow): Promise<CcEvent[]> {
  const like = `${AGENT_STREAM_PREFIX}%`;
  const r = await pool.query<{ body: unknown }>(
    `WITH touched AS (
       SELECT DISTINCT contact_id FROM cc_events
       WHERE ts_ms >= $1 AND ts_ms < $2 AND contact_id NOT LIKE $5
     )
     SELECT e.body FROM cc_events e JOIN touched t USING (contact_id)
     UNION ALL
     SELECT body FROM cc_events
     WHERE type = 'contact.arrived' AND ts_ms >= $2 AND ts_ms < $6
     UNION ALL
     SELECT body FROM cc_events WHERE contact_id LIKE $5 AND ts_ms >= $3 AND ts_ms < $4
     UNION ALL
     SELECT body FROM (
       SELECT DISTINCT ON (contact_id) body FROM cc_events
       WHERE contact_id LIKE $5 AND ts_ms < $3 AND ts_ms >= $3 - $7::bigint
       ORDER BY contact_id, ts_ms DESC, seq DESC
     ) last_state`,
    [w.from - w.lookbackMs, w.to + w.lookaheadMs, w.from, w.to, like, w.to + Math.max(w.lookaheadMs, w.arrivalsAheadMs), w.agentLookbackMs],
  );
  const out: CcEvent[] = [];
  let bad = 0;
  for (const row of r.rows) {
    const p = parseEvent(row.body);
    if (p.ok) out.push(p.event);
    else bad++;
  }
  if (bad > 0) elog.warn({ bad }, 'stored events failed validation and were left out of the report');
  return out;
}

/**
 * One agent's state streams for [from, to): their events inside it and each stream's last event
 * before it (within lookbackMs), which is all agentStateTimes needs. A desk's "My day" reads this
 * on every push, so it must not load the centre's contacts (loadEvents does, a day either side).
 */
export async function loadAgentEvents(pool: pg.Pool, agentId: string, from: number, to: number, lookbackMs: number): Promise<CcEvent[]> {
  // Streams are agent:<id> or agent:<id>#<session>; compared by prefix, so ids with LIKE wildcards are safe.
  const stream = `${AGENT_STREAM_PREFIX}${agentId}`;
  const mine = `(contact_id = $1 OR left(contact_id, $2) = $1 || '#') AND contact_id LIKE $3`;
  const r = await pool.query<{ body: unknown }>(
    `SELECT body FROM cc_events WHERE ${mine} AND ts_ms >= $4 AND ts_ms < $5
     UNION ALL
     SELECT body FROM (
       SELECT DISTINCT ON (contact_id) body FROM cc_events
       WHERE ${mine} AND ts_ms < $4 AND ts_ms >= $4::bigint - $6::bigint
       ORDER BY contact_id, ts_ms DESC, seq DESC
     ) last_state`,
    [stream, stream.length + 1, `${AGENT_STREAM_PREFIX}%`, from, to, lookbackMs],
  );
  return parseAll(r.rows);
}

/**
 * Every event of the contacts the centre placed (initiation outbound or callback) that arrived in
 * [from, to): all the outbound report reads. Not the raw report's window, which loads every contact
 * within a day either side (seconds at a big centre) to find a few dialled calls.
 */
export async function loadPlacedEvents(pool: pg.Pool, from: number, to: number): Promise<CcEvent[]> {
  const r = await pool.query<{ body: unknown }>(
    `SELECT body FROM cc_events WHERE contact_id IN (
       SELECT contact_id FROM cc_events
       WHERE type = 'contact.arrived' AND body->>'initiation' IN ('outbound', 'callback') AND ts_ms >= $1 AND ts_ms < $2
     )`,
    [from, to],
  );
  return parseAll(r.rows);
}

/**
 * Every event of the transfer/callback chain containing contactId, plus arrivals of later calls
 * from the chain's callers within windowMs (for repeat-contact FCR).
 */
export async function loadChainEvents(pool: pg.Pool, contactId: string, windowMs: number): Promise<CcEvent[]> {
  const chain = await pool.query<{ body: unknown }>(
    `WITH RECURSIVE chain(id) AS (
       SELECT $1::text
       UNION
       SELECT CASE WHEN c.contact_id = chain.id THEN c.previous_contact_id ELSE c.contact_id END
       FROM contacts c JOIN chain ON c.contact_id = chain.id OR c.previous_contact_id = chain.id
       WHERE c.previous_contact_id IS NOT NULL
     )
     SELECT e.body FROM cc_events e WHERE e.contact_id IN (SELECT id FROM chain WHERE id IS NOT NULL)`,
    [contactId],
  );
  const events = parseAll(chain.rows);
  const callers = [...new Set(events.flatMap((e) => (e.type === 'contact.arrived' && e.caller ? [e.caller] : [])))];
  const arrivals = events.filter((e) => e.type === 'contact.arrived').map((e) => e.ts);
  if (callers.length > 0 && arrivals.length > 0) {
    const more = await pool.query<{ body: unknown }>(
      `SELECT e.body FROM contacts c JOIN cc_events e ON e.contact_id = c.contact_id AND e.type = 'contact.arrived'
       WHERE c.caller = ANY($1::text[]) AND c.arrived_at > to_timestamp($2 / 1000.0) AND c.arrived_at <= to_timestamp($3 / 1000.0)`,
      [callers, Math.min(...arrivals), Math.max(...arrivals) + windowMs],
    );
    events.push(...parseAll(more.rows));
  }
  return events;
}

function parseAll(rows: { body: unknown }[]): CcEvent[] {
  const out: CcEvent[] = [];
  for (const row of rows) {
    const p = parseEvent(row.body);
    if (p.ok) out.push(p.event);
  }
  return out;
}

/** Count of stored events, for checks and the health endpoint. */
export async function countEvents(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM cc_events');
  return Number(r.rows[0]?.n ?? 0);
}
