/**
 * Issue #12, transfers to an external number through the outbound trunk, with real peers: sipp is
 * the caller (1000 Hz), a baresip desk phone is agent 1004 (1400 Hz), sipp is the carrier behind
 * the trunk (digest 401, answers, plays 800 Hz). What each side heard is read from captures of the
 * RTP sent to the two sipps, by tone.
 * - blind: POST /api/v1/agent/call/transfer {number}: the agent leaves, the carrier answers, the
 *   caller hears 800 Hz and the carrier hears 1000 Hz; queue.transfer {targetKind external};
 * - consult then complete: POST /consult {number}: the caller is on hold while the agent talks to
 *   the carrier (the carrier hears 1400 Hz); /consult/complete: caller and carrier talk;
 * - consult then cancel: the carrier gets a BYE, the trunk slot is freed, the caller hears the agent again;
 * - the desk phone's REFER to a number: the same as the blind transfer by API.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeG711, g711Pcap } from '../../../media/index.ts';
import { readPcapUdp } from '../../../media/audio/pcap.ts';
import { parseRtp } from '../../../media/rtp/rtp.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { dominantFrequency, tone } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { startCarrier } from '../../support/sipp.ts';
import { captureUdp, type Capture } from '../../support/tcpdump.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';
import { agentApi, type ApiReply } from '../../support/agentApi.ts';

// Ports 39300-39399 (this file): SIP 39300, HTTP 39341 (+1 HTTPS), Postgres 39347 (moved off 39302: the Postgres pool's own ephemeral client port took it), carrier 39310/39312, the IVR-transfer caller 39330 and 39290-39293.
const CARRIER = 39310;
const CARRIER_MEDIA = 39312;
let tc: TestCentre;
const { login, api } = agentApi(() => tc.httpUrl);
const post = (token: string, path: string, body?: unknown): Promise<ApiReply> => api(token, 'POST', path, body);
let phone: DeskPhone;
let sippDir: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 39300, http: 39341, pg: 39347, rtc: 39204 },
    {
      edits: {
        // The demo line (dial 200) becomes an IVR transfer node to a number behind the carrier.
        'ivr/demo.yaml': [['    type: goto\n    target: "main:welcome"', '    type: transfer\n    number: "02079460781"']],
        'centre.yaml': [
          ['port: 5080', `port: ${CARRIER}`],
          ["# username: centre       # digest credentials for the carrier's 401/407", 'username: centre'],
          ['# password: secret', 'password: s3cret'],
          ['ringTimeoutSec: 45', 'ringTimeoutSec: 10'],
        ],
      },
    },
  );
  phone = await startDeskPhone({
    dir: join(tc.dataDir, 'baresip'),
    user: '1004',
    password: 'dave1004',
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: 39360,
    rtpPorts: [39370, 39390],
    toneHz: 1400,
  });
  sippDir = join(tc.dataDir, 'sipp');
  mkdirSync(sippDir, { recursive: true });
  writeFileSync(join(sippDir, 'tone.pcap'), g711Pcap(tone(800, 20_000, { amp: 6000 }), 'PCMU'));
}, 120_000);
afterAll(async () => {
  await phone?.stop();
  await tc?.stop();
});

/** G.711 frames sent to `port`, with their capture time. */
function frames(pcap: Buffer, port: number): { at: number; pcm: Int16Array }[] {
  const out: { at: number; pcm: Int16Array }[] = [];
  for (const d of readPcapUdp(pcap)) {
    if (d.dstPort !== port) continue;
    const p = parseRtp(d.payload);
    if (p?.payloadType === 0) out.push({ at: d.at, pcm: decodeG711('PCMU', p.payload) });
  }
  return out;
}

/** The dominant tone heard between two wall-clock times (and how many frames it is from). */
function window(fs: { at: number; pcm: Int16Array }[], from: number, to: number): { freq: number; frames: number } {
  const w = fs.filter((f) => f.at >= from && f.at < to);
  if (w.length < 20) return { freq: 0, frames: w.length };
  const pcm = new Int16Array(w.reduce((n, f) => n + f.pcm.length, 0));
  let o = 0;
  for (const f of w) pcm.set(f.pcm, (o += f.pcm.length) - f.pcm.length);
  return { freq: dominantFrequency(pcm, 8000, 300, 3000, 10).freq, frames: w.length };
}

