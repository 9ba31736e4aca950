/**
 * Recording pause / resume (PCI) through real peers: sipp is the caller (tone A, 1000 Hz), a
 * baresip desk phone is agent 1004 (tone B, 1400 Hz). The agent pauses the recording mid-call
 * over the REST API, waits, resumes; the recording downloaded from the recordings API holds both
 * tones before and after and neither (silence) in the paused span; recording.pause / .resume are in
 * the event log; the wrong states are 409s. A second call is paused and never resumed: the
 * recording resumes by itself when the call ends (reason call-end) and the pause is no longer.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { goertzelPower, readStereoWav, rms } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';
import { agentApi, type ApiReply } from '../../support/agentApi.ts';

const TONE_A = 1000; // the caller
const TONE_B = 1400; // the agent
let tc: TestCentre;
const { login, api } = agentApi(() => tc.httpUrl);
const post = (token: string, path: string): Promise<ApiReply> => api(token, 'POST', path, {});
let phone: DeskPhone;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SUP = { authorization: `Basic ${Buffer.from('9001:sam9001').toString('base64')}` };

beforeAll(async () => {
  // Every port in this file's block (23000-23999): plain RTP 23800-23899, mediasoup 23400-23599.
  tc = await startTestCentre(
    { sip: 23060, http: 23080, pg: 23033, rtc: 23400 },
    { env: { CC_RTP_MIN_PORT: '23800', CC_RTP_MAX_PORT: '23899' } },
  );
  phone = await startDeskPhone({
    dir: join(tc.dataDir, 'baresip-1004'),
    user: '1004',
    password: 'dave1004',
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: 23190,
    rtpPorts: [23700, 23719],
    toneHz: TONE_B,
  });
  await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: 'agent 1004 available' });
});
afterAll(async () => {
  await phone?.stop();
  await tc?.stop();
});

async function events(since: number): Promise<{ type: string; contactId: string; ts: number; [k: string]: unknown }[]> {
  await tc.centre.store.flush();
  return await storedEvents(tc.centre.store, since - 60_000, Date.now() + 60_000);
}

/** Tone energies (per sample², relative to the window's length) and level of [fromMs, toMs) of a channel. */
function span(x: Int16Array, fromMs: number, toMs: number): { a: number; b: number; rms: number } {
  const w = x.subarray(Math.round(fromMs * 8), Math.round(toMs * 8));
  const n = Math.max(1, w.length);
  return { a: goertzelPower(w, TONE_A) / n / n, b: goertzelPower(w, TONE_B) / n / n, rms: rms(w) };
}

