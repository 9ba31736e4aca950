/**
 * Read-only views of the engine for supervisors, metrics and tests: a queue's live figures, an
 * agent, a call, the whole snapshot, and the invariant audit.
 */
import { meetsAny } from './available-agents.ts';
import { ewt, retrying, staffed } from './figures.ts';
import { STATES, type AcdState, type AgentRt, type CallRt, type QueueRt } from './records.ts';
import type { AcdSnapshot, AgentView, CallView, QueueStats } from './types.ts';

export function queueStats(s: AcdState, q: QueueRt): QueueStats {
  const now = s.clock.now();
  const oldest = q.order.oldest();
  const c = q.counts;
  const staffedNow = staffed(q);
  const sl = q.sl.counts(now);
  return {
    queue: q.name,
    open: q.open,
    waiting: q.order.size,
    callbacks: q.callbacksWaiting,
    offered: q.calls.size - q.order.size - retrying(q),
    longestWaitMs: oldest ? now - oldest.arrivedAt : 0,
    agentsLoggedIn: staffedNow + c['not-ready'],
    agentsStaffed: staffedNow,
    agentsAvailable: c.available,
    agentsOnCall: c['on-call'],
    agentsWrapUp: c['wrap-up'],
    agentsNotReady: c['not-ready'],
    serviceLevelLive: q.sl.value(now),
    serviceLevelTarget: q.cfg.serviceLevel.target,
    answered: sl.answered,
    abandoned: sl.abandoned,
    ahtSeconds: Math.round(q.aht.meanMs() / 1000),
    ewtSeconds: ewt(q, q.order.size + 1),
  };
}

export function viewAgent(a: AgentRt): AgentView {
  return {
    id: a.id,
    state: a.state,
    ...(a.reason !== undefined ? { reason: a.reason } : {}),
    since: a.since,
    ...(a.call ? { callId: a.call.callId, queue: a.call.queue.name } : {}),
    ...(a.wrap ? { callId: a.wrap.call.callId, queue: a.wrap.call.queue.name } : {}),
    misses: a.misses,
    occupiedMs: a.occupiedMs,
    ...(a.pendingNotReady !== undefined ? { pendingNotReady: a.pendingNotReady } : {}),
    pendingLogout: a.pendingLogout,
  };
}

export function viewCall(c: CallRt, now: number): CallView {
  return {
    callId: c.callId,
    queue: c.queue.name,
    state: c.state,
    priority: c.priority,
    arrivedAt: c.arrivedAt,
    waitedMs: now - c.arrivedAt,
    ...(c.state === 'waiting' ? { position: c.queue.order.position(c) } : {}),
    agents: c.state === 'connected' ? [c.agent!.id] : c.offeredTo.map((a) => a.id),
    ...(c.callback ? { callback: c.callback.number } : {}),
    step: c.step,
  };
}

export function snapshot(s: AcdState): AcdSnapshot {
  const now = s.clock.now();
  return {
    at: now,
    queues: [...s.queues.values()].map((q) => queueStats(s, q)),
    agents: [...s.agents.values()].map((a) => viewAgent(a)),
    calls: [...s.calls.values()].map((c) => viewCall(c, now)),
  };
}

/**
 * Check the engine's invariants; returns the violations (empty when sound). O(agents x buckets):
 * for tests and simulations, not the hot path.
 */
export function audit(s: AcdState): string[] {
  const out: string[] = [];
  const holder = new Map<CallRt, AgentRt[]>();
  for (const a of s.agents.values()) {
    const indexed = s.available.has(a);
    if (indexed !== (a.state === 'available')) out.push(`agent ${a.id} ${a.state} but indexed=${indexed}`);
    if (a.state === 'offered' || a.state === 'on-call') {
      if (!a.call) out.push(`agent ${a.id} ${a.state} without a call`);
      else holder.set(a.call, [...(holder.get(a.call) ?? []), a]);
      if (a.call && !s.calls.has(a.call.callId)) out.push(`agent ${a.id} holds a call the ACD dropped`);
    } else if (a.call) out.push(`agent ${a.id} ${a.state} still holds call ${a.call.callId}`);
    if (a.state === 'available') {
      for (const b of s.nonEmpty) {
        if (meetsAny(a, b.alts)) out.push(`agent ${a.id} available while ${b.heap.peek()?.callId} waits in ${b.key}`);
      }
    }
  }
  for (const c of s.calls.values()) {
    const hs = holder.get(c) ?? [];
    if (c.state === 'connected' && (hs.length !== 1 || hs[0] !== c.agent)) out.push(`call ${c.callId} connected to ${hs.length} agents`);
    if (c.state === 'offered' && (hs.length === 0 || hs.length !== c.offeredTo.length))
      out.push(`call ${c.callId} offered to ${hs.length} agents`);
    if (c.state === 'waiting' && (!c.bucket || !c.bucket.heap.has(c))) out.push(`call ${c.callId} waiting outside its heap`);
    if (c.state !== 'waiting' && c.heapIndex !== -1) out.push(`call ${c.callId} ${c.state} but in a heap`);
    if (c.state !== 'connected' && !c.queue.calls.has(c)) out.push(`call ${c.callId} missing from queue ${c.queue.name}`);
  }
  for (const q of s.queues.values()) {
    for (const st of STATES) {
      let n = 0;
      for (const a of s.agents.values()) if (a.state === st && a.queues.includes(q)) n++;
      if (n !== q.counts[st]) out.push(`queue ${q.name} counts ${st}=${q.counts[st]} but is ${n}`);
    }
  }
  return out;
}
