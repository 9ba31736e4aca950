import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { encodeG711 } from '../../../media/audio/g711.ts';
import { fanOutHeader, newStreamHeader, Playout } from '../../../media/rtp/playout.ts';
import { parseRtp, type RtpPacket } from '../../../media/rtp/rtp.ts';
import { tone } from '../../support/audio.ts';

describe('fanOutHeader', () => {
  it('writes the receiver its own SSRC, sequence and timestamp in front of the shared payload, then moves it on', () => {
    const h = { ssrc: 0xdeadbeef, payloadType: 8, seq: 0xffff, timestamp: 0xffffff00, sent: 0 };
    const payload = new Uint8Array(160).map((_, i) => i);
    const a = parseRtp(fanOutHeader(h, payload))!;
    expect(a).toMatchObject({ ssrc: 0xdeadbeef, payloadType: 8, sequenceNumber: 0xffff, timestamp: 0xffffff00, marker: true });
    expect([...a.payload]).toEqual([...payload]);
    // The sequence number wraps; the marker is on the first packet only.
    const b = parseRtp(fanOutHeader(h, payload))!;
    expect(b).toMatchObject({ sequenceNumber: 0, timestamp: 0xffffffa0, marker: false });
    // 3 frames skipped before this one: its timestamp is 4 frames on (wrapping: 0xffffffa0 + 640 − 2³² = 544), the sequence 1.
    const c = parseRtp(fanOutHeader(h, payload, 3))!;
    expect(c).toMatchObject({ sequenceNumber: 1, timestamp: 544 });
    expect(h.sent).toBe(3);
  });

  it('gives each new receiver a random SSRC', () => {
    const ssrcs = new Set(Array.from({ length: 20 }, () => newStreamHeader(0).ssrc));
    expect(ssrcs.size).toBeGreaterThan(15);
  });
});

function setup() {
  const clock = new FakeClock();
  const playout = new Playout(clock);
  const recv = (into: { at: number; p: RtpPacket }[]) => (b: Buffer) => into.push({ at: clock.now(), p: parseRtp(b)! });
  return { clock, playout, recv };
}

describe('Playout', () => {
  it('fans music on hold out: listeners of one source get the same payload bytes at the same moment, each in its own stream', () => {
    const { clock, playout, recv } = setup();
    playout.prompts.put('moh@1', tone(440, 1000));
    const a: { at: number; p: RtpPacket }[] = [];
    const b: { at: number; p: RtpPacket }[] = [];
    const la = playout.hold('moh@1', 'PCMU', recv(a));
    clock.advance(200);
    playout.hold('moh@1', 'PCMU', recv(b));
    clock.advance(1000);
    // b joined mid-stream: from then on both hear the same frame on the same tick.
    expect(b.length).toBeGreaterThan(45);
    for (const pb of b) {
      const pa = a.find((x) => x.at === pb.at)!;
      expect(Buffer.compare(pa.p.payload, pb.p.payload)).toBe(0);
      expect(pa.p.ssrc).not.toBe(pb.p.ssrc);
    }
    // One 20 ms tick for the thread, 50 packets/s each, consecutive sequence numbers and timestamps.
    expect(playout.stats.ticks).toBeLessThan(1200 / 20 + 3);
    for (let i = 1; i < a.length; i++) {
      expect(a[i]!.at - a[i - 1]!.at).toBe(20);
      expect((a[i]!.p.sequenceNumber - a[i - 1]!.p.sequenceNumber) & 0xffff).toBe(1);
      expect((a[i]!.p.timestamp - a[i - 1]!.p.timestamp) >>> 0).toBe(160);
    }
    // The loop wraps: 1 s of audio heard for 1.2 s repeats its first frame.
    const first = a[0]!.p.payload;
    expect(Buffer.compare(a[50]!.p.payload, first)).toBe(0);
    la.stop();
    const n = a.length;
    clock.advance(100);
    expect(a.length).toBe(n);
    expect(playout.snapshot()).toMatchObject({ holdSources: 1, listeners: 1 });
  });

  it('encodes once per law: a PCMA listener gets its own source, with the A-law bytes', () => {
    const { clock, playout, recv } = setup();
    const samples = tone(440, 200);
    playout.prompts.put('moh@1', samples);
    const u: { at: number; p: RtpPacket }[] = [];
    const al: { at: number; p: RtpPacket }[] = [];
    playout.hold('moh@1', 'PCMU', recv(u));
    playout.hold('moh@1', 'PCMA', recv(al));
    clock.advance(100);
    expect(playout.snapshot().holdSources).toBe(2);
    const want = new Uint8Array(160);
    encodeG711('PCMA', samples.subarray(0, 160), want);
    expect(al[0]!.p.payloadType).toBe(8);
    expect([...al[0]!.p.payload]).toEqual([...want]);
    expect(u[0]!.p.payloadType).toBe(0);
  });

  it('plays a sequence of prompts once, in order, then reports it finished and stops ticking', async () => {
    const { clock, playout, recv } = setup();
    playout.prompts.put('a', tone(440, 100));
    playout.prompts.put('b', tone(1000, 60));
    const got: { at: number; p: RtpPacket }[] = [];
    const pb = playout.play(['a', 'b'], 'PCMU', false, recv(got));
    let end: string | undefined;
    void pb.done.then((e) => (end = e));
    clock.advance(1000);
    await Promise.resolve();
    expect(got).toHaveLength(5 + 3);
    expect(end).toBe('finished');
    expect(clock.pendingCount).toBe(0);
  });

  it('skips ahead after a stall longer than 10 frames, timestamps keeping real time', () => {
    const { clock, playout, recv } = setup();
    playout.prompts.put('m', tone(440, 5000));
    const got: { at: number; p: RtpPacket }[] = [];
    playout.hold('m', 'PCMU', recv(got));
    clock.advance(100);
    const before = got.length;
    // A stall: the next timer fires 1 s late.
    const t = clock.now();
    (clock as unknown as { t: number }).t = t + 1000; // jump without firing timers
    clock.advance(0);
    const burst = got.length - before;
    expect(burst).toBeLessThanOrEqual(2);
    const last = got[got.length - 1]!.p;
    const prev = got[before - 1]!.p;
    expect(((last.timestamp - prev.timestamp) >>> 0) / 160).toBeGreaterThanOrEqual(49);
    expect(playout.stats.skipped).toBeGreaterThan(40);
  });
});
