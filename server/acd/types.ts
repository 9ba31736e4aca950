/**
 * The ACD's public vocabulary apart from its events (events.ts): command results and requests,
 * the engine's construction input, and the read-only views (queue figures, agents, calls) that
 * make up a snapshot. Imported through acd.ts by the rest of the server.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Agent, AcdOptions, AuxCode, Queue, SkillRequirement } from './config.ts';
import type { AgentState } from './events.ts';
import type { ExitReason } from './exit-reasons.ts';

export type AcdResult = { ok: true } | { ok: false; error: string };
export type EnqueueResult =
  { ok: true; position: number; ewtSeconds: number | null } | { ok: false; reason: ExitReason | 'invalid'; error: string };

export interface EnqueueRequest {
  callId: string;
  queue: string;
  /** Caller priority within the queue, higher first (0..100). */
  priority?: number;
  /** Replaces the queue's skill requirements for this call (e.g. chosen in the IVR). */
  skills?: SkillRequirement[];
  /** The caller's number: the key for abandon-resume. */
  callerId?: string;
  /** Original arrival in the centre (ms); defaults to now. Orders the call and times escalation. */
  arrivedAt?: number;
  /**
   * Enqueue a callback (virtual contact) instead of a live caller. attempts: dial attempts already
   * made (restored from the store); notBefore: the next attempt's back-off ends then (ms).
   */
  callback?: { number: string; attempts?: number; notBefore?: number; restored?: boolean };
}

export interface AcdInit {
  clock: Clock;
  queues: Record<string, Queue>;
  agents: Agent[];
  auxCodes?: AuxCode[];
  options?: Partial<AcdOptions>;
}

export interface QueueStats {
  queue: string;
  open: boolean;
  /** Callers waiting (not ringing an agent), callbacks included. */
  waiting: number;
  /** Of those, callbacks. */
  callbacks: number;
  /** Calls ringing an agent. */
  offered: number;
  /** Ms the longest-waiting caller has waited (since original arrival); 0 when none. */
  longestWaitMs: number;
  agentsLoggedIn: number;
  /** Available, ringing, talking or in wrap-up. */
  agentsStaffed: number;
  agentsAvailable: number;
  agentsOnCall: number;
  agentsWrapUp: number;
  agentsNotReady: number;
  /** Service level over the queue's window; null before any caller counts. */
  serviceLevelLive: number | null;
  serviceLevelTarget: number;
  answered: number;
  abandoned: number;
  ahtSeconds: number;
  /** What a caller joining now would be told. */
  ewtSeconds: number | null;
}

export interface AgentView {
  id: string;
  state: AgentState;
  reason?: string;
  since: number;
  callId?: string;
  queue?: string;
  misses: number;
  occupiedMs: number;
  pendingNotReady?: string;
  pendingLogout: boolean;
}

export interface CallView {
  callId: string;
  queue: string;
  state: CallState;
  priority: number;
  arrivedAt: number;
  waitedMs: number;
  position?: number;
  agents: string[];
  callback?: string;
  step: number;
}

export interface AcdSnapshot {
  at: number;
  queues: QueueStats[];
  agents: AgentView[];
  calls: CallView[];
}

/** Where a call stands: waiting in a queue, ringing an agent, talking, or a callback between dial attempts. */
export type CallState = 'waiting' | 'offered' | 'connected' | 'retry';
