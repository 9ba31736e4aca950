/**
 * Issue #12 through real peers: sipp callers into the real centre (demo IVR, embedded Postgres),
 * a baresip desk phone as the agent.
 *
 * - Abandon-resume: a caller who hangs up while queued and calls again from the same number takes
 *   back the old place (original entry time), ahead of a caller who came in between.
 * - Callback key: a waiting caller presses the queue's callbackKey and hangs up; the callback is
 *   in the ACD and in cc_callbacks with the caller's original entry; when the agent's phone
 *   registers the ACD reserves the agent and call control dials. No outbound dialler is joined
 *   yet (acdDispatch.ts placeholder: every attempt 'failed'), so the retry path runs: attempt 1
 *   failed, back-off 2 s, attempt 2 failed, given up; all in the event log and the table, and the
 *   agent is free again.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcdEvent } from '../../../server/acd/events.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';

// Ports 33000-33999 (this helper's block): SIP 33060, HTTP 33080, Postgres 33033, RTC 33200-33599.
let tc: TestCentre;
let phone: DeskPhone | undefined;
const acdEvents: AcdEvent[] = [];

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 33060, http: 33080, pg: 33033, rtc: 33200 },
    {
      edits: {
        'queues.yaml': [
          [
            '      - { after: 60, addSkills: [{ skill: operator }] }',
            '      - { after: 60, addSkills: [{ skill: operator }] }\n    abandonResume: 600\n    callback: { maxAttempts: 2, retryDelay: 2, reservationTimeout: 10 }',
          ],
        ],
        // sipp replays one pcap per key with the same RTP timestamp, so a key sent twice is one
        // RFC 4733 event: the test's callback key differs from the menu's "1".
        'ivr/main.yaml': [['callbackKey: "1"', 'callbackKey: "9"']],
        // The demo's carrier (127.0.0.1:5080) is not there, and over TCP the connection is refused at
        // once: each dial of the callback fails (a callback is offered only to a number a trunk takes).
        'centre.yaml': [['      transport: udp', '      transport: tcp']],
      },
    },
  );
  tc.centre.acd.on('event', (e) => acdEvents.push(e));
}, 120_000);
afterAll(async () => {
  await phone?.stop();
  await tc?.stop();
});

const target = () => `127.0.0.1:${tc.sipPort}`;
const contactOf = (caller: string) => [...tc.centre.calls.values()].find((c) => c.caller === caller)?.contactId;
const of = <T extends AcdEvent['type']>(type: T, callId: string) =>
  acdEvents.filter((e): e is Extract<AcdEvent, { type: T }> => e.type === type && 'callId' in e && e.callId === callId);

describe('callbacks and abandon-resume', () => {
  it('abandon-resume: the same number calling again within the window gets its old place back', async () => {
    const a = placeDemoCall({ target: target(), digits: '1', holdMs: 6000, sipPort: 33070, mediaPort: 33400, caller: '15550202' });
    const aId = await waitFor(() => contactOf('15550202'), { timeoutMs: 5000, what: 'call A' });
    await waitFor(() => of('enqueue', aId).length > 0, { timeoutMs: 8000, what: 'A queued' });
    const b = placeDemoCall({ target: target(), digits: '1', holdMs: 30_000, sipPort: 33071, mediaPort: 33410, caller: '15550303' });
    const bId = await waitFor(() => contactOf('15550303'), { timeoutMs: 5000, what: 'call B' });
    await waitFor(() => of('enqueue', bId).length > 0, { timeoutMs: 8000, what: 'B queued' });
    expect(tc.centre.acd.callView(bId)?.position).toBe(2);
    const ra = await a.done;
    expect(ra.code, ra.stderr.slice(-1500)).toBe(0);
    const abandon = await waitFor(() => of('abandon', aId)[0], { timeoutMs: 5000, what: 'A abandoned' });
    const aEntered = of('enqueue', aId)[0]!.arrivedAt;
    expect(abandon.kept).toMatchObject({ queue: 'sales', key: '15550202', arrivedAt: aEntered });
    expect(tc.centre.acd.callView(bId)?.position).toBe(1);
    // The kept place is durable.
    await waitFor(
      async () =>
        (await tc.centre.store.pool.query(`SELECT 1 FROM cc_resume_places WHERE queue = 'sales' AND caller_key = '15550202'`)).rowCount ===
        1,
      { timeoutMs: 5000, what: 'the kept place in cc_resume_places' },
    );

    // A calls again from the same number: back in front of B, with the original entry time.
    const a2 = placeDemoCall({ target: target(), digits: '1', holdMs: 5000, sipPort: 33072, mediaPort: 33420, caller: '15550202' });
    const a2Id = await waitFor(() => contactOf('15550202'), { timeoutMs: 5000, what: 'call A again' });
    const enq = await waitFor(() => of('enqueue', a2Id)[0], { timeoutMs: 8000, what: 'A again queued' });
    expect(enq).toMatchObject({ resumed: true, resumeKey: '15550202', arrivedAt: aEntered, position: 1 });
    expect(tc.centre.acd.callView(a2Id)).toMatchObject({ position: 1, arrivedAt: aEntered });
    expect(tc.centre.acd.callView(bId)?.position).toBe(2);
    await waitFor(
      async () => (await tc.centre.store.pool.query(`SELECT 1 FROM cc_resume_places WHERE caller_key = '15550202'`)).rowCount === 0,
      { timeoutMs: 5000, what: 'the place taken from cc_resume_places' },
    );
    expect((await a2.done).code).toBe(0);
    expect((await b.done).code).toBe(0);
    await waitFor(() => tc.centre.calls.size === 0, { timeoutMs: 8000, what: 'the calls to end' });
  }, 90_000);

  it('callback key while queued: kept place, persisted, then dialled, retried and given up with the agent freed', async () => {
    // Keys: "1" for sales (barging into the welcome), then the callback key "9" a second later while queued.
    const c = placeDemoCall({ target: target(), digits: '19', holdMs: 4500, sipPort: 33073, mediaPort: 33430, caller: '02079460404' });
    const id = await waitFor(() => contactOf('02079460404'), { timeoutMs: 5000, what: 'the call' });
    const requested = await waitFor(() => of('callbackRequested', id)[0], { timeoutMs: 10_000, what: 'the callback key' });
    const entered = of('enqueue', id)[0]!.arrivedAt;
    expect(requested).toMatchObject({ queue: 'sales', number: '02079460404', fromWaiting: true, enteredAt: entered });
    await c.done; // the caller hangs up during or after the confirmation
    await waitFor(() => tc.centre.calls.size === 0, { timeoutMs: 8000, what: 'the caller gone' });
    expect(of('abandon', id)).toEqual([]);
    expect(tc.centre.acd.callView(id)).toMatchObject({ state: 'waiting', callback: '02079460404', arrivedAt: entered, position: 1 });
    expect(tc.centre.acd.queueStats('sales')?.callbacks).toBe(1);
    const row = async () =>
      (
        await tc.centre.store.pool.query(
          'SELECT queue, number, entered_ms::float8 AS entered, attempts, last_outcome, status FROM cc_callbacks WHERE callback_id = $1',
          [id],
        )
      ).rows[0] as Record<string, unknown> | undefined;
    await waitFor(row, { timeoutMs: 5000, what: 'the callback row' });
    expect(await row()).toEqual({ queue: 'sales', number: '02079460404', entered, attempts: 0, last_outcome: null, status: 'pending' });

    // The agent's desk phone registers: the ACD reserves 1004 for the callback and call control dials.
    phone = await startDeskPhone({
      dir: join(tc.dataDir, 'baresip'),
      user: '1004',
      password: 'dave1004',
      registrar: target(),
      listenPort: 33090,
      rtpPorts: [33600, 33700],
      toneHz: 600,
    });
    const gaveUp = await waitFor(() => of('callbackGivenUp', id)[0], { timeoutMs: 20_000, what: 'the callback to give up' });
    expect(gaveUp).toMatchObject({ attempts: 2, lastOutcome: 'failed' });
    const dials = of('callbackDial', id);
    expect(dials.map((d) => [d.agentId, d.attempt, d.enteredAt])).toEqual([
      ['1004', 1, entered],
      ['1004', 2, entered],
    ]);
    const dialled = of('callbackDialled', id);
    expect(dialled.map((d) => [d.attempt, d.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    // The queue's back-off (2 s) between the attempts.
    expect(dials[1]!.at - dialled[0]!.at).toBeGreaterThanOrEqual(2000);
    expect(dials[1]!.at - dialled[0]!.at).toBeLessThan(3000);
    expect(tc.centre.acd.callView(id)).toBeUndefined();
    expect(tc.centre.acd.agentView('1004')?.state).toBe('available');
    await waitFor(async () => (await row())?.status === 'given-up', { timeoutMs: 5000, what: 'the row given up' });
    expect(await row()).toMatchObject({ attempts: 2, last_outcome: 'failed', status: 'given-up' });

    // The event log of the contact that asked.
    await tc.centre.store.flush();
    const evs = (await storedEvents(tc.centre.store, entered - 60_000, Date.now() + 60_000)).filter((e) => e.contactId === id);
    const types = evs.map((e) => e.type);
    expect(types.filter((t) => t.startsWith('callback.') || t === 'queue.exit' || t === 'call.end')).toEqual([
      'callback.requested',
      'queue.exit',
      'call.end',
      'callback.dialled',
      'callback.dialled',
      'callback.given-up',
    ]);
    expect(evs.find((e) => e.type === 'queue.exit')).toMatchObject({ queue: 'sales', reason: 'callback' });
    expect(evs.filter((e) => e.type === 'callback.dialled')).toMatchObject([
      { attempt: 1, outcome: 'failed', agentId: '1004' },
      { attempt: 2, outcome: 'failed', agentId: '1004' },
    ]);
    expect(evs.find((e) => e.type === 'callback.given-up')).toMatchObject({ queue: 'sales', attempts: 2 });
    // Numbered 1, 2, 3… without a gap or a repeat (the stream stayed open after call.end).
    expect(evs.map((e) => e.seq)).toEqual(evs.map((_, i) => i + 1));
  }, 90_000);
});
