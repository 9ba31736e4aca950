/**
 * The centre places calls and takes late offers, through real peers: a baresip desk phone is agent
 * 1004 (answers on its own, speaks 600 Hz), sipp is the carrier behind the demo's outbound trunk
 * (digest 401, answers and plays 800 Hz; or 486), and a late-offer carrier calls in.
 * - click-to-dial (POST /api/v1/agent/calls): the agent's phone rings first, then the customer;
 *   audio both ways, recorded, logged as an outbound contact;
 * - a callback to a busy customer: 'busy', a callback contact linked to the one that asked;
 * - a late-offer INVITE (no SDP): our offer in the 200, the answer in the ACK, tones both ways.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeG711, g711Pcap } from '../../../media/index.ts';
import { rtpFromPcap } from '../../../media/audio/pcap.ts';
import { dialCallback } from '../../../server/call/callback.ts';
import { dominantFrequency, readStereoWav, tone, wavToMono8k } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { startSipp } from '../../support/sipp.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';
import { agentApi } from '../../support/agentApi.ts';

const here = dirname(fileURLToPath(import.meta.url));
const CARRIER = 32270;
const CARRIER_MEDIA = 32276;
let tc: TestCentre;
const { login } = agentApi(() => tc.httpUrl);
let phone: DeskPhone;
let sippDir: string;

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 32200, http: 32280, pg: 32233, rtc: 32400 },
    {
      edits: {
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
    listenPort: 32290,
    rtpPorts: [32300, 32350],
    toneHz: 600,
  });
  sippDir = join(tc.dataDir, 'sipp');
  mkdirSync(join(sippDir, 'pcap'), { recursive: true });
  writeFileSync(join(sippDir, 'tone.pcap'), g711Pcap(tone(800, 10_000, { amp: 6000 }), 'PCMU'));
  writeFileSync(join(sippDir, 'pcap', 'voice.pcap'), g711Pcap(tone(1000, 12_000, { amp: 6000 }), 'PCMU'));
  symlinkSync('/usr/share/sip-tester/dtmf_2833_1.pcap', join(sippDir, 'pcap', 'dtmf_2833_1.pcap'));
});
afterAll(async () => {
  await phone?.stop();
  await tc?.stop();
});

const mid = (x: Int16Array): Int16Array => x.subarray(Math.floor(x.length * 0.4), Math.floor(x.length * 0.7));
const freq = (x: Int16Array, rate = 8000): number => dominantFrequency(x, rate, 300, 3000, 10).freq;

/** The newest WAV baresip wrote of what it heard (one per call), once it holds `minSec`. */
async function phoneHeard(after: number, minSec: number): Promise<Int16Array> {
  const rec = join(phone.dir, 'rec');
  return waitFor(
    () => {
      const f = readdirSync(rec)
        .filter((x) => x.endsWith('-dec.wav'))
        .map((x) => join(rec, x))
        .filter((x) => statSync(x).mtimeMs >= after)
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
      const x = f ? wavToMono8k(readFileSync(f)) : undefined;
      return x && x.length >= 8000 * minSec ? x : undefined;
    },
    { timeoutMs: 10_000, what: "baresip's recording of the call", detail: () => phone.output().slice(-1500) },
  );
}

const dialApi = (token: string, to: unknown) =>
  fetch(new URL('api/v1/agent/calls', tc.httpUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ to }),
  });

