/**
 * The messages between the main thread (rtpThreadPool.ts) and an RTP thread (rtpThreadEntry.ts):
 * requests each answered once, with the reply type RtpThreadReplies gives the op, and the events
 * a thread reports for a leg unasked (key presses, RTP timeout). Its own module so the main thread
 * gets the types without loading the thread's code.
 */
import type { G711Law } from '../audio/g711.ts';
import type { PlayEnd } from '../audio/player.ts';
import type { PlayoutStats } from './playout.ts';
import type { RecordingSummary } from '../audio/recorder.ts';
import type { Negotiated } from './plainLegMedia.ts';
import type { RtpMixStats } from './rtpMix.ts';
import type { PortRange, RtpRelayStats } from './rtpRelay.ts';

/** What a thread holds now (leak hunting, the soak bench). */
export interface RtpThreadStats {
  legs: number;
  /** RTP packets the open legs' relays sent to their parties. */
  rtpOut: number;
  players: number;
  mixes: number;
  prompts: number;
  playout: PlayoutStats;
  /** This thread's V8 heap; arrayBuffers is the process's (shared by all threads). */
  heapUsed: number;
  /** This thread's V8 heap as committed (what counts in RSS, used or not). */
  heapTotal: number;
  arrayBuffers: number;
}

/** workerData marking a worker as an RTP thread (the entry module may be loaded elsewhere too). */
export const RTP_THREAD_ROLE = 'rtp-thread';

export type RtpThreadRequest =
  | { op: 'ping' }
  | { op: 'open'; leg: string; ip: string; range: PortRange; comedia: boolean; ssrc: number }
  | { op: 'inner'; leg: string; ip: string; port: number }
  | ({ op: 'negotiated'; leg: string } & Negotiated)
  | { op: 'inband'; leg: string; on: boolean }
  | { op: 'route'; leg: string; direct: string[]; toInner: boolean; source: number | undefined }
  /** Keep a prompt's samples on the thread under `key` (path@mtime) until dropPrompt. */
  | { op: 'prompt'; key: string; samples: Int16Array }
  | { op: 'dropPrompt'; key: string }
  /** Play prompts already sent (by key), in order, once or looped. */
  | { op: 'play'; leg: string; play: number; keys: string[]; law: G711Law; loop: boolean }
  /** Music on hold: the leg joins the thread's shared stream of the prompt (fan-out). */
  | { op: 'hold'; leg: string; play: number; key: string; law: G711Law }
  | { op: 'stats' }
  | { op: 'stopPlay'; play: number }
  | { op: 'sendDtmf'; leg: string; digit: string; durationMs: number }
  | { op: 'record'; leg: string; path: string }
  | { op: 'pauseRecording'; leg: string }
  | { op: 'resumeRecording'; leg: string }
  | { op: 'stopRecording'; leg: string }
  | { op: 'close'; leg: string }
  /** Create or change a mix: the legs in it and whom each hears (a leg left out leaves it). */
  | { op: 'mix'; mix: string; law: G711Law; hears: Record<string, string[]> }
  | { op: 'mixEnd'; mix: string };

/** What each request resolves to. */
export interface RtpThreadReplies {
  ping: null;
  /** ssrc: the one SSRC the relay sends its remote (what a mediasoup Producer fed by it must expect). */
  open: { port: number; innerPort: number; ssrc: number };
  inner: null;
  negotiated: null;
  inband: null;
  route: null;
  prompt: null;
  dropPrompt: null;
  play: PlayEnd;
  hold: PlayEnd;
  stats: RtpThreadStats;
  stopPlay: null;
  sendDtmf: boolean;
  record: null;
  pauseRecording: null;
  resumeRecording: null;
  stopRecording: RecordingSummary;
  close: RtpRelayStats;
  mix: null;
  mixEnd: RtpMixStats;
}

export type RtpThreadEvent =
  { event: 'dtmf'; leg: string; digit: string; source: 'rfc4733' | 'inband' } | { event: 'rtpTimeout'; leg: string };

export type RtpThreadInbound = { id: number; req: RtpThreadRequest };
export type RtpThreadOutbound = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string } | RtpThreadEvent;
