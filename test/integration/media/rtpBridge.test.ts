/**
 * Real mediasoup worker, real UDP on 127.0.0.1: a carrier-like RTP peer on a trunk leg bridged to a
 * desk-phone-like RTP peer on an agent leg. Tones are checked by Goertzel in both directions and in
 * the recording; DTMF arrives as RFC 4733 events and as in-band tones.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CodecMismatch, MediaPlane, type G711Law, type MediaCall, type PlainRtpLeg } from '../../../media/index.ts';
import { encodeWav } from '../../../media/audio/wav.ts';
import { timestampDiff } from '../../../media/rtp/rtp.ts';
import { concat, dominantFrequency, dtmfTone, readStereoWav, rms, silence, tone } from '../../support/audio.ts';
import { RtpPeer } from './rtpPeer.ts';
import { settled, until } from './until.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'media-it-'));
let plane: MediaPlane;

beforeAll(async () => {
  plane = await MediaPlane.start({
    workers: 1,
    listenIp: '127.0.0.1',
    rtpMinPort: 31000,
    rtpMaxPort: 31999,
    rtcMinPort: 32000,
    rtcMaxPort: 32999,
    recordingsDir: dir,
    inbandDtmf: 'always',
  });
});
afterAll(async () => {
  await plane?.stop();
});

/** Whatever a test opened (calls, peers) is closed after it, passed or failed. */
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function portOf(sdp: string): number {
  return Number(/m=audio (\d+)/.exec(sdp)![1]);
}

interface TrunkCall {
  call: MediaCall;
  caller: RtpPeer;
  trunk: PlainRtpLeg;
  /** Our answer to the caller's offer. */
  answer: string;
}
interface BridgedCall extends TrunkCall {
  phone: RtpPeer;
  agent: PlainRtpLeg;
  /** Our offer to the desk phone. */
  offer: string;
}

/**
 * A call with a caller on a trunk leg (it offers `callerLaws`), each peer told where to send.
 * `listen` runs before any leg exists, so no event is missed.
 */
async function trunkCall(
  id: string,
  o: { callerLaws?: G711Law[]; te?: number; payloadTypes?: Partial<Record<G711Law, number>>; listen?: (call: MediaCall) => void } = {},
): Promise<TrunkCall> {
  const caller = await RtpPeer.open();
  cleanups.push(() => caller.close());
  const call = await plane.createCall(id);
  cleanups.push(() => call.close());
  o.listen?.(call);
  const trunk = await call.createTrunkLeg();
  const answer = await trunk.answer(
    caller.sdp(o.callerLaws ?? ['PCMU'], {
      ...(o.te !== undefined ? { te: o.te } : {}),
      ...(o.payloadTypes ? { payloadTypes: o.payloadTypes } : {}),
    }),
  );
  caller.sendTo('127.0.0.1', portOf(answer));
  return { call, caller, trunk, answer };
}

/** trunkCall, plus an agent desk phone on a plain leg (we offer, it answers `phoneLaw`), bridged. */
async function bridgedCall(
  id: string,
  o: Parameters<typeof trunkCall>[1] & { phoneLaw?: G711Law; phoneTe?: number; phoneRtcpMux?: boolean } = {},
): Promise<BridgedCall> {
  const t = await trunkCall(id, o);
  const phone = await RtpPeer.open();
  cleanups.push(() => phone.close());
  const agent = await t.call.createRtpLeg();
  const offer = agent.offer();
  await agent.setAnswer(
    phone.sdp([o.phoneLaw ?? 'PCMU'], {
      ...(o.phoneTe !== undefined ? { te: o.phoneTe } : {}),
      ...(o.phoneRtcpMux ? { rtcpMux: true } : {}),
    }),
  );
  await t.call.bridge(t.trunk, agent);
  phone.sendTo('127.0.0.1', portOf(offer));
  return { ...t, phone, agent, offer };
}

const ofType = (peer: RtpPeer, pt: number) => peer.received.filter((p) => p.payloadType === pt);
const isEnd = (p: { payload: Buffer }) => (p.payload[1]! & 0x80) !== 0;