describe('outbound calls and late offers', () => {
  it('click-to-dial rings the agent, then the customer through the trunk: two-way audio, recorded, an outbound contact', async () => {
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 5000, what: 'agent 1004 available' });
    const token = await login('1004', 'dave1004');
    // Wrong input and unroutable numbers are clear 4xx, and nothing is dialled.
    expect((await dialApi(token, '')).status).toBe(400);
    const bad = await dialApi(token, 'call me');
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { error: string }).error).toMatch(/not a phone number/);
    // An agent with no phone or desktop registered cannot place a call: 409.
    const other = await login('1001', 'alice1001');
    const none = await dialApi(other, '020 7946 0999');
    expect(none.status).toBe(409);
    expect(((await none.json()) as { error: string }).error).toMatch(/no registered phone/);
    await fetch(new URL('api/v1/agent/logout', tc.httpUrl), { method: 'POST', headers: { authorization: `Bearer ${other}` } });

    const started = Date.now();
    const carrier = startSipp({
      scenario: join(here, 'scenarios', 'carrier-answer.xml'),
      localPort: CARRIER,
      calls: 1,
      cwd: sippDir,
      timeoutSec: 40,
      args: ['-mp', String(CARRIER_MEDIA)],
    });
    const cap = await captureUdp(CARRIER_MEDIA);
    let captured: Promise<Buffer> | undefined;
    try {
      const r = await dialApi(token, '020 7946 0999');
      expect(r.status).toBe(202);
      const view = (await r.json()) as { contactId: string; number: string; trunk: string };
      expect(view).toMatchObject({ number: '+442079460999', trunk: 'carrier' });
      const call = tc.centre.outboundCalls.get(view.contactId)!;
      expect(await call.outcome).toBe('answered');
      await new Promise((res) => setTimeout(res, 5000));
      call.hangUp();
      await call.ended;
      const sr = await carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);

      // The customer (carrier) heard the agent's 600 Hz; the agent heard the customer's 800 Hz.
      const rtp = rtpFromPcap(await (captured = cap.stop()), CARRIER_MEDIA).filter((p) => p.payloadType === 0);
      expect(freq(decodeG711('PCMU', Buffer.concat(rtp.slice(-150, -25).map((p) => p.payload))))).toBeCloseTo(600, -1);
      expect(freq(mid(await phoneHeard(started, 3)))).toBeCloseTo(800, -1);

      await tc.centre.store.flush();
      const events = (await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000)).filter(
        (e) => e.contactId === view.contactId,
      );
      expect(events.map((e) => e.type)).toEqual(
        expect.arrayContaining(['contact.arrived', 'outbound.result', 'recording.started', 'call.end', 'recording.stopped']),
      );
      expect(events.find((e) => e.type === 'contact.arrived')).toMatchObject({
        initiation: 'outbound',
        dialled: '+442079460999',
        trunk: 'carrier',
      });
      expect(events.find((e) => e.type === 'outbound.result')).toMatchObject({ outcome: 'answered', agentId: '1004' });
      const rec = events.find((e) => e.type === 'recording.started') as { path: string };
      const stereo = readStereoWav(readFileSync(rec.path));
      expect(freq(mid(stereo.left), stereo.rate)).toBeCloseTo(800, -1);
      expect(freq(mid(stereo.right), stereo.rate)).toBeCloseTo(600, -1);
    } finally {
      await (captured ?? cap.stop());
      await carrier.stop();
    }
  });

  it('a callback to a busy customer: agent first, then busy; a callback contact linked to the original', async () => {
    const carrier = startSipp({
      scenario: join(here, 'scenarios', 'carrier-busy.xml'),
      localPort: CARRIER,
      calls: 1,
      cwd: sippDir,
      timeoutSec: 30,
    });
    const started = Date.now();
    let newContact: string | undefined;
    try {
      const outcome = await dialCallback(tc.centre.outbound, {
        agentId: '1004',
        number: '+44 20 7946 0555',
        queue: 'sales',
        contactId: 'original-contact-1',
        callbackId: 'cb-1',
        attempt: 1,
        onPlaced: (id) => (newContact = id),
      });
      expect(outcome).toBe('busy');
      const sr = await carrier.done;
      expect(sr.exitCode, sr.errors).toBe(0);
    } finally {
      await carrier.stop();
    }
    await waitFor(() => tc.centre.outboundCalls.size === 0, { timeoutMs: 5000, what: 'the callback to end' });
    await tc.centre.store.flush();
    const events = (await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000)).filter((e) => e.contactId === newContact);
    expect(events.find((e) => e.type === 'contact.arrived')).toMatchObject({
      initiation: 'callback',
      previousContactId: 'original-contact-1',
    });
    expect(events.find((e) => e.type === 'outbound.result')).toMatchObject({ outcome: 'busy', status: 486, queue: 'sales' });
    expect(tc.centre.outbound.trunks.active('carrier')).toBe(0);

    // The reports: the click-to-dial answered, the callback busy: outbound answer rate 50 %.
    const url = new URL(
      `api/v1/reports/outbound?from=${new Date(started - 600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&by=initiation`,
      tc.httpUrl,
    );
    const r = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('9001:sam9001').toString('base64')}` } });
    expect(r.status, await r.clone().text()).toBe(200);
    const rows = ((await r.json()) as { rows: { key: string; dialled: number; answered: number; busy: number; answerRate: number }[] })
      .rows;
    expect(rows).toEqual([
      expect.objectContaining({ key: 'callback', dialled: 1, answered: 0, busy: 1, answerRate: 0 }),
      expect.objectContaining({ key: 'outbound', dialled: 1, answered: 1, busy: 0, answerRate: 1 }),
    ]);
  });

  it('a late-offer INVITE is answered with our offer; the ACK carries the answer; tones both ways', async () => {
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: 'agent 1004 available' });
    const started = Date.now();
    const cap = await captureUdp(32220);
    let captured: Promise<Buffer> | undefined;
    const caller = startSipp({
      scenario: join(here, 'scenarios', 'late-offer-caller.xml'),
      remote: `127.0.0.1:${tc.sipPort}`,
      service: '100',
      localPort: 32210,
      calls: 1,
      cwd: sippDir,
      timeoutSec: 40,
      args: ['-mp', '32220', '-mi', '127.0.0.1'],
    });
    try {
      const r = await caller.done;
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
      // The caller heard the agent's 600 Hz; the agent heard the caller's 1000 Hz.
      const rtp = rtpFromPcap(await (captured = cap.stop()), 32220).filter((p) => p.payloadType === 0);
      expect(freq(decodeG711('PCMU', Buffer.concat(rtp.slice(-150, -25).map((p) => p.payload))))).toBeCloseTo(600, -1);
      expect(freq(mid(await phoneHeard(started, 3)))).toBeCloseTo(1000, -1);
    } finally {
      await (captured ?? cap.stop());
      await caller.stop();
    }
  });
});
