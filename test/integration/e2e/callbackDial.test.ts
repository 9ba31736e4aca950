/**
 * Issue #12, a callback that really rings back, through real peers: a sipp caller (demo IVR) presses
 * the queue's callback key while waiting and hangs up; a baresip desk phone (agent 1004, answers on
 * its own, speaks 600 Hz) registers; the ACD reserves it and the centre's dialler (centre.ts →
 * callback.ts dialCallback → outboundCall.ts) rings the agent first, then the customer through the
 * outbound trunk, where sipp is the carrier (digest 401, answers, plays 800 Hz).
 * - answered on the first attempt: tones both ways; the original contact's callback.requested and
 *   callback.dialled {attempt 1, answered}; a new contact with initiation 'callback' and
 *   previousContactId = the original; the outbound report counts it;
 * - busy (486) on the first attempt, answered on the second after the queue's retryDelay;
 * - no answer on every attempt (the trunk's ring timeout): retried, given up, agent and trunk free.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeG711, g711Pcap } from '../../../media/index.ts';
import { rtpFromPcap } from '../../../media/audio/pcap.ts';
import type { AcdEvent } from '../../../server/acd/events.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { dominantFrequency, tone, wavToMono8k } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { startCarrier, startSipp } from '../../support/sipp.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';

const scenarios = join(dirname(fileURLToPath(import.meta.url)), '..', 'call', 'scenarios');
// Ports 39100-39199 (this file): SIP 39100, HTTP 39102 (+1 HTTPS), Postgres 39104, carrier 39110/39112.
const CARRIER = 39110;
const CARRIER_MEDIA = 39112;
const RETRY_SEC = 3;
const RING_SEC = 5;
let tc: TestCentre;
let phone: DeskPhone | undefined;
let sippDir: string;
const acdEvents: AcdEvent[] = [];

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 39100, http: 39102, pg: 39104, rtc: 39204 },
    {
      edits: {
        'queues.yaml': [
          [
            '      - { after: 60, addSkills: [{ skill: operator }] }',
            `      - { after: 60, addSkills: [{ skill: operator }] }\n    callback: { maxAttempts: 3, retryDelay: ${RETRY_SEC}, reservationTimeout: 40 }`,
          ],
        ],
        // sipp repeats a key's pcap with one RTP timestamp (one RFC 4733 event): "9" differs from the menu's "1".
        'ivr/main.yaml': [['callbackKey: "1"', 'callbackKey: "9"']],
        'centre.yaml': [
          ['port: 5080', `port: ${CARRIER}`],
          ["# username: centre       # digest credentials for the carrier's 401/407", 'username: centre'],
          ['# password: secret', 'password: s3cret'],
          ['ringTimeoutSec: 45', `ringTimeoutSec: ${RING_SEC}`],
        ],
      },
    },
  );
  tc.centre.acd.on('event', (e) => acdEvents.push(e));
  sippDir = join(tc.dataDir, 'sipp');
  mkdirSync(sippDir, { recursive: true });
  writeFileSync(join(sippDir, 'tone.pcap'), g711Pcap(tone(800, 10_000, { amp: 6000 }), 'PCMU'));
}, 120_000);
afterAll(async () => {
  await phone?.stop();
  await tc?.stop();
});

const target = () => `127.0.0.1:${tc.sipPort}`;
const contactOf = (caller: string) => [...tc.centre.calls.values()].find((c) => c.caller === caller)?.contactId;
const of = <T extends AcdEvent['type']>(type: T, callId: string) =>
  acdEvents.filter((e): e is Extract<AcdEvent, { type: T }> => e.type === type && 'callId' in e && e.callId === callId);
const mid = (x: Int16Array): Int16Array => x.subarray(Math.floor(x.length * 0.4), Math.floor(x.length * 0.7));
const freq = (x: Int16Array, rate = 8000): number => dominantFrequency(x, rate, 300, 3000, 10).freq;

/** The newest WAV baresip wrote of what it heard, once it holds `minSec`. */
async function phoneHeard(p: DeskPhone, after: number, minSec: number): Promise<Int16Array> {
  const rec = join(p.dir, 'rec');
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
    { timeoutMs: 10_000, what: "baresip's recording of the call", detail: () => p.output().slice(-1500) },
  );
}

