/**
 * A waiting call's timers on the engine's agenda: escalation steps (relax, add skills, overflow to
 * another queue), max wait, position announcements, and a failed callback's retry. Offer timeouts live with the offer
 * (routing.ts), wrap-up and back-off with the agent (agent-states.ts, acd.ts).
 *
 * Routing, leaving and acd.ts arm and cancel these timers from above; what a timer sets off when
 * it falls due (routing the escalated call, the max-wait exit, the retry's requeue) is their work,
 * so it goes up through s.engine.
 */
import { ewt } from './figures.ts';
import { place, unplace } from './placement.ts';
import type { AcdState, CallRt, QueueRt } from './records.ts';

/** Steps of the queue already due for this call's age. */
export function dueSteps(q: QueueRt, call: CallRt, now: number): number {
  let n = 0;
  for (const step of q.steps) {
    // Overflow steps are taken one by one by the timer so that each is announced and applied.
    if (now - call.arrivedAt >= step.after * 1000 && step.overflowTo === undefined) n++;
    else break;
  }
  return n;
}

export function armEscalation(s: AcdState, call: CallRt): void {
  s.agenda.cancel(call.escalation);
  call.escalation = undefined;
  const step = call.queue.steps[call.step];
  if (!step) return;
  const at = Math.max(s.clock.now(), call.arrivedAt + step.after * 1000);
  call.escalation = s.agenda.at(at, () => {
    call.escalation = undefined;
    // A ringing call escalates when it comes back (requeue re-arms).
    if (call.state === 'waiting') escalate(s, call);
  });
}

function escalate(s: AcdState, call: CallRt): void {
  const q = call.queue;
  const step = call.step;
  const st = q.steps[step];
  if (!st) return;
  const target = st.overflowTo !== undefined ? s.queues.get(st.overflowTo) : undefined;
  const moving = target !== undefined && !call.visited.has(target.name) && target.open;
  s.publish({
    type: 'escalate',
    at: s.clock.now(),
    callId: call.callId,
    queue: q.name,
    step,
    ...(moving ? { overflowTo: target.name } : {}),
  });
  unplace(s, call);
  if (moving) {
    q.calls.delete(call);
    if (call.callback) {
      q.callbacksWaiting--;
      target.callbacksWaiting++;
    }
    call.queue = target;
    call.visited.add(target.name);
    target.calls.add(call);
    call.step = dueSteps(target, call, s.clock.now());
    // The overflow queue's own maxWait counts from joining it.
    call.joinedAt = s.clock.now();
    s.agenda.cancel(call.maxWait);
    call.maxWait = undefined;
    if (!call.callback) armMaxWait(s, call);
  } else {
    call.step = step + 1;
  }
  place(s, call);
  armEscalation(s, call);
  s.engine.routeCall(call);
}

export function armMaxWait(s: AcdState, call: CallRt): void {
  const mw = call.queue.cfg.maxWait;
  if (mw === undefined) return;
  call.maxWait = s.agenda.at(call.joinedAt + mw * 1000, () => {
    call.maxWait = undefined;
    // A ringing call is judged when the ring ends (requeue).
    if (call.state === 'waiting' && !call.callback) s.engine.exitCall(call, 'timeout');
  });
}

export function armAnnounce(s: AcdState, call: CallRt): void {
  const period = call.queue.cfg.announce.period;
  if (period <= 0) return;
  call.announce = s.agenda.after(period * 1000, () => {
    call.announce = undefined;
    if (call.callback || !s.calls.has(call.callId)) return;
    if (call.state === 'waiting') {
      const position = call.queue.order.position(call);
      s.publish({
        type: 'position',
        at: s.clock.now(),
        callId: call.callId,
        queue: call.queue.name,
        position,
        ewtSeconds: ewt(call.queue, position),
      });
    }
    if (call.state === 'waiting' || call.state === 'offered') armAnnounce(s, call);
  });
}

/** A callback whose dial failed waits out of line until retryAt, then goes back to its place. */
export function armRetry(s: AcdState, call: CallRt, retryAt: number): void {
  call.state = 'retry';
  call.retry = s.agenda.at(retryAt, () => {
    call.retry = undefined;
    if (call.state === 'retry') s.engine.requeue(call);
  });
}

export function cancelWaitTimers(s: AcdState, call: CallRt): void {
  // One by one, not a loop over a new array: this runs on every connect and every call's end.
  s.agenda.cancel(call.escalation);
  s.agenda.cancel(call.maxWait);
  s.agenda.cancel(call.announce);
  s.agenda.cancel(call.retry);
  s.agenda.cancel(call.offerDeadline);
  call.escalation = call.maxWait = call.announce = call.retry = call.offerDeadline = undefined;
}
