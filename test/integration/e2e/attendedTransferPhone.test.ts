/**
 * A desk phone's attended transfer (RFC 5589 §7: consult on a second line, then REFER with
 * Replaces on the customer's dialog), through real peers:
 *
 * - the customer is sipp (the demo caller, a 1000 Hz tone), queued for sales;
 * - agent 1004's desk phone is sipp, in three parts: a REGISTER run (digest), then a UAS on the
 *   same port that answers the customer call (silent) and later sends the REFER, and a UAC that
 *   places the consult call to extension 1003 (digest-challenged with 407 as a phone would be).
 *   baresip 1.0 (the other tests' desk phone) has no attended transfer, so sipp plays that phone;
 *   the two sipp processes learn the consult dialog's id (Call-ID and tags) through the test,
 *   which hands it to the UAS in an INFO (the one thing one real phone would know by itself);
 * - agent 1003 is baresip (auto-answer, an 1800 Hz tone), rung by the consult call.
 *
 * After the REFER: the customer hears 1003's 1800 Hz (and did not before), 1003 hears the
 * customer's 1000 Hz, both of 1004's dialogs got our BYE, the event log has queue.transfer from
 * 1004 to 1003 and the queue report counts it (transferRate > 0). 1003 is not-ready
 * ('internal-call') while on the consult and the transferred call, and available afterwards.
 */
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { readPcapUdp } from '../../../media/audio/pcap.ts';
import { parseRtp } from '../../../media/rtp/rtp.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { dominantFrequency, rms, wavToMono8k } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { startSipp, type SippHandle } from '../../support/sipp.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';

const PORTS = { sip: 24060, http: 24080, pg: 24033, rtc: 24400 };
const CUSTOMER = { sip: 24175, media: 24350 };
const PHONE_A = { sip: 24190, media: 24360, consultSip: 24191, consultMedia: 24370 };
const PHONE_B = { sip: 24200, rtp: [24700, 24719] as [number, number] };

let tc: TestCentre;
const phones: DeskPhone[] = [];
const sipps: SippHandle[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  // The centre's plain RTP inside this file's block too (its default range covers other files' ports).
  tc = await startTestCentre(PORTS, { env: { CC_RTP_MIN_PORT: '24600', CC_RTP_MAX_PORT: '24699' } });
});
afterAll(async () => {
  for (const s of sipps) await s.stop();
  for (const p of phones) await p.stop();
  await tc?.stop();
});

const SDP = `v=0
      o=phone 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000`;

const REGISTER = (cseq: number, auth: string) => `
  <send retrans="500">
    <![CDATA[
      REGISTER sip:127.0.0.1:${PORTS.sip} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:1004@127.0.0.1>;tag=[pid]reg[call_number]
      To: <sip:1004@127.0.0.1>
      Call-ID: [call_id]
      CSeq: ${cseq} REGISTER
      Contact: <sip:1004@[local_ip]:[local_port]>
      ${auth}
      Expires: 300
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>`;

const registerXml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="1004 registers">
${REGISTER(1, '')}
  <recv response="401" auth="true"/>
${REGISTER(2, '[authentication username=1004 password=dave1004]')}
  <recv response="200"/>
</scenario>`;

const OK = (body: boolean) => `
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:1004@[local_ip]:[local_port]>
      ${body ? `Content-Type: application/sdp\n      Content-Length: [len]\n\n      ${SDP}` : 'Content-Length: 0'}
    ]]>
  </send>`;

/** 1004's phone, customer line: answers the offered call, waits for the consult's id, REFERs. */
const customerLineXml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="1004 customer line">
  <recv request="INVITE">
    <action>
      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>
      <ereg regexp="[^ ].*" search_in="hdr" header="From:" assign_to="remote"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]line[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:1004@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      ${SDP}
    ]]>
  </send>
  <recv request="ACK"/>
  <recv request="INFO">
    <action><ereg regexp="[^ ]+" search_in="hdr" header="X-Replaces:" assign_to="repl"/></action>
  </recv>
  <send retrans="500">
    <![CDATA[
      REFER [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:1004@127.0.0.1>;tag=[pid]line[call_number]
      To: [$remote]
      Call-ID: [call_id]
      CSeq: 1 REFER
      Contact: <sip:1004@[local_ip]:[local_port]>
      Refer-To: <sip:1003@127.0.0.1:${PORTS.sip}?Replaces=[$repl]>
      Referred-By: <sip:1004@127.0.0.1>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="202"/>
  <recv request="NOTIFY">
    <action><ereg regexp="SIP/2.0 200" search_in="body" check_it="true" assign_to="ok"/></action>
  </recv>
  <nop><action><log message="NOTIFY [$ok]"/></action></nop>
${OK(false)}
  <recv request="BYE"/>
${OK(false)}
</scenario>`;

