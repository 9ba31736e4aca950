/**
 * Routing: which waiting call goes to which available agent, and the offers that follow.
 *
 * Routing keeps one invariant after every command: no available agent is eligible for any waiting
 * call. So when an agent becomes free, every waiting call it could take is a candidate only for it
 * and the ACD picks the best call (queue priority, caller priority, arrival); when a call arrives or
 * its requirements widen, the eligible available agents compete for it and the queue's strategy
 * picks one. Both directions run off indexes (available agents by skill and level in idle order;
 * waiting calls in heaps per requirement set, the buckets of placement.ts), never a scan of the
 * waiting calls. Longest-idle and highest-skill usually stop at the first agent they look at;
 * least-occupied, round-robin and ring-all walk the available agents holding the queue's rarest
 * required skill.
 */
import { afterWork, emitCancelled, logout, setState } from './agent-states.ts';
import { meetsAny } from './available-agents.ts';
import type { Queue } from './config.ts';
import type { OfferCancelledEvent } from './events.ts';
import { emptyRuleHolds, recordSl } from './figures.ts';
import { checkLeaveWhenEmpty, exitCall } from './leaving.ts';
import { place, unplace } from './placement.ts';
import { callBefore, MISSED, NO_AGENTS, type AcdState, type AgentRt, type Bucket, type CallRt, type QueueRt } from './records.ts';
import { armEscalation, cancelWaitTimers } from './timers.ts';

/** Find agent(s) for a waiting call; offer if any. */
export function routeCall(s: AcdState, call: CallRt): void {
  if (call.state !== 'waiting' || !call.bucket) return;
  const q = call.queue;
  // A callback reserves one agent: ringing several for one customer dial makes no sense.
  const limit = q.cfg.strategy === 'ring-all' && !call.callback ? s.options.ringAllMax : 1;
  const agents = s.available.select(call.bucket.alts, q.cfg.strategy, q.rrLast, limit);
  if (agents.length > 0) offer(s, call, agents);
}

/** Find the best waiting call for an agent who just became available; offer if any. */
export function routeAgent(s: AcdState, a: AgentRt): void {
  if (a.state !== 'available') return;
  // Learn the buckets created since this agent last looked (each agent/bucket pair once).
  if (a.bucketsSeen < s.allBuckets.length) {
    for (let i = a.bucketsSeen; i < s.allBuckets.length; i++) {
      const b = s.allBuckets[i]!;
      if (meetsAny(a, b.alts)) a.eligibleBuckets.push(b);
    }
    a.bucketsSeen = s.allBuckets.length;
  }
  // Walk whichever is shorter: the buckets this agent can serve, or the buckets with callers.
  // (No closure for "consider": one capturing the running best is allocated on every decision.)
  let best: CallRt | undefined;
  if (a.eligibleBuckets.length <= s.nonEmpty.size) {
    for (const b of a.eligibleBuckets) best = better(b, best);
  } else {
    for (const b of s.nonEmpty) if (eligible(a, b)) best = better(b, best);
  }
  if (best) offer(s, best, [a]);
}

/** The better of the bucket's head and the best call so far: queue priority, then the bucket order. */
function better(b: Bucket, best: CallRt | undefined): CallRt | undefined {
  const head = b.heap.peek();
  if (!head) return best;
  if (!best) return head;
  const qp = b.queue.cfg.priority;
  const bestQp = best.queue.cfg.priority;
  return qp > bestQp || (qp === bestQp && callBefore(head, best)) ? head : best;
}

function eligible(a: AgentRt, b: Bucket): boolean {
  let m = b.memo[a.ord];
  if (m === undefined) return meetsAny(a, b.alts);
  if (m === 0) {
    m = meetsAny(a, b.alts) ? 1 : 2;
    b.memo[a.ord] = m;
  }
  return m === 1;
}

function offer(s: AcdState, call: CallRt, agents: AgentRt[]): void {
  const now = s.clock.now();
  const q = call.queue;
  unplace(s, call);
  call.state = 'offered';
  call.offeredTo = agents;
  // A callback's agent is reserved while call control dials, not rung: its own timeout, no RONA.
  const expiresAt = now + (call.callback ? q.cfg.callback.reservationTimeout : q.cfg.offerTimeout) * 1000;
  call.offerDeadline = s.agenda.at(expiresAt, () => (call.callback ? s.engine.callbackExpired(call) : offerExpired(s, call)));
  q.rrLast = agents[0]!.ord;
  const waitedMs = now - call.arrivedAt;
  for (const a of agents) {
    s.available.remove(a);
    setState(s, a, 'offered', undefined, call);
    if (call.callback) {
      s.publish({
        type: 'callbackDial',
        at: now,
        callbackId: call.callId,
        callId: call.callId,
        contactId: call.callId,
        agentId: a.id,
        queue: q.name,
        number: call.callback.number,
        enteredAt: call.arrivedAt,
        attempt: call.callback.attempts + 1,
        waitedMs,
        expiresAt,
      });
    } else {
      s.publish({
        type: 'offer',
        at: now,
        callId: call.callId,
        agentId: a.id,
        queue: q.name,
        ringAll: agents.length > 1 || q.cfg.strategy === 'ring-all',
        waitedMs,
        expiresAt,
      });
    }
  }
}

