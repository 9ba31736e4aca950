import { describe, expect, it } from 'vitest';
import { DtmfDetector, type DtmfDetection } from '../../../media/audio/dtmfDetector.ts';
import { decodeG711, encodeG711 } from '../../../media/audio/g711.ts';
import { concat, dtmfTone, mix, noise, silence, tone } from '../../support/audio.ts';

function detect(audio: Int16Array, chunk = 160): DtmfDetection[] {
  const got: DtmfDetection[] = [];
  const d = new DtmfDetector((x) => got.push(x));
  for (let i = 0; i < audio.length; i += chunk) d.process(audio.subarray(i, i + chunk));
  return got;
}
const digits = (audio: Int16Array, chunk?: number) =>
  detect(audio, chunk)
    .map((d) => d.digit)
    .join('');

function keys(seq: string, onMs = 60, offMs = 60, amp = 4000): Int16Array {
  return concat(...[...seq].flatMap((k) => [dtmfTone(k, onMs, amp), silence(offMs)]));
}

describe('in-band DTMF detector', () => {
  it('detects all sixteen keys, each once, through G.711 of either law', () => {
    const all = '0123456789*#ABCD';
    for (const law of ['PCMU', 'PCMA'] as const) {
      expect(digits(decodeG711(law, encodeG711(law, keys(all))))).toBe(all);
    }
  });

  it('reports the key near where it started', () => {
    const d = detect(concat(silence(100), dtmfTone('7', 80), silence(100)));
    expect(d).toHaveLength(1);
    expect(Math.abs(d[0]!.atSample - 800)).toBeLessThanOrEqual(102);
  });

  it('works regardless of how audio is chunked', () => {
    const a = keys('159#');
    expect(digits(a, 1)).toBe('159#');
    expect(digits(a, 37)).toBe('159#');
    expect(digits(a, 4000)).toBe('159#');
  });

  it('detects Q.24 minimum timing: 40 ms tones with 40 ms pauses', () => {
    expect(digits(keys('1212333', 40, 40))).toBe('1212333');
  });

  it('holds a long key as one digit', () => {
    expect(digits(concat(dtmfTone('5', 2000), silence(100)))).toBe('5');
  });

  it('bridges a short dropout inside a tone (a lost 10 ms packet filled with silence)', () => {
    for (const at of [30, 37, 44, 51]) {
      const a = concat(dtmfTone('9', at), silence(10), dtmfTone('9', 100 - at), silence(60));
      expect(digits(a)).toBe('9');
    }
  });

  it('separates the same key repeated with a 40 ms gap', () => {
    expect(digits(concat(dtmfTone('0', 60), silence(40), dtmfTone('0', 60), silence(60)))).toBe('00');
  });

  it('detects keys in white noise at 15 dB SNR', () => {
    const clean = keys('2580*#', 60, 60, 4000); // two tones of 4000 ⇒ RMS 4000
    const noisy = mix(clean, noise(clean.length, 4000 / 5.6, 7)); // 15 dB below
    expect(digits(noisy)).toBe('2580*#');
  });

  it('detects quiet keys (−30 dBm0-ish) and ignores even quieter ones', () => {
    expect(digits(keys('47', 60, 60, 700))).toBe('47');
    expect(digits(keys('47', 60, 60, 150))).toBe('');
  });

  it('rejects excessive twist (one tone 12 dB below the other)', () => {
    const a = mix(tone(770, 100, { amp: 4000 }), tone(1336, 100, { amp: 1000 }));
    expect(digits(concat(a, silence(60)))).toBe('');
  });

  it('does not fire on noise, single tones, music-like chords or dial tone', () => {
    expect(digits(noise(8000 * 3, 3000, 3))).toBe('');
    expect(digits(tone(941, 500))).toBe('');
    expect(digits(tone(1633, 500))).toBe('');
    expect(digits(tone([350, 440], 1000))).toBe(''); // North American dial tone
    expect(digits(tone([697, 1209, 1477], 300))).toBe(''); // three tones: not DTMF
    expect(digits(mix(tone([440, 554, 659], 1000, { amp: 3000 }), tone([880, 1318], 1000, { amp: 2000 })))).toBe('');
  });

  it('finds a key under a voice-like signal only when the key dominates', () => {
    // Harmonic-rich "voice" (150 Hz fundamental with harmonics) at RMS ≈ key level: too much.
    const voice = mix(tone([150, 300, 450], 300, { amp: 2500 }), tone([600, 750, 900, 1050], 300, { amp: 1500 }));
    expect(digits(concat(mix(voice, dtmfTone('3', 300, 2000)), silence(60)))).toBe('');
    // Key 12 dB above the voice: found.
    expect(digits(concat(mix(voice.map((s) => s / 4) as Int16Array, dtmfTone('3', 300, 4000)), silence(60)))).toBe('3');
  });
});
