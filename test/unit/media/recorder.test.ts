import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { decodeG711, encodeG711 } from '../../../media/audio/g711.ts';
import { buildRtp } from '../../../media/rtp/rtp.ts';
import { AGENT, CALLER, Recorder } from '../../../media/audio/recorder.ts';
import { repairWavHeader } from '../../../media/audio/wav.ts';
import { dominantFrequency, readStereoWav, rms, tone } from '../../support/audio.ts';

const dir = mkdtempSync(join(tmpdir(), 'rec-'));
let n = 0;
const file = () => join(dir, `r${++n}.wav`);

/** 20 ms frames of a continuous tone, as the sender would packetise it. */
function frames(freq: number, count: number, amp = 8000): Int16Array[] {
  const all = tone(freq, count * 20, { amp });
  return Array.from({ length: count }, (_, i) => all.subarray(i * 160, (i + 1) * 160));
}
const win = (x: Int16Array, fromMs: number, toMs: number) => x.subarray(fromMs * 8, toMs * 8);

describe('Recorder', () => {
  it('puts caller left and agent right, aligned, for the call length', async () => {
    const clock = new FakeClock();
    const rec = await Recorder.open(file(), { clock });
    const a = frames(440, 50);
    const b = frames(1000, 50);
    for (let i = 0; i < 50; i++) {
      clock.advance(20);
      rec.push(CALLER, 111, 5000 + i * 160, a[i]!);
      rec.push(AGENT, 222, 90000 + i * 160, b[i]!);
    }
    const s = await rec.stop();
    expect(s.durationMs).toBeGreaterThanOrEqual(990);
    expect(s.durationMs).toBeLessThanOrEqual(1010);
    const w = readStereoWav(readFileSync(s.path));
    expect(w.rate).toBe(8000);
    expect(dominantFrequency(win(w.left, 100, 900)).freq).toBe(440);
    expect(dominantFrequency(win(w.right, 100, 900)).freq).toBe(1000);
    expect(dominantFrequency(win(w.left, 100, 900)).ratio).toBeGreaterThan(100);
  });

  it('start(): captures from the first packet although the file is created behind it', async () => {
    const clock = new FakeClock();
    const rec = Recorder.start(file(), { clock });
    const a = frames(440, 50);
    // Every packet pushed before the file can exist (no await since start): none may be lost.
    for (let i = 0; i < 50; i++) {
      clock.advance(20);
      rec.push(CALLER, 7, i * 160, a[i]!);
    }
    const s = await rec.stop();
    expect(s.durationMs).toBeGreaterThanOrEqual(990);
    const w = readStereoWav(readFileSync(s.path));
    expect(rms(win(w.left, 20, 1000))).toBeGreaterThan(5000);
    expect(dominantFrequency(win(w.left, 20, 1000)).freq).toBe(440);
  });

  it('start() on a path that cannot be created: the recording fails at stop(), nothing throws before', async () => {
    const clock = new FakeClock();
    const rec = Recorder.start(join(dir, 'no-such-dir', 'x.wav'), { clock });
    clock.advance(20);
    rec.push(CALLER, 7, 0, frames(440, 1)[0]!);
    await expect(rec.stop()).rejects.toThrow(/ENOENT/);
    await expect(Recorder.open(join(dir, 'no-such-dir', 'y.wav'), { clock })).rejects.toThrow(/ENOENT/);
  });

  it('fills lost packets with silence of the right length, by RTP timestamp', async () => {
    const clock = new FakeClock();
    const rec = await Recorder.open(file(), { clock });
    const a = frames(440, 60);
    for (let i = 0; i < 60; i++) {
      clock.advance(20);
      if (i >= 20 && i < 30) continue; // 200 ms lost
      rec.push(CALLER, 1, i * 160, a[i]!);
    }
    const w = readStereoWav(readFileSync((await rec.stop()).path));
    // first packet arrives at 20 ms, so frame i sits at (i+1)*20 ms
    expect(rms(win(w.left, 430, 610))).toBe(0);
    expect(rms(win(w.left, 300, 410))).toBeGreaterThan(5000);
    expect(rms(win(w.left, 630, 1000))).toBeGreaterThan(5000);
    expect(rms(w.right)).toBe(0);
  });

  it('places reordered and jittered packets where their timestamps say', async () => {
    const clock = new FakeClock();
    const rec = await Recorder.open(file(), { clock, jitterMs: 200 });
    const a = frames(440, 50);
    const order = [...Array(50).keys()];
    for (let i = 0; i + 1 < 50; i += 4) [order[i], order[i + 1]] = [order[i + 1]!, order[i]!]; // swap pairs
    rec.push(CALLER, 9, order[0]! * 160, a[order[0]!]!);
    for (const i of order.slice(1)) {
      clock.advance(20);
      rec.push(CALLER, 9, i * 160, a[i]!);
    }
    clock.advance(60);
    const w = readStereoWav(readFileSync((await rec.stop()).path));
    const body = win(w.left, 0, 1000);
    // The first arrival (frame 1) anchors the timeline, so frame 0 falls before the recording
    // began; everything after must be a clean tone with no holes.
    for (let t = 0; t < 970; t += 10) expect(rms(win(w.left, t, t + 10))).toBeGreaterThan(4000);
    expect(dominantFrequency(body).ratio).toBeGreaterThan(100);
  });

  it('drops packets later than the jitter window and counts them', async () => {
    const clock = new FakeClock();
    const rec = await Recorder.open(file(), { clock, jitterMs: 100 });
    const a = frames(440, 30);
    rec.push(CALLER, 5, 0, a[0]!);
    clock.advance(600);
    rec.push(CALLER, 5, 160, a[1]!); // belongs at 20 ms, 580 ms late: beyond window, near in time
    const s = await rec.stop();
    expect(s.latePackets).toBe(1);
  });

  it('re-anchors on a new SSRC and on a timestamp jump', async () => {
    const clock = new FakeClock();
    const rec = await Recorder.open(file(), { clock });
    const a = frames(440, 25);
    const b = frames(1000, 25);
    for (let i = 0; i < 25; i++) {
      clock.advance(20);
      rec.push(CALLER, 1, i * 160, a[i]!);
    }
    for (let i = 0; i < 25; i++) {
      clock.advance(20);
      rec.push(CALLER, 2, 4_000_000_000 + i * 160, b[i]!); // new stream, unrelated timestamps
    }
    for (let i = 0; i < 25; i++) {
      clock.advance(20);
      rec.push(CALLER, 2, 123 + i * 160, a[i]!); // same SSRC, timestamps jumped backwards
    }
    const w = readStereoWav(readFileSync((await rec.stop()).path));
    expect(dominantFrequency(win(w.left, 50, 480)).freq).toBe(440);
    expect(dominantFrequency(win(w.left, 560, 980)).freq).toBe(1000);
    expect(dominantFrequency(win(w.left, 1060, 1480)).freq).toBe(440);
    expect(w.left.length).toBeGreaterThanOrEqual(1500 * 8 - 80);
  });

  it('records silence on both channels while paused, and keeps time', async () => {
    const clock = new FakeClock();
    const rec = await Recorder.open(file(), { clock });
    const a = frames(440, 100);
    const b = frames(1000, 100);
    for (let i = 0; i < 100; i++) {
      if (i === 25) rec.pause();
      if (i === 75) rec.resume();
      clock.advance(20);
      rec.push(CALLER, 1, i * 160, a[i]!);
      rec.push(AGENT, 2, i * 160, b[i]!);
    }
    const s = await rec.stop();
    expect(s.pausedMs).toBe(1000);
    expect(s.durationMs).toBeGreaterThanOrEqual(1990);
    const w = readStereoWav(readFileSync(s.path));
    expect(rms(win(w.left, 560, 1500))).toBe(0);
    expect(rms(win(w.right, 560, 1500))).toBe(0);
    expect(rms(win(w.left, 100, 480))).toBeGreaterThan(5000);
    expect(rms(win(w.right, 1560, 1990))).toBeGreaterThan(5000);
  });

  it('keeps a playable file if the process dies mid-call; repair fixes the header sizes', async () => {
    const clock = new FakeClock();
    const path = file();
    const rec = await Recorder.open(path, { clock });
    const a = frames(440, 150);
    for (let i = 0; i < 150; i++) {
      clock.advance(20);
      rec.push(CALLER, 1, i * 160, a[i]!);
    }
    // Let queued writes land, then "die": no stop(), the header is up to ~1 s stale.
    await (rec as unknown as { writing: Promise<void> }).writing;
    const before = readFileSync(path);
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(44 + 2.5 * 32000);
    expect(before.readUInt32LE(40)).toBeLessThan(size - 44);
    expect(before.readUInt32LE(40)).toBeGreaterThan(0);
    expect(repairWavHeader(path)).toBe(true);
    const w = readStereoWav(readFileSync(path));
    expect(w.left.length).toBe((size - 44) / 4);
    expect(dominantFrequency(win(w.left, 200, 2500)).freq).toBe(440);
    await rec.stop();
  });

  it('decodes G.711 RTP packets of either law, in place, past header extensions and padding', async () => {
    const clock = new FakeClock();
    const rec = await Recorder.open(file(), { clock });
    const a = frames(440, 25);
    const b = frames(1000, 25);
    for (let i = 0; i < 25; i++) {
      clock.advance(20);
      const p = { payloadType: 8, marker: false, sequenceNumber: i, timestamp: i * 160, ssrc: 1 };
      rec.pushG711(CALLER, 'PCMA', buildRtp({ ...p, payload: encodeG711('PCMA', a[i]!) }));
      // The agent's packets carry a one-word header extension and 3 bytes of padding.
      const plain = buildRtp({ ...p, payloadType: 0, payload: encodeG711('PCMU', b[i]!) });
      const ext = Buffer.from([0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]);
      const raw = Buffer.concat([plain.subarray(0, 12), ext, plain.subarray(12), Buffer.from([0, 0, 3])]);
      raw[0] = raw[0]! | 0x10 | 0x20;
      rec.pushG711(AGENT, 'PCMU', raw);
    }
    const summary = await rec.stop();
    const w = readStereoWav(readFileSync(summary.path));
    expect(dominantFrequency(win(w.left, 50, 480)).freq).toBe(440);
    expect(dominantFrequency(win(w.right, 50, 480)).freq).toBe(1000);
    // Every packet decoded whole: 25 × 20 ms on each side, none dropped or shifted.
    expect(summary.latePackets).toBe(0);
    // Packet 5 lands sample-exact (the first arrived 20 ms in): no header or padding byte decoded.
    const at = 160 + 5 * 160;
    expect([...w.right.subarray(at, at + 160)]).toEqual([...decodeG711('PCMU', encodeG711('PCMU', b[5]!))]);
    expect([...w.left.subarray(at, at + 160)]).toEqual([...decodeG711('PCMA', encodeG711('PCMA', a[5]!))]);
  });
});
