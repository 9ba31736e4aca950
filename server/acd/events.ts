/**
 * What the ACD engine tells the world. Every state transition is one event, stamped with the
 * engine's clock, carrying the call, queue, agent and reason so that the store can persist it and
 * the KPI engine can derive every figure from the stream alone.
 */
import type { ExitReason } from './exit-reasons.ts';

// ExitEvent's reason, defined with its IVR and event-log projections; still importable from here.
export type { ExitReason };

export type AgentState = 'logged-out' | 'available' | 'not-ready' | 'offered' | 'on-call' | 'wrap-up';

interface Base {
  /** Milliseconds since the epoch, from the engine's clock. */
  at: number;
}

export interface EnqueueEvent extends Base {
  type: 'enqueue';
  callId: string;
  queue: string;
  priority: number;
  /** Original arrival (kept across overflow and abandon-resume). */
  arrivedAt: number;
  position: number;
  /** null when nobody staffs the queue. */
  ewtSeconds: number | null;
  resumed: boolean;
  /** When resumed: the abandon-resume key (caller digits) whose kept place this call took. */
  resumeKey?: string;
  callback: boolean;
}

export interface OfferEvent extends Base {
  type: 'offer';
  callId: string;
  agentId: string;
  queue: string;
  /** True when the same call rings several agents (ring-all); the first answer wins. */
  ringAll: boolean;
  /** Milliseconds the call has waited since its original arrival. */
  waitedMs: number;
  /** When the offer times out (ring-no-answer). */
  expiresAt: number;
}

/**
 * A callback contact reached an agent: the agent is reserved; call control dials (agent first,
 * then the customer) and reports back with Acd.callbackOutcome(callbackId, …) before expiresAt,
 * or the reservation is released (callbackReservationExpired).
 */
export interface CallbackDialEvent extends Base {
  type: 'callbackDial';
  /** The callback's id in the ACD: the contact id of the call that asked for it. */
  callbackId: string;
  /** Same as callbackId (every ACD event names its call callId). */
  callId: string;
  /** The contact that asked for the callback (the new outbound contact's previousContactId). */
  contactId: string;
  agentId: string;
  queue: string;
  number: string;
  /** Original queue entry (ms): what kept the callback's place. */
  enteredAt: number;
  /** 1 for the first attempt. */
  attempt: number;
  waitedMs: number;
  /** When the agent's reservation runs out unless call control reported an outcome. */
  expiresAt: number;
}

export type CallbackOutcome = 'answered' | 'busy' | 'no-answer' | 'failed';

/** The outcome of one dial attempt; after a failed one, retryAt (or the callback gave up). */
export interface CallbackDialledEvent extends Base {
  type: 'callbackDialled';
  callbackId: string;
  callId: string;
  agentId: string;
  queue: string;
  attempt: number;
  /** 'expired': the agent's reservation ran out without an outcome from call control. */
  outcome: CallbackOutcome | 'expired';
  /** When the next attempt will be routed; absent after 'answered' and when the callback gave up. */
  retryAt?: number;
  /** The outbound contact call control made for this attempt, when it said (callbackOutcome detail). */
  newContactId?: string;
}

/** The callback used up its attempts (followed by exit 'callback-failed'). */
export interface CallbackGivenUpEvent extends Base {
  type: 'callbackGivenUp';
  callbackId: string;
  callId: string;
  queue: string;
  attempts: number;
  lastOutcome: CallbackOutcome | 'expired';
}

/** An agent reserved for a callback was released because call control never reported on the dial. */
export interface CallbackReservationExpiredEvent extends Base {
  type: 'callbackReservationExpired';
  callbackId: string;
  callId: string;
  agentId: string;
  queue: string;
  attempt: number;
}

/** An offer withdrawn without the agent's doing: another agent answered (ring-all), the caller left, … */
export interface OfferCancelledEvent extends Base {
  type: 'offerCancelled';
  callId: string;
  agentId: string;
  queue: string;
  reason: 'answered-elsewhere' | 'abandon' | 'timeout' | 'logout' | 'exit';
}

