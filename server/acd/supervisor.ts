/**
 * Supervisor commands on the ACD that its public API lacks: move a waiting call to another queue,
 * put it at the head of its queue, change its priority. A move is announced exactly like an
 * escalation's overflow (an `escalate` event with `overflowTo`), so call control and the event
 * log (queue.exit 'overflow', queue.enter) need nothing new.
 *
 * The commands work on the engine's state inside its transaction (Acd.supervise).
 */
import type { Acd } from './acd.ts';
import { armEscalation, armMaxWait, dueSteps } from './timers.ts';
import { place, unplace } from './placement.ts';
import type { AcdState, CallRt } from './records.ts';
import type { AcdResult } from './types.ts';

function waitingCall(s: AcdState, callId: string): CallRt | string {
  const call = s.calls.get(callId);
  if (!call) return `unknown call ${callId}`;
  if (call.state !== 'waiting') return `call ${callId} is ${call.state}, not waiting`;
  return call;
}

/** Re-sort a waiting call after its place-deciding fields changed, and offer it if an agent fits. */
function replace(s: AcdState, call: CallRt, change: () => void): void {
  unplace(s, call);
  change();
  place(s, call);
  s.engine.routeCall(call);
}

export class AcdSupervisor {
  constructor(private readonly acd: Acd) {}

  /** Change a waiting caller's priority (0..100, higher first). */
  setPriority(callId: string, priority: number): AcdResult {
    if (!Number.isInteger(priority) || priority < 0 || priority > 100) return { ok: false, error: 'priority must be an integer 0..100' };
    return this.acd.supervise((s) => {
      const call = waitingCall(s, callId);
      if (typeof call === 'string') return { ok: false, error: call };
      replace(s, call, () => (call.priority = priority));
      return { ok: true };
    });
  }

  /**
   * Put a waiting caller first in its queue: a priority above every other waiting call's
   * (at most 100; among calls at 100, the earliest arrival stays first).
   */
  toHead(callId: string): AcdResult {
    return this.acd.supervise((s) => {
      const call = waitingCall(s, callId);
      if (typeof call === 'string') return { ok: false, error: call };
      let top = 0;
      for (const c of call.queue.calls) if (c !== call && c.state === 'waiting') top = Math.max(top, c.priority);
      replace(s, call, () => (call.priority = Math.min(100, Math.max(call.priority, top + 1))));
      return { ok: true };
    });
  }

  /** Move a waiting caller to another open queue, keeping the original arrival (as an overflow does). */
  moveToQueue(callId: string, queue: string): AcdResult {
    return this.acd.supervise((s) => {
      const call = waitingCall(s, callId);
      if (typeof call === 'string') return { ok: false, error: call };
      const target = s.queues.get(queue);
      if (!target) return { ok: false, error: `unknown queue ${queue}` };
      if (target === call.queue) return { ok: false, error: `call ${callId} is already in ${queue}` };
      if (!target.open) return { ok: false, error: `queue ${queue} is closed` };
      const from = call.queue;
      const now = s.clock.now();
      s.publish({ type: 'escalate', at: now, callId, queue: from.name, step: call.step, overflowTo: target.name });
      unplace(s, call);
      from.calls.delete(call);
      if (call.callback) {
        from.callbacksWaiting--;
        target.callbacksWaiting++;
      }
      call.queue = target;
      call.visited.add(target.name);
      target.calls.add(call);
      call.step = dueSteps(target, call, now);
      call.joinedAt = now;
      s.agenda.cancel(call.maxWait);
      call.maxWait = undefined;
      if (!call.callback) armMaxWait(s, call);
      place(s, call);
      armEscalation(s, call);
      s.engine.routeCall(call);
      return { ok: true };
    });
  }
}