describe('recording pause for card numbers', () => {
  it('the paused span of the recording is silent, before and after it both tones; events and 409s', async () => {
    const token = await login('1004', 'dave1004');
    // Not on a call: both refused.
    for (const p of ['/api/v1/agent/call/recording/pause', '/api/v1/agent/call/recording/resume']) {
      const r = await post(token, p);
      expect([r.status, typeof r.json.error], p).toEqual([409, 'string']);
    }
    const started = Date.now();
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      toneHz: TONE_A,
      holdMs: 17_000,
      sipPort: 23170,
      mediaPort: 23300,
      caller: '15552301',
    });
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 20_000, what: 'the desk phone to answer' });
    const contactId = [...tc.centre.calls.values()].find((c) => c.caller === '15552301')!.contactId;
    // The recording starts just after the bridge.
    await waitFor(async () => (await events(started)).some((e) => e.type === 'recording.started' && e.contactId === contactId), {
      timeoutMs: 5000,
      what: 'recording.started',
    });
    await sleep(3000);
    expect((await post(token, '/api/v1/agent/call/recording/resume')).status).toBe(409); // not paused
    const paused = await post(token, '/api/v1/agent/call/recording/pause');
    expect(paused.json).toMatchObject({ recording: true, paused: true });
    const pausedAt = Date.now();
    expect((await post(token, '/api/v1/agent/call/recording/pause')).status).toBe(409); // already
    await sleep(4000);
    const resumed = await post(token, '/api/v1/agent/call/recording/resume');
    const resumedAt = Date.now();
    expect(resumed.json).toMatchObject({ recording: true, paused: false });
    expect(resumed.json.pausedMs).toBeGreaterThanOrEqual(3900);

    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'wrap-up', { timeoutMs: 10_000, what: 'wrap-up' });
    tc.centre.acd.endWrapUp('1004');

    const ev = await waitFor(
      async () => {
        const all = (await events(started)).filter((e) => e.contactId === contactId);
        return all.some((e) => e.type === 'recording.stopped') ? all : undefined;
      },
      { timeoutMs: 10_000, what: 'recording.stopped' },
    );
    const types = ev.map((e) => e.type).filter((t) => t.startsWith('recording.'));
    expect(types).toEqual(['recording.started', 'recording.pause', 'recording.resume', 'recording.stopped']);
    const start = ev.find((e) => e.type === 'recording.started')!;
    const pause = ev.find((e) => e.type === 'recording.pause')!;
    const resume = ev.find((e) => e.type === 'recording.resume')!;
    expect(pause).toMatchObject({ agentId: '1004', recordingId: contactId });
    expect(resume).toMatchObject({ agentId: '1004', reason: 'agent' });
    expect(Math.abs((resume.pausedMs as number) - (resumedAt - pausedAt))).toBeLessThan(500);

    // The recording as the recordings API serves it.
    const list = await fetch(new URL(`/api/v1/recordings?contact=${contactId}`, tc.httpUrl), { headers: SUP });
    expect(list.status).toBe(200);
    const { recordings } = (await list.json()) as { recordings: { audio: string }[] };
    expect(recordings).toHaveLength(1);
    const audio = await fetch(new URL(recordings[0]!.audio, tc.httpUrl), { headers: SUP });
    expect(audio.status).toBe(200);
    const wav = readStereoWav(Buffer.from(await audio.arrayBuffer()));
    expect(wav.rate).toBe(8000);

    // Offsets into the file (ms), from the event times; 400 ms margins for the jitter window and the API's round trip.
    const p0 = pause.ts - start.ts;
    const p1 = resume.ts - start.ts;
    const before = { caller: span(wav.left, p0 - 2400, p0 - 400), agent: span(wav.right, p0 - 2400, p0 - 400) };
    const during = { caller: span(wav.left, p0 + 400, p1 - 400), agent: span(wav.right, p0 + 400, p1 - 400) };
    const after = { caller: span(wav.left, p1 + 600, p1 + 2600), agent: span(wav.right, p1 + 600, p1 + 2600) };
    console.log('recording pause spans', JSON.stringify({ p0, p1, before, during, after }));
    // Before and after: the caller's tone A on the left, the agent's tone B on the right, each well above the other.
    for (const s of [before, after]) {
      expect(s.caller.rms).toBeGreaterThan(1000);
      expect(s.agent.rms).toBeGreaterThan(1000);
      expect(s.caller.a).toBeGreaterThan(100 * s.caller.b);
      expect(s.agent.b).toBeGreaterThan(100 * s.agent.a);
    }
    // Paused: digital silence on both channels, and no energy at either tone.
    for (const ch of [during.caller, during.agent]) {
      expect(ch.rms).toBeLessThan(5);
      expect(ch.a).toBeLessThan(before.caller.a / 1e6);
      expect(ch.b).toBeLessThan(before.agent.b / 1e6);
    }
  });

  it('a pause never left on: the recording resumes by itself when the call ends', async () => {
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: 'agent 1004 available' });
    const token = await login('1004', 'dave1004');
    const started = Date.now();
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      toneHz: TONE_A,
      holdMs: 8000,
      sipPort: 23171,
      mediaPort: 23310,
      caller: '15552302',
    });
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 20_000, what: 'the desk phone to answer' });
    const contactId = [...tc.centre.calls.values()].find((c) => c.caller === '15552302')!.contactId;
    await sleep(1500);
    expect((await post(token, '/api/v1/agent/call/recording/pause')).json).toMatchObject({ paused: true });
    const r = await call.done; // the caller hangs up while paused
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'wrap-up', { timeoutMs: 10_000, what: 'wrap-up' });
    tc.centre.acd.endWrapUp('1004');
    const ev = await waitFor(
      async () => {
        const all = (await events(started)).filter((e) => e.contactId === contactId);
        return all.some((e) => e.type === 'recording.stopped') ? all : undefined;
      },
      { timeoutMs: 10_000, what: 'recording.stopped' },
    );
    expect(ev.map((e) => e.type).filter((t) => t.startsWith('recording.'))).toEqual([
      'recording.started',
      'recording.pause',
      'recording.resume',
      'recording.stopped',
    ]);
    expect(['agent-left', 'call-end']).toContain(ev.find((e) => e.type === 'recording.resume')!.reason);
    // Off the call now: nothing to resume.
    expect((await post(token, '/api/v1/agent/call/recording/resume')).status).toBe(409);
  });

  it('a blind transfer while paused resumes the recording (agent-left) before the agent leaves', async () => {
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: 'agent 1004 available' });
    const token = await login('1004', 'dave1004');
    const started = Date.now();
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      toneHz: TONE_A,
      holdMs: 9000,
      sipPort: 23172,
      mediaPort: 23330,
      caller: '15552303',
    });
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 20_000, what: 'the desk phone to answer' });
    const contactId = [...tc.centre.calls.values()].find((c) => c.caller === '15552303')!.contactId;
    await sleep(1500);
    expect((await post(token, '/api/v1/agent/call/recording/pause')).json).toMatchObject({ paused: true });
    const t = await fetch(new URL('/api/v1/agent/call/transfer', tc.httpUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ queue: 'support' }),
    });
    expect(t.status).toBe(200);
    expect((await post(token, '/api/v1/agent/call/recording/resume')).status).toBe(409); // off the call now
    await call.done;
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'wrap-up', { timeoutMs: 10_000, what: 'wrap-up' });
    tc.centre.acd.endWrapUp('1004');
    const ev = await waitFor(
      async () => {
        const all = (await events(started)).filter((e) => e.contactId === contactId);
        return all.some((e) => e.type === 'recording.resume') ? all : undefined;
      },
      { timeoutMs: 10_000, what: 'recording.resume' },
    );
    const resume = ev.find((e) => e.type === 'recording.resume')!;
    expect(resume).toMatchObject({ reason: 'agent-left', agentId: '1004', recordingId: contactId });
    const order = ev.map((e) => e.type).filter((x) => x.startsWith('recording.'));
    expect(order.slice(0, 3)).toEqual(['recording.started', 'recording.pause', 'recording.resume']);
  });
});
