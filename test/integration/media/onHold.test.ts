/**
 * Callers on hold (issue #17), real mediasoup and UDP on 127.0.0.1: two callers on one RTP thread
 * hear the same music on hold — the same payload bytes, fanned out, each in its own RTP stream —
 * and a position announcement composed from prompts rendered ahead is played to one of them, in
 * order, then the music again. Prompts are tones (one frequency per announcement part), so
 * Goertzel tells which part played when.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaPlane } from '../../../media/index.ts';
import { encodeWav } from '../../../media/audio/wav.ts';
import { ANNOUNCEMENT_PARTS, composeAnnouncement, PositionAnnouncer } from '../../../server/ivr/announcement.ts';
import { concat, decodeG711, dominantFrequency, mix, noise, tone } from '../../support/audio.ts';
import { RtpPeer } from './rtpPeer.ts';
import { until } from './until.ts';

const dir = mkdtempSync(join(tmpdir(), 'onhold-it-'));
let plane: MediaPlane;
const portOf = (sdp: string) => Number(/m=audio (\d+)/.exec(sdp)![1]);

// Each part is 200 ms of its own tone: 400 Hz + 50 Hz × its index.
const partIds = Object.keys(ANNOUNCEMENT_PARTS);
const freqOf = (id: string) => 400 + 50 * partIds.indexOf(id);

beforeAll(async () => {
  plane = await MediaPlane.start({
    workers: 1,
    rtpThreads: 1,
    listenIp: '127.0.0.1',
    rtpMinPort: 27000,
    rtpMaxPort: 27999,
    rtcMinPort: 28000,
    rtcMaxPort: 28999,
  });
});
afterAll(async () => {
  await plane?.stop();
});

describe('music on hold and announcements', () => {
  it('two callers hear the same music (same bytes, own streams), and a position announcement composed from rendered parts', async () => {
    // Music: 300 ms of 700 Hz then 300 ms of 1500 Hz, looped, with a little noise so that no two
    // 20 ms frames of the loop are the same bytes (a pure 700 Hz tone repeats every frame).
    const moh = join(dir, 'moh.wav');
    writeFileSync(moh, encodeWav(8000, 1, mix(concat(tone(700, 300), tone(1500, 300)), noise(4800, 300, 7))));
    const announcer = new PositionAnnouncer({
      render(text) {
        const id = partIds.find((p) => ANNOUNCEMENT_PARTS[p] === text)!;
        const f = join(dir, `${id}.wav`);
        writeFileSync(f, encodeWav(8000, 1, tone(freqOf(id), 200)));
        return Promise.resolve(f);
      },
    });
    await announcer.prepare();

    const peers: RtpPeer[] = [];
    const legs = [];
    try {
      for (const id of ['hold-a', 'hold-b']) {
        const peer = await RtpPeer.open();
        peers.push(peer);
        const call = await plane.createCall(id);
        const leg = await call.createTrunkLeg();
        peer.sendTo('127.0.0.1', portOf(await leg.answer(peer.sdp(['PCMU']))));
        void peer.stream('PCMU', tone(300, 1000)); // a caller sends audio too
        await call.play(leg, moh, { loop: true });
        legs.push({ call, leg });
        if (legs.length === 1) await until('music at the first caller', () => peer.received.length >= 10);
      }
      const [a, b] = peers as [RtpPeer, RtpPeer];
      await until('a second of music at both', () => b.received.length >= 50);

      // Same bytes: b's payloads are a run of a's, in order (joined later, hears the same loop in step).
      const pa = a.received.map((p) => Buffer.from(p.payload).toString('hex'));
      const pb = b.received.slice(2, 27).map((p) => Buffer.from(p.payload).toString('hex'));
      expect(new Set(pb).size).toBe(pb.length);
      const inStep = pa.findIndex((_, i) => pb.every((x, j) => pa[i + j] === x));
      expect(inStep).toBeGreaterThan(0);
      // Own streams: different SSRCs; each consecutive.
      expect(a.received[0]!.ssrc).not.toBe(b.received[0]!.ssrc);
      // Both hear the music: 700 Hz and 1500 Hz alternate every 300 ms.
      for (const p of [a, b]) {
        const audio = p.audio('PCMU');
        const freqs = new Set<number>();
        for (let off = 0; off + 1200 <= audio.length; off += 2400) freqs.add(dominantFrequency(audio.subarray(off, off + 1200)).freq);
        expect([...freqs].sort()).toEqual([1500, 700]);
      }

      // Caller b is told it is number 23: the parts in order, each the tone of its part.
      const parts = composeAnnouncement({ position: 23 });
      expect(parts).toEqual(['you-are-number', 'n20', 'n3', 'in-the-queue']);
      const files = announcer.files({ position: 23 })!;
      const before = b.received.length;
      const { call, leg } = legs[1]!;
      const pbk = await call.play(leg, files);
      expect(await pbk.done).toBe('finished');
      await call.play(leg, moh, { loop: true });
      await until('music again after the announcement', () => b.received.length >= before + parts.length * 10 + 20);
      // Find the announcement: the first packet with the first part's tone, then 10 packets per part.
      const heard = b.received.slice(before);
      const freqAt = (i: number) => dominantFrequency(decodeG711('PCMU', Buffer.concat(heard.slice(i, i + 10).map((p) => p.payload)))).freq;
      const start = heard.findIndex((_, i) => i + 10 <= heard.length && freqAt(i) === freqOf(parts[0]!));
      expect(start).toBeGreaterThanOrEqual(0);
      const said = parts.map((_, k) => freqAt(start + k * 10));
      expect(said.map((f) => partIds.find((id) => freqOf(id) === f))).toEqual(parts);
      // Then music again (700 or 1500 Hz), and the caller's stream stayed one: consecutive sequence numbers.
      expect([700, 1500]).toContain(freqAt(start + parts.length * 10 + 5));
      const seqs = b.received.map((p) => p.sequenceNumber);
      expect(seqs.slice(1).every((q, i) => ((q - seqs[i]!) & 0xffff) === 1)).toBe(true);
      // Meanwhile caller a kept hearing music, 50 packets/s.
      expect(a.received.length).toBeGreaterThan(b.received.length - 5);
    } finally {
      for (const l of legs) l.call.close();
      for (const p of peers) p.close();
    }
  });
});
