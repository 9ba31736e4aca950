/**
 * Real mediasoup worker, real UDP on 127.0.0.1: a carrier-like RTP peer on a trunk leg bridged to a
 * desk-phone-like RTP peer on an agent leg. Tones are checked by Goertzel in both directions and in
 * the recording; DTMF arrives as RFC 4733 events and as in-band tones.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodecMismatch, MediaPlane } from '../../../media/index.ts';
import { encodeWav } from '../../../media/audio/wav.ts';
import { concat, dominantFrequency, dtmfTone, readStereoWav, rms, silence, tone } from '../../support/audio.ts';
import { RtpPeer } from './rtpPeer.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'media-it-'));
let plane: MediaPlane;

beforeAll(async () => {
  plane = await MediaPlane.start({ workers: 1, listenIp: '127.0.0.1', rtpMinPort: 31000, rtpMaxPort: 31999, rtcMinPort: 32000, rtcMaxPort: 32999, recordingsDir: dir, inbandDtmf: 'always' });
});
afterAll(async () => {
  await plane?.stop();
});

function portOf(sdp: string): number {
  return Number(/m=audio (\d+)/.exec(sdp)![1]);
}

describe('plain RTP trunk ↔ mediasoup ↔ plain RTP agent', () => {
  it('bridges both ways, records caller left / agent right, detects RFC 4733 and in-band keys', async () => {
    const caller = await RtpPeer.open();
    const phone = await RtpPeer.open();
    const call = await plane.createCall('it-bridge-1');
    const digits: string[] = [];
    call.on('dtmf', (d, i) => digits.push(`${d}:${i.source}`));
    try {
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(caller.sdp(['PCMA', 'PCMU'], { te: 96 }));
      expect(answer).toMatch(/m=audio \d+ RTP\/AVP 8 96\r\n/);
      expect(answer).toContain('a=rtpmap:96 telephone-event/8000');
      expect(answer).toContain('c=IN IP4 127.0.0.1');
      expect(call.law).toBe('PCMA');

      const agent = await call.createRtpLeg();
      const offer = agent.offer();
      expect(offer).toMatch(/m=audio \d+ RTP\/AVP 8 101\r\n/); // only the call's law
      await agent.setAnswer(phone.sdp(['PCMA'], { te: 101, rtcpMux: true }));
      await call.bridge(trunk, agent);
      const rec = await call.record(join(dir, 'bridge.wav'));

      caller.sendTo('127.0.0.1', portOf(answer));
      phone.sendTo('127.0.0.1', portOf(offer));
      caller.stream('PCMA', tone(440, 1000, { amp: 8000 }));
      phone.stream('PCMA', tone(1000, 1000, { amp: 8000 }));
      await sleep(1500);
      caller.stop();
      // In-band first: the key as audio. Once the trunk has sent an RFC 4733 event, in-band
      // detection stops on that leg (a carrier sending events may also leave the tones in).
      caller.stream('PCMA', concat(dtmfTone('7', 100), silence(300)));
      await sleep(400);
      caller.stop();
      await caller.sendEvent('5', 96);
      caller.stream('PCMA', concat(dtmfTone('5', 100), silence(300))); // same key in-band: not reported again
      await sleep(400);
      caller.stop();
      await sleep(200);
      const summary = await rec.stop();
      phone.stop();

      const heardByAgent = phone.audio('PCMA');
      const heardByCaller = caller.audio('PCMA');
      expect(heardByAgent.length).toBeGreaterThan(8000); // > 1 s of audio
      expect(dominantFrequency(heardByAgent.subarray(0, 8000)).freq).toBe(440);
      expect(dominantFrequency(heardByCaller.subarray(0, 8000)).freq).toBe(1000);
      expect(dominantFrequency(heardByCaller.subarray(0, 8000)).ratio).toBeGreaterThan(100);
      // telephone-events never leak to the agent as audio packets of another type
      expect(phone.received.every((p) => p.payloadType === 8 || p.payloadType >= 72)).toBe(true);
      // symmetric RTP: each peer heard from exactly the port it was told in SDP
      expect([...caller.sources]).toEqual([`127.0.0.1:${portOf(answer)}`]);

      expect(digits).toEqual(['7:inband', '5:rfc4733']);

      const w = readStereoWav(readFileSync(summary.path));
      expect(summary.durationMs).toBeGreaterThan(1800);
      const l = w.left.subarray(2400, 9600);
      const r = w.right.subarray(2400, 9600);
      expect(dominantFrequency(l).freq).toBe(440);
      expect(dominantFrequency(r).freq).toBe(1000);
      expect(rms(l)).toBeGreaterThan(3000);
    } finally {
      call.close();
      caller.close();
      phone.close();
    }
  });

  it('carries plain-to-plain audio relay to relay (the worker idle), and again after unbridge and re-bridge', async () => {
    const caller = await RtpPeer.open();
    const phone = await RtpPeer.open();
    const call = await plane.createCall('it-direct');
    try {
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(caller.sdp(['PCMU'], { te: 101 }));
      const agent = await call.createRtpLeg();
      const offer = agent.offer();
      await agent.setAnswer(phone.sdp(['PCMU'], { te: 101 }));
      await call.bridge(trunk, agent);
      caller.sendTo('127.0.0.1', portOf(answer));
      phone.sendTo('127.0.0.1', portOf(offer));
      caller.stream('PCMU', tone(440, 600, { amp: 8000 }));
      phone.stream('PCMU', tone(1000, 600, { amp: 8000 }));
      await sleep(800);
      caller.stop();
      phone.stop();
      expect(dominantFrequency(phone.audio('PCMU')).freq).toBe(440);
      expect(dominantFrequency(caller.audio('PCMU')).freq).toBe(1000);
      // Nothing of it went through mediasoup's loopback transports.
      const [ts] = await trunk.transport.getStats();
      const [as] = await agent.transport.getStats();
      expect(ts!.rtpBytesReceived + as!.rtpBytesReceived).toBe(0);

      await call.unbridge();
      const n = phone.received.length;
      caller.stream('PCMU', tone(440, 300, { amp: 8000 }));
      await sleep(400);
      caller.stop();
      expect(phone.received.length).toBe(n); // unbridged: the phone hears nothing
      await call.bridge(trunk, agent);
      const before = phone.received.length;
      caller.stream('PCMU', tone(700, 600, { amp: 8000 }));
      await sleep(800);
      caller.stop();
      const again = phone.received.slice(before).filter((p) => p.payloadType === 0);
      expect(again.length).toBeGreaterThan(20);
      expect(again[0]!.marker).toBe(true); // a new source for the splicer: marker, new talkspurt
      const seqs = phone.received.filter((p) => p.payloadType === 0).map((p) => p.sequenceNumber);
      expect(seqs.slice(1).every((q, i) => ((q - seqs[i]!) & 0xffff) === 1)).toBe(true);
    } finally {
      caller.stop();
      phone.stop();
      call.close();
      caller.close();
      phone.close();
    }
  });

  it('rejects a leg that cannot speak the call\'s law with CodecMismatch (488)', async () => {
    const call = await plane.createCall('it-488');
    try {
      const trunk = await call.createTrunkLeg();
      await trunk.answer('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n');
      expect(call.law).toBe('PCMU');
      const agent = await call.createRtpLeg();
      agent.offer();
      const err = await agent.setAnswer('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4002 RTP/AVP 8\r\n').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CodecMismatch);
      expect((err as CodecMismatch).sipStatus).toBe(488);
      const t2 = await call.createTrunkLeg();
      await expect(t2.answer('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n')).rejects.toThrow(CodecMismatch);
      await expect(t2.answer('garbage')).rejects.toThrow(/SDP/);
    } finally {
      call.close();
    }
  });

  it('plays a 44.1 kHz stereo prompt to the caller at 20 ms pace, barge-in on a key stops it', async () => {
    const caller = await RtpPeer.open();
    const call = await plane.createCall('it-play');
    try {
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(caller.sdp(['PCMU'], { te: 101 }));
      caller.sendTo('127.0.0.1', portOf(answer));
      const t = tone(600, 3000, { rate: 44100, amp: 9000 });
      const st = new Int16Array(t.length * 2);
      for (let i = 0; i < t.length; i++) st[2 * i] = st[2 * i + 1] = t[i]!;
      const path = join(dir, 'prompt.wav');
      (await import('node:fs')).writeFileSync(path, encodeWav(44100, 2, st));
      const pb = await call.play(trunk, path, { bargeIn: true });
      caller.stream('PCMU', silence(200));
      await sleep(1000);
      await caller.sendEvent('1', 101);
      expect(await pb.done).toBe('stopped');
      const got = caller.received.filter((p) => p.payloadType === 0);
      expect(got.length).toBeGreaterThan(40);
      expect(got.length).toBeLessThan(75); // stopped well before 3 s (150 packets)
      expect(dominantFrequency(caller.audio('PCMU')).freq).toBe(600);
      const seqs = got.map((p) => p.sequenceNumber);
      expect(seqs.slice(1).every((q, i) => ((q - seqs[i]!) & 0xffff) === 1)).toBe(true);
    } finally {
      call.close();
      caller.close();
    }
  });

  it('honours hold by re-INVITE (sendonly): nothing is sent to the caller until sendrecv again', async () => {
    const caller = await RtpPeer.open();
    const phone = await RtpPeer.open();
    const call = await plane.createCall('it-hold');
    try {
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(caller.sdp(['PCMU'], { te: 101 }));
      const agent = await call.createRtpLeg();
      const offer = agent.offer();
      await agent.setAnswer(phone.sdp(['PCMU']));
      await call.bridge(trunk, agent);
      caller.sendTo('127.0.0.1', portOf(answer));
      phone.sendTo('127.0.0.1', portOf(offer));
      caller.stream('PCMU', tone(440, 1000));
      phone.stream('PCMU', tone(1000, 1000));
      await sleep(500);
      const held = await trunk.update(caller.sdp(['PCMU'], { te: 101 }).replace('a=sendrecv', 'a=sendonly'));
      expect(held).toContain('a=recvonly');
      await sleep(100);
      const before = caller.received.length;
      await sleep(500);
      expect(caller.received.length - before).toBe(0);
      expect(portOf(held)).toBe(portOf(answer)); // same port across the re-INVITE
      await trunk.update(caller.sdp(['PCMU'], { te: 101 }));
      await sleep(500);
      expect(caller.received.length - before).toBeGreaterThan(15);
    } finally {
      call.close();
      caller.close();
      phone.close();
    }
  });

  it('sends a key to the far end as RFC 4733 events (three end packets, one timestamp)', async () => {
    const caller = await RtpPeer.open();
    const call = await plane.createCall('it-send-dtmf');
    try {
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(caller.sdp(['PCMU'], { te: 97 }));
      caller.sendTo('127.0.0.1', portOf(answer));
      caller.stream('PCMU', silence(100)); // latch
      await sleep(100);
      expect(trunk.sendDtmf('#', 100)).toBe(true);
      expect(trunk.sendDtmf('x')).toBe(false);
      await sleep(250);
      const ev = caller.received.filter((p) => p.payloadType === 97);
      expect(ev.length).toBe(7); // 4 progress packets 20 ms apart, then the end packet 3 times
      expect(new Set(ev.map((p) => p.timestamp)).size).toBe(1);
      expect(ev.every((p) => p.payload[0] === 11)).toBe(true);
      expect(ev.filter((p) => (p.payload[1]! & 0x80) !== 0)).toHaveLength(3);
      expect(ev[0]!.marker).toBe(true);
      // RFC 4733 §2.3: the events share the audio stream's SSRC, and its sequence numbering
      const audio = caller.received.filter((p) => p.payloadType === 0);
      expect(new Set([...audio, ...ev].map((p) => p.ssrc)).size).toBe(1);
    } finally {
      call.close();
      caller.close();
    }
  });

  it('an agent desk phone key is not the caller\'s: reported as agentDtmf and passed on to the caller', async () => {
    const caller = await RtpPeer.open();
    const phone = await RtpPeer.open();
    const call = await plane.createCall('it-agent-dtmf');
    const callerKeys: string[] = [];
    const agentKeys: string[] = [];
    call.on('dtmf', (d) => callerKeys.push(d));
    call.on('agentDtmf', (d) => agentKeys.push(d));
    try {
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(caller.sdp(['PCMU'], { te: 101 }));
      const agent = await call.createRtpLeg();
      const offer = agent.offer();
      await agent.setAnswer(phone.sdp(['PCMU'], { te: 101 }));
      await call.bridge(trunk, agent);
      caller.sendTo('127.0.0.1', portOf(answer));
      phone.sendTo('127.0.0.1', portOf(offer));
      caller.stream('PCMU', silence(100));
      phone.stream('PCMU', silence(100));
      await sleep(200);
      await phone.sendEvent('9', 101);
      await sleep(300);
      expect(agentKeys).toEqual(['9']);
      expect(callerKeys).toEqual([]);
      const ev = caller.received.filter((p) => p.payloadType === 101);
      expect(ev.length).toBeGreaterThanOrEqual(3);
      expect(ev.every((p) => p.payload[0] === 9)).toBe(true);
      expect(call.legs).toHaveLength(2);
      agent.close();
      expect(call.legs).toHaveLength(1);
    } finally {
      call.close();
      caller.close();
      phone.close();
    }
  });

  it('exports media_ metrics (relay packet counts of closed legs, DTMF by source)', async () => {
    const { metrics } = await import('../../../lib/metrics.ts');
    const text = await metrics.metrics();
    const inPackets = Number(/media_rtp_packets_total\{direction="in"\} (\d+)/.exec(text)?.[1] ?? 0);
    expect(inPackets).toBeGreaterThan(100); // the earlier calls of this file
    expect(text).toMatch(/media_dtmf_total\{source="rfc4733"\} [1-9]/);
    expect(text).toMatch(/media_calls_active 0/);
  });
});