describe('plain RTP trunk ↔ mediasoup ↔ plain RTP agent', () => {
  it('bridges both ways, records caller left / agent right, detects RFC 4733 and in-band keys', async () => {
    const digits: string[] = [];
    const { call, caller, phone, answer, offer } = await bridgedCall('it-bridge-1', {
      callerLaws: ['PCMA', 'PCMU'],
      te: 96,
      phoneLaw: 'PCMA',
      phoneTe: 101,
      phoneRtcpMux: true,
      listen: (c) => c.on('dtmf', (d, i) => digits.push(`${d}:${i.source}`)),
    });
    expect(answer).toMatch(/m=audio \d+ RTP\/AVP 8 96\r\n/);
    expect(answer).toContain('a=rtpmap:96 telephone-event/8000');
    expect(answer).toContain('c=IN IP4 127.0.0.1');
    expect(call.law).toBe('PCMA');
    expect(offer).toMatch(/m=audio \d+ RTP\/AVP 8 101\r\n/); // only the call's law
    const rec = await call.record(join(dir, 'bridge.wav'));

    await Promise.all([
      caller.stream('PCMA', tone(440, 1500, { amp: 8000 }), { once: true }),
      phone.stream('PCMA', tone(1000, 1500, { amp: 8000 }), { once: true }),
    ]);
    await until('a second of audio each way', () => phone.audio('PCMA').length > 8000 && caller.audio('PCMA').length > 8000);
    // In-band first: the key as audio.
    await caller.stream('PCMA', concat(dtmfTone('7', 100), silence(100)), { once: true });
    await until('the in-band 7', () => digits.length >= 1);
    // Once the trunk has sent an RFC 4733 event, in-band detection stops on that leg (a carrier
    // sending events may also leave the tones in): a key then sent only as audio is not reported.
    await caller.sendEvent('5', 96);
    await until('the event 5', () => digits.length >= 2);
    await caller.stream('PCMA', concat(dtmfTone('3', 100), silence(100)), { once: true });
    // The thread handles the party's packets in order: once the event after the tone is reported,
    // the tone has been through the leg.
    await caller.sendEvent('6', 96);
    await until('the event 6', () => digits.length >= 3);
    expect(digits).toEqual(['7:inband', '5:rfc4733', '6:rfc4733']);
    const summary = await rec.stop();

    const heardByAgent = phone.audio('PCMA');
    const heardByCaller = caller.audio('PCMA');
    expect(dominantFrequency(heardByAgent.subarray(0, 8000)).freq).toBe(440);
    expect(dominantFrequency(heardByCaller.subarray(0, 8000)).freq).toBe(1000);
    expect(dominantFrequency(heardByCaller.subarray(0, 8000)).ratio).toBeGreaterThan(100);
    // The agent gets exactly the payload type it negotiated: no telephone-event (96) leaks
    // through, nor any other type.
    expect([...new Set(phone.received.map((p) => p.payloadType))]).toEqual([8]);
    // symmetric RTP: each peer heard from exactly the port it was told in SDP
    expect([...caller.sources]).toEqual([`127.0.0.1:${portOf(answer)}`]);
    expect([...phone.sources]).toEqual([`127.0.0.1:${portOf(offer)}`]);

    const w = readStereoWav(readFileSync(summary.path));
    expect(summary.durationMs).toBeGreaterThan(1800);
    const l = w.left.subarray(2400, 9600);
    const r = w.right.subarray(2400, 9600);
    expect(dominantFrequency(l).freq).toBe(440);
    expect(dominantFrequency(r).freq).toBe(1000);
    expect(rms(l)).toBeGreaterThan(3000);
  });

  it('a call that ends while its recorder is starting: the file is finished, stopping it is no error', async () => {
    const { call } = await trunkCall('it-rec-race');
    const path = join(dir, 'race.wav');
    // Under load the call's end (its media closing) can overtake a recorder being set up: the
    // thread gets 'record', then 'close' for the leg, and a later 'stopRecording' found no leg.
    const starting = call.record(path);
    call.close();
    const rec = await starting;
    await expect(rec.stop()).resolves.toMatchObject({ path });
    await until('the closed leg to finish the WAV', () => {
      try {
        readStereoWav(readFileSync(path));
        return true;
      } catch {
        return false;
      }
    });
  });

  it('a recording whose file cannot be created: the call still talks, the stop fails and is counted', async () => {
    const { metrics } = await import('../../../lib/metrics.ts');
    const failed = async () => Number(/media_recordings_failed_total (\d+)/.exec(await metrics.metrics())?.[1] ?? 0);
    const before = await failed();
    const { call, caller, phone } = await bridgedCall('it-rec-enoent');
    const rec = await call.record(join(dir, 'no-such-dir', 'x.wav'));
    await caller.stream('PCMU', tone(440, 400), { once: true });
    await until('the agent to hear the caller', () => phone.audio('PCMU').length > 1600);
    await expect(rec.stop()).rejects.toThrow(/ENOENT/);
    expect((await failed()) - before).toBe(1);
  });

  it("maps a caller's dynamic payload type for its law to the static one mediasoup knows", async () => {
    const { call, caller, phone, answer } = await bridgedCall('it-dynamic-pt', {
      callerLaws: ['PCMU'],
      payloadTypes: { PCMU: 112 },
      te: 101,
    });
    expect(answer).toMatch(/m=audio \d+ RTP\/AVP 112 101\r\n/);
    expect(answer).toContain('a=rtpmap:112 PCMU/8000');
    expect(call.law).toBe('PCMU');
    await caller.stream('PCMU', tone(440, 600, { amp: 8000 }), { once: true, payloadType: 112 });
    await until("the caller's audio at the agent", () => phone.received.length >= 25);
    expect([...new Set(phone.received.map((p) => p.payloadType))]).toEqual([0]);
    expect(dominantFrequency(phone.audio('PCMU')).freq).toBe(440);
  });

  it('carries plain-to-plain audio relay to relay (the worker idle), and again after unbridge and re-bridge', async () => {
    const { call, caller, phone, trunk, agent } = await bridgedCall('it-direct', { te: 101, phoneTe: 101 });
    await Promise.all([
      caller.stream('PCMU', tone(440, 600, { amp: 8000 }), { once: true }),
      phone.stream('PCMU', tone(1000, 600, { amp: 8000 }), { once: true }),
    ]);
    await until('audio each way', () => ofType(phone, 0).length >= 25 && ofType(caller, 0).length >= 25);
    expect(dominantFrequency(phone.audio('PCMU')).freq).toBe(440);
    expect(dominantFrequency(caller.audio('PCMU')).freq).toBe(1000);
    // Nothing of it went through mediasoup's loopback transports.
    const [ts] = await trunk.transport.getStats();
    const [as] = await agent.transport.getStats();
    expect(ts!.rtpBytesReceived + as!.rtpBytesReceived).toBe(0);

    await call.unbridge();
    const n = phone.received.length;
    await caller.stream('PCMU', tone(440, 300, { amp: 8000 }), { once: true });
    // Unbridged, nobody hears the caller: its relay sends its packets nowhere, not even to
    // mediasoup (a caller alone in the IVR or on hold costs no loopback round trip).
    await new Promise((r) => setTimeout(r, 300));
    expect((await trunk.transport.getStats())[0]!.rtpBytesReceived).toBe(0);
    expect(phone.received.length).toBe(n); // unbridged: the phone hears nothing
    await call.bridge(trunk, agent);
    const before = phone.received.length;
    await caller.stream('PCMU', tone(700, 600, { amp: 8000 }), { once: true });
    const again = () => phone.received.slice(before).filter((p) => p.payloadType === 0);
    await until('audio after the re-bridge', () => again().length >= 25);
    expect(again()[0]!.marker).toBe(true); // a new source for the splicer: marker, new talkspurt
    expect(dominantFrequency(phone.audio('PCMU').subarray(-again().length * 160)).freq).toBe(700);
    const seqs = phone.received.filter((p) => p.payloadType === 0).map((p) => p.sequenceNumber);
    expect(seqs.slice(1).every((q, i) => ((q - seqs[i]!) & 0xffff) === 1)).toBe(true);
  });

  it("rejects a leg that cannot speak the call's law with CodecMismatch (488)", async () => {
    const call = await plane.createCall('it-488');
    cleanups.push(() => call.close());
    const trunk = await call.createTrunkLeg();
    await trunk.answer('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n');
    expect(call.law).toBe('PCMU');
    const agent = await call.createRtpLeg();
    agent.offer();
    const err = await agent
      .setAnswer('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4002 RTP/AVP 8\r\n')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CodecMismatch);
    expect((err as CodecMismatch).sipStatus).toBe(488);
    const t2 = await call.createTrunkLeg();
    await expect(
      t2.answer('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n'),
    ).rejects.toThrow(CodecMismatch);
    await expect(t2.answer('garbage')).rejects.toThrow(/SDP/);
  });

  it('plays a 44.1 kHz stereo prompt to the caller at 20 ms per packet, barge-in on a key stops it', async () => {
    const { call, caller, trunk } = await trunkCall('it-play', { te: 101 });
    const t = tone(600, 3000, { rate: 44100, amp: 9000 });
    const st = new Int16Array(t.length * 2);
    for (let i = 0; i < t.length; i++) st[2 * i] = st[2 * i + 1] = t[i]!;
    const path = join(dir, 'prompt.wav');
    writeFileSync(path, encodeWav(44100, 2, st));
    const pb = await call.play(trunk, path, { bargeIn: true });
    void caller.stream('PCMU', silence(200));
    await until('half a second of the prompt', () => ofType(caller, 0).length >= 25);
    await caller.sendEvent('1', 101);
    expect(await pb.done).toBe('stopped'); // the 3 s prompt did not finish
    const got = ofType(caller, 0);
    expect(got.length).toBeLessThan(150);
    expect(dominantFrequency(caller.audio('PCMU')).freq).toBe(600);
    // one stream: consecutive sequence numbers, 160 samples (20 ms) of media time per packet
    expect(got.slice(1).every((p, i) => ((p.sequenceNumber - got[i]!.sequenceNumber) & 0xffff) === 1)).toBe(true);
    expect(got.slice(1).every((p, i) => timestampDiff(got[i]!.timestamp, p.timestamp) === 160)).toBe(true);
  });

  it('honours hold by re-INVITE (sendonly): nothing is sent to the caller until sendrecv again', async () => {
    const { caller, phone, trunk, answer } = await bridgedCall('it-hold', { te: 101 });
    void caller.stream('PCMU', tone(440, 1000));
    void phone.stream('PCMU', tone(1000, 1000));
    await until("the agent's audio at the caller", () => caller.received.length >= 10);
    const held = await trunk.update(caller.sdp(['PCMU'], { te: 101 }).replace('a=sendrecv', 'a=sendonly'));
    expect(held).toContain('a=recvonly');
    expect(portOf(held)).toBe(portOf(answer)); // same port across the re-INVITE
    // The thread has applied the hold when update() resolves; packets already on the way land.
    await settled('packets in flight to the caller', () => caller.received.length);
    const before = caller.received.length;
    await sleep(500); // the phone goes on talking: 25 packets that must not reach the held caller
    expect(caller.received.length - before).toBe(0);
    await trunk.update(caller.sdp(['PCMU'], { te: 101 }));
    await until('audio again after unhold', () => caller.received.length - before > 15);
    expect(dominantFrequency(caller.audio('PCMU').subarray(-15 * 160)).freq).toBe(1000);
  });

  it('sends a key to the far end as RFC 4733 events in the stream it hears (three end packets, one timestamp)', async () => {
    const { call, caller, trunk } = await trunkCall('it-send-dtmf', { te: 97 });
    const path = join(dir, 'under-the-key.wav');
    writeFileSync(path, encodeWav(8000, 1, tone(500, 2000)));
    const pb = await call.play(trunk, path);
    await until('some of the prompt', () => ofType(caller, 0).length >= 5);
    expect(trunk.sendDtmf('#', 100)).toBe(true);
    expect(trunk.sendDtmf('x')).toBe(false);
    await until("the key's three end packets", () => ofType(caller, 97).filter(isEnd).length >= 3);
    pb.stop();
    const ev = ofType(caller, 97);
    expect(ev.length).toBe(7); // 4 progress packets 20 ms apart, then the end packet 3 times
    expect(new Set(ev.map((p) => p.timestamp)).size).toBe(1);
    expect(ev.every((p) => p.payload[0] === 11)).toBe(true);
    expect(ev.filter(isEnd)).toHaveLength(3);
    expect(ev[0]!.marker).toBe(true);
    // RFC 4733 §2.3: the events share the audio stream's SSRC, its sequence numbering and its
    // timestamp clock (stamped with the audio timeline when the key went down).
    const upToLastEvent = caller.received.slice(0, caller.received.indexOf(ev[ev.length - 1]!) + 1);
    expect(upToLastEvent.filter((p) => p.payloadType === 0).length).toBeGreaterThanOrEqual(5);
    expect(new Set(upToLastEvent.map((p) => p.ssrc)).size).toBe(1);
    expect(upToLastEvent.slice(1).every((p, i) => ((p.sequenceNumber - upToLastEvent[i]!.sequenceNumber) & 0xffff) === 1)).toBe(true);
    const audioBefore = upToLastEvent.slice(0, upToLastEvent.indexOf(ev[0]!)).filter((p) => p.payloadType === 0);
    const lead = timestampDiff(audioBefore[audioBefore.length - 1]!.timestamp, ev[0]!.timestamp);
    expect(lead).toBeGreaterThanOrEqual(0);
    expect(lead).toBeLessThanOrEqual(800); // within 100 ms of the last audio packet
  });

  it("an agent desk phone key is not the caller's: reported as agentDtmf and passed on to the caller", async () => {
    const callerKeys: string[] = [];
    const agentKeys: string[] = [];
    const { call, caller, phone, agent } = await bridgedCall('it-agent-dtmf', {
      te: 101,
      phoneTe: 101,
      listen: (c) => {
        c.on('dtmf', (d) => callerKeys.push(d));
        c.on('agentDtmf', (d) => agentKeys.push(d));
      },
    });
    void caller.stream('PCMU', silence(100));
    void phone.stream('PCMU', silence(100));
    await phone.sendEvent('9', 101);
    await until("the agent's key", () => agentKeys.length > 0);
    await until("the key's end packets at the caller", () => ofType(caller, 101).filter(isEnd).length >= 3);
    expect(agentKeys).toEqual(['9']);
    expect(callerKeys).toEqual([]);
    const ev = ofType(caller, 101);
    expect(ev.every((p) => p.payload[0] === 9)).toBe(true);
    expect(ev).toHaveLength(10); // 160 ms: 7 progress packets, then the end packet 3 times
    expect(call.legs).toHaveLength(2);
    agent.close();
    expect(call.legs).toHaveLength(1);
  });

  it('exports media_ metrics (relay packet counts of closed legs, DTMF by source, active calls)', async () => {
    const { metrics } = await import('../../../lib/metrics.ts');
    const read = async (re: RegExp) => Number(re.exec(await metrics.metrics())?.[1] ?? 0);
    const rtpIn = /media_rtp_packets_total\{direction="in"\} (\d+)/;
    const rfc4733 = /media_dtmf_total\{source="rfc4733"\} (\d+)/;
    const [inBefore, keysBefore] = [await read(rtpIn), await read(rfc4733)];
    const digits: string[] = [];
    const { call, caller } = await bridgedCall('it-metrics', { te: 101, listen: (c) => c.on('dtmf', (d) => digits.push(d)) });
    await caller.stream('PCMU', tone(440, 400), { once: true });
    await caller.sendEvent('2', 101);
    await until('the key', () => digits.length > 0);
    call.close();
    // A relay's counts are added when its leg has closed on the RTP thread.
    await until("the closed legs' relay counts", async () => (await read(rtpIn)) >= inBefore + 20);
    expect((await read(rfc4733)) - keysBefore).toBe(1);
    expect(await metrics.metrics()).toMatch(/media_calls_active 0\n/);
  });
});
