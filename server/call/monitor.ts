/**
 * Supervisor listen / whisper / barge on a live call: the supervisor's registered phone is rung on
 * a 'supervisor' leg, which joins the call's mixer in listen mode (hears the caller and the agent,
 * heard by nobody); the supervisor can switch to whisper (heard by the agent only, never by the
 * caller) or barge (heard by everyone), and leave, when the call goes back to a plain bridge. Who
 * hears whom is decided in conference.ts (settleMedia), so a monitored conference or consult keeps
 * working. Every step is logged with who did it (the audit trail's source until it has a table).
 */
import type { MonitorMode } from '../../media/index.ts';
import { SipError, type SipRequest, type SipServerResponse } from '../sip/index.ts';
import type { Call } from './call.ts';
import { CallControlError } from './controlError.ts';
import { settleMedia, talkOf, type MonitorState } from './conference.ts';
import { ringRegistered } from './consult.ts';
import { reinvite } from './hold.ts';
import { CallLeg } from './leg.ts';

export type { MonitorMode } from '../../media/index.ts';
export const MONITOR_MODES: readonly MonitorMode[] = ['listen', 'whisper', 'barge'];

/** The supervisor monitoring a call, if any. */
export function monitorOf(call: Call): MonitorState | undefined {
  return talkOf(call).monitor;
}

/**
 * Ring the supervisor's registered phone and, once answered, join the call in `mode` (listen by
 * default). Rejects with a CallControlError if the call has no agent talking, is already monitored, or
 * the supervisor's phone does not answer.
 */
export async function monitor(call: Call, supervisorId: string, mode: MonitorMode = 'listen'): Promise<CallLeg> {
  const talk = talkOf(call);
  if (call.phase !== 'connected' || !call.agent || !call.media) throw new CallControlError(409, 'no agent is talking on this call');
  if (talk.monitor) throw new CallControlError(409, `already monitored by ${talk.monitor.supervisorId}`);
  const leg = new CallLeg('supervisor', supervisorId);
  const m: MonitorState = { leg, supervisorId, mode };
  talk.monitor = m;
  call.legs.add(leg);
  try {
    await ringRegistered(call, leg, supervisorId, { 'X-CC-Monitor': mode, 'X-CC-Agent': call.agent.party });
    if (call.ended || leg.state !== 'up' || talk.monitor !== m) throw new SipError(487, 'Request Terminated');
    leg.dialog?.on('destroy', () => {
      leg.dialogEnded();
      void leave(call, m, 'supervisor-bye');
    });
    leg.dialog?.on('modify', (req: SipRequest, res: SipServerResponse) => void reinvite(call, leg, req, res));
    await settleMedia(call);
  } catch (e) {
    if (talk.monitor === m) talk.monitor = undefined;
    call.dropLeg(leg);
    if (!call.ended) await settleMedia(call).catch(() => undefined);
    const status = e instanceof SipError ? e.status : 500;
    throw new CallControlError(
      status === 487 ? 409 : status >= 400 && status < 700 ? status : 502,
      `monitor: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  call.log.info({ supervisor: supervisorId, agent: call.agent?.party, mode }, 'supervisor monitoring');
  return leg;
}

/** Switch listen / whisper / barge, live. */
export async function setMonitorMode(call: Call, mode: MonitorMode): Promise<void> {
  const m = talkOf(call).monitor;
  if (!m || m.leg.state !== 'up') throw new CallControlError(409, 'the call is not being monitored');
  if (m.mode === mode) return;
  const was = m.mode;
  m.mode = mode;
  await settleMedia(call);
  call.log.info({ supervisor: m.supervisorId, from: was, mode }, 'monitor mode');
}

/** The supervisor leaves (or stops ringing); the call goes on without them. */
export async function stopMonitor(call: Call): Promise<void> {
  const m = talkOf(call).monitor;
  if (!m) throw new CallControlError(409, 'the call is not being monitored');
  await leave(call, m, 'stopped');
}

async function leave(call: Call, m: MonitorState, why: string): Promise<void> {
  const talk = talkOf(call);
  if (talk.monitor !== m) return;
  talk.monitor = undefined;
  call.dropLeg(m.leg);
  if (!call.ended) await settleMedia(call).catch((e: unknown) => call.log.error({ err: String(e) }, 'settle after monitor'));
  call.log.info({ supervisor: m.supervisorId, why }, 'supervisor left');
}
