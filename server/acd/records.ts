/**
 * The engine's own records of agents, queues and calls (what the views are made from), and the
 * state they live in. Internal to server/acd: the rest of the server sees only the views in
 * types.ts and the events in events.ts.
 *
 * The engine's work is split by subject over routing.ts (matching calls and agents, offers),
 * agent-states.ts (an agent's transitions), timers.ts (escalation, max wait, announcements),
 * leaving.ts (calls going out of the engine), placement.ts (a waiting call's bucket and place in
 * line), figures.ts (EWT, service level) and views.ts; each is a set of functions over one
 * AcdState, which the Acd class owns.
 *
 * The files are layered, each importing only from the ones below it:
 *
 *   acd.ts                      commands, reconfiguration, the transaction around each
 *   routing.ts                  the routing invariant, offers, connect, requeue
 *   leaving.ts                  abandon, exits, leave-when-empty
 *   agent-states.ts, timers.ts  an agent's transitions; a waiting call's deadlines
 *   placement.ts, views.ts      a waiting call's bucket and place in line; read-only views
 *   figures.ts                  staffing, EWT, service level
 *   records.ts                  the records and AcdState
 *
 * Where a lower layer must set off work above it (a deadline falls due, an agent becomes free),
 * it calls through AcdState.engine (AcdEngine below), which acd.ts fills in.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Agenda, Deadline } from './agenda.ts';
import { meetsAny, type AvailableAgents, type RoutableAgent, type Requirements } from './available-agents.ts';
import type { Agent, AcdOptions, AuxCode, EscalationStep, Queue, SkillRequirement } from './config.ts';
import type { AcdEvent, AgentState, OfferCancelledEvent } from './events.ts';
import type { ExitReason } from './exit-reasons.ts';
import type { IndexedHeap, HeapItem } from './heap.ts';
import { QueueOrder } from './queue-order.ts';
import { HandleTimes, ServiceLevelWindow } from './statistics.ts';
import type { CallState, EnqueueRequest } from './types.ts';

/** Not-ready reasons the engine sets itself. */
export const MISSED = 'missed';
export const REJECTED = 'rejected';

/** The offeredTo of a call nobody is ringing for: one shared empty list, not a new one per call end. */
export const NO_AGENTS: readonly AgentRt[] = Object.freeze([]);

export const STATES: AgentState[] = ['logged-out', 'available', 'not-ready', 'offered', 'on-call', 'wrap-up'];
export const DAY_MS = 86_400_000;

export interface AgentRt extends RoutableAgent {
  id: string;
  ord: number;
  skills: Map<string, number>;
  state: AgentState;
  reason: string | undefined;
  since: number;
  idleSince: number;
  occupiedMs: number;
  occupiedDay: number;
  call: CallRt | undefined;
  misses: number;
  pendingNotReady: string | undefined;
  pendingLogout: boolean;
  wrap: { call: CallRt; startedAt: number; talkMs: number; extended: boolean; deadline: Deadline } | undefined;
  backoff: Deadline | undefined;
  /** Queues whose own (step 0) requirements the agent meets: the staffing counts. */
  queues: QueueRt[];
  /** Dropped from the configuration: may not log in again. */
  removed: boolean;
  /** The buckets this agent may serve, among the first bucketsSeen of the engine's allBuckets. */
  eligibleBuckets: Bucket[];
  bucketsSeen: number;
}

export interface Bucket {
  key: string;
  queue: QueueRt;
  alts: Requirements;
  heap: IndexedHeap<CallRt>;
  /** Per agent ord: 0 unknown, 1 eligible, 2 not. */
  memo: Uint8Array;
}

export interface QueueRt {
  name: string;
  cfg: Queue;
  steps: EscalationStep[];
  open: boolean;
  buckets: Map<string, Bucket>;
  calls: Set<CallRt>;
  order: QueueOrder<CallRt>;
  counts: Record<AgentState, number>;
  rrLast: number;
  aht: HandleTimes;
  sl: ServiceLevelWindow;
  breached: boolean | undefined;
  callbacksWaiting: number;
}