/** A caller from `caller` picks sales, then presses the callback key while queued, and hangs up. */
async function requestCallback(caller: string, sipPort: number, mediaPort: number): Promise<{ id: string; entered: number }> {
  const c = placeDemoCall({ target: target(), digits: '19', holdMs: 4500, sipPort, mediaPort, caller });
  const id = await waitFor(() => contactOf(caller), { timeoutMs: 5000, what: 'the call' });
  const requested = await waitFor(() => of('callbackRequested', id)[0], { timeoutMs: 10_000, what: 'the callback key' });
  const entered = of('enqueue', id)[0]!.arrivedAt;
  expect(requested).toMatchObject({ queue: 'sales', number: caller, fromWaiting: true, enteredAt: entered });
  await c.done;
  await waitFor(() => tc.centre.calls.size === 0, { timeoutMs: 8000, what: 'the caller gone' });
  expect(tc.centre.acd.callView(id)).toMatchObject({ state: 'waiting', callback: caller });
  return { id, entered };
}

const startPhone = (n: number) =>
  startDeskPhone({
    dir: join(tc.dataDir, `baresip${n}`),
    user: '1004',
    password: 'dave1004',
    registrar: target(),
    listenPort: 39160,
    rtpPorts: [39170, 39190],
    toneHz: 600,
  });

/** The answered callback: talk 5 s, hang up; tones both ways (carrier heard 600 Hz, agent heard 800 Hz). */
async function talkAndCheck(newContactId: string, stopCapture: () => Promise<Buffer>, p: DeskPhone, since: number): Promise<void> {
  await new Promise((res) => setTimeout(res, 5000));
  const call = tc.centre.outboundCalls.get(newContactId);
  expect(call, 'the callback call in progress').toBeDefined();
  call!.hangUp();
  await call!.ended;
  await waitFor(() => tc.centre.outbound.trunks.active('carrier') === 0, { timeoutMs: 5000, what: 'the trunk slot freed' });
  const rtp = rtpFromPcap(await stopCapture(), CARRIER_MEDIA).filter((x) => x.payloadType === 0);
  const heardByCustomer = freq(decodeG711('PCMU', Buffer.concat(rtp.slice(-150, -25).map((x) => x.payload))));
  const heardByAgent = freq(mid(await phoneHeard(p, since, 3)));
  console.log(`callback tones: customer heard ${heardByCustomer} Hz (${rtp.length} RTP packets), agent heard ${heardByAgent} Hz`);
  expect(heardByCustomer).toBeCloseTo(600, -1);
  expect(heardByAgent).toBeCloseTo(800, -1);
}

async function eventsOf(contactId: string, since: number) {
  await tc.centre.store.flush();
  return (await storedEvents(tc.centre.store, since - 60_000, Date.now() + 60_000)).filter((e) => e.contactId === contactId);
}

