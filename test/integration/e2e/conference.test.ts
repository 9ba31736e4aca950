/**
 * Consult, three-way conference, attended transfer and supervisor listen / whisper / barge through
 * real peers: sipp as the carrier's caller (a 697 Hz tone), baresip desk phones as agent A (1001,
 * 1209 Hz), the consulted agent B (1003, 1336 Hz) and the supervisor (9001, 1477 Hz). What each
 * one hears is captured off loopback with tcpdump, phase by phase, and judged by Goertzel.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../../server/call/call.ts';
import { conference } from '../../../server/call/conference.ts';
import { cancelConsult, completeTransfer, consult, consultOf } from '../../../server/call/consult.ts';
import { monitor, setMonitorMode, stopMonitor } from '../../../server/call/monitor.ts';
import { placeDemoCall, type DemoCall } from '../../../server/call/demoCaller.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { listenPhase, off, on, show, type Heard, type PortRanges } from '../../support/tones.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';

const CALLER = 697;
const A = 1209;
const B = 1336;
const SUP = 1477;
const FREQS = [CALLER, A, B, SUP];
const RANGES = { a: [35100, 35119], b: [35120, 35139], sup: [35140, 35159] } as const;

let tc: TestCentre;
const phones: DeskPhone[] = [];
const calls: DemoCall[] = [];

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 35010, http: 35020, pg: 35030, rtc: 35600 },
    // No trunk serves the test's external number: an external consult is refused at once.
    {
      env: { CC_RTP_MIN_PORT: '35800', CC_RTP_MAX_PORT: '35999' },
      edits: { 'centre.yaml': [['    - prefix: "+"              # every number\n', '    - prefix: "+999"           # no test number\n']] },
    },
  );
  const phone = (user: string, password: string, port: number, rtp: readonly [number, number], hz: number) =>
    startDeskPhone({
      dir: join(tc.dataDir, `baresip-${user}`),
      user,
      password,
      registrar: `127.0.0.1:${tc.sipPort}`,
      listenPort: port,
      rtpPorts: [rtp[0], rtp[1]],
      toneHz: hz,
    });
  phones.push(await phone('1001', 'alice1001', 35091, RANGES.a, A));
  phones.push(await phone('1003', 'carol1003', 35094, RANGES.b, B));
  phones.push(await phone('9001', 'sam9001', 35097, RANGES.sup, SUP));
});
afterAll(async () => {
  for (const c of calls) c.stop();
  for (const p of phones) await p.stop();
  await tc?.stop();
});

/** Listen to every party for `ms` and judge what each heard (test/support/tones.ts). */
const phase = (ranges: PortRanges, ms?: number): Promise<Heard> => listenPhase(ranges, FREQS, ms);

/** A sipp caller into sales (key 1), answered by agent A's desk phone. */
async function answeredCall(caller: string, sipPort: number, mediaPort: number): Promise<Call> {
  if (tc.centre.acd.agentView('1001')?.state === 'wrap-up') tc.centre.acd.endWrapUp('1001');
  await waitFor(() => tc.centre.acd.agentView('1001')?.state === 'available', { timeoutMs: 15_000, what: 'agent 1001 available' });
  calls.push(placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, digits: '1', toneHz: CALLER, holdMs: 40_000, sipPort, mediaPort, caller }));
  await waitFor(() => tc.centre.acd.agentView('1001')?.state === 'on-call', { timeoutMs: 20_000, what: 'agent A to answer' });
  const call = [...tc.centre.calls.values()].find((c) => c.caller === caller);
  expect(call?.phase).toBe('connected');
  return call!;
}

/**
 * The attended transfer made a new contact linked to `oldId` (issue #12): the old contact's
 * queue.transfer names it, it arrived as a transfer from `oldId`, and the reports count it as
 * handled by the consulted agent B (1003), with its talk time, up to its call.end.
 */
