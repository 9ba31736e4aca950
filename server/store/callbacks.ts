/**
 * Durable callbacks and abandon-resume places (issue #12), in cc_callbacks and cc_resume_places
 * (migration 1766100000000_callbacks.sql). The ACD engine keeps them in memory and stays pure;
 * this edge follows its events and writes each change, and at start puts them back:
 *
 *   callbackRequested          row inserted: queue, number, ORIGINAL entry time, pending
 *   callbackDialled            attempts, last outcome, next attempt time (the back-off)
 *   connect (a callback)       answered
 *   callbackGivenUp            given-up
 *   exit (a callback, other)   cancelled (withdrawn, queue removed)
 *   abandon with a kept place  place stored until the queue's abandonResume window ends
 *   enqueue resumed            place taken (deleted)
 *
 * restoreCallbacks() re-queues every pending row into the ACD with its original entry time,
 * attempts and remaining back-off, and gives back the places still inside their window. Writes
 * are queued in order on one chain; a failed write is logged and the next goes on.
 */
import type pg from 'pg';
import type { Acd } from '../acd/acd.ts';
import type { AcdEvent, ResumePlace } from '../acd/events.ts';
import { log as rootLog } from '../../lib/log.ts';
import type { RecoveryReport } from './recovery.ts';

const log = rootLog.child({ mod: 'callbacks' });

export interface PendingCallback {
  callbackId: string;
  queue: string;
  number: string;
  /** Original queue entry (ms). */
  enteredAt: number;
  requestedAt: number;
  attempts: number;
  /** The next attempt may not be routed before this (ms), after a failed attempt's back-off. */
  nextAt?: number;
  /** The asking contact's last event seq in the log (0 when none). */
  lastSeq: number;
}

export class PgCallbackStore {
  private chain: Promise<void> = Promise.resolve();
  /** Callbacks (by id) this process has seen requested or restored. */
  private readonly known = new Set<string>();

  constructor(private readonly pool: pg.Pool) {}

  /** Every write queued so far has been tried. */
  flush(): Promise<void> {
    return this.chain;
  }

  private write(sql: string, params: unknown[]): void {
    this.chain = this.chain
      .then(() => this.pool.query(sql, params))
      .then(
        () => undefined,
        (err: unknown) => log.error({ err: String(err), sql: sql.slice(0, 60) }, 'callback store write failed'),
      );
  }

  /** Follow one ACD event (acd.on('event', …)). */
  onAcdEvent(e: AcdEvent): void {
    switch (e.type) {
      case 'callbackRequested':
        this.known.add(e.callId);
        this.write(
          `INSERT INTO cc_callbacks (callback_id, queue, number, entered_ms, requested_ms)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (callback_id) DO UPDATE SET queue = EXCLUDED.queue, number = EXCLUDED.number,
             entered_ms = EXCLUDED.entered_ms, requested_ms = EXCLUDED.requested_ms, attempts = 0, last_outcome = NULL,
             last_dial_ms = NULL, next_ms = NULL, status = 'pending', done_ms = NULL, new_contact_id = NULL`,
          [e.callId, e.queue, e.number, e.enteredAt, e.at],
        );
        return;
      case 'callbackDialled':
        this.write(
          `UPDATE cc_callbacks SET attempts = $2, last_outcome = $3, last_dial_ms = $4, next_ms = $5,
             new_contact_id = coalesce($6, new_contact_id) WHERE callback_id = $1`,
          [e.callbackId, e.attempt, e.outcome, e.at, e.retryAt ?? null, e.newContactId ?? null],
        );
        return;
      case 'callbackGivenUp':
        this.finish(e.callbackId, 'given-up', e.at);
        return;
      case 'connect':
        if (e.callback) this.finish(e.callId, 'answered', e.at);
        return;
      case 'exit':
        if (this.known.has(e.callId)) this.finish(e.callId, 'cancelled', e.at);
        return;
      case 'abandon':
        if (e.kept) {
          const k = e.kept;
          this.write(
            `INSERT INTO cc_resume_places (queue, caller_key, entered_ms, priority, left_ms, until_ms) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (queue, caller_key) DO UPDATE SET entered_ms = EXCLUDED.entered_ms, priority = EXCLUDED.priority,
               left_ms = EXCLUDED.left_ms, until_ms = EXCLUDED.until_ms`,
            [k.queue, k.key, k.arrivedAt, k.priority, k.at, k.until],
          );
        }
        return;
      case 'enqueue':
        if (e.resumed && e.resumeKey)
          this.write('DELETE FROM cc_resume_places WHERE queue = $1 AND caller_key = $2', [e.queue, e.resumeKey]);
        return;
      default:
        return;
    }
  }

  /** A callback restored from the table: its exit will mark it cancelled. */
  track(callbackId: string): void {
    this.known.add(callbackId);
  }

