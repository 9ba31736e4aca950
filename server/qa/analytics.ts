/**
 * Audio analytics of a stereo recording (caller left, agent right): pure, no I/O.
 *
 * Voice activity per channel is energy-based with hangover: the audio is cut into frames of
 * frameMs; a frame whose RMS level is above thresholdDb (dBFS) is voice, and voice is held for
 * hangoverMs after the last loud frame so the gaps between words do not count as silence. (No
 * npm VAD ships its model inside the package in a form this project could verify offline; WebRTC's
 * GMM VAD as WASM, @echogarden/fvad-wasm, would plug in here as another `activity()`.)
 *
 * From the two activity tracks and the hold intervals the event log knows (hold.start/hold.end,
 * when the caller hears music on hold, so nothing in them is conversation):
 *  - talk per side and talk share (each side's talk over both sides' talk);
 *  - overtalk: frames where both sides are voice;
 *  - silence: frames where neither is, and the longest run of it (a hold ends a run);
 *  - hold time. Every figure excludes held frames except holdSec.
 */
import { parseWav } from '../../media/audio/wav.ts';
import type { FlagRules, VadSettings } from './config.ts';

export interface Interval {
  /** ms from the start of the recording. */
  startMs: number;
  endMs: number;
}

export interface AudioAnalytics {
  durationSec: number;
  holdSec: number;
  callerTalkSec: number;
  agentTalkSec: number;
  /** caller / (caller + agent) talk; null when nobody spoke. */
  callerShare: number | null;
  agentShare: number | null;
  overtalkSec: number;
  /** overtalk over the time not on hold; null for an empty recording. */
  overtalkShare: number | null;
  silenceSec: number;
  longestSilenceSec: number;
  /** Where the longest silence began (s from the start), for the player. */
  longestSilenceAtSec: number | null;
}

