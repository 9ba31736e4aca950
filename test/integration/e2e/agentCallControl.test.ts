/**
 * The agent's call control through real peers: sipp is the caller (a 1000 Hz tone), baresip desk
 * phones are the agents (1004 speaks 1400 Hz, 1003 speaks 1800 Hz), the centre is real; the agent
 * drives the call with the REST API (server/http/callControlApi.ts) or, for REFER, from the phone.
 * What the caller heard is read from a capture of the RTP sent to sipp, by tone:
 * - hold: the caller hears the music on hold (its notes are 220-660 Hz), not the agent; resume
 *   gives the agent's 1400 Hz back; hold.start / hold.end are in the event log;
 * - mute: the caller hears neither the agent nor music; unmute: the agent again;
 * - DTMF: the keys arrive at the caller as RFC 4733 events;
 * - blind transfer to a queue and to an agent: the caller then hears the second agent (1800 Hz);
 *   a new contact linked to the first; the report shows transferRate > 0 and the disposition
 *   recorded at wrap-up;
 * - a desk phone's REFER does the same.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { readPcapUdp } from '../../../media/audio/pcap.ts';
import { eventToDigit, parseTelephoneEvent } from '../../../media/rtp/rfc4733.ts';
import { parseRtp } from '../../../media/rtp/rtp.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { dominantFrequency, rms, wavToMono8k } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { captureUdp, type Capture } from '../../support/tcpdump.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';
import { agentApi } from '../../support/agentApi.ts';

let tc: TestCentre;
const { login, api } = agentApi(() => tc.httpUrl);
const phones: DeskPhone[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  // The demo routes every number to a carrier on 127.0.0.1:5080; here no trunk serves the test's
  // external numbers, so a transfer to one is refused before the agent leaves.
  tc = await startTestCentre(
    { sip: 34060, http: 34080, pg: 34033, rtc: 34400 },
    {
      edits: { 'centre.yaml': [['    - prefix: "+"              # every number\n', '    - prefix: "+999"           # no test number\n']] },
    },
  );
});
afterAll(async () => {
  for (const p of phones) await p.stop();
  await tc?.stop();
});

async function phone(user: '1004' | '1003', n: number): Promise<DeskPhone> {
  const p = await startDeskPhone({
    dir: join(tc.dataDir, `baresip-${user}-${n}`),
    user,
    password: user === '1004' ? 'dave1004' : 'carol1003',
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: await freePort(34190 + n * 7),
    rtpPorts: [34700 + n * 20, 34719 + n * 20],
    toneHz: user === '1004' ? 1400 : 1800,
  });
  phones.push(p);
  await waitFor(() => tc.centre.acd.agentView(user)?.state === 'available', { timeoutMs: 10_000, what: `agent ${user} available` });
  return p;
}

/** A port free for TCP and UDP from `from` on: the test's block lies in the kernel's ephemeral range. */
async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 7; port++) {
    const tcp = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    const udp = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (tcp && udp) return port;
  }
  throw new Error(`no free port in ${from}..${from + 6}`);
}

async function stopPhone(p: DeskPhone): Promise<void> {
  await p.stop();
  phones.splice(phones.indexOf(p), 1);
}

/** What the caller heard, as (wall time, samples) per G.711 packet, and the RFC 4733 digits sent to it. */
function heard(pcap: Buffer, port: number): { at: number; pcm: Int16Array }[] {
  const out: { at: number; pcm: Int16Array }[] = [];
  for (const d of readPcapUdp(pcap)) {
    if (d.dstPort !== port) continue;
    const p = parseRtp(d.payload);
    if (p?.payloadType === 0) out.push({ at: d.at, pcm: decodeG711('PCMU', p.payload) });
  }
  return out;
}

function digitsHeard(pcap: Buffer, port: number): string {
  const seen = new Set<number>();
  let digits = '';
  for (const d of readPcapUdp(pcap)) {
    const p = d.dstPort === port ? parseRtp(d.payload) : undefined;
    if (!p || p.payloadType !== 101 || seen.has(p.timestamp)) continue;
    seen.add(p.timestamp);
    const e = parseTelephoneEvent(p.payload);
    const digit = e ? eventToDigit(e.event) : undefined;
    if (digit) digits += digit;
  }
  return digits;
}

/** Dominant frequency and level of what the caller heard in [from, to) (wall ms). */
function window(frames: { at: number; pcm: Int16Array }[], from: number, to: number): { freq: number; rms: number } {
  const pcm = frames.filter((f) => f.at >= from && f.at < to).map((f) => f.pcm);
  const all = new Int16Array(pcm.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of pcm) {
    all.set(x, o);
    o += x.length;
  }
  if (all.length < 800) return { freq: 0, rms: 0 };
  return { freq: dominantFrequency(all, 8000, 150, 3000, 10).freq, rms: rms(all) };
}

