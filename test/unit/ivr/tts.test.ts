import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EspeakTts } from '../../../server/ivr/tts.ts';
import { synthesizeHoldMusic } from '../../../server/ivr/holdMusic.ts';
import { encodeWav, parseWav, resample } from '../../../media/audio/wav.ts';
import { goertzelPower } from '../../support/audio.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cc-tts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('WAV and resampling', () => {
  it('round-trips 16-bit PCM', () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768]);
    expect(parseWav(encodeWav(8000, 1, samples))).toEqual({ sampleRate: 8000, channels: [samples] });
    expect(() => parseWav(Buffer.from('not a wave file at all'))).toThrow(/RIFF/);
  });

  it('resamples 22.05 kHz to 8 kHz keeping a 1 kHz tone and rejecting a 6 kHz one (no alias at 2 kHz)', () => {
    const rate = 22050;
    const tone = (f: number) => Int16Array.from({ length: rate }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * f * i) / rate)));
    const one = resample(tone(1000), rate, 8000);
    expect(one.length).toBe(8000);
    expect(goertzelPower(one, 1000)).toBeGreaterThan(100 * goertzelPower(one, 1500));
    const six = resample(tone(6000), rate, 8000);
    // Without the low-pass, 6 kHz folds to 2 kHz at 8 kHz sampling.
    expect(goertzelPower(six, 2000)).toBeLessThan(goertzelPower(one, 1000) / 100);
  });

  it('synthesizes music on hold that is not silence and does not clip', () => {
    const m = synthesizeHoldMusic(4);
    const peak = m.reduce((p, x) => Math.max(p, Math.abs(x)), 0);
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

  // No skip when espeak-ng is missing: the centre speaks every prompt through it, and
  // scripts/test.sh installs it (Debian espeak-ng), so its absence is a failure.
  it('renders 8 kHz mono WAV once and serves repeats from the cache', async () => {
    const tts = new EspeakTts({ cacheDir: tmp });
    const [a, b] = await Promise.all([
      tts.render('Your call is important to us.', 'en'),
      tts.render('Your call is important to us.', 'en'),
    ]);
    expect(a).toBe(b);
    const wav = parseWav(readFileSync(a));
    expect(wav.sampleRate).toBe(8000);
    expect(wav.channels).toHaveLength(1);
    expect(wav.channels[0]!.length).toBeGreaterThan(8000); // over a second of speech
    const mtime = statSync(a).mtimeMs;
    expect(await tts.render('Your call is important to us.', 'en')).toBe(a);
    expect(statSync(a).mtimeMs).toBe(mtime);
    expect(await tts.render('Something else.', 'en')).not.toBe(a);
  });
});