/** A capture whose stop() may be called again (tcpdump exits once; a second wait would never end). */
function stopOnce(c: Capture): Capture {
  let stopped: Promise<Buffer> | undefined;
  return { stop: () => (stopped ??= c.stop()) };
}

/** A caller for sales, talking to 1004, a carrier ready, both captured. */
async function callerWithAgent(i: number) {
  await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 20_000, what: 'agent 1004 available' });
  const callerMedia = 39240 + i * 10; // 39240-39279 (39360 is the phone's SIP port)
  const carrier = startCarrier({ port: CARRIER, mediaPort: CARRIER_MEDIA, cwd: sippDir });
  const capCaller = stopOnce(await captureUdp(callerMedia));
  const capCarrier = stopOnce(await captureUdp(CARRIER_MEDIA));
  const caller = placeDemoCall({
    target: `127.0.0.1:${tc.sipPort}`,
    digits: '1',
    toneHz: 1000,
    holdMs: 20_000,
    sipPort: 39320 + i,
    mediaPort: callerMedia,
    caller: `0207946031${i}`,
  });
  await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 15_000, what: '1004 to answer' });
  const contactId = [...tc.centre.calls.values()].find((c) => c.caller === `0207946031${i}`)!.contactId;
  await sleep(1500);
  return { carrier, capCaller, capCarrier, caller, callerMedia, contactId };
}