async function expectLinkedContact(started: number, oldId: string, newId: string): Promise<void> {
  expect(newId).not.toBe(oldId);
  const all = await storedEvents(tc.centre.store, started - 1000, Date.now() + 60_000);
  expect(all.find((e) => e.contactId === oldId && e.type === 'queue.transfer')).toMatchObject({ toContactId: newId });
  const next = all.filter((e) => e.contactId === newId);
  expect(next.map((e) => e.type)).toEqual(['contact.arrived', 'queue.enter', 'queue.connect', 'call.end']);
  expect(next[0]).toMatchObject({ initiation: 'transfer', previousContactId: oldId });
  expect(next[2]).toMatchObject({ queue: 'sales', agentId: '1003' });
  // The old contact keeps its recording: started and stopped there, none on the new one.
  expect(all.filter((e) => e.contactId === oldId && e.type.startsWith('recording.')).map((e) => e.type)).toEqual([
    'recording.started',
    'recording.stopped',
  ]);
  const q = new URLSearchParams({
    from: new Date(started - 60_000).toISOString(),
    to: new Date(Date.now() + 60_000).toISOString(),
    contact: newId,
  });
  const rep = await fetch(new URL(`/api/v1/reports/calls?${q}`, tc.httpUrl), {
    headers: { authorization: `Basic ${Buffer.from('9001:sam9001').toString('base64')}` },
  });
  expect(rep.status).toBe(200);
  const rows = ((await rep.json()) as { calls: { contactId: string; agentId: string | null; handled: boolean; talkSec: number }[] }).calls;
  const row = rows.find((x) => x.contactId === newId);
  expect(row, JSON.stringify(rows)).toMatchObject({ agentId: '1003', handled: true, previousContactId: oldId, initiation: 'transfer' });
  expect(row!.talkSec).toBeGreaterThan(1);
  // Not left busy by the transfer: the ACD did not route the new contact to B.
  expect(tc.centre.acd.agentView('1003')?.state).toBe('available');
}

