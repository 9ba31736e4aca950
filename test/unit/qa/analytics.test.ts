/**
 * Audio analytics on stereo WAVs synthesised from known tone patterns (8 kHz, 20 ms frames,
 * −45 dBFS threshold, 200 ms hangover). Truth by hand:
 *   caller: tone 0–2 s, 6–8 s;  agent: tone 1–3 s, 7–9 s;  10 s long; faint noise throughout.
 *   With the hangover each burst is voice for 2.2 s: caller [0,2.2) ∪ [6,8.2) = 4.4 s,
 *   agent [1,3.2) ∪ [7,9.2) = 4.4 s; overtalk [1,2.2) ∪ [7,8.2) = 2.4 s (24 % of 10 s);
 *   silence [3.2,6) = 2.8 s (the longest, from 3.2 s) and [9.2,10) = 0.8 s.
 *   With a hold from 3 s to 6 s: agent loses [3,3.2) → 4.2 s; silence only [9.2,10) = 0.8 s;
 *   hold 3 s; overtalk share 2.4 / 7 = 0.3429; caller share 4.4 / 8.6 = 0.5116.
 */
import { describe, expect, it } from 'vitest';
import { encodeWav } from '../../../media/audio/wav.ts';
import { analyse, analyseWav, activity, flagCall, peaks } from '../../../server/qa/analytics.ts';
import { VadSchema } from '../../../server/qa/config.ts';
import { concat, noise, silence, tone } from '../../support/audio.ts';

const vad = VadSchema.parse({ frameMs: 20, thresholdDb: -45, hangoverMs: 200 });
const RATE = 8000;

/** Tone where `on` says, silence elsewhere, plus noise at about −56 dBFS (below the threshold). */
function track(on: [number, number][], totalMs: number, freq: number, seed: number): Int16Array {
  const parts: Int16Array[] = [];
  let t = 0;
  for (const [a, b] of on) {
    parts.push(silence(a - t), tone(freq, b - a));
    t = b;
  }
  parts.push(silence(totalMs - t));
  const x = concat(...parts);
  const n = noise(x.length, 50, seed);
  return x.map((v, i) => v + n[i]!);
}

function stereoWav(left: Int16Array, right: Int16Array): Buffer {
  const inter = new Int16Array(left.length * 2);
  for (let i = 0; i < left.length; i++) {
    inter[2 * i] = left[i]!;
    inter[2 * i + 1] = right[i]!;
  }
  return encodeWav(RATE, 2, inter);
}

const caller = track(
  [
    [0, 2000],
    [6000, 8000],
  ],
  10_000,
  1000,
  1,
);
const agent = track(
  [
    [1000, 3000],
    [7000, 9000],
  ],
  10_000,
  600,
  2,
);

describe('voice activity', () => {
  it('a tone is voice, the faint noise is not, and voice is held 200 ms after it', () => {
    const a = activity(caller, RATE, vad);
    expect(a.length).toBe(500);
    expect(a.filter(Boolean).length).toBe(220); // 2 × (100 + 10) frames
    expect(a[99]).toBe(true);
    expect(a[109]).toBe(true); // hangover
    expect(a[110]).toBe(false);
    expect(a[299]).toBe(false);
    expect(a[300]).toBe(true);
  });
});

describe('analytics of a stereo recording', () => {
  it('talk share, overtalk and silence match the hand-computed truth', () => {
    const r = analyseWav(stereoWav(caller, agent), [], vad);
    expect(r).toEqual({
      durationSec: 10,
      holdSec: 0,
      callerTalkSec: 4.4,
      agentTalkSec: 4.4,
      callerShare: 0.5,
      agentShare: 0.5,
      overtalkSec: 2.4,
      overtalkShare: 0.24,
      silenceSec: 3.6,
      longestSilenceSec: 2.8,
      longestSilenceAtSec: 3.2,
    });
  });

  it('hold time (from the event log) is left out of talk, overtalk and silence', () => {
    const r = analyse({ caller, agent, rate: RATE }, [{ startMs: 3000, endMs: 6000 }], vad);
    expect(r).toMatchObject({
      holdSec: 3,
      callerTalkSec: 4.4,
      agentTalkSec: 4.2,
      callerShare: 0.5116,
      agentShare: 0.4884,
      overtalkSec: 2.4,
      overtalkShare: 0.3429,
      silenceSec: 0.8,
      longestSilenceSec: 0.8,
      longestSilenceAtSec: 9.2,
    });
  });

  it('one side only: all the talk is theirs, no overtalk', () => {
    const r = analyse({ caller, agent: new Int16Array(caller.length), rate: RATE }, [], vad);
    expect(r).toMatchObject({ callerShare: 1, agentShare: 0, overtalkSec: 0, silenceSec: 5.6, longestSilenceSec: 3.8 });
  });

  it('peaks for the waveform: one bucket per second, tone vs silence', () => {
    const p = peaks(caller, 10);
    expect(p[0]).toBeCloseTo(8000 / 32768, 2);
    expect(p[3]).toBeLessThan(0.01);
    expect(p[6]).toBeCloseTo(8000 / 32768, 2);
  });
});

describe('flag rules', () => {
  const rules = { longSilenceSec: 2.5, overtalkShare: 0.2, lowCsat: 2, repeatCallerHours: 24 };
  const plain = analyse({ caller, agent, rate: RATE }, [], vad);
  const held = analyse({ caller, agent, rate: RATE }, [{ startMs: 3000, endMs: 6000 }], vad);

  it('route the calls that break a rule, with the reason', () => {
    expect(flagCall(plain, { csat: [4], hoursSincePreviousCall: 48 }, rules).map((f) => f.flag)).toEqual([
      'long-silence',
      'heavy-overtalk',
    ]);
    expect(flagCall(held, { csat: [2], hoursSincePreviousCall: 3 }, rules).map((f) => f.flag)).toEqual([
      'heavy-overtalk',
      'low-csat',
      'repeat-caller',
    ]);
  });

  it('a call within every rule is not flagged; a rule left out is not applied', () => {
    expect(flagCall(held, { csat: [5], hoursSincePreviousCall: null }, { ...rules, overtalkShare: 0.5 })).toEqual([]);
    expect(flagCall(plain, { csat: [1], hoursSincePreviousCall: 1 }, {})).toEqual([]);
  });
});
