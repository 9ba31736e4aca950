import { describe, expect, it } from 'vitest';
import { alawToLinear, decodeG711, encodeG711, linearToAlaw, linearToUlaw, ulawToLinear, G711_SILENCE } from '../../../media/audio/g711.ts';
import { dominantFrequency, tone } from '../../support/audio.ts';

describe('G.711', () => {
  it('μ-law and A-law decode→encode is the identity on every code (bar the duplicate zeros)', () => {
    for (let b = 0; b < 256; b++) {
      const u = ulawToLinear(b);
      expect(ulawToLinear(linearToUlaw(u))).toBe(u);
      expect(linearToAlaw(alawToLinear(b))).toBe(b);
    }
  });

  it('knows the reference points of both laws', () => {
    expect(linearToUlaw(0)).toBe(0xff);
    expect(ulawToLinear(0x00)).toBe(-32124);
    expect(ulawToLinear(0x80)).toBe(32124);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(alawToLinear(0xd5)).toBe(8);
    expect(alawToLinear(0x55)).toBe(-8);
    expect(alawToLinear(0xaa)).toBe(32256);
    expect(ulawToLinear(G711_SILENCE.PCMU)).toBe(0);
    expect(Math.abs(alawToLinear(G711_SILENCE.PCMA))).toBeLessThanOrEqual(8);
  });

  it('quantisation error stays within the chord step (half a chord step: < 4 % of the sample)', () => {
    for (const law of ['PCMU', 'PCMA'] as const) {
      for (let s = -32768; s <= 32767; s += 7) {
        const back = decodeG711(law, encodeG711(law, Int16Array.of(s)))[0]!;
        expect(Math.abs(back - s)).toBeLessThanOrEqual(Math.max(16, Math.abs(s) * 0.04));
      }
    }
  });

  it('keeps a tone a tone through encode/decode of either law', () => {
    const x = tone(1000, 200, { amp: 10000 });
    for (const law of ['PCMU', 'PCMA'] as const) {
      const d = dominantFrequency(decodeG711(law, encodeG711(law, x)));
      expect(d.freq).toBe(1000);
      expect(d.ratio).toBeGreaterThan(100);
    }
  });

  it('distinguishes the laws (a μ-law stream decoded as A-law is not the same signal)', () => {
    const x = tone(440, 100, { amp: 10000 });
    const u = encodeG711('PCMU', x);
    const wrong = decodeG711('PCMA', u);
    const right = decodeG711('PCMU', u);
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff += Math.abs(wrong[i]! - right[i]!);
    expect(diff / x.length).toBeGreaterThan(1000);
  });
});
