import { mkdtempSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { Player, PromptCache } from '../../../media/audio/player.ts';
import { parseRtp, type RtpPacket } from '../../../media/rtp/rtp.ts';
import { encodeWav } from '../../../media/audio/wav.ts';
import { dominantFrequency, tone } from '../../support/audio.ts';

function run(samples: Int16Array, opts: { loop?: boolean; law?: 'PCMU' | 'PCMA' } = {}) {
  const clock = new FakeClock();
  const sent: { at: number; p: RtpPacket }[] = [];
  const player = new Player(samples, {
    clock,
    law: opts.law ?? 'PCMU',
    loop: opts.loop,
    send: (b) => sent.push({ at: clock.now(), p: parseRtp(b)! }),
  });
  return { clock, sent, player, t0: clock.now() };
}

describe('Player', () => {
  it('sends one 160-byte packet per 20 ms, timestamps +160, sequence +1, marker on the first', async () => {
    const { clock, sent, player, t0 } = run(tone(440, 1000));
    let end: string | undefined;
    void player.done.then((e) => (end = e));
    clock.advance(2000);
    await Promise.resolve();
    expect(sent).toHaveLength(50);
    expect(end).toBe('finished');
    sent.forEach(({ at, p }, i) => {
      expect(at - t0).toBe(i * 20);
      expect(p.payload.length).toBe(160);
      expect(p.payloadType).toBe(0);
      expect(p.marker).toBe(i === 0);
      expect((p.timestamp - sent[0]!.p.timestamp) >>> 0).toBe(i * 160);
      expect((p.sequenceNumber - sent[0]!.p.sequenceNumber) & 0xffff).toBe(i);
      expect(p.ssrc).toBe(sent[0]!.p.ssrc);
    });
    const audio = decodeG711('PCMU', Buffer.concat(sent.map((s) => s.p.payload)));
    expect(dominantFrequency(audio).freq).toBe(440);
  });

  it('pads the last partial frame with silence and uses payload type 8 for A-law', () => {
    const { clock, sent } = run(tone(440, 30), { law: 'PCMA' });
    clock.advance(500);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.p.payloadType).toBe(8);
    expect([...sent[1]!.p.payload.subarray(80)].every((b) => b === 0xd5)).toBe(true);
  });

  it('loops until stopped (music on hold), then reports stopped', async () => {
    const { clock, sent, player } = run(tone(440, 100), { loop: true });
    clock.advance(1000);
    expect(sent.length).toBe(51);
    player.stop();
    clock.advance(1000);
    expect(sent.length).toBe(51);
    expect(await player.done).toBe('stopped');
    // the loop continues the timeline: no timestamp reset at the wrap
    expect((sent[5]!.p.timestamp - sent[4]!.p.timestamp) >>> 0).toBe(160);
  });

  it('catches up after a short stall, skips ahead after a long one, without drifting', () => {
    const { clock, sent, t0 } = run(tone(440, 10_000));
    clock.advanceTo(t0 + 100); // normal
    const clockStall = (ms: number) => {
      // simulate a blocked event loop: time passes without timers firing
      (clock as unknown as { t: number }).t += ms;
      clock.advance(0);
    };
    clockStall(120);
    expect(sent.length).toBe(12); // 100 ms → 6, 120 ms stall → 6 more in one burst
    clockStall(1000);
    const afterSkip = sent.length;
    expect(afterSkip).toBeLessThan(12 + 12); // not 50 packets in one burst
    const last = sent[sent.length - 1]!.p;
    const elapsed = clock.now() - t0;
    expect((last.timestamp - sent[0]!.p.timestamp) >>> 0).toBe(Math.floor(elapsed / 20) * 160);
  });

  it('empty audio finishes at once', async () => {
    const { player, sent } = run(new Int16Array(0));
    expect(await player.done).toBe('finished');
    expect(sent).toHaveLength(0);
  });
});

describe('PromptCache', () => {
  it('decodes once, and again when the file changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prompt-'));
    const p = join(dir, 'a.wav');
    writeFileSync(p, encodeWav(16000, 1, tone(440, 200, { rate: 16000 })));
    const cache = new PromptCache();
    const a = await cache.load(p);
    expect(a.length).toBe(1600);
    expect(await cache.load(p)).toBe(a);
    writeFileSync(p, encodeWav(8000, 1, tone(440, 100)));
    utimesSync(p, new Date(), new Date(Date.now() + 5000));
    const b = await cache.load(p);
    expect(b.length).toBe(800);
    await expect(cache.load(join(dir, 'missing.wav'))).rejects.toThrow(/ENOENT/);
  });
});
