/**
 * Recording pause and resume (PCI DSS: the agent pauses while the customer reads out a card
 * number). While paused the recorder drops every packet it is given (media/audio/recorder.ts), so
 * the file holds silence of the paused length and nothing of the paused audio is written anywhere;
 * the event log gets recording.pause and recording.resume with the pause's length.
 *
 * A pause never outlives the agent who asked for it: when that agent leaves the call (hang-up,
 * blind or attended transfer) or the call ends, the recording resumes on its own (reason
 * 'agent-left' / 'call-end'), before the recording stops.
 */
import type { AcdEvent } from '../acd/events.ts';
import type { Call } from './call.ts';
import { CallControlError } from './controlError.ts';

interface Paused {
  since: number;
  agentId: string;
  recordingId: string;
  resume(): void;
  /** Drop the listeners that auto-resume. */
  unhook(): void;
}

const paused = new WeakMap<Call, Paused>();

export interface PauseView {
  paused: boolean;
  /** Epoch ms the pause began (absent when not paused). */
  pausedSince?: number;
}

export function recordingPauseOf(call: Call): PauseView {
  const p = paused.get(call);
  return p ? { paused: true, pausedSince: p.since } : { paused: false };
}

/** Pause the call's recording for the agent on it; 409 when the agent is not on a recorded call or it is paused already. */
export function pauseRecording(call: Call, agentId: string): PauseView {
  const { ctx } = call;
  const agent = call.agent;
  const rec = call.media?.recording;
  if (call.phase !== 'connected' || agent?.party !== agentId)
    throw new CallControlError(409, `the call is not connected to agent ${agentId}`);
  if (!rec || !call.recording) throw new CallControlError(409, 'the call is not being recorded');
  if (paused.has(call)) throw new CallControlError(409, 'the recording is already paused');
  rec.pause();
  const since = ctx.clock.now();
  const recordingId = call.contactId;
  const onEnded = (): void => void resumeRecording(call, 'call-end');
  // The ACD's callEnd for this agent: they hung up, or a blind or attended transfer took them off.
  const onAcd = (e: AcdEvent): void => {
    if (e.type === 'callEnd' && e.agentId === agentId) resumeRecording(call, 'agent-left');
  };
  ctx.acd.on('event', onAcd);
  call.once('ended', onEnded);
  paused.set(call, {
    since,
    agentId,
    recordingId,
    resume: () => rec.resume(),
    unhook: () => {
      ctx.acd.off('event', onAcd);
      call.off('ended', onEnded);
    },
  });
  ctx.cdr.contact(call.contactId, { type: 'recording.pause', ts: since, recordingId, agentId });
  call.log.info({ agentId }, 'recording paused');
  return { paused: true, pausedSince: since };
}

/**
 * Resume the recording. From the API (reason 'agent') a call not paused is a 409; the automatic
 * resumes are quiet no-ops then.
 */
export function resumeRecording(call: Call, reason: 'agent' | 'agent-left' | 'call-end' = 'agent'): PauseView & { pausedMs: number } {
  const p = paused.get(call);
  if (!p) {
    if (reason === 'agent') throw new CallControlError(409, 'the recording is not paused');
    return { paused: false, pausedMs: 0 };
  }
  paused.delete(call);
  p.unhook();
  p.resume();
  const ts = call.ctx.clock.now();
  const pausedMs = Math.max(0, ts - p.since);
  // The recording's own contact, even if a transfer has made the call a new one since.
  call.ctx.cdr.contact(p.recordingId, { type: 'recording.resume', ts, recordingId: p.recordingId, agentId: p.agentId, reason, pausedMs });
  call.log.info({ agentId: p.agentId, reason, pausedMs }, 'recording resumed');
  return { paused: false, pausedMs };
}

/** For the agent's call view: whether the recording is on, and paused. */
export function recordingView(call: Call): { recording: boolean } & PauseView {
  return { recording: !!call.recording && !!call.media?.recording, ...recordingPauseOf(call) };
}