describe('callbacks dialled through the outbound trunk', () => {
  it('the caller leaves a callback; the free agent is rung, then the customer answers: tones both ways, a linked contact', async () => {
    const started = Date.now();
    const { id } = await requestCallback('02079460404', 39120, 39130);
    const carrier = startCarrier({ port: CARRIER, mediaPort: CARRIER_MEDIA, cwd: sippDir });
    const cap = await captureUdp(CARRIER_MEDIA);
    let captured: Promise<Buffer> | undefined;
    try {
      phone = await startPhone(1);
      const dialled = await waitFor(() => of('callbackDialled', id)[0], { timeoutMs: 40_000, what: 'the callback dialled' });
      expect(dialled).toMatchObject({ attempt: 1, outcome: 'answered', agentId: '1004' });
      const newContactId = dialled.newContactId!;
      expect(newContactId).toBeTruthy();
      const dial = of('callbackDial', id)[0]!;
      console.log(`callback: agent reserved → answered in ${dialled.at - dial.at} ms`);
      await talkAndCheck(newContactId, () => (captured = cap.stop()), phone, started);
      const sr = await carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);

      // The original contact: requested, dialled once and answered; the new one links back to it.
      const orig = await eventsOf(id, started);
      expect(orig.filter((e) => e.type.startsWith('callback.')).map((e) => e.type)).toEqual(['callback.requested', 'callback.dialled']);
      expect(orig.find((e) => e.type === 'callback.dialled')).toMatchObject({
        attempt: 1,
        outcome: 'answered',
        agentId: '1004',
        newContactId,
      });
      const next = await eventsOf(newContactId, started);
      expect(next.find((e) => e.type === 'contact.arrived')).toMatchObject({
        initiation: 'callback',
        previousContactId: id,
        dialled: '+442079460404',
        trunk: 'carrier',
      });
      expect(next.find((e) => e.type === 'outbound.result')).toMatchObject({ outcome: 'answered', agentId: '1004', queue: 'sales' });
      expect(next.map((e) => e.type)).toContain('call.end');
      await waitFor(() => tc.centre.acd.callView(id) === undefined, { timeoutMs: 5000, what: 'the callback done in the ACD' });

      // The reports: one callback dialled and answered.
      const url = new URL(
        `api/v1/reports/outbound?from=${new Date(started - 600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&by=initiation`,
        tc.httpUrl,
      );
      const r = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('9001:sam9001').toString('base64')}` } });
      expect(r.status, await r.clone().text()).toBe(200);
      const rows = ((await r.json()) as { rows: { key: string; dialled: number; answered: number }[] }).rows;
      expect(rows).toEqual([expect.objectContaining({ key: 'callback', dialled: 1, answered: 1 })]);
    } finally {
      await (captured ?? cap.stop());
      await carrier.stop();
      await phone?.stop();
      phone = undefined;
    }
  }, 120_000);

  it('busy on the first attempt, answered on the second after the queue retryDelay', async () => {
    await waitFor(() => tc.centre.acd.agentView('1004')?.state !== 'available', { timeoutMs: 10_000, what: 'agent 1004 away' });
    const started = Date.now();
    const { id } = await requestCallback('02079460505', 39121, 39140);
    const busy = startSipp({ scenario: join(scenarios, 'carrier-busy.xml'), localPort: CARRIER, calls: 1, cwd: sippDir, timeoutSec: 40 });
    const cap = await captureUdp(CARRIER_MEDIA);
    let captured: Promise<Buffer> | undefined;
    let carrier: ReturnType<typeof startSipp> | undefined;
    try {
      phone = await startPhone(2);
      const first = await waitFor(() => of('callbackDialled', id)[0], { timeoutMs: 40_000, what: 'attempt 1' });
      expect(first).toMatchObject({ attempt: 1, outcome: 'busy', agentId: '1004' });
      const br = await busy.done;
      expect(br.exitCode, br.errors).toBe(0);
      // The next attempt finds a carrier that answers.
      carrier = startCarrier({ port: CARRIER, mediaPort: CARRIER_MEDIA, cwd: sippDir });
      const second = await waitFor(() => of('callbackDialled', id)[1], { timeoutMs: 40_000, what: 'attempt 2' });
      expect(second).toMatchObject({ attempt: 2, outcome: 'answered', agentId: '1004' });
      const dials = of('callbackDial', id);
      expect(dials.map((d) => d.attempt)).toEqual([1, 2]);
      const gap = dials[1]!.at - first.at;
      console.log(`callback retry: attempt 2 routed ${gap} ms after attempt 1 was busy (retryDelay ${RETRY_SEC} s)`);
      expect(gap).toBeGreaterThanOrEqual(RETRY_SEC * 1000);
      expect(gap).toBeLessThan(RETRY_SEC * 1000 + 3000);
      await talkAndCheck(second.newContactId!, () => (captured = cap.stop()), phone, dials[1]!.at);
      const sr = await carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);

      const orig = await eventsOf(id, started);
      expect(orig.filter((e) => e.type === 'callback.dialled')).toMatchObject([
        { attempt: 1, outcome: 'busy' },
        { attempt: 2, outcome: 'answered', newContactId: second.newContactId },
      ]);
      expect(orig.map((e) => e.type)).not.toContain('callback.given-up');
      // Two callback contacts, each linked to the one that asked: busy, then answered.
      for (const [cid, outcome] of [
        [first.newContactId!, 'busy'],
        [second.newContactId!, 'answered'],
      ] as const) {
        const evs = await eventsOf(cid, started);
        expect(evs.find((e) => e.type === 'contact.arrived')).toMatchObject({ initiation: 'callback', previousContactId: id });
        expect(evs.find((e) => e.type === 'outbound.result')).toMatchObject({ outcome });
      }
    } finally {
      await (captured ?? cap.stop());
      await busy.stop();
      await carrier?.stop();
      await phone?.stop();
      phone = undefined;
    }
  }, 120_000);

  it('no answer on every attempt: retried up to maxAttempts, then given up; the agent and the trunk are free again', async () => {
    await waitFor(() => tc.centre.acd.agentView('1004')?.state !== 'available', { timeoutMs: 10_000, what: 'agent 1004 away' });
    const started = Date.now();
    const { id } = await requestCallback('02079460606', 39122, 39150);
    const carrier = startSipp({
      scenario: join(scenarios, 'carrier-no-answer.xml'),
      localPort: CARRIER,
      calls: 3,
      cwd: sippDir,
      timeoutSec: 60,
    });
    try {
      phone = await startPhone(3);
      const gaveUp = await waitFor(() => of('callbackGivenUp', id)[0], { timeoutMs: 60_000, what: 'the callback to give up' });
      expect(gaveUp).toMatchObject({ attempts: 3, lastOutcome: 'no-answer' });
      const dials = of('callbackDial', id);
      const dialled = of('callbackDialled', id);
      expect(dialled.map((d) => [d.attempt, d.outcome])).toEqual([
        [1, 'no-answer'],
        [2, 'no-answer'],
        [3, 'no-answer'],
      ]);
      // Each attempt rang the customer for the trunk's ring timeout; the next came retryDelay later.
      const rang = dialled.map((d, i) => d.at - dials[i]!.at);
      const gaps = [dials[1]!.at - dialled[0]!.at, dials[2]!.at - dialled[1]!.at];
      console.log(`callback no-answer: rang ${rang.join(', ')} ms; retried after ${gaps.join(', ')} ms`);
      for (const r of rang) expect(r).toBeGreaterThanOrEqual(RING_SEC * 1000);
      for (const g of gaps) expect(g).toBeGreaterThanOrEqual(RETRY_SEC * 1000);
      const sr = await carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);
      await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 5000, what: 'agent 1004 free' });
      expect(tc.centre.acd.callView(id)).toBeUndefined();
      expect(tc.centre.outbound.trunks.active('carrier')).toBe(0);
      const row = async () =>
        (await tc.centre.store.pool.query('SELECT attempts, last_outcome, status FROM cc_callbacks WHERE callback_id = $1', [id]))
          .rows[0] as Record<string, unknown> | undefined;
      await waitFor(async () => (await row())?.status === 'given-up', { timeoutMs: 5000, what: 'the row given up' });
      expect(await row()).toEqual({ attempts: 3, last_outcome: 'no-answer', status: 'given-up' });
      const orig = await eventsOf(id, started);
      expect(orig.filter((e) => e.type.startsWith('callback.')).map((e) => e.type)).toEqual([
        'callback.requested',
        'callback.dialled',
        'callback.dialled',
        'callback.dialled',
        'callback.given-up',
      ]);
      for (const d of dialled) {
        const evs = await eventsOf(d.newContactId!, started);
        expect(evs.find((e) => e.type === 'contact.arrived')).toMatchObject({ initiation: 'callback', previousContactId: id });
        expect(evs.find((e) => e.type === 'outbound.result')).toMatchObject({ outcome: 'no-answer' });
      }
    } finally {
      await carrier.stop();
    }
  }, 120_000);
});
