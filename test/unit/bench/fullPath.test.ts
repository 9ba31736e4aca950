import { describe, expect, it } from 'vitest';
import { heldRate, toneInRecording, wavFigures } from '../../../bench/full-path.ts';
import { encodeWav } from '../../../media/audio/wav.ts';
import { tone } from '../../support/audio.ts';

describe('bench full-path helpers', () => {
  it('held rate: the highest rate of the leading run of steps where every call succeeded, reached an agent and was recorded', () => {
    const ok = (rate: number) => ({ rate, calls: rate * 6, ok: rate * 6, failed: 0, reached_agent: rate * 6 });
    expect(heldRate([])).toBe(0);
    expect(heldRate([ok(20), ok(40), ok(60)])).toBe(60);
    // One failed call at 60/s ends the ladder: 80/s passing afterwards does not count.
    expect(heldRate([ok(20), ok(40), { ...ok(60), ok: 359, failed: 1 }, ok(80)])).toBe(40);
    // sipp counted every call a success, but one never reached an agent (its key was lost).
    expect(heldRate([ok(20), { ...ok(40), reached_agent: 239 }])).toBe(20);
    // Every call reached an agent, but one recording at 60/s is missing or too short.
    expect(heldRate([ok(20), ok(40), { ...ok(60), recordings_valid: 359 }])).toBe(40);
    expect(heldRate([ok(20), { ...ok(40), recordings_valid: 240 }])).toBe(40);
    // Calls sipp never finished (neither ok nor failed) fail the step too.
    expect(heldRate([{ rate: 20, calls: 120, ok: 110, failed: 0 }])).toBe(0);
  });

  it('wav figures: length, rate and channels of a readable WAV; not ok for garbage or an empty file', () => {
    const stereo = new Int16Array(2 * 8000 * 3); // 3 s, 2 channels, 8 kHz
    expect(wavFigures(encodeWav(8000, 2, stereo))).toEqual({ ok: true, seconds: 3, rate: 8000, channels: 2 });
    expect(wavFigures(encodeWav(8000, 1, new Int16Array(0))).ok).toBe(false);
    const bad = wavFigures(Buffer.from('not a wav file at all, clearly'));
    expect(bad.ok).toBe(false);
    expect(bad.error).toBeTruthy();
  });

  it('tone in recording: the amplitude over the loudest quarter of 80 ms blocks, in whichever channel carries it', () => {
    const silence = (ms: number) => new Int16Array((ms * 8000) / 1000);
    const cat = (...xs: Int16Array[]) => {
      const out = new Int16Array(xs.reduce((a, x) => a + x.length, 0));
      let at = 0;
      for (const x of xs) {
        out.set(x, at);
        at += x.length;
      }
      return out;
    };
    // 4 s = 50 blocks; 1 s of 1000 Hz at amplitude 6000 fills 12 whole blocks, the loudest quarter.
    const caller = cat(tone(1000, 1000, { amp: 6000 }), silence(3000));
    const agent = cat(silence(1000), tone(600, 3000, { amp: 4000 }));
    expect(toneInRecording([caller, agent], 1000, 8000)).toBeCloseTo(6000, -2);
    expect(toneInRecording([caller, agent], 600, 8000)).toBeCloseTo(4000, -2);
    // A tone in under a quarter of the blocks (0.5 s of 4 s) is not judged present; nor one never sent.
    expect(toneInRecording([cat(tone(1000, 500, { amp: 6000 }), silence(3500))], 1000, 8000)).toBeLessThan(100);
    expect(toneInRecording([caller], 600, 8000)).toBeLessThan(100);
    expect(toneInRecording([], 600, 8000)).toBe(0);
  });
});
