import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EspeakTts } from '../../../server/ivr/tts.ts';
import { parseWav, resample, synthesizeHoldMusic, writeWav } from '../../../server/ivr/wav.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cc-tts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hasEspeak(): boolean {
  try {
    execFileSync('espeak-ng', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Power at `freq` (Goertzel), normalised by length. */
function power(s: Int16Array, rate: number, freq: number): number {
  const k = (2 * Math.cos((2 * Math.PI * freq) / rate));
  let a = 0;
  let b = 0;
  for (const x of s) {
    const c = x + k * a - b;
    b = a;
    a = c;
  }
  return (a * a + b * b - k * a * b) / s.length;
}

describe('WAV and resampling', () => {
  it('round-trips 16-bit PCM', () => {
    const pcm = { sampleRate: 8000, samples: Int16Array.from([0, 1, -1, 32767, -32768]) };
    expect(parseWav(writeWav(pcm))).toEqual(pcm);
    expect(() => parseWav(Buffer.from('not a wave file at all'))).toThrow(/RIFF/);
  });

  it('resamples 22.05 kHz to 8 kHz keeping a 1 kHz tone and rejecting a 6 kHz one (no alias at 2 kHz)', () => {
    const rate = 22050;
    const tone = (f: number) => Int16Array.from({ length: rate }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * f * i) / rate)));
    const one = resample({ sampleRate: rate, samples: tone(1000) }, 8000);
    expect(one.samples.length).toBe(8000);
    expect(power(one.samples, 8000, 1000)).toBeGreaterThan(100 * power(one.samples, 8000, 1500));
    const six = resample({ sampleRate: rate, samples: tone(6000) }, 8000);
    // Without the low-pass, 6 kHz folds to 2 kHz at 8 kHz sampling.
    expect(power(six.samples, 8000, 2000)).toBeLessThan(power(one.samples, 8000, 1000) / 100);
  });

  it('synthesizes music on hold that is not silence and does not clip', () => {
    const m = synthesizeHoldMusic(4);
    const peak = m.samples.reduce((p, x) => Math.max(p, Math.abs(x)), 0);
    expect(peak).toBeGreaterThan(3000);
    expect(peak).toBeLessThan(32767);
  });
});

describe('espeak-ng TTS provider', () => {
  it('says clearly when the binary is missing', async () => {
    const tts = new EspeakTts({ cacheDir: tmp, binary: 'espeak-ng-not-here' });
    await expect(tts.render('hello', 'en')).rejects.toThrow(/espeak-ng not installed/);
    await expect(tts.render('hello', 'en; rm -rf /')).rejects.toThrow(/bad language code/);
  });

  it.skipIf(!hasEspeak())('renders 8 kHz mono WAV once and serves repeats from the cache', async () => {
    const tts = new EspeakTts({ cacheDir: tmp });
    const [a, b] = await Promise.all([tts.render('Your call is important to us.', 'en'), tts.render('Your call is important to us.', 'en')]);
    expect(a).toBe(b);
    const pcm = parseWav(readFileSync(a));
    expect(pcm.sampleRate).toBe(8000);
    expect(pcm.samples.length).toBeGreaterThan(8000); // over a second of speech
    const mtime = statSync(a).mtimeMs;
    expect(await tts.render('Your call is important to us.', 'en')).toBe(a);
    expect(statSync(a).mtimeMs).toBe(mtime);
    expect(await tts.render('Something else.', 'en')).not.toBe(a);
  });
});