export interface RonaEvent extends Base {
  type: 'rona';
  callId: string;
  agentId: string;
  queue: string;
  /** False for ring-all offers, where not answering is normal and costs the agent nothing. */
  penalised: boolean;
  /** Consecutive misses of this agent including this one. */
  misses: number;
}

export interface RejectEvent extends Base {
  type: 'reject';
  callId: string;
  agentId: string;
  queue: string;
}

export interface ConnectEvent extends Base {
  type: 'connect';
  callId: string;
  agentId: string;
  queue: string;
  waitedMs: number;
  /** Answered within the queue's service-level threshold. */
  withinThreshold: boolean;
  callback: boolean;
}

export interface CallEndEvent extends Base {
  type: 'callEnd';
  callId: string;
  agentId: string;
  queue: string;
  talkMs: number;
}

export interface AbandonEvent extends Base {
  type: 'abandon';
  callId: string;
  queue: string;
  waitedMs: number;
  /** Whether it was ringing an agent when the caller left. */
  whileOffered: boolean;
  /** The place kept for abandon-resume (queue's abandonResume), for the store to make durable. */
  kept?: ResumePlace;
}

/** A place an abandoned caller may take back by calling again from the same number before `until`. */
export interface ResumePlace {
  queue: string;
  /** The caller's digits (records.ts resumeKey). */
  key: string;
  arrivedAt: number;
  priority: number;
  /** When the caller left. */
  at: number;
  /** Last moment the place may be taken. */
  until: number;
}

export interface ExitEvent extends Base {
  type: 'exit';
  callId: string;
  queue: string;
  reason: ExitReason;
  waitedMs: number;
}

export interface AgentStateEvent extends Base {
  type: 'agentState';
  agentId: string;
  from: AgentState;
  to: AgentState;
  /** Aux code for not-ready ('missed' after a ring-no-answer, 'rejected' during back-off), logout reason, … */
  reason?: string;
  callId?: string;
  queue?: string;
}

export interface WrapupStartEvent extends Base {
  type: 'wrapupStart';
  agentId: string;
  callId: string;
  queue: string;
  endsAt: number;
}

export interface WrapupExtendEvent extends Base {
  type: 'wrapupExtend';
  agentId: string;
  callId: string;
  queue: string;
  endsAt: number;
}

export interface WrapupEndEvent extends Base {
  type: 'wrapupEnd';
  agentId: string;
  callId: string;
  queue: string;
  /** 'timer': the wrap-up ran out; 'agent': the agent ended it (or went not-ready / logged out). */
  by: 'timer' | 'agent';
  extended: boolean;
  durationMs: number;
}

export interface EscalateEvent extends Base {
  type: 'escalate';
  callId: string;
  /** Queue whose escalation step fired. */
  queue: string;
  /** Index into that queue's escalation list. */
  step: number;
  /** Set when the step moved the call to an overflow queue. */
  overflowTo?: string;
}

export interface PositionEvent extends Base {
  type: 'position';
  callId: string;
  queue: string;
  position: number;
  ewtSeconds: number | null;
}

export interface CallbackRequestedEvent extends Base {
  type: 'callbackRequested';
  callId: string;
  queue: string;
  number: string;
  /** Original queue entry (ms): the callback's place. */
  enteredAt: number;
  /** A waiting caller turned into a callback (their queue visit ends here), not a callback enqueued on its own. */
  fromWaiting: boolean;
}

/** The queue's live service level crossed its target (a surge rule's trigger). */
export interface ServiceLevelEvent extends Base {
  type: 'serviceLevel';
  queue: string;
  value: number;
  target: number;
  breached: boolean;
}

export type AcdEvent =
  | EnqueueEvent
  | OfferEvent
  | CallbackDialEvent
  | OfferCancelledEvent
  | RonaEvent
  | RejectEvent
  | ConnectEvent
  | CallEndEvent
  | AbandonEvent
  | ExitEvent
  | AgentStateEvent
  | WrapupStartEvent
  | WrapupExtendEvent
  | WrapupEndEvent
  | EscalateEvent
  | PositionEvent
  | CallbackRequestedEvent
  | CallbackDialledEvent
  | CallbackGivenUpEvent
  | CallbackReservationExpiredEvent
  | ServiceLevelEvent;

export type AcdEventType = AcdEvent['type'];