describe('transfers to an external number through the outbound trunk', () => {
  it('blind transfer by the agent API: the caller talks to the carrier, tones both ways; queue.transfer external', async () => {
    const token = await login('1004', 'dave1004');
    const started = Date.now();
    const s = await callerWithAgent(0);
    try {
      const before = Date.now();
      const tr = await post(token, '/api/v1/agent/call/transfer', { number: '02079460777' });
      expect(tr.status, JSON.stringify(tr.json)).toBe(200);
      expect(tr.json.previousContactId).toBe(s.contactId);
      const next = tr.json.contactId as string;
      await waitFor(() => tc.centre.calls.get(next)?.phase === 'connected', { timeoutMs: 10_000, what: 'the carrier to answer' });
      const answered = Date.now();
      await waitFor(() => tc.centre.acd.agentView('1004')?.state !== 'on-call', { timeoutMs: 5000, what: '1004 off the call' });
      const r = await s.caller.done; // the caller hangs up at 20 s: the carrier gets a BYE
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
      const sr = await s.carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);
      const toCaller = frames(await s.capCaller.stop(), s.callerMedia);
      const toCarrier = frames(await s.capCarrier.stop(), CARRIER_MEDIA);
      const agentBefore = window(toCaller, before - 1200, before - 200);
      const carrierHeardByCaller = window(toCaller, answered + 1000, answered + 5000);
      const callerHeardByCarrier = window(toCarrier, answered + 1000, answered + 5000);
      console.log(
        'blind external:',
        JSON.stringify({ agentBefore, carrierHeardByCaller, callerHeardByCarrier, answerMs: answered - before }),
      );
      expect(agentBefore.freq).toBeCloseTo(1400, -2);
      expect(carrierHeardByCaller.freq).toBeCloseTo(800, -1);
      expect(callerHeardByCarrier.freq).toBeCloseTo(1000, -1);

      await tc.centre.store.flush();
      const all = await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000);
      expect(all.find((e) => e.contactId === s.contactId && e.type === 'queue.transfer')).toMatchObject({
        agentId: '1004',
        targetKind: 'external',
        target: '02079460777',
        toContactId: next,
      });
      expect(all.find((e) => e.contactId === next && e.type === 'contact.arrived')).toMatchObject({
        initiation: 'transfer',
        previousContactId: s.contactId,
      });
      await waitFor(() => tc.centre.outbound.trunks.active('carrier') === 0, { timeoutMs: 5000, what: 'the trunk slot freed' });
    } finally {
      await s.capCaller.stop().catch(() => undefined);
      await s.capCarrier.stop().catch(() => undefined);
      s.caller.stop();
      await s.carrier.stop();
    }
  }, 90_000);

  it('external consult, then complete: the agent talks to the carrier while the caller waits, then caller and carrier talk', async () => {
    const token = await login('1004', 'dave1004');
    const started = Date.now();
    const s = await callerWithAgent(1);
    try {
      const c = await post(token, '/api/v1/agent/call/consult', { number: '02079460778' });
      expect(c.status, JSON.stringify(c.json)).toBe(200);
      expect(c.json.consult).toBe('consulting');
      const consulting = Date.now();
      await sleep(3000);
      const done = await post(token, '/api/v1/agent/call/consult/complete');
      expect(done.status, JSON.stringify(done.json)).toBe(200);
      const completed = Date.now();
      await waitFor(() => tc.centre.acd.agentView('1004')?.state !== 'on-call', { timeoutMs: 5000, what: '1004 off the call' });
      const r = await s.caller.done;
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
      const sr = await s.carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);
      const toCaller = frames(await s.capCaller.stop(), s.callerMedia);
      const toCarrier = frames(await s.capCarrier.stop(), CARRIER_MEDIA);
      const agentHeardByCarrier = window(toCarrier, consulting + 500, consulting + 2500);
      const callerOnHold = window(toCaller, consulting + 500, consulting + 2500);
      const carrierHeardByCaller = window(toCaller, completed + 1000, completed + 5000);
      const callerHeardByCarrier = window(toCarrier, completed + 1000, completed + 5000);
      console.log('consult external:', JSON.stringify({ agentHeardByCarrier, callerOnHold, carrierHeardByCaller, callerHeardByCarrier }));
      expect(agentHeardByCarrier.freq).toBeCloseTo(1400, -2);
      // Meanwhile the caller hears the music on hold (notes 220-660 Hz), neither the agent nor the carrier.
      expect(callerOnHold.frames).toBeGreaterThan(50);
      expect(callerOnHold.freq).toBeLessThan(700);
      expect(carrierHeardByCaller.freq).toBeCloseTo(800, -1);
      expect(callerHeardByCarrier.freq).toBeCloseTo(1000, -1);

      await tc.centre.store.flush();
      const all = await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000);
      expect(all.find((e) => e.contactId === s.contactId && e.type === 'queue.transfer')).toMatchObject({
        agentId: '1004',
        targetKind: 'external',
      });
      expect(all.filter((e) => e.contactId === s.contactId).map((e) => e.type)).toEqual(expect.arrayContaining(['hold.start', 'hold.end']));
      // A new contact linked to the old one (issue #12); an external party: no agent handles it.
      const next = done.json.contactId as string;
      expect(done.json.previousContactId).toBe(s.contactId);
      expect(next).not.toBe(s.contactId);
      expect(all.find((e) => e.contactId === s.contactId && e.type === 'queue.transfer')).toMatchObject({ toContactId: next });
      expect(all.find((e) => e.contactId === next && e.type === 'contact.arrived')).toMatchObject({
        initiation: 'transfer',
        previousContactId: s.contactId,
      });
      expect(all.filter((e) => e.contactId === next).map((e) => e.type)).toEqual(['contact.arrived', 'call.end']);
      await waitFor(() => tc.centre.outbound.trunks.active('carrier') === 0, { timeoutMs: 5000, what: 'the trunk slot freed' });
    } finally {
      await s.capCaller.stop().catch(() => undefined);
      await s.capCarrier.stop().catch(() => undefined);
      s.caller.stop();
      await s.carrier.stop();
    }
  }, 90_000);
  it('external consult, then cancel: the carrier is hung up, the agent is back with the caller, the trunk slot is free', async () => {
    const token = await login('1004', 'dave1004');
    const s = await callerWithAgent(2);
    try {
      const c = await post(token, '/api/v1/agent/call/consult', { number: '02079460779' });
      expect(c.status, JSON.stringify(c.json)).toBe(200);
      expect(tc.centre.outbound.trunks.active('carrier')).toBe(1);
      await sleep(2000);
      const cancel = await post(token, '/api/v1/agent/call/consult/cancel');
      expect(cancel.status, JSON.stringify(cancel.json)).toBe(200);
      const back = Date.now();
      // The carrier got our BYE (its scenario ends only on a BYE) and the slot is free at once.
      const sr = await s.carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);
      await waitFor(() => tc.centre.outbound.trunks.active('carrier') === 0, { timeoutMs: 3000, what: 'the trunk slot freed' });
      expect(tc.centre.acd.agentView('1004')?.state).toBe('on-call');
      await sleep(4000);
      const toCaller = frames(await s.capCaller.stop(), s.callerMedia);
      const agentAgain = window(toCaller, back + 1000, back + 3500);
      console.log('consult external cancelled:', JSON.stringify({ agentAgain }));
      expect(agentAgain.freq).toBeCloseTo(1400, -2);
      const r = await s.caller.done;
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
    } finally {
      await s.capCaller.stop().catch(() => undefined);
      await s.capCarrier.stop().catch(() => undefined);
      s.caller.stop();
      await s.carrier.stop();
    }
  }, 90_000);
  it("a desk phone's REFER to a number (baresip /transfer) sends the caller out through the trunk: tones both ways", async () => {
    const started = Date.now();
    const s = await callerWithAgent(3);
    try {
      phone.command(`/transfer sip:02079460781@127.0.0.1:${tc.sipPort}`);
      const call = () => [...tc.centre.calls.values()].find((c) => c.caller === '02079460313');
      await waitFor(() => call()?.contactId !== s.contactId && call()?.phase === 'connected', {
        timeoutMs: 10_000,
        what: 'the carrier to answer the REFERred call',
        detail: () => phone.output().slice(-2500),
      });
      const answered = Date.now();
      const next = call()!.contactId;
      const r = await s.caller.done;
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
      const sr = await s.carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);
      const toCaller = frames(await s.capCaller.stop(), s.callerMedia);
      const toCarrier = frames(await s.capCarrier.stop(), CARRIER_MEDIA);
      const carrierHeardByCaller = window(toCaller, answered + 1000, answered + 5000);
      const callerHeardByCarrier = window(toCarrier, answered + 1000, answered + 5000);
      console.log('REFER external:', JSON.stringify({ carrierHeardByCaller, callerHeardByCarrier }));
      expect(carrierHeardByCaller.freq).toBeCloseTo(800, -1);
      expect(callerHeardByCarrier.freq).toBeCloseTo(1000, -1);
      await tc.centre.store.flush();
      const all = await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000);
      expect(all.find((e) => e.contactId === s.contactId && e.type === 'queue.transfer')).toMatchObject({
        agentId: '1004',
        targetKind: 'external',
        target: '02079460781',
        toContactId: next,
      });
      await waitFor(() => tc.centre.outbound.trunks.active('carrier') === 0, { timeoutMs: 5000, what: 'the trunk slot freed' });
    } finally {
      await s.capCaller.stop().catch(() => undefined);
      await s.capCarrier.stop().catch(() => undefined);
      s.caller.stop();
      await s.carrier.stop();
    }
  }, 90_000);
  it("the IVR's transfer node sends a caller to an external number through the trunk: tones both ways", async () => {
    const started = Date.now();
    const callerMedia = 39290; // 39290-39293
    const carrier = startCarrier({ port: CARRIER, mediaPort: CARRIER_MEDIA, cwd: sippDir });
    const capCaller = stopOnce(await captureUdp(callerMedia));
    const capCarrier = stopOnce(await captureUdp(CARRIER_MEDIA));
    const caller = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      dialled: '200',
      toneHz: 1000,
      holdMs: 9000,
      sipPort: 39330,
      mediaPort: callerMedia,
      caller: '02079460319',
    });
    try {
      const call = await waitFor(() => [...tc.centre.calls.values()].find((c) => c.caller === '02079460319' && c.phase === 'connected'), {
        timeoutMs: 10_000,
        what: 'the carrier to answer the IVR transfer',
      });
      const answered = Date.now();
      const r = await caller.done; // the caller hangs up at 9 s: the carrier gets our BYE
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
      const sr = await carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);
      const toCaller = frames(await capCaller.stop(), callerMedia);
      const toCarrier = frames(await capCarrier.stop(), CARRIER_MEDIA);
      const carrierHeardByCaller = window(toCaller, answered + 1000, answered + 4000);
      const callerHeardByCarrier = window(toCarrier, answered + 1000, answered + 4000);
      console.log('IVR transfer out:', JSON.stringify({ carrierHeardByCaller, callerHeardByCarrier }));
      expect(carrierHeardByCaller.freq).toBeCloseTo(800, -1);
      expect(callerHeardByCarrier.freq).toBeCloseTo(1000, -1);
      await waitFor(() => tc.centre.outbound.trunks.active('carrier') === 0, { timeoutMs: 5000, what: 'the trunk slot freed' });
      await tc.centre.store.flush();
      const evs = (await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000)).filter(
        (e) => e.contactId === call.contactId,
      );
      expect(evs.find((e) => e.type === 'ivr.end')).toMatchObject({ completedInIvr: false });
      expect(evs.find((e) => e.type === 'call.end')).toMatchObject({ endedBy: 'caller' });
    } finally {
      await capCaller.stop().catch(() => undefined);
      await capCarrier.stop().catch(() => undefined);
      caller.stop();
      await carrier.stop();
    }
  }, 60_000);
});