export interface CallRt extends HeapItem {
  callId: string;
  queue: QueueRt;
  priority: number;
  arrivedAt: number;
  joinedAt: number;
  seq: number;
  callerId: string | undefined;
  skills: SkillRequirement[] | undefined;
  state: CallState;
  /** Escalation steps of the current queue already applied. */
  step: number;
  bucket: Bucket | undefined;
  /** Replaced, never changed in place (so NO_AGENTS can be shared). */
  offeredTo: readonly AgentRt[];
  agent: AgentRt | undefined;
  connectedAt: number;
  callback: { number: string; attempts: number } | undefined;
  visited: Set<string>;
  offerDeadline: Deadline | undefined;
  escalation: Deadline | undefined;
  maxWait: Deadline | undefined;
  announce: Deadline | undefined;
  retry: Deadline | undefined;
}

/**
 * The calls a lower layer makes into a higher one (see the layering above), bound to the engine's
 * state. They are the recursion at the heart of an ACD: an agent who becomes free is routed
 * (routing.ts), routing's outcomes change agents' states (agent-states.ts), a deadline that falls
 * due moves the call on (routing.ts, leaving.ts). Going through this interface keeps the import
 * graph one-way; the work done is the same as calling the functions directly.
 */
export interface AcdEngine {
  /** routing.ts: an agent just became available; offer them the best waiting call. */
  routeAgent(a: AgentRt): void;
  /** routing.ts: a waiting call's requirements widened (escalation); offer it if anyone fits. */
  routeCall(call: CallRt): void;
  /** routing.ts: a call goes back to its place (a failed callback's retry is due). */
  requeue(call: CallRt): void;
  /** callbacks.ts: an agent's reservation for a callback ran out without an outcome. */
  callbackExpired(call: CallRt): void;
  /** routing.ts: a ringing agent is leaving; the call rings on elsewhere. */
  withdrawOffer(a: AgentRt, reason: OfferCancelledEvent['reason']): void;
  /** leaving.ts: the call leaves the engine without an agent (max wait reached). */
  exitCall(call: CallRt, reason: ExitReason): void;
  /** leaving.ts: an agent stopped staffing their queues; apply each queue's leave-when-empty rule. */
  checkLeaveWhenEmpty(a: AgentRt): void;
}

/** Everything the engine knows; the Acd owns one and hands it to the functions that work on it. */
export interface AcdState {
  readonly options: AcdOptions;
  readonly clock: Clock;
  readonly agenda: Agenda;
  readonly agents: Map<string, AgentRt>;
  readonly queues: Map<string, QueueRt>;
  readonly calls: Map<string, CallRt>;
  readonly available: AvailableAgents<AgentRt>;
  /** Buckets with at least one waiting call. */
  readonly nonEmpty: Set<Bucket>;
  auxCodes: Map<string, AuxCode>;
  /** Abandoned callers' places, by queue and caller number, for abandon-resume. */
  readonly resume: Map<string, { arrivedAt: number; seq: number; priority: number; at: number; until: number }>;
  seq: number;
  nextOrd: number;
  /** Every bucket in creation order; agents check each new one once against their skills. */
  allBuckets: Bucket[];
  /** Announce an event; the Acd delivers it once the command that caused it is complete. */
  publish(e: AcdEvent): void;
  /** The higher layers, for the lower ones to call upward (see AcdEngine). */
  readonly engine: AcdEngine;
}

/** Order within a bucket: caller priority, then original arrival, then enqueue order (queue priority is the router's). */
export function callBefore(a: CallRt, b: CallRt): boolean {
  return (
    a.priority > b.priority || (a.priority === b.priority && (a.arrivedAt < b.arrivedAt || (a.arrivedAt === b.arrivedAt && a.seq < b.seq)))
  );
}

/**
 * The caller's number as the abandon-resume key: its digits (so "+1 555-0100" and "+15550100"
 * match). Withheld or anonymous callers have none and never resume someone else's place.
 */
export function resumeKey(callerId: string | undefined): string | undefined {
  if (typeof callerId !== 'string') return undefined;
  const digits = callerId.replace(/[^0-9]/g, '');
  return digits.length >= 3 ? digits : undefined;
}