/** One boolean per frame: is this channel voice? */
export function activity(samples: Int16Array, rate: number, vad: VadSettings): boolean[] {
  const frame = Math.max(1, Math.round((rate * vad.frameMs) / 1000));
  const frames = Math.ceil(samples.length / frame);
  const hang = Math.round(vad.hangoverMs / vad.frameMs);
  const threshold = 32768 * 10 ** (vad.thresholdDb / 20);
  const out = new Array<boolean>(frames).fill(false);
  let held = 0;
  for (let f = 0; f < frames; f++) {
    const a = f * frame;
    const b = Math.min(samples.length, a + frame);
    let sum = 0;
    for (let i = a; i < b; i++) sum += samples[i]! * samples[i]!;
    const loud = b > a && Math.sqrt(sum / (b - a)) > threshold;
    if (loud) {
      out[f] = true;
      held = hang;
    } else if (held > 0) {
      out[f] = true;
      held--;
    }
  }
  return out;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r4 = (x: number): number => Math.round(x * 10_000) / 10_000;

export function analyse(
  channels: { caller: Int16Array; agent: Int16Array; rate: number },
  holds: readonly Interval[],
  vad: VadSettings,
): AudioAnalytics {
  const caller = activity(channels.caller, channels.rate, vad);
  const agent = activity(channels.agent, channels.rate, vad);
  const frames = Math.max(caller.length, agent.length);
  const fs = vad.frameMs / 1000;
  let hold = 0;
  let c = 0;
  let a = 0;
  let both = 0;
  let silence = 0;
  let run = 0;
  let runStart = 0;
  let longest = 0;
  let longestAt: number | null = null;
  const closeRun = () => {
    if (run > longest) {
      longest = run;
      longestAt = runStart;
    }
    run = 0;
  };
  for (let f = 0; f < frames; f++) {
    const mid = (f + 0.5) * vad.frameMs;
    if (holds.some((h) => mid >= h.startMs && mid < h.endMs)) {
      hold++;
      closeRun();
      continue;
    }
    const cv = caller[f] ?? false;
    const av = agent[f] ?? false;
    if (cv) c++;
    if (av) a++;
    if (cv && av) both++;
    if (!cv && !av) {
      if (run === 0) runStart = f;
      run++;
      silence++;
    } else closeRun();
  }
  closeRun();
  const talk = c + a;
  const open = frames - hold;
  const durationSec = Math.max(channels.caller.length, channels.agent.length) / channels.rate;
  return {
    durationSec: r3(durationSec),
    holdSec: r3(hold * fs),
    callerTalkSec: r3(c * fs),
    agentTalkSec: r3(a * fs),
    callerShare: talk > 0 ? r4(c / talk) : null,
    agentShare: talk > 0 ? r4(a / talk) : null,
    overtalkSec: r3(both * fs),
    overtalkShare: open > 0 ? r4(both / open) : null,
    silenceSec: r3(silence * fs),
    longestSilenceSec: r3(longest * fs),
    longestSilenceAtSec: longestAt === null ? null : r3(longestAt * fs),
  };
}

/** A recording's bytes (stereo WAV, caller left, agent right) analysed; a mono file is the caller only. */
export function analyseWav(wav: Buffer, holds: readonly Interval[], vad: VadSettings): AudioAnalytics {
  const w = parseWav(wav);
  const caller = w.channels[0] ?? new Int16Array(0);
  return analyse({ caller, agent: w.channels[1] ?? new Int16Array(caller.length), rate: w.sampleRate }, holds, vad);
}

/** What the flag rules know about a call besides its audio. */
export interface CallFacts {
  /** Survey answers (CSAT) given for the call. */
  csat: readonly number[];
  /** Hours since the same caller's previous call, if any. */
  hoursSincePreviousCall: number | null;
}

export type FlagName = 'long-silence' | 'heavy-overtalk' | 'low-csat' | 'repeat-caller';

export interface Flag {
  flag: FlagName;
  reason: string;
}

/** The flag rules: each one that holds sends the call to the review queue with its reason. */
export function flagCall(a: AudioAnalytics | undefined, facts: CallFacts, rules: FlagRules): Flag[] {
  const out: Flag[] = [];
  if (a && rules.longSilenceSec !== undefined && a.longestSilenceSec >= rules.longSilenceSec)
    out.push({ flag: 'long-silence', reason: `silence of ${a.longestSilenceSec} s (rule: ${rules.longSilenceSec} s)` });
  if (a && rules.overtalkShare !== undefined && a.overtalkShare !== null && a.overtalkShare >= rules.overtalkShare)
    out.push({
      flag: 'heavy-overtalk',
      reason: `overtalk ${(a.overtalkShare * 100).toFixed(1)} % of the call (rule: ${rules.overtalkShare * 100} %)`,
    });
  const low = facts.csat.filter((x) => rules.lowCsat !== undefined && x <= rules.lowCsat);
  if (low.length > 0) out.push({ flag: 'low-csat', reason: `CSAT ${low.join(', ')} (rule: ≤ ${rules.lowCsat})` });
  if (
    rules.repeatCallerHours !== undefined &&
    facts.hoursSincePreviousCall !== null &&
    facts.hoursSincePreviousCall <= rules.repeatCallerHours
  )
    out.push({
      flag: 'repeat-caller',
      reason: `called ${facts.hoursSincePreviousCall.toFixed(1)} h before (rule: ${rules.repeatCallerHours} h)`,
    });
  return out;
}

/** Peaks per bucket for drawing a waveform: max |sample| of each of `points` buckets, 0..1. */
export function peaks(samples: Int16Array, points: number): number[] {
  const n = Math.max(1, Math.min(points, samples.length || 1));
  const out = new Array<number>(n).fill(0);
  const per = samples.length / n;
  for (let b = 0; b < n; b++) {
    let m = 0;
    const end = Math.min(samples.length, Math.floor((b + 1) * per));
    for (let i = Math.floor(b * per); i < end; i++) m = Math.max(m, Math.abs(samples[i]!));
    out[b] = Math.round((m / 32768) * 1000) / 1000;
  }
  return out;
}
