/**
 * A callback's dial attempts: when a callback reaches the head, routing reserves one agent and
 * publishes 'callbackDial'; call control dials and reports the outcome (Acd.callbackOutcome).
 * Answered: the callback connects like a call. Busy, no answer, failed, or a reservation that ran
 * out without an outcome: the agent is released and the callback waits out the queue's back-off
 * (callback.retryDelay, a number or a schedule) out of line, then goes back to its ORIGINAL place
 * (its arrival time is unchanged), until callback.maxAttempts is used up: then it gives up
 * (callbackGivenUp, exit 'callback-failed').
 *
 * Sits beside routing.ts (uses its connect), below acd.ts.
 */
import { afterWork } from './agent-states.ts';
import type { Queue } from './config.ts';
import type { CallbackOutcome } from './events.ts';
import { exitCall } from './leaving.ts';
import { NO_AGENTS, type AcdState, type AgentRt, type CallRt } from './records.ts';
import { connect } from './routing.ts';
import { armRetry } from './timers.ts';

/** Seconds to wait after the n-th failed attempt (1-based) under the queue's retryDelay. */
export function backoffSeconds(cfg: Queue['callback'], attempt: number): number {
  const d = cfg.retryDelay;
  if (typeof d === 'number') return d;
  return d[Math.min(Math.max(attempt, 1), d.length) - 1]!;
}

/** Call control's report on the dial for callback `call`, reserved for agent `a`. */
export function dialOutcome(s: AcdState, call: CallRt, a: AgentRt, outcome: CallbackOutcome, newContactId?: string): void {
  const cb = call.callback!;
  const attempt = ++cb.attempts;
  if (outcome === 'answered') {
    s.publish({
      type: 'callbackDialled',
      at: s.clock.now(),
      callbackId: call.callId,
      callId: call.callId,
      agentId: a.id,
      queue: call.queue.name,
      attempt,
      outcome,
      ...(newContactId ? { newContactId } : {}),
    });
    connect(s, call, a);
    return;
  }
  s.agenda.cancel(call.offerDeadline);
  call.offerDeadline = undefined;
  call.offeredTo = NO_AGENTS;
  a.call = undefined;
  retryOrGiveUp(s, call, a.id, attempt, outcome, newContactId);
  afterWork(s, a);
}

/** The reservation ran out with no outcome: release the agent (no penalty), count a failed attempt. */
export function reservationExpired(s: AcdState, call: CallRt): void {
  call.offerDeadline = undefined;
  if (call.state !== 'offered' || !call.callback) return;
  const agents = call.offeredTo;
  call.offeredTo = NO_AGENTS;
  const attempt = ++call.callback.attempts;
  const now = s.clock.now();
  for (const a of agents) {
    a.call = undefined;
    s.publish({
      type: 'callbackReservationExpired',
      at: now,
      callbackId: call.callId,
      callId: call.callId,
      agentId: a.id,
      queue: call.queue.name,
      attempt,
    });
  }
  retryOrGiveUp(s, call, agents[0]?.id ?? '', attempt, 'expired');
  for (const a of agents) afterWork(s, a);
}

function retryOrGiveUp(
  s: AcdState,
  call: CallRt,
  agentId: string,
  attempt: number,
  outcome: CallbackOutcome | 'expired',
  newContactId?: string,
): void {
  const q = call.queue;
  const now = s.clock.now();
  const base = {
    at: now,
    callbackId: call.callId,
    callId: call.callId,
    agentId,
    queue: q.name,
    attempt,
    outcome,
    ...(newContactId ? { newContactId } : {}),
  } as const;
  if (attempt >= q.cfg.callback.maxAttempts) {
    s.publish({ type: 'callbackDialled', ...base });
    s.publish({
      type: 'callbackGivenUp',
      at: now,
      callbackId: call.callId,
      callId: call.callId,
      queue: q.name,
      attempts: attempt,
      lastOutcome: outcome,
    });
    exitCall(s, call, 'callback-failed');
    return;
  }
  const retryAt = now + backoffSeconds(q.cfg.callback, attempt) * 1000;
  s.publish({ type: 'callbackDialled', ...base, retryAt });
  armRetry(s, call, retryAt);
}