/** Ring-no-answer. */
function offerExpired(s: AcdState, call: CallRt): void {
  call.offerDeadline = undefined;
  if (call.state !== 'offered') return;
  const ringAll = call.queue.cfg.strategy === 'ring-all';
  const agents = call.offeredTo;
  call.offeredTo = NO_AGENTS;
  const now = s.clock.now();
  for (const a of agents) {
    a.call = undefined;
    if (!ringAll) a.misses++;
    s.publish({ type: 'rona', at: now, callId: call.callId, agentId: a.id, queue: call.queue.name, penalised: !ringAll, misses: a.misses });
    if (ringAll) {
      emitCancelled(s, a, call, 'timeout');
      afterWork(s, a, false);
    } else if (s.options.maxMisses > 0 && a.misses >= s.options.maxMisses) {
      logout(s, a, 'rona');
    } else if (a.pendingLogout) {
      logout(s, a, 'agent');
    } else {
      // A break asked for while ringing wins over the 'missed' mark.
      const code = a.pendingNotReady ?? MISSED;
      a.pendingNotReady = undefined;
      setState(s, a, 'not-ready', code);
      checkLeaveWhenEmpty(s, a);
    }
  }
  requeue(s, call);
  // Ring-all agents were held back so the same call could ring them again.
  if (ringAll) for (const a of agents) routeAgent(s, a);
}

/** The offered agent picked up: the call is theirs; anyone else ringing for it is released. */
export function connect(s: AcdState, call: CallRt, a: AgentRt): void {
  const now = s.clock.now();
  s.agenda.cancel(call.offerDeadline);
  call.offerDeadline = undefined;
  const others = call.offeredTo.filter((o) => o !== a);
  call.offeredTo = NO_AGENTS;
  call.state = 'connected';
  call.agent = a;
  call.connectedAt = now;
  cancelWaitTimers(s, call);
  if (call.callback) call.queue.callbacksWaiting--;
  // Connected calls no longer count against the queue's length.
  call.queue.calls.delete(call);
  a.misses = 0;
  setState(s, a, 'on-call', undefined, call);
  const waitedMs = now - call.arrivedAt;
  const within = waitedMs <= call.queue.cfg.serviceLevel.threshold * 1000;
  s.publish({
    type: 'connect',
    at: now,
    callId: call.callId,
    agentId: a.id,
    queue: call.queue.name,
    waitedMs,
    withinThreshold: within,
    callback: call.callback !== undefined,
  });
  recordSl(s, call.queue, within ? 'met' : 'late');
  for (const o of others) {
    o.call = undefined;
    emitCancelled(s, o, call, 'answered-elsewhere');
    afterWork(s, o);
  }
}

/** An offered agent is withdrawn (logout): the call rings on elsewhere. */
export function withdrawOffer(s: AcdState, a: AgentRt, reason: OfferCancelledEvent['reason']): void {
  const call = a.call;
  if (!call) return;
  a.call = undefined;
  call.offeredTo = call.offeredTo.filter((o) => o !== a);
  emitCancelled(s, a, call, reason);
  if (call.offeredTo.length === 0) {
    s.agenda.cancel(call.offerDeadline);
    call.offerDeadline = undefined;
    requeue(s, call);
  }
}

/** A call whose offer failed goes back to its place (its arrival time keeps it at the head). */
export function requeue(s: AcdState, call: CallRt): void {
  s.agenda.cancel(call.offerDeadline);
  call.offerDeadline = undefined;
  call.state = 'waiting';
  call.offeredTo = NO_AGENTS;
  const q = call.queue;
  const now = s.clock.now();
  if (!call.callback && q.cfg.maxWait !== undefined && now >= call.joinedAt + q.cfg.maxWait * 1000) {
    exitCall(s, call, 'timeout');
    return;
  }
  if (!call.callback && !emptyRuleHolds(q, q.cfg.leaveWhenEmpty)) {
    exitCall(s, call, 'no-agents');
    return;
  }
  place(s, call);
  armEscalation(s, call);
  routeCall(s, call);
}

// ---------------------------------------------------------------- reconfiguration

/**
 * A queue's configuration changed: its waiting callers are re-sorted under the new requirements
 * (escalation steps kept by index, as far as the new list goes).
 */
export function reconfigureQueue(s: AcdState, q: QueueRt, cfg: Queue): void {
  const waiting = [...q.calls].filter((c) => c.state === 'waiting');
  for (const c of waiting) unplace(s, c);
  q.cfg = cfg;
  q.steps = [...cfg.escalation].sort((a, b) => a.after - b.after);
  q.buckets = new Map();
  for (const c of q.calls) c.step = Math.min(c.step, q.steps.length);
  for (const c of waiting) {
    place(s, c);
    armEscalation(s, c);
  }
}
