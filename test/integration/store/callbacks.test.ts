/**
 * Callbacks and abandon-resume places survive a restart (issue #12): an ACD's callback and
 * abandon events are written to real Postgres (embedded) by PgCallbackStore; a second ACD (the
 * restarted centre) gets the pending callback back with its ORIGINAL entry time, its attempts
 * and what is left of its back-off, and the abandoned caller's place. Times hand-computed from
 * the fake clock's start T.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgCallbackStore, restoreCallbacks } from '../../../server/store/callbacks.ts';
import { openStore, type Store } from '../../../server/store/store.ts';
import { agent, harness } from '../../unit/acd/helpers.ts';
import { SETTINGS } from '../../unit/kpi/scriptedDay.ts';

const PORT = 33010;
const T = Date.UTC(2026, 0, 5, 9, 0, 0);
const QUEUES = { q: { skills: [{ skill: 's' }], wrapUp: 0, abandonResume: 600, callback: { maxAttempts: 3, retryDelay: [60, 120] } } };
let root: string;
let store: Store;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cc-callbacks-it-'));
  chmodSync(root, 0o755);
  store = await openStore({ embedded: { dataDir: join(root, 'pg'), port: PORT }, spoolDir: join(root, 'spool'), kpi: SETTINGS });
}, 120_000);
afterAll(async () => {
  await store?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('durable callbacks', () => {
  it('persists requests, attempts and outcomes, and a restart re-queues the pending one in its original place', async () => {
    const cbs = new PgCallbackStore(store.pool);
    const h = harness({ queues: QUEUES, agents: [agent('a', { s: 1 })], login: false });
    h.acd.on('event', (e) => cbs.onAcdEvent(e));
    h.acd.enqueue({ callId: 'x1', queue: 'q', callerId: '+111', arrivedAt: T });
    h.sec(5);
    h.acd.enqueue({ callId: 'x2', queue: 'q', callerId: '+1 (222)' });
    h.sec(55);
    expect(h.acd.requestCallback({ callId: 'x1', number: '+111' })).toEqual({ ok: true }); // T+60
    h.sec(10);
    h.acd.abandon('x2'); // T+70: place kept until T+670
    h.sec(10);
    h.acd.enqueue({ callId: 'cb3', queue: 'q', arrivedAt: T + 3_000, callback: { number: '+333' } }); // T+80
    h.sec(10);
    h.acd.agentLogin('a'); // T+90: x1 (entered T) is dialled first
    expect(h.last('callbackDial')).toMatchObject({ callbackId: 'x1', attempt: 1 });
    h.acd.callbackOutcome('x1', 'busy'); // back-off 60 s: retry at T+150
    expect(h.last('callbackDial')).toMatchObject({ callbackId: 'cb3', attempt: 1 });
    h.acd.callbackOutcome('cb3', 'answered', { newContactId: 'out-1' });
    await cbs.flush();

    const rows = await store.pool.query(
      `SELECT callback_id, queue, number, entered_ms::float8 AS entered, requested_ms::float8 AS requested, attempts, last_outcome,
         next_ms::float8 AS next, status, new_contact_id FROM cc_callbacks ORDER BY callback_id`,
    );
    expect(rows.rows).toEqual([
      {
        callback_id: 'cb3',
        queue: 'q',
        number: '+333',
        entered: T + 3_000,
        requested: T + 80_000,
        attempts: 1,
        last_outcome: 'answered',
        next: null,
        status: 'answered',
        new_contact_id: 'out-1',
      },
      {
        callback_id: 'x1',
        queue: 'q',
        number: '+111',
        entered: T,
        requested: T + 60_000,
        attempts: 1,
        last_outcome: 'busy',
        next: T + 150_000,
        status: 'pending',
        new_contact_id: null,
      },
    ]);
    const places = await store.pool.query('SELECT queue, caller_key, entered_ms::float8 AS e, until_ms::float8 AS u FROM cc_resume_places');
    expect(places.rows).toEqual([{ queue: 'q', caller_key: '1222', e: T + 5_000, u: T + 670_000 }]);

    // The restart, at T+100: a new engine, nobody logged in yet.
    const h2 = harness({ queues: QUEUES, agents: [agent('a', { s: 1 })], login: false });
    h2.acd.on('event', (e) => cbs.onAcdEvent(e));
    h2.clock.advance(100_000);
    const reopened: [string, number][] = [];
    const r = await restoreCallbacks(h2.acd, cbs, h2.clock.now(), { reopenCallback: (id, seq) => reopened.push([id, seq]) });
    expect(r).toEqual({ callbacks: 1, refused: 0, places: 1 });
    expect(reopened).toEqual([['x1', 1]]); // no events in this log for x1: the stream goes on at 1
    expect(h2.acd.callView('x1')).toMatchObject({ state: 'retry', arrivedAt: T, callback: '+111' });
    expect(h2.of('callbackRequested')).toHaveLength(0); // restored, not asked again
    // The abandoned caller calls again from the same number: the old place (entered T+5).
    expect(h2.acd.enqueue({ callId: 'x2b', queue: 'q', callerId: '+1222' })).toMatchObject({ ok: true, position: 1 });
    expect(h2.last('enqueue')).toMatchObject({ resumed: true, arrivedAt: T + 5_000 });
    h2.acd.enqueue({ callId: 'y', queue: 'q', callerId: '+999' }); // a new caller at T+100
    h2.clock.advance(49_999);
    expect(h2.acd.callView('x1')?.state).toBe('retry');
    h2.clock.advance(1); // T+150: the back-off is over; x1 takes its original place, ahead of both
    expect(h2.acd.callView('x1')).toMatchObject({ state: 'waiting', position: 1 });
    expect(h2.acd.callView('y')?.position).toBe(3);
    h2.acd.agentLogin('a');
    expect(h2.last('callbackDial')).toMatchObject({ callbackId: 'x1', attempt: 2, enteredAt: T, waitedMs: 150_000 });
    h2.acd.callbackOutcome('x1', 'no-answer'); // retry after 120 s
    await cbs.flush();
    const after = await store.pool.query(
      `SELECT attempts, last_outcome, next_ms::float8 AS next, status FROM cc_callbacks WHERE callback_id = 'x1'`,
    );
    expect(after.rows).toEqual([{ attempts: 2, last_outcome: 'no-answer', next: T + 270_000, status: 'pending' }]);
    expect((await store.pool.query('SELECT count(*)::int AS n FROM cc_resume_places')).rows[0]).toEqual({ n: 0 });
    h2.acd.dispose();
    h.acd.dispose();
  }, 60_000);
});
