/**
 * The consulted party hanging up, seen from the consulting agent's desk (REST + the agent's event
 * stream) and from the caller (what sipp receives, judged by tone). sipp is the caller (697 Hz);
 * baresip desk phones are agent A (1001, 1209 Hz), who drives the call through the agent API, and
 * the consulted agent B (1003, 1336 Hz).
 *
 * 1. B's phone rings (consult phase 'ringing', pushed) and B rejects it: the consult is over, the
 *    agent's stream gets the call without a consult, and the caller hears A again.
 * 2. B answers (phase 'consulting', pushed; the caller hears the queue's music) and hangs up: the
 *    stream gets the call without a consult, GET /api/v1/agent/call agrees, the caller is off the
 *    consult's hold (hold.end) and hears A again, the music stopped — as after a cancel.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { readPcapUdp } from '../../../media/audio/pcap.ts';
import { parseRtp } from '../../../media/rtp/rtp.ts';
import { placeDemoCall, type DemoCall } from '../../../server/call/demoCaller.ts';
import { dominantFrequency, rms } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { storedEvents } from '../../support/eventLog.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { waitFor } from '../../support/waitFor.ts';
import { agentApi } from '../../support/agentApi.ts';

const CALLER = 697;
const A = 1209;
const B = 1336;
const CALLER_MEDIA = 13150;

let tc: TestCentre;
const { api } = agentApi(() => tc.httpUrl);
const phones: DeskPhone[] = [];
const calls: DemoCall[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 13060, http: 13080, pg: 13033, rtc: 13300 },
    { env: { CC_RTP_MIN_PORT: '13200', CC_RTP_MAX_PORT: '13299' } },
  );
  phones.push(await phone('1001', 'alice1001', 13091, [13100, 13119], A, 'auto'));
});
afterAll(async () => {
  for (const c of calls) c.stop();
  for (const p of phones) await p.stop();
  await tc?.stop();
});

function phone(user: string, password: string, port: number, rtp: [number, number], hz: number, answermode: 'auto' | 'manual') {
  return startDeskPhone({
    dir: join(tc.dataDir, `baresip-${user}-${answermode}`),
    user,
    password,
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: port,
    rtpPorts: rtp,
    toneHz: hz,
    answermode,
  });
}

/** The agent's event stream (GET /api/v1/agent/events), read as it comes: every `call` push, in order. */
function callPushes(token: string): { pushes: { at: number; data: Record<string, unknown> }[]; close(): void } {
  const pushes: { at: number; data: Record<string, unknown> }[] = [];
  const ctl = new AbortController();
  void (async () => {
    const r = await fetch(new URL('/api/v1/agent/events', tc.httpUrl), {
      headers: { authorization: `Bearer ${token}` },
      signal: ctl.signal,
    });
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'call' && data) pushes.push({ at: Date.now(), data: JSON.parse(data) as Record<string, unknown> });
      }
    }
  })().catch(() => undefined);
  return { pushes, close: () => ctl.abort() };
}

/** What the caller heard in [from, to) (wall ms): dominant frequency and level. */
function heardBetween(frames: { at: number; pcm: Int16Array }[], from: number, to: number): { freq: number; rms: number } {
  const parts = frames.filter((f) => f.at >= from && f.at < to).map((f) => f.pcm);
  const pcm = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    pcm.set(p, o);
    o += p.length;
  }
  return { freq: Math.round(dominantFrequency(pcm, 8000, 150, 3000, 10).freq), rms: Math.round(rms(pcm)) };
}