  private finish(id: string, status: 'answered' | 'given-up' | 'cancelled', at: number): void {
    this.known.delete(id);
    // Only a pending row changes: a given-up callback's exit does not turn it into 'cancelled'.
    this.write(`UPDATE cc_callbacks SET status = $2, done_ms = $3 WHERE callback_id = $1 AND status = 'pending'`, [id, status, at]);
  }

  /** Callbacks not answered, given up or cancelled, oldest place first. */
  async pending(): Promise<PendingCallback[]> {
    const r = await this.pool.query<{
      callback_id: string;
      queue: string;
      number: string;
      entered_ms: string;
      requested_ms: string;
      attempts: number;
      next_ms: string | null;
      last_seq: number | null;
    }>(
      `SELECT c.callback_id, c.queue, c.number, c.entered_ms::text, c.requested_ms::text, c.attempts, c.next_ms::text,
         (SELECT max(e.seq) FROM cc_events e WHERE e.contact_id = c.callback_id)::int AS last_seq
       FROM cc_callbacks c WHERE c.status = 'pending' ORDER BY c.entered_ms, c.callback_id`,
    );
    return r.rows.map((x) => ({
      callbackId: x.callback_id,
      queue: x.queue,
      number: x.number,
      enteredAt: Number(x.entered_ms),
      requestedAt: Number(x.requested_ms),
      attempts: x.attempts,
      ...(x.next_ms !== null ? { nextAt: Number(x.next_ms) } : {}),
      lastSeq: x.last_seq ?? 0,
    }));
  }

  /** Abandon-resume places still inside their window at `now` (older ones are deleted). */
  async resumePlaces(now: number): Promise<ResumePlace[]> {
    await this.pool.query('DELETE FROM cc_resume_places WHERE until_ms < $1', [now]);
    const r = await this.pool.query<{
      queue: string;
      caller_key: string;
      entered_ms: string;
      priority: number;
      left_ms: string;
      until_ms: string;
    }>('SELECT queue, caller_key, entered_ms::text, priority, left_ms::text, until_ms::text FROM cc_resume_places ORDER BY left_ms');
    return r.rows.map((x) => ({
      queue: x.queue,
      key: x.caller_key,
      arrivedAt: Number(x.entered_ms),
      priority: x.priority,
      at: Number(x.left_ms),
      until: Number(x.until_ms),
    }));
  }

  /**
   * Callbacks crash recovery found requested in the event log but with no row (asked before this
   * table existed, or the row's write was lost with the process): adopted as pending.
   */
  async adopt(reports: readonly RecoveryReport[]): Promise<number> {
    let n = 0;
    for (const cb of reports.flatMap((r) => r.pendingCallbacks)) {
      const r = await this.pool.query(
        `INSERT INTO cc_callbacks (callback_id, queue, number, entered_ms, requested_ms, attempts)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (callback_id) DO NOTHING`,
        [cb.contactId, cb.queue, cb.number, cb.enteredAt, cb.requestedAt, cb.attempts],
      );
      n += r.rowCount ?? 0;
    }
    return n;
  }
}

/** Where restored callbacks' later events go: the asking contact's stream, continued after its last seq. */
export interface CallbackStreams {
  reopenCallback(contactId: string, nextSeq: number): void;
}

/**
 * At start: every pending callback back into the ACD with its original entry time, attempts and
 * remaining back-off; abandon-resume places still in their window back too. A callback whose
 * queue is gone (or refused) stays pending in the table and is logged.
 */
export async function restoreCallbacks(
  acd: Acd,
  store: PgCallbackStore,
  now: number,
  streams?: CallbackStreams,
): Promise<{ callbacks: number; refused: number; places: number }> {
  let callbacks = 0;
  let refused = 0;
  for (const cb of await store.pending()) {
    streams?.reopenCallback(cb.callbackId, cb.lastSeq + 1);
    store.track(cb.callbackId);
    const r = acd.enqueue({
      callId: cb.callbackId,
      queue: cb.queue,
      arrivedAt: cb.enteredAt,
      callback: { number: cb.number, attempts: cb.attempts, restored: true, ...(cb.nextAt !== undefined ? { notBefore: cb.nextAt } : {}) },
    });
    if (r.ok) callbacks++;
    else {
      refused++;
      log.error(
        { callbackId: cb.callbackId, queue: cb.queue, error: r.error },
        'pending callback could not be re-queued; it stays pending',
      );
    }
  }
  const places = await store.resumePlaces(now);
  acd.restoreResumePlaces(places);
  if (callbacks + refused + places.length > 0)
    log.info({ callbacks, refused, places: places.length }, 'callbacks and resume places restored');
  return { callbacks, refused, places: places.length };
}
