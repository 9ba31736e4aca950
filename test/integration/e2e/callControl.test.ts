/**
 * Call control details the reports depend on, through real peers (sipp as the carrier's caller,
 * baresip as a desk-phone agent):
 * - a customer's hold (re-INVITE a=sendonly, then a=sendrecv) is hold in the report, not talk;
 * - a caller who hangs up while queued is an abandon in the per-call detail (no exitReason), not a
 *   "system" exit: the queue's abandon is logged before the call's end.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';

let tc: TestCentre;
let phone: DeskPhone | undefined;

beforeAll(async () => {
  tc = await startTestCentre({ sip: 15460, http: 18480, pg: 15833, rtc: 44400 });
});
afterAll(async () => {
  await phone?.stop();
  await tc?.stop();
});

describe('call control', () => {
  it('a caller who hangs up while queued is an abandon, with its wait, in the per-call detail', async () => {
    // No agent is logged in: the caller waits in "sales" until sipp hangs up, 6 s after the answer.
    const started = Date.now();
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      holdMs: 6000,
      sipPort: 15470,
      mediaPort: 16400,
      caller: '15550101',
    });
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await waitFor(() => tc.centre.calls.size === 0, { timeoutMs: 5000, what: 'the call to end' });
    await tc.centre.store.flush();
    const [detail, ...more] = await tc.centre.store.calls({ from: started - 60_000, to: Date.now() + 60_000 });
    expect(more).toEqual([]);
    expect(detail).toMatchObject({ queue: 'sales', caller: '15550101', outcome: 'abandoned', exitReason: null, handled: false });
    // Queued after the welcome prompt and one key (~2.5 s), gone at 6 s: about 3.5 s waited.
    expect(detail!.waitSec).toBeGreaterThan(2);
    expect(detail!.waitSec).toBeLessThan(5);
  });

  it("a customer's hold is counted as hold, not talk", async () => {
    await deskPhone();
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', {
      timeoutMs: 5000,
      what: 'the desk phone to log the agent in',
    });
    const started = Date.now();
    // Answer at ~2.5 s (welcome prompt, key 1, desk phone answers at once); hold 5 s to 8 s; BYE at 12 s.
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      holdMs: 12_000,
      hold: { afterMs: 5000, forMs: 3000 },
      sipPort: 15471,
      mediaPort: 16410,
      caller: '15550102',
    });
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'wrap-up', { timeoutMs: 5000, what: 'wrap-up' });
    tc.centre.acd.endWrapUp('1004');
    await tc.centre.store.flush();
    const events = await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000);
    const holds = events.filter((e) => e.type === 'hold.start' || e.type === 'hold.end');
    expect(holds.map((e) => [e.type, (e as { agentId?: string }).agentId])).toEqual([
      ['hold.start', '1004'],
      ['hold.end', '1004'],
    ]);
    const held = holds[1]!.ts - holds[0]!.ts;
    expect(held).toBeGreaterThan(2500);
    expect(held).toBeLessThan(3600);
    const detail = (await tc.centre.store.calls({ from: started - 60_000, to: Date.now() + 60_000 })).find((c) => c.caller === '15550102');
    expect(detail).toMatchObject({ agentId: '1004', handled: true });
    expect(detail!.holdSec).toBeCloseTo(held / 1000, 2);
    // Talk is connect to hang-up less the hold: about 12 - 2.5 - 3 = 6.5 s, never the whole call.
    expect(detail!.talkSec).toBeGreaterThan(5);
    expect(detail!.talkSec).toBeLessThan(8);
  });

  it("an agent's desk phone holding (re-INVITE from the agent's side) is hold too", async () => {
    // A fresh baresip: after a call the remote side ended, baresip 1.0's console keeps that call
    // as the current one, and /hold goes to it instead of the new call.
    await phone?.stop();
    phone = undefined;
    const deskphone = await deskPhone();
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: 'agent 1004 available' });
    const started = Date.now();
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      holdMs: 12_000,
      sipPort: 15472,
      mediaPort: 16420,
      caller: '15550103',
    });
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 15_000, what: 'the desk phone to answer' });
    await new Promise((r) => setTimeout(r, 1000)); // a second of talk before the hold
    deskphone.command('/hold');
    await waitFor(async () => (await holdEvents(started)).length === 1, {
      timeoutMs: 5000,
      what: 'hold.start',
      detail: () =>
        deskphone
          .output()
          .replace(/\r?\[[0-9:]+\] audio=[^\n\r]*(\r)?/g, '')
          .slice(-2500),
    });
    await new Promise((r) => setTimeout(r, 2000)); // on hold for about 2 s
    deskphone.command('/resume');
    await waitFor(async () => (await holdEvents(started)).length === 2, {
      timeoutMs: 5000,
      what: 'hold.end',
      detail: () =>
        deskphone
          .output()
          .replace(/\r?\[[0-9:]+\] audio=[^\n\r]*(\r)?/g, '')
          .slice(-2500),
    });
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    const [start, end] = await holdEvents(started);
    expect([start!.type, end!.type]).toEqual(['hold.start', 'hold.end']);
    expect(end!.ts - start!.ts).toBeGreaterThan(1500);
    expect(end!.ts - start!.ts).toBeLessThan(4000);
  });
});

/** Agent 1004's desk phone (baresip), registered the first time a test needs an agent. */
async function deskPhone(): Promise<DeskPhone> {
  phone ??= await startDeskPhone({
    dir: join(tc.dataDir, 'baresip'),
    user: '1004',
    password: 'dave1004',
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: 15490,
    rtpPorts: [30400, 30500],
    toneHz: 600,
  });
  return phone;
}

async function holdEvents(since: number): Promise<{ type: string; ts: number }[]> {
  await tc.centre.store.flush();
  const events = await storedEvents(tc.centre.store, since - 1000, Date.now() + 60_000);
  // events() returns whole contacts that overlap the range: keep this test's holds only.
  return events.filter((e) => (e.type === 'hold.start' || e.type === 'hold.end') && e.ts >= since);
}