async function events(since: number): Promise<{ type: string; contactId: string; ts: number; [k: string]: unknown }[]> {
  await tc.centre.store.flush();
  return await storedEvents(tc.centre.store, since - 60_000, Date.now() + 60_000);
}

describe('agent call control through the REST API and a desk phone', () => {
  it('hold plays the music to the caller, not the agent; resume, mute and DTMF; wrong states are 409 and change nothing', async () => {
    // The phone logs the agent in, ready; the desktop login adds a session for the REST calls.
    const p = await phone('1004', 0);
    const token = await login('1004', 'dave1004');
    // No call yet: every call operation is refused.
    for (const [path, body] of [
      ['/api/v1/agent/call/hold', {}],
      ['/api/v1/agent/call/mute', { mute: true }],
      ['/api/v1/agent/call/dtmf', { digits: '1' }],
      ['/api/v1/agent/call/transfer', { queue: 'support' }],
      ['/api/v1/agent/wrapup', { disposition: 'sale' }],
    ] as const) {
      const r = await api(token, 'POST', path, body);
      expect([r.status, typeof r.json.error], path).toEqual([409, 'string']);
    }
    expect((await api(token, 'POST', '/api/v1/agent/call/dtmf', { digits: 'xyz' })).status).toBe(400);

    const started = Date.now();
    const cap: Capture = await captureUdp(34300);
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      toneHz: 1000,
      holdMs: 19_000,
      sipPort: 34170,
      mediaPort: 34300,
      caller: '15553401',
    });
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 15_000, what: 'the desk phone to answer' });
    const answeredAt = Date.now();
    await sleep(1500);
    const t: Record<string, number> = {};
    t.hold = Date.now();
    expect((await api(token, 'POST', '/api/v1/agent/call/hold', {})).json).toMatchObject({ held: true, muted: false });
    expect((await api(token, 'POST', '/api/v1/agent/call/hold', {})).status).toBe(409);
    await sleep(3000);
    t.resume = Date.now();
    expect((await api(token, 'POST', '/api/v1/agent/call/resume', {})).json).toMatchObject({ held: false });
    expect((await api(token, 'POST', '/api/v1/agent/call/resume', {})).status).toBe(409);
    await sleep(2500);
    t.mute = Date.now();
    expect((await api(token, 'POST', '/api/v1/agent/call/mute', { mute: true })).json).toMatchObject({ muted: true });
    await sleep(2500);
    t.unmute = Date.now();
    expect((await api(token, 'POST', '/api/v1/agent/call/mute', { mute: false })).json).toMatchObject({ muted: false });
    await sleep(2000);
    t.dtmf = Date.now();
    expect((await api(token, 'POST', '/api/v1/agent/call/dtmf', { digits: '19#' })).json).toEqual({ sent: '19#' });
    const r = await call.done;
    const endedAt = Date.now();
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    const pcap = await cap.stop();

    const frames = heard(pcap, 34300);
    const talk = window(frames, t.hold - 1200, t.hold - 200);
    const held = window(frames, t.hold + 700, t.resume - 200);
    const back = window(frames, t.resume + 500, t.mute - 200);
    const muted = window(frames, t.mute + 500, t.unmute - 200);
    const unmuted = window(frames, t.unmute + 500, t.dtmf - 200);
    const figures = { talk, held, back, muted, unmuted };
    expect(talk.freq, JSON.stringify(figures)).toBeCloseTo(1400, -2);
    // The music on hold is a tune of 220-660 Hz notes, and loud; the agent's 1400 Hz is gone.
    expect(held.freq, JSON.stringify(figures)).toBeGreaterThan(200);
    expect(held.freq, JSON.stringify(figures)).toBeLessThan(700);
    expect(held.rms).toBeGreaterThan(500);
    expect(back.freq, JSON.stringify(figures)).toBeCloseTo(1400, -2);
    expect(muted.rms, JSON.stringify(figures)).toBeLessThan(100);
    expect(unmuted.freq, JSON.stringify(figures)).toBeCloseTo(1400, -2);
    expect(digitsHeard(pcap, 34300)).toBe('19#');

    const holds = (await events(started)).filter((e) => (e.type === 'hold.start' || e.type === 'hold.end') && e.ts >= started);
    expect(holds.map((e) => [e.type, e.agentId])).toEqual([
      ['hold.start', '1004'],
      ['hold.end', '1004'],
    ]);
    expect(holds[1]!.ts - holds[0]!.ts).toBeGreaterThan(2500);
    expect(holds[1]!.ts - holds[0]!.ts).toBeLessThan(4000);
    // The agent heard the caller (1000 Hz) all along, muted or not, except while holding: then no
    // RTP reached the phone at all, and baresip records only what it receives, so its recording is
    // the call's length less the ~3 s of hold (with the caller's tone throughout).
    const agentHeard = await waitFor(
      () => {
        const f = p.heardWav();
        const x = f ? wavToMono8k(readFileSync(f)) : undefined;
        return x && x.length >= 8000 * 10 ? x : undefined;
      },
      { timeoutMs: 10_000, what: "baresip's recording of the call" },
    );
    const missingSec = (endedAt - answeredAt) / 1000 - agentHeard.length / 8000;
    expect(missingSec, JSON.stringify({ answeredAt, endedAt, recorded: agentHeard.length / 8000 })).toBeGreaterThan(2.2);
    expect(missingSec).toBeLessThan(5);
    for (let o = 0; o + 4000 <= agentHeard.length; o += 4000) {
      expect(dominantFrequency(agentHeard.subarray(o, o + 4000), 8000, 150, 3000, 10).freq, `${o / 8000} s into the recording`).toBeCloseTo(
        1000,
        -2,
      );
    }
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'wrap-up', { timeoutMs: 5000, what: 'wrap-up' });
    expect((await api(token, 'POST', '/api/v1/agent/wrapup', { disposition: 'nonsense' })).status).toBe(422);
    expect((await api(token, 'POST', '/api/v1/agent/wrapup', { disposition: 'quote', note: 'sent by mail', resolved: false })).status).toBe(
      200,
    );
    await stopPhone(p);
  }, 60_000);

  it('blind transfer to a queue, then to an agent: the caller talks to the second agent; a linked contact; the report shows it', async () => {
    const first = await phone('1004', 1);
    const second = await phone('1003', 2);
    const token = await login('1004', 'dave1004');
    const started = Date.now();
    const results: { via: string; contacts: string[] }[] = [];
    for (const [i, body] of [{ queue: 'support' }, { agent: '1003' }].entries()) {
      await waitFor(
        () => tc.centre.acd.agentView('1003')?.state === 'available' && tc.centre.acd.agentView('1004')?.state === 'available',
        {
          timeoutMs: 20_000,
          what: 'both agents available',
        },
      );
      const port = 34310 + i * 10;
      const cap = await captureUdp(port);
      const call = placeDemoCall({
        target: `127.0.0.1:${tc.sipPort}`,
        digits: '1',
        toneHz: 1000,
        holdMs: 12_000,
        sipPort: 34171 + i,
        mediaPort: port,
        caller: `1555341${i}`,
      });
      // Sales: 1004 has the skill, 1003 has not.
      await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 15_000, what: '1004 to answer' });
      await sleep(1500);
      // Unknown targets are refused and the call stays with 1004.
      expect((await api(token, 'POST', '/api/v1/agent/call/transfer', { queue: 'nowhere' })).status).toBe(404);
      expect((await api(token, 'POST', '/api/v1/agent/call/transfer', { agent: '7777' })).status).toBe(404);
      const external = await api(token, 'POST', '/api/v1/agent/call/transfer', { number: '+15550000' });
      expect(external.status).toBe(422);
      expect(external.json.error).toMatch(/no outbound trunk serves \+15550000/);
      expect(tc.centre.acd.agentView('1004')?.state).toBe('on-call');
      const before = Date.now();
      const tr = await api(token, 'POST', '/api/v1/agent/call/transfer', body);
      expect(tr.status, JSON.stringify(tr.json)).toBe(200);
      await waitFor(() => tc.centre.acd.agentView('1003')?.state === 'on-call', { timeoutMs: 10_000, what: '1003 to answer the transfer' });
      const answered = Date.now();
      expect(tc.centre.acd.agentView('1004')?.state).toBe('wrap-up');
      const r = await call.done;
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
      const frames = heard(await cap.stop(), port);
      const firstAgent = window(frames, before - 1200, before - 200);
      const secondAgent = window(frames, answered + 1000, answered + 4000);
      expect(firstAgent.freq, JSON.stringify({ firstAgent, secondAgent })).toBeCloseTo(1400, -2);
      expect(secondAgent.freq, JSON.stringify({ firstAgent, secondAgent })).toBeCloseTo(1800, -2);
      results.push({ via: JSON.stringify(body), contacts: [tr.json.previousContactId as string, tr.json.contactId as string] });
      const w = await api(token, 'POST', '/api/v1/agent/wrapup', { disposition: 'sale', note: `transfer ${i}`, resolved: true });
      expect(w.status, JSON.stringify(w.json)).toBe(200);
      await waitFor(() => tc.centre.acd.agentView('1003')?.state === 'wrap-up', { timeoutMs: 5000, what: '1003 wrap-up' });
      tc.centre.acd.endWrapUp('1003');
    }

    const all = await events(started);
    for (const { contacts } of results) {
      const [prev, next] = contacts;
      const transfer = all.find((e) => e.contactId === prev && e.type === 'queue.transfer');
      expect(transfer).toMatchObject({ agentId: '1004', queue: 'sales', toContactId: next });
      expect(all.find((e) => e.contactId === next && e.type === 'contact.arrived')).toMatchObject({
        initiation: 'transfer',
        previousContactId: prev,
      });
      expect(all.find((e) => e.contactId === next && e.type === 'queue.connect')).toMatchObject({ agentId: '1003' });
      expect(all.find((e) => e.contactId === prev && e.type === 'wrapup.end')).toMatchObject({ disposition: 'sale', resolved: true });
    }

    const q = new URLSearchParams({
      from: new Date(started - 3600_000).toISOString(),
      to: new Date(Date.now() + 3600_000).toISOString(),
      interval: 'range',
    });
    const rep = await fetch(new URL(`/api/v1/reports/queues?${q}`, tc.httpUrl), {
      headers: { authorization: `Basic ${Buffer.from('9001:sam9001').toString('base64')}` },
    });
    const report = (await rep.json()) as {
      rows: { key: string; transferred: number; transferRate: number | null }[];
      dispositions: { byQueue: { key: string }[] };
    };
    expect(rep.status, JSON.stringify(report)).toBe(200);
    const sales = report.rows.find((r) => r.key === 'sales');
    expect(sales?.transferred, JSON.stringify(report.rows)).toBeGreaterThanOrEqual(2);
    expect(sales!.transferRate).toBeGreaterThan(0);
    // With the first test's wrap-up ("quote", not resolved) and 1003's wrap-up after the transfer to
    // 1003 in sales (no disposition): 4 wrap-ups in sales, 3 marked, 2 of them resolved.
    expect(report.dispositions.byQueue.find((r) => r.key === 'sales')).toEqual({
      key: 'sales',
      wrapups: 4,
      disposed: 3,
      codes: { quote: 1, sale: 2 },
      resolvedMarked: 3,
      resolved: 2,
      fcrAgentRate: 2 / 3,
    });
    await stopPhone(first);
    await stopPhone(second);
  }, 90_000);

  it('serves the OpenAPI document; every route in it is answered by the centre (never 404), others are 404', async () => {
    const r = await fetch(new URL('/api/v1/openapi.json', tc.httpUrl));
    expect(r.status).toBe(200);
    const doc = (await r.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const statuses: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      // Its 404 is an answer (no surge diverts flow "x"): the route itself is tested in wallboard.test.ts.
      if (path === '/api/v1/floor/diversions/{flow}') continue;
      for (const method of Object.keys(ops)) {
        const res = await fetch(new URL(path.replace(/\{[^}]+\}/g, 'x'), tc.httpUrl), {
          method: method.toUpperCase(),
          ...(method !== 'get' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}),
        });
        await res.arrayBuffer();
        statuses.push(`${method} ${path} ${res.status}`);
        expect(res.status, `${method} ${path}`).not.toBe(404);
        expect(res.status, `${method} ${path}`).not.toBe(405);
      }
    }
    expect(statuses.length).toBeGreaterThan(20);
    expect((await fetch(new URL('/api/v1/agent/nothing-here', tc.httpUrl))).status).toBe(404);
  });

  it("a desk phone's REFER (baresip /transfer) sends the caller to another agent", async () => {
    const first = await phone('1004', 3);
    await phone('1003', 4);
    const started = Date.now();
    const cap = await captureUdp(34350);
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      toneHz: 1000,
      holdMs: 12_000,
      sipPort: 34175,
      mediaPort: 34350,
      caller: '15553420',
    });
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 15_000, what: '1004 to answer' });
    await sleep(1000);
    // A key typed on the desk phone (RFC 4733 from baresip) is passed through to the caller.
    first.command('7');
    await sleep(1000);
    first.command(`/transfer sip:1003@127.0.0.1:${tc.sipPort}`);
    await waitFor(() => tc.centre.acd.agentView('1003')?.state === 'on-call', {
      timeoutMs: 10_000,
      what: '1003 to answer the REFERred call',
      detail: () => first.output().slice(-2500),
    });
    const answered = Date.now();
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    const pcap = await cap.stop();
    const frames = heard(pcap, 34350);
    expect(window(frames, answered + 1000, answered + 4000).freq).toBeCloseTo(1800, -2);
    const all = await events(started);
    expect(all.find((e) => e.type === 'queue.transfer' && e.ts >= started)).toMatchObject({
      agentId: '1004',
      targetKind: 'agent',
      target: '1003',
    });
    expect(digitsHeard(pcap, 34350)).toBe('7');
  }, 60_000);
});