export function sameSkills(have: ReadonlyMap<string, number>, want: Record<string, number>): boolean {
  const keys = Object.keys(want);
  return keys.length === have.size && keys.every((k) => have.get(k) === want[k]);
}

export function makeQueue(s: AcdState, name: string, cfg: Queue): QueueRt {
  return {
    name,
    cfg,
    steps: [...cfg.escalation].sort((a, b) => a.after - b.after),
    open: true,
    buckets: new Map(),
    calls: new Set(),
    order: new QueueOrder<CallRt>(),
    counts: { 'logged-out': 0, available: 0, 'not-ready': 0, offered: 0, 'on-call': 0, 'wrap-up': 0 },
    rrLast: -1,
    aht: new HandleTimes(s.options.ahtSamples, cfg.ahtSeconds * 1000),
    sl: new ServiceLevelWindow(cfg.serviceLevel.window * 1000),
    breached: undefined,
    callbacksWaiting: 0,
  };
}

export function makeAgent(s: AcdState, cfg: Agent, ord: number): AgentRt {
  const now = s.clock.now();
  const a: AgentRt = {
    id: cfg.id,
    ord,
    skills: new Map(Object.entries(cfg.skills)),
    state: 'logged-out',
    reason: undefined,
    since: now,
    idleSince: now,
    occupiedMs: 0,
    occupiedDay: Math.floor(now / DAY_MS),
    call: undefined,
    misses: 0,
    pendingNotReady: undefined,
    pendingLogout: false,
    wrap: undefined,
    backoff: undefined,
    queues: [],
    removed: false,
    eligibleBuckets: [],
    bucketsSeen: 0,
  };
  for (const q of s.queues.values()) {
    if (meetsAny(a, [q.cfg.skills])) {
      a.queues.push(q);
      q.counts['logged-out']++;
    }
  }
  return a;
}

/** A new call's record, waiting in queue q at its place in line (arrival, enqueue order, priority). */
export function makeCall(
  q: QueueRt,
  req: EnqueueRequest,
  now: number,
  place: { arrivedAt: number; seq: number; priority: number },
): CallRt {
  return {
    callId: req.callId,
    queue: q,
    priority: place.priority,
    arrivedAt: place.arrivedAt,
    joinedAt: now,
    seq: place.seq,
    callerId: req.callerId,
    skills: req.skills?.map((r) => ({ skill: r.skill, minLevel: r.minLevel })),
    state: 'waiting',
    step: 0,
    bucket: undefined,
    heapIndex: -1,
    offeredTo: NO_AGENTS,
    agent: undefined,
    connectedAt: 0,
    callback: req.callback ? { number: req.callback.number, attempts: 0 } : undefined,
    visited: new Set([q.name]),
    offerDeadline: undefined,
    escalation: undefined,
    maxWait: undefined,
    announce: undefined,
    retry: undefined,
  };
}

/** One agent's skills changed: which queues they count for, and forget their eligibility memos. */
export function requalify(s: AcdState, a: AgentRt): void {
  for (const q of a.queues) q.counts[a.state]--;
  a.queues = [...s.queues.values()].filter((q) => meetsAny(a, [q.cfg.skills]));
  for (const q of a.queues) q.counts[a.state]++;
  for (const q of s.queues.values()) for (const b of q.buckets.values()) if (a.ord < b.memo.length) b.memo[a.ord] = 0;
  a.eligibleBuckets = [];
  a.bucketsSeen = 0;
}

/** Rebuild who counts for which queue, and forget eligibility memos. */
export function recount(s: AcdState): void {
  s.allBuckets = [...s.queues.values()].flatMap((q) => [...q.buckets.values()]);
  for (const q of s.queues.values()) {
    for (const st of STATES) q.counts[st] = 0;
    for (const b of q.buckets.values()) b.memo = new Uint8Array(s.nextOrd);
  }
  for (const a of s.agents.values()) {
    a.eligibleBuckets = [];
    a.bucketsSeen = 0;
    a.queues = [...s.queues.values()].filter((q) => meetsAny(a, [q.cfg.skills]));
    for (const q of a.queues) q.counts[a.state]++;
  }
}
