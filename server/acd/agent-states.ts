/**
 * An agent's transitions: the one place an agent's state changes (and with it the per-queue
 * staffing counts and the 'agentState' event), becoming available (and routing), what happens
 * once a call or an offer is over (a pending logout or not-ready wins over available), logout,
 * wrap-up's end, and skill changes.
 *
 * Routing and leaving change agents' states through these functions, so the consequences that
 * belong to them (routing a newly available agent, withdrawing a ringing agent's offer, the
 * leave-when-empty rule once an agent stops staffing) go up through s.engine.
 */
import type { AcdEvent, AgentState, OfferCancelledEvent } from './events.ts';
import { DAY_MS, REJECTED, type AcdState, type AgentRt, type CallRt } from './records.ts';

export function setState(s: AcdState, a: AgentRt, to: AgentState, reason?: string, call?: CallRt): void {
  const from = a.state;
  for (const q of a.queues) {
    q.counts[from]--;
    q.counts[to]++;
  }
  a.state = to;
  a.reason = reason;
  a.since = s.clock.now();
  if (to === 'offered' || to === 'on-call') a.call = call;
  s.publish(agentStateEvent(a, from, to, reason, call));
}

/**
 * The 'agentState' event, optional fields present only when set. One literal per shape (not
 * spreads of temporary objects): this runs on every routing decision, and garbage there is GC.
 */
function agentStateEvent(a: AgentRt, from: AgentState, to: AgentState, reason: string | undefined, call: CallRt | undefined): AcdEvent {
  const at = a.since;
  const agentId = a.id;
  if (call) {
    const callId = call.callId;
    const queue = call.queue.name;
    return reason !== undefined
      ? { type: 'agentState', at, agentId, from, to, reason, callId, queue }
      : { type: 'agentState', at, agentId, from, to, callId, queue };
  }
  return reason !== undefined ? { type: 'agentState', at, agentId, from, to, reason } : { type: 'agentState', at, agentId, from, to };
}

export function becomeAvailable(s: AcdState, a: AgentRt, route = true): void {
  a.idleSince = s.clock.now();
  setState(s, a, 'available');
  s.available.add(a);
  if (route) s.engine.routeAgent(a);
}

/** An agent's call or offer is over: apply what they asked for meanwhile, else available. */
export function afterWork(s: AcdState, a: AgentRt, route = true): void {
  if (a.pendingLogout) {
    logout(s, a, 'agent');
  } else if (a.pendingNotReady !== undefined) {
    const code = a.pendingNotReady;
    a.pendingNotReady = undefined;
    setState(s, a, 'not-ready', code);
    s.engine.checkLeaveWhenEmpty(a);
  } else {
    becomeAvailable(s, a, route);
  }
}

/**
 * The agent declined an offer: a pending logout or break applies now; otherwise not-ready
 * 'rejected' for the back-off (rejectDelay), then available again.
 */
export function afterReject(s: AcdState, a: AgentRt): void {
  if (a.pendingLogout || a.pendingNotReady !== undefined || s.options.rejectDelay === 0) {
    afterWork(s, a);
    return;
  }
  setState(s, a, 'not-ready', REJECTED);
  a.backoff = s.agenda.after(s.options.rejectDelay * 1000, () => {
    a.backoff = undefined;
    if (a.state === 'not-ready' && a.reason === REJECTED) becomeAvailable(s, a);
  });
}

/** The agent's answered call ended: wrap-up (the queue's), unless none or the agent is leaving. */
export function afterCall(s: AcdState, a: AgentRt, call: CallRt, talkMs: number): void {
  a.call = undefined;
  addOccupied(s, a, talkMs);
  const wrapMs = call.queue.cfg.wrapUp * 1000;
  if (a.pendingLogout || wrapMs === 0) {
    call.queue.aht.record(talkMs);
    afterWork(s, a);
    return;
  }
  const now = s.clock.now();
  const endsAt = now + wrapMs;
  a.wrap = {
    call,
    startedAt: now,
    talkMs,
    extended: false,
    deadline: s.agenda.at(endsAt, () => finishWrapUp(s, a, 'timer')),
  };
  setState(s, a, 'wrap-up', undefined, call);
  s.publish({ type: 'wrapupStart', at: now, agentId: a.id, callId: call.callId, queue: call.queue.name, endsAt });
}

export function logout(s: AcdState, a: AgentRt, reason: string): void {
  s.available.remove(a);
  s.agenda.cancel(a.backoff);
  a.backoff = undefined;
  a.pendingLogout = false;
  a.pendingNotReady = undefined;
  setState(s, a, 'logged-out', reason);
  s.engine.checkLeaveWhenEmpty(a);
}

/** Log out now if the agent can go now; on a call (or in wrap-up) once the call is done. */
export function forceLogout(s: AcdState, a: AgentRt, reason: string): void {
  switch (a.state) {
    case 'logged-out':
      return;
    case 'on-call':
      a.pendingLogout = true;
      return;
    case 'wrap-up':
      a.pendingLogout = true;
      finishWrapUp(s, a, 'agent');
      return;
    case 'offered':
      s.engine.withdrawOffer(a, 'logout');
      break;
    default:
      break;
  }
  logout(s, a, reason);
}

export function finishWrapUp(s: AcdState, a: AgentRt, by: 'timer' | 'agent'): void {
  const w = a.wrap;
  if (!w || a.state !== 'wrap-up') return;
  s.agenda.cancel(w.deadline);
  a.wrap = undefined;
  const now = s.clock.now();
  const durationMs = now - w.startedAt;
  addOccupied(s, a, durationMs);
  w.call.queue.aht.record(w.talkMs + durationMs);
  s.publish({
    type: 'wrapupEnd',
    at: now,
    agentId: a.id,
    callId: w.call.callId,
    queue: w.call.queue.name,
    by,
    extended: w.extended,
    durationMs,
  });
  afterWork(s, a);
}

/** Talk and wrap-up time today (the least-occupied key); a new day starts from zero. */
function addOccupied(s: AcdState, a: AgentRt, ms: number): void {
  const day = Math.floor(s.clock.now() / DAY_MS);
  if (day !== a.occupiedDay) {
    a.occupiedDay = day;
    a.occupiedMs = 0;
  }
  a.occupiedMs += ms;
}

export function applySkills(s: AcdState, a: AgentRt, skills: Record<string, number>): void {
  const indexed = s.available.has(a);
  if (indexed) s.available.remove(a);
  a.skills = new Map(Object.entries(skills));
  if (indexed) {
    // The index keeps agents in idle order by appending: re-entering means now.
    a.idleSince = s.clock.now();
    s.available.add(a);
  }
}

export function emitCancelled(s: AcdState, a: AgentRt, call: CallRt, reason: OfferCancelledEvent['reason']): void {
  s.publish({ type: 'offerCancelled', at: s.clock.now(), callId: call.callId, agentId: a.id, queue: call.queue.name, reason });
}