describe('consult, conference, transfer, monitor through real peers', () => {
  it('consult → three-way conference (each hears the other two) → A hangs up, caller and B go on; queue.transfer logged', async () => {
    const started = Date.now();
    const call = await answeredCall('15550301', 35040, 35050);
    const ranges = { caller: [35050, 35050] as const, a: RANGES.a, b: RANGES.b };
    const oldId = call.contactId;

    await consult(call, { kind: 'agent', agentId: '1003' });
    expect(consultOf(call)?.phase).toBe('consulting');
    let r = await phase(ranges);
    // A and B talk; the caller is on hold and hears neither.
    expect(on(r.a![B]) && on(r.b![A]), show(r)).toBe(true);
    expect(off(r.caller![A]) && off(r.caller![B]), show(r)).toBe(true);
    expect(off(r.b![CALLER]), show(r)).toBe(true);

    await conference(call);
    r = await phase(ranges);
    expect(on(r.caller![A]) && on(r.caller![B]), show(r)).toBe(true);
    expect(on(r.a![CALLER]) && on(r.a![B]), show(r)).toBe(true);
    expect(on(r.b![CALLER]) && on(r.b![A]), show(r)).toBe(true);
    expect(off(r.caller![CALLER]) && off(r.a![A]) && off(r.b![B]), show(r)).toBe(true);

    // A leaves by hanging up the desk phone (BYE), as an agent would: the other two go on.
    phones[0]!.command('/hangup');
    await waitFor(() => consultOf(call)?.phase === 'transferred', { timeoutMs: 5000, what: 'A out of the conference' });
    r = await phase({ caller: ranges.caller, b: ranges.b });
    expect(on(r.caller![B]) && on(r.b![CALLER]), show(r)).toBe(true);
    expect(off(r.caller![A]) && off(r.b![A]), show(r)).toBe(true);
    await waitFor(() => tc.centre.acd.agentView('1001')?.state === 'wrap-up', { timeoutMs: 5000, what: 'A in wrap-up' });

    // B hangs up: the one talking with the caller has gone, so the call ends (BYE to the caller).
    phones[1]!.command('/hangup');
    await waitFor(() => !tc.centre.calls.has(call.contactId), { timeoutMs: 10_000, what: 'the call to end' });
    const sipp = await calls.at(-1)!.done;
    expect(sipp.code, sipp.stderr.slice(-800)).not.toBe(0);
    expect(sipp.stderr).toMatch(/unexpected BYE/); // hung up on by the centre, not timed out
    tc.centre.acd.endWrapUp('1001');
    await tc.centre.store.flush();
    const events = (await storedEvents(tc.centre.store, started - 1000, Date.now() + 60_000)).filter((e) => e.contactId === oldId);
    expect(events.find((e) => e.type === 'queue.transfer')).toMatchObject({
      agentId: '1001',
      targetKind: 'agent',
      target: '1003',
      queue: 'sales',
    });
    expect(events.filter((e) => e.type === 'hold.start' || e.type === 'hold.end').map((e) => e.type)).toEqual(['hold.start', 'hold.end']);
    await expectLinkedContact(started, oldId, call.contactId);
  });

  it('monitor: the supervisor hears both; whisper reaches the agent and never the caller; barge reaches everyone', async () => {
    const call = await answeredCall('15550302', 35041, 35051);
    const ranges = { caller: [35051, 35051] as const, a: RANGES.a, sup: RANGES.sup };

    await monitor(call, '9001', 'listen');
    let r = await phase(ranges);
    expect(on(r.sup![CALLER]) && on(r.sup![A]), show(r)).toBe(true);
    expect(off(r.caller![SUP]) && off(r.a![SUP]), show(r)).toBe(true);
    expect(on(r.caller![A]) && on(r.a![CALLER]), show(r)).toBe(true);

    await setMonitorMode(call, 'whisper');
    r = await phase(ranges);
    expect(on(r.a![SUP]), show(r)).toBe(true);
    expect(off(r.caller![SUP]), show(r)).toBe(true);
    expect(on(r.caller![A]) && on(r.sup![CALLER]), show(r)).toBe(true);

    await setMonitorMode(call, 'barge');
    r = await phase(ranges);
    expect(on(r.caller![SUP]) && on(r.a![SUP]) && on(r.caller![A]) && on(r.sup![A]), show(r)).toBe(true);

    await stopMonitor(call);
    r = await phase({ caller: ranges.caller, a: ranges.a });
    expect(off(r.caller![SUP]) && off(r.a![SUP]), show(r)).toBe(true);
    expect(on(r.caller![A]) && on(r.a![CALLER]), show(r)).toBe(true);
    expect(call.media?.currentMix).toBeUndefined(); // back to a plain bridge
    call.finish('system', 'test-over');
  });

  it('consult, cancel: back to the caller; consult again and complete the transfer; refusals leave the call as it was', async () => {
    const started = Date.now();
    const call = await answeredCall('15550303', 35042, 35052);
    const ranges = { caller: [35052, 35052] as const, a: RANGES.a, b: RANGES.b };
    const oldId = call.contactId;
    await expect(consult(call, { kind: 'agent', agentId: '4242' })).rejects.toMatchObject({ status: 404 });
    await expect(consult(call, { kind: 'agent', agentId: '1001' })).rejects.toMatchObject({ status: 409 });
    await expect(consult(call, { kind: 'external', number: '+15550000' })).rejects.toMatchObject({ status: 422 });
    await expect(conference(call)).rejects.toMatchObject({ status: 409 });
    await expect(completeTransfer(call)).rejects.toMatchObject({ status: 409 });
    let r = await phase(ranges);
    expect(on(r.caller![A]) && on(r.a![CALLER]), show(r)).toBe(true);

    await consult(call, { kind: 'agent', agentId: '1003' });
    await expect(consult(call, { kind: 'agent', agentId: '1003' })).rejects.toMatchObject({ status: 409 });
    await cancelConsult(call);
    expect(consultOf(call)).toBeUndefined();
    r = await phase(ranges);
    expect(on(r.caller![A]) && on(r.a![CALLER]), show(r)).toBe(true);
    expect(off(r.caller![B]) && off(r.a![B]), show(r)).toBe(true);

    await consult(call, { kind: 'agent', agentId: '1003' });
    await completeTransfer(call);
    r = await phase(ranges);
    expect(on(r.caller![B]) && on(r.b![CALLER]), show(r)).toBe(true);
    expect(off(r.caller![A]) && off(r.b![A]), show(r)).toBe(true);
    call.finish('system', 'test-over');
    await tc.centre.store.flush();
    const events = (await storedEvents(tc.centre.store, started - 1000, Date.now() + 60_000)).filter((e) => e.contactId === oldId);
    expect(events.filter((e) => e.type === 'queue.transfer')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'hold.start' || e.type === 'hold.end').map((e) => e.type)).toEqual([
      'hold.start',
      'hold.end',
      'hold.start',
      'hold.end',
    ]);
    await expectLinkedContact(started, oldId, call.contactId);
  });
});