/** 1004's phone, second line: calls extension 1003 (407, then with credentials), logs the dialog id. */
const INVITE = (cseq: number, auth: string) => `
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@127.0.0.1:${PORTS.sip} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:1004@127.0.0.1>;tag=[pid]consult[call_number]
      To: <sip:[service]@127.0.0.1>
      Call-ID: [call_id]
      CSeq: ${cseq} INVITE
      Contact: <sip:1004@[local_ip]:[local_port]>
      ${auth}
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      ${SDP}
    ]]>
  </send>`;

const consultXml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="1004 consults 1003">
${INVITE(1, '')}
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@127.0.0.1:${PORTS.sip} SIP/2.0
      [last_Via:]
      From: <sip:1004@127.0.0.1>;tag=[pid]consult[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
${INVITE(2, '[authentication username=1004 password=dave1004]')}
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true">
    <action><ereg regexp="tag=([^;>]+)" search_in="hdr" header="To:" assign_to="junk,totag"/></action>
  </recv>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:1004@127.0.0.1>;tag=[pid]consult[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop><action><log message="CONSULT [call_id];to-tag=[$totag];from-tag=[pid]consult[call_number] [$junk]"/></action></nop>
  <recv request="BYE"/>
${OK(false)}
</scenario>`;

function heard(pcap: Buffer, port: number): { at: number; pcm: Int16Array }[] {
  const out: { at: number; pcm: Int16Array }[] = [];
  for (const d of readPcapUdp(pcap)) {
    if (d.dstPort !== port) continue;
    const p = parseRtp(d.payload);
    if (p?.payloadType === 0) out.push({ at: d.at, pcm: decodeG711('PCMU', p.payload) });
  }
  return out;
}

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

/** A SIP INFO straight to the phone's customer line, naming the consult dialog (see the file comment). */
async function tellPhone(callId: string, replaces: string): Promise<void> {
  const msg = [
    `INFO sip:1004@127.0.0.1:${PHONE_A.sip} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:24199;branch=z9hG4bK-test-${Date.now()}`,
    'From: <sip:test@127.0.0.1>;tag=test',
    'To: <sip:1004@127.0.0.1>',
    `Call-ID: ${callId}`,
    'CSeq: 9 INFO',
    `X-Replaces: ${replaces}`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => s.send(msg, PHONE_A.sip, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  s.close();
}

describe("a desk phone's attended transfer (consult on a second line, REFER with Replaces)", () => {
  it('joins the customer with the consulted agent, drops the transferring agent and logs the transfer', async () => {
    const dir = tc.dataDir;
    for (const [f, x] of Object.entries({ 'reg.xml': registerXml, 'line.xml': customerLineXml, 'consult.xml': consultXml }))
      writeFileSync(join(dir, f), x);
    // 1004 registers from the port its customer line then listens on (the centre sends there).
    const reg = await startSipp({ scenario: join(dir, 'reg.xml'), remote: `127.0.0.1:${PORTS.sip}`, localPort: PHONE_A.sip, calls: 1 })
      .done;
    expect(reg.exitCode, reg.errors + reg.stdout.slice(-1500)).toBe(0);
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: '1004 available' });
    const line = startSipp({
      scenario: join(dir, 'line.xml'),
      localPort: PHONE_A.sip,
      calls: 1,
      timeoutSec: 60,
      args: ['-mi', '127.0.0.1', '-mp', String(PHONE_A.media)],
    });
    sipps.push(line);

    const started = Date.now();
    const cap = await captureUdp(CUSTOMER.media);
    const customer = placeDemoCall({
      target: `127.0.0.1:${PORTS.sip}`,
      digits: '1',
      toneHz: 1000,
      holdMs: 24_000,
      sipPort: CUSTOMER.sip,
      mediaPort: CUSTOMER.media,
      caller: '15552410',
    });
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 15_000, what: '1004 to answer' });
    const call = [...tc.centre.calls.values()].find((c) => c.agent?.party === '1004');
    const lineCallId = call?.agent?.dialog?.callId;
    expect(lineCallId).toBeTruthy();
    const connectedAt = Date.now();

    // 1003 logs in (baresip) only now, so the ACD offered the customer to 1004.
    const b = await startDeskPhone({
      dir: join(dir, 'baresip-1003'),
      user: '1003',
      password: 'carol1003',
      registrar: `127.0.0.1:${PORTS.sip}`,
      listenPort: PHONE_B.sip,
      rtpPorts: PHONE_B.rtp,
      toneHz: 1800,
    });
    phones.push(b);
    await waitFor(() => tc.centre.acd.agentView('1003')?.state === 'available', { timeoutMs: 10_000, what: '1003 available' });

    // The consult: 1004's second line calls extension 1003.
    const logFile = join(dir, 'consult.log');
    const consult = startSipp({
      scenario: join(dir, 'consult.xml'),
      remote: `127.0.0.1:${PORTS.sip}`,
      localPort: PHONE_A.consultSip,
      calls: 1,
      service: '1003',
      timeoutSec: 60,
      args: ['-mi', '127.0.0.1', '-mp', String(PHONE_A.consultMedia), '-trace_logs', '-log_file', logFile],
    });
    sipps.push(consult);
    const logged = await waitFor(
      () => (existsSync(logFile) ? /CONSULT (\S+);to-tag=(\S+);from-tag=(\S+)/.exec(readFileSync(logFile, 'utf8')) : null),
      {
        timeoutMs: 15_000,
        what: 'the consult call to be answered',
        detail: () => b.output().slice(-1500),
      },
    );
    // 1003 is busy for the ACD while on the consult (no customer call is offered meanwhile).
    expect(tc.centre.acd.agentView('1003')).toMatchObject({ state: 'not-ready', reason: 'internal-call' });
    await sleep(1500);

    // The REFER: Refer-To <sip:1003@…?Replaces=callid%3Bto-tag%3D…%3Bfrom-tag%3D…>.
    const [, cid, toTag, fromTag] = logged;
    const before = Date.now();
    await tellPhone(lineCallId!, encodeURIComponent(`${cid};to-tag=${toTag};from-tag=${fromTag}`));
    // Both of 1004's dialogs end with our BYE: the scenarios complete.
    const [lineResult, consultResult] = await Promise.all([line.done, consult.done]);
    expect(lineResult.exitCode, lineResult.errors + lineResult.stdout.slice(-2000)).toBe(0);
    expect(consultResult.exitCode, consultResult.errors + consultResult.stdout.slice(-2000)).toBe(0);
    const transferredAt = Date.now();
    expect(transferredAt - before).toBeLessThan(6000);
    expect(['wrap-up', 'available']).toContain(tc.centre.acd.agentView('1004')?.state);
    expect(tc.centre.acd.agentView('1003')).toMatchObject({ state: 'not-ready', reason: 'internal-call' });
    await sleep(4000);
    expect(call!.agent).toBeUndefined();
    expect(call!.ended).toBe(false);

    const r = await customer.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    const frames = heard(await cap.stop(), CUSTOMER.media);
    // Before: 1004's line was silent, so the customer did not hear 1800 Hz; after: 1003's tone.
    const early = window(frames, connectedAt + 300, before - 100);
    expect(early.rms < 300 || Math.abs(early.freq - 1800) > 100, JSON.stringify(early)).toBe(true);
    const late = window(frames, transferredAt + 500, transferredAt + 3500);
    expect(late.freq, JSON.stringify(late)).toBeCloseTo(1800, -2);
    expect(late.rms).toBeGreaterThan(500);

    // 1003 heard the customer's 1000 Hz (baresip records what it receives).
    await waitFor(() => tc.centre.acd.agentView('1003')?.state === 'available', { timeoutMs: 10_000, what: '1003 available again' });
    await b.stop();
    phones.splice(phones.indexOf(b), 1);
    const wav = b.heardWav();
    expect(wav).toBeTruthy();
    const pcm = wavToMono8k(readFileSync(wav!));
    const tail = pcm.subarray(Math.max(0, pcm.length - 8000 * 4), pcm.length - 8000);
    expect(dominantFrequency(tail, 8000, 150, 3000, 10).freq).toBeCloseTo(1000, -2);

    // The event log and the report: a transfer from 1004 to 1003 on the customer's contact.
    await tc.centre.store.flush();
    const all = await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000);
    expect(all.find((e) => e.type === 'queue.transfer' && e.ts >= started)).toMatchObject({
      agentId: '1004',
      targetKind: 'agent',
      target: '1003',
      queue: 'sales',
    });
    const q = new URLSearchParams({
      from: new Date(started - 3600_000).toISOString(),
      to: new Date(Date.now() + 3600_000).toISOString(),
      interval: 'range',
    });
    const rep = await fetch(new URL(`/api/v1/reports/queues?${q}`, tc.httpUrl), {
      headers: { authorization: `Basic ${Buffer.from('9001:sam9001').toString('base64')}` },
    });
    const report = (await rep.json()) as { rows: { key: string; transferred: number; transferRate: number | null }[] };
    const sales = report.rows.find((x) => x.key === 'sales');
    expect(sales?.transferred, JSON.stringify(report.rows)).toBe(1);
    expect(sales!.transferRate).toBeGreaterThan(0);
  }, 120_000);
});