describe('the consulted party hangs up', () => {
  it('while ringing and while consulting: pushed to the agent’s desk, the caller back with the agent, the music stopped', async () => {
    const started = Date.now();
    await waitFor(() => tc.centre.acd.agentView('1001')?.state === 'available', { timeoutMs: 10_000, what: 'agent 1001 available' });
    const login = await fetch(new URL('/api/v1/agent/login', tc.httpUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent: '1001', password: 'alice1001' }),
    });
    expect(login.status).toBe(200);
    const token = ((await login.json()) as { token: string }).token;
    const stream = callPushes(token);
    const cap = await captureUdp(CALLER_MEDIA);
    calls.push(
      placeDemoCall({
        target: `127.0.0.1:${tc.sipPort}`,
        digits: '1',
        toneHz: CALLER,
        holdMs: 45_000,
        sipPort: 13070,
        mediaPort: CALLER_MEDIA,
        caller: '15551301',
      }),
    );
    await waitFor(() => tc.centre.acd.agentView('1001')?.state === 'on-call', { timeoutMs: 20_000, what: 'agent A to answer' });
    const call = [...tc.centre.calls.values()].find((c) => c.caller === '15551301')!;
    await sleep(1500);

    // ---- 1. B's phone rings and B rejects it. ----
    const manual = await phone('1003', 'carol1003', 13094, [13120, 13139], B, 'manual');
    phones.push(manual);
    const ringing = api(token, 'POST', '/api/v1/agent/call/consult', { agent: '1003' });
    await waitFor(() => stream.pushes.find((p) => p.data.consult === 'ringing'), { timeoutMs: 10_000, what: "the 'ringing' push" });
    await waitFor(() => /Incoming call/i.test(manual.output()), { timeoutMs: 5000, what: "B's phone ringing" });
    await sleep(1000);
    const rejectedAt = Date.now();
    manual.command('/hangup');
    const refused = await ringing;
    expect(refused.status, JSON.stringify(refused.json)).toBeGreaterThanOrEqual(400);
    const back1 = await waitFor(() => stream.pushes.find((p) => p.at >= rejectedAt && p.data.consult === undefined), {
      timeoutMs: 5000,
      what: 'the push without the consult (rejected)',
    });
    expect(back1.data).toMatchObject({ contactId: call.contactId, held: false });
    await manual.stop();
    phones.splice(phones.indexOf(manual), 1);
    await sleep(2000);

    // ---- 2. B answers, then hangs up. ----
    const auto = await phone('1003', 'carol1003', 13097, [13140, 13149], B, 'auto');
    phones.push(auto);
    const consultStart = Date.now();
    const c = await api(token, 'POST', '/api/v1/agent/call/consult', { agent: '1003' });
    expect(c.status, JSON.stringify(c.json)).toBe(200);
    expect(c.json).toMatchObject({ consult: 'consulting', consultTarget: { kind: 'agent', id: '1003' } });
    await waitFor(() => stream.pushes.find((p) => p.at >= consultStart && p.data.consult === 'consulting'), {
      timeoutMs: 5000,
      what: "the 'consulting' push",
    });
    await sleep(3000);
    const hungUpAt = Date.now();
    auto.command('/hangup');
    const back2 = await waitFor(() => stream.pushes.find((p) => p.at >= hungUpAt && p.data.consult === undefined), {
      timeoutMs: 5000,
      what: 'the push without the consult (hung up)',
    });
    const pushedMs = back2.at - hungUpAt;
    expect(back2.data).toMatchObject({ contactId: call.contactId, held: false });
    const now = await api(token, 'GET', '/api/v1/agent/call');
    expect(now.status).toBe(200);
    expect((now.json.call as Record<string, unknown>).consult).toBeUndefined();
    await sleep(3000);
    const end = Date.now();
    stream.close();

    // What the caller heard: A, then (ringing: music) A again; consulting: music; after B hung up, A again.
    const frames: { at: number; pcm: Int16Array }[] = [];
    for (const d of readPcapUdp(await cap.stop())) {
      const p = d.dstPort === CALLER_MEDIA ? parseRtp(d.payload) : undefined;
      if (p?.payloadType === 0) frames.push({ at: d.at, pcm: decodeG711('PCMU', p.payload) });
    }
    const w = {
      afterReject: heardBetween(frames, rejectedAt + 1000, rejectedAt + 2500),
      consulting: heardBetween(frames, consultStart + 1500, hungUpAt - 200),
      afterHangUp: heardBetween(frames, hungUpAt + 1000, end - 200),
    };
    console.log(`[consultHangUp] pushed ${pushedMs} ms after B's hang-up; the caller heard ${JSON.stringify(w)}`);
    expect(Math.abs(w.afterReject.freq - A), JSON.stringify(w)).toBeLessThanOrEqual(15);
    // The music on hold is a tune of 220-660 Hz notes, loud; neither agent is heard.
    expect(w.consulting.freq, JSON.stringify(w)).toBeGreaterThan(200);
    expect(w.consulting.freq, JSON.stringify(w)).toBeLessThan(700);
    expect(w.consulting.rms, JSON.stringify(w)).toBeGreaterThan(500);
    expect(Math.abs(w.afterHangUp.freq - A), JSON.stringify(w)).toBeLessThanOrEqual(15);
    // No note of the music left under A's tone, block by block (a 80 ms block's dominant is A's).
    const after = frames.filter((f) => f.at >= hungUpAt + 1000 && f.at < end - 200);
    for (let i = 0; i + 4 <= after.length; i += 4) {
      const blk = heardBetween(after.slice(i, i + 4), -Infinity, Infinity);
      expect(Math.abs(blk.freq - A), `${JSON.stringify(blk)} at ${after[i]!.at - hungUpAt} ms`).toBeLessThanOrEqual(15);
    }

    // The event log: each consult's hold ended (hold.start / hold.end twice), by A.
    await tc.centre.store.flush();
    const holds = (await storedEvents(tc.centre.store, started - 1000, Date.now() + 60_000)).filter(
      (e) => e.contactId === call.contactId && (e.type === 'hold.start' || e.type === 'hold.end'),
    );
    expect(holds.map((e) => e.type)).toEqual(['hold.start', 'hold.end', 'hold.start', 'hold.end']);
    expect(holds[3]!.ts).toBeGreaterThanOrEqual(hungUpAt - 50);
    expect(call.phase).toBe('connected');
    expect(call.agent?.party).toBe('1001');
  }, 90_000);
});
