/**
 * Calls leaving the engine without an agent: the caller hanging up (abandon, which may leave a
 * place to resume), and exits for a reason (ExitReason). Agents who were ringing for the
 * call are released.
 */
import { afterWork, emitCancelled } from './agent-states.ts';
import type { ResumePlace } from './events.ts';
import type { ExitReason } from './exit-reasons.ts';
import { emptyRuleHolds, recordSl } from './figures.ts';
import { unplace } from './placement.ts';
import { NO_AGENTS, resumeKey, type AcdState, type AgentRt, type CallRt, type QueueRt } from './records.ts';
import { cancelWaitTimers } from './timers.ts';

/** The caller hung up before an agent answered (a callback withdrawn is a 'cancelled' exit). */
export function abandonCall(s: AcdState, call: CallRt): void {
  if (call.callback) {
    exitCall(s, call, 'cancelled');
    return;
  }
  const now = s.clock.now();
  const q = call.queue;
  const waitedMs = now - call.arrivedAt;
  const whileOffered = call.state === 'offered';
  const ringing = call.offeredTo;
  dropCall(s, call);
  const resumeId = resumeKey(call.callerId);
  const kept: ResumePlace | undefined =
    q.cfg.abandonResume > 0 && resumeId
      ? {
          queue: q.name,
          key: resumeId,
          arrivedAt: call.arrivedAt,
          priority: call.priority,
          at: now,
          until: now + q.cfg.abandonResume * 1000,
        }
      : undefined;
  s.publish({ type: 'abandon', at: now, callId: call.callId, queue: q.name, waitedMs, whileOffered, ...(kept ? { kept } : {}) });
  recordSl(s, q, waitedMs > q.cfg.serviceLevel.threshold * 1000 ? 'abandoned' : 'short-abandon');
  for (const a of ringing) {
    a.call = undefined;
    emitCancelled(s, a, call, 'abandon');
    afterWork(s, a);
  }
  if (kept) keepPlace(s, kept, call.seq);
}

/**
 * Keep an abandoned caller's place until kept.until (also used to restore places kept before a
 * restart, from the store). A later place for the same queue and number replaces it.
 */
export function keepPlace(s: AcdState, kept: ResumePlace, seq: number): void {
  const key = `${kept.queue}\n${kept.key}`;
  const entry = { arrivedAt: kept.arrivedAt, seq, priority: kept.priority, at: kept.at, until: kept.until };
  s.resume.set(key, entry);
  s.agenda.at(kept.until + 1, () => {
    if (s.resume.get(key) === entry) s.resume.delete(key);
  });
}

/**
 * The place a caller left by abandoning this queue within its abandonResume window, if any; taken
 * (or found stale) it is forgotten.
 */
export function takeResumedPlace(
  s: AcdState,
  q: QueueRt,
  callerId: string | undefined,
  now: number,
): { arrivedAt: number; seq: number; priority: number } | undefined {
  const resumeId = resumeKey(callerId);
  if (q.cfg.abandonResume <= 0 || !resumeId) return undefined;
  const key = `${q.name}\n${resumeId}`;
  const r = s.resume.get(key);
  s.resume.delete(key);
  if (r && now <= r.until) return { arrivedAt: r.arrivedAt, seq: r.seq, priority: r.priority };
  return undefined;
}

export function exitCall(s: AcdState, call: CallRt, reason: ExitReason): void {
  const now = s.clock.now();
  const q = call.queue;
  const ringing = call.offeredTo;
  dropCall(s, call);
  s.publish({ type: 'exit', at: now, callId: call.callId, queue: q.name, reason, waitedMs: now - call.arrivedAt });
  if (reason === 'timeout' || reason === 'no-agents') recordSl(s, q, 'timeout');
  for (const a of ringing) {
    a.call = undefined;
    emitCancelled(s, a, call, 'exit');
    afterWork(s, a);
  }
}

/** Forget a call: timers, heap, queue. */
export function dropCall(s: AcdState, call: CallRt): void {
  cancelWaitTimers(s, call);
  if (call.state === 'waiting') unplace(s, call);
  if (call.callback && call.state !== 'connected') call.queue.callbacksWaiting--;
  call.queue.calls.delete(call);
  s.calls.delete(call.callId);
  call.offeredTo = NO_AGENTS;
}

/** An agent stopped staffing their queues: apply each queue's leave-when-empty rule. */
export function checkLeaveWhenEmpty(s: AcdState, a: AgentRt): void {
  for (const q of a.queues) {
    const rule = q.cfg.leaveWhenEmpty;
    if (rule === 'always' || q.order.size === 0 || emptyRuleHolds(q, rule)) continue;
    const out = [...q.order.values()].filter((c) => !c.callback);
    for (const c of out) exitCall(s, c, 'no-agents');
  }
}
