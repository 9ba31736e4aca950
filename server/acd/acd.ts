/**
 * The ACD (automatic call distributor): decides which waiting call goes to which agent.
 *
 * A pure command/event state machine. Call control drives it with commands (enqueue, answered,
 * rejected, callEnded, abandon, agent logins and state changes) and acts on its events (an 'offer'
 * means "ring this agent"). Timers (ring-no-answer, wrap-up, escalation, max wait, announcements,
 * reject back-off, callback retry) run on the injected clock. No I/O.
 *
 * Routing keeps one invariant after every command: no available agent is eligible for any waiting
 * call. So when an agent becomes free, every waiting call it could take is a candidate only for it
 * and the ACD picks the best call (queue priority, caller priority, arrival); when a call arrives or
 * its requirements widen, the eligible available agents compete for it and the queue's strategy
 * picks one. Both directions run off indexes (available agents by skill and level in idle order;
 * waiting calls in heaps per requirement set), never a scan of the waiting calls. Longest-idle and
 * highest-skill usually stop at the first agent they look at; least-occupied, round-robin and
 * ring-all walk the available agents holding the queue's rarest required skill.
 */
import type { Clock } from '../../lib/clock.ts';
import { Emitter } from '../../lib/events.ts';
import { log as rootLog } from '../../lib/log.ts';
import { Agenda, type Deadline } from './agenda.ts';
import { AvailableAgents, meetsAny, type RoutableAgent, type Requirements } from './available-agents.ts';
import {
  AcdOptionsSchema,
  type Agent,
  type AcdOptions,
  type AuxCode,
  type EscalationStep,
  type Queue,
  type SkillRequirement,
} from './config.ts';
import type { AcdEvent, AgentState, ExitReason, OfferCancelledEvent } from './events.ts';
import { IndexedHeap, type HeapItem } from './heap.ts';
import { QueueOrder } from './queue-order.ts';
import { estimatedWaitSeconds, HandleTimes, ServiceLevelWindow, type SlOutcome } from './statistics.ts';

const log = rootLog.child({ mod: 'acd' });

/** Not-ready reasons the engine sets itself. */
export const MISSED = 'missed';
export const REJECTED = 'rejected';

export type AcdResult = { ok: true } | { ok: false; error: string };
export type EnqueueResult =
  | { ok: true; position: number; ewtSeconds: number | null }
  | { ok: false; reason: ExitReason | 'invalid'; error: string };

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
  /** Enqueue a callback (virtual contact) instead of a live caller. */
  callback?: { number: string };
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

type CallState = 'waiting' | 'offered' | 'connected' | 'retry';

interface AgentRt extends RoutableAgent {
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

interface Bucket {
  key: string;
  queue: QueueRt;
  alts: Requirements;
  heap: IndexedHeap<CallRt>;
  /** Per agent ord: 0 unknown, 1 eligible, 2 not. */
  memo: Uint8Array;
}

interface QueueRt {
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

interface CallRt extends HeapItem {
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
  offeredTo: AgentRt[];
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

const STATES: AgentState[] = ['logged-out', 'available', 'not-ready', 'offered', 'on-call', 'wrap-up'];
const DAY_MS = 86_400_000;

function callBefore(a: CallRt, b: CallRt): boolean {
  return (
    a.priority > b.priority ||
    (a.priority === b.priority && (a.arrivedAt < b.arrivedAt || (a.arrivedAt === b.arrivedAt && a.seq < b.seq)))
  );
}

/**
 * The caller's number as the abandon-resume key: its digits (so "+1 555-0100" and "+15550100"
 * match). Withheld or anonymous callers have none and never resume someone else's place.
 */
function resumeKey(callerId: string | undefined): string | undefined {
  if (typeof callerId !== 'string') return undefined;
  const digits = callerId.replace(/[^0-9]/g, '');
  return digits.length >= 3 ? digits : undefined;
}

function sameSkills(have: ReadonlyMap<string, number>, want: Record<string, number>): boolean {
  const keys = Object.keys(want);
  return keys.length === have.size && keys.every((k) => have.get(k) === want[k]);
}

function fail(error: string): AcdResult {
  return { ok: false, error };
}
const OK: AcdResult = { ok: true };

export class Acd extends Emitter<{ event: [AcdEvent] }> {
  readonly options: AcdOptions;
  private readonly clock: Clock;
  private readonly agenda: Agenda;
  private readonly agents = new Map<string, AgentRt>();
  private readonly queues = new Map<string, QueueRt>();
  private readonly calls = new Map<string, CallRt>();
  private readonly available = new AvailableAgents<AgentRt>();
  private readonly nonEmpty = new Set<Bucket>();
  private auxCodes = new Map<string, AuxCode>();
  private readonly resume = new Map<string, { arrivedAt: number; seq: number; priority: number; at: number }>();
  private seq = 0;
  private nextOrd = 0;
  /** Every bucket in creation order; agents check each new one once against their skills. */
  private allBuckets: Bucket[] = [];

  constructor(init: AcdInit) {
    super();
    this.clock = init.clock;
    this.options = AcdOptionsSchema.parse(init.options ?? {});
    this.agenda = new Agenda(this.clock, (fn) => this.tx(fn));
    for (const a of init.auxCodes ?? []) this.auxCodes.set(a.code, a);
    for (const [name, cfg] of Object.entries(init.queues)) this.queues.set(name, this.makeQueue(name, cfg));
    for (const a of init.agents) {
      if (this.agents.has(a.id)) {
        log.warn({ agentId: a.id }, 'duplicate agent id ignored');
        continue;
      }
      this.agents.set(a.id, this.makeAgent(a, this.nextOrd++));
    }
    for (const q of this.queues.values()) {
      for (const s of q.steps) {
        if (s.overflowTo !== undefined && !this.queues.has(s.overflowTo)) {
          log.warn({ queue: q.name, overflowTo: s.overflowTo }, 'escalation overflows to an unknown queue; step will only relax');
        }
      }
    }
  }

  // ---------------------------------------------------------------- agent commands

  /** Log an agent in; ready unless `ready: false` (then not-ready with reason 'login'). */
  agentLogin(agentId: string, opts: { ready?: boolean } = {}): AcdResult {
    return this.tx(() => {
      const a = this.agents.get(agentId);
      if (!a || a.removed) return fail(`unknown agent ${agentId}`);
      if (a.state !== 'logged-out') return OK;
      a.misses = 0;
      a.pendingLogout = false;
      a.pendingNotReady = undefined;
      if (opts.ready === false) this.setState(a, 'not-ready', 'login');
      else this.becomeAvailable(a);
      return OK;
    });
  }

  /** Log out now; an agent on a call is logged out when the call ends (no wrap-up). */
  agentLogout(agentId: string, reason = 'agent'): AcdResult {
    return this.tx(() => {
      const a = this.agents.get(agentId);
      if (!a) return fail(`unknown agent ${agentId}`);
      this.forceLogout(a, reason);
      return OK;
    });
  }

  /** Become available; from wrap-up this ends wrap-up; during a call it cancels a pending not-ready. */
  agentReady(agentId: string): AcdResult {
    return this.tx(() => {
      const a = this.agents.get(agentId);
      if (!a) return fail(`unknown agent ${agentId}`);
      switch (a.state) {
        case 'logged-out':
          return fail(`agent ${agentId} is not logged in`);
        case 'available':
          return OK;
        case 'not-ready':
          this.agenda.cancel(a.backoff);
          a.backoff = undefined;
          this.becomeAvailable(a);
          return OK;
        case 'wrap-up':
          a.pendingNotReady = undefined;
          this.finishWrapUp(a, 'agent');
          return OK;
        default:
          // "Ready" while ringing or talking: the agent wants calls after this one after all.
          a.pendingNotReady = undefined;
          a.pendingLogout = false;
          return OK;
      }
    });
  }

  /** Not ready with an aux code; during a call or ring it takes effect when the call is done. */
  agentNotReady(agentId: string, code: string): AcdResult {
    return this.tx(() => {
      const a = this.agents.get(agentId);
      if (!a) return fail(`unknown agent ${agentId}`);
      if (!this.auxCodes.has(code)) {
        const known = [...this.auxCodes.keys()].join(', ') || 'none configured';
        return fail(`unknown aux code "${code}" (known: ${known})`);
      }
      switch (a.state) {
        case 'logged-out':
          return fail(`agent ${agentId} is not logged in`);
        case 'available':
          this.available.remove(a);
          this.setState(a, 'not-ready', code);
          this.checkLeaveWhenEmpty(a);
          return OK;
        case 'not-ready':
          this.agenda.cancel(a.backoff);
          a.backoff = undefined;
          if (a.reason !== code) this.setState(a, 'not-ready', code);
          return OK;
        case 'wrap-up':
          a.pendingNotReady = code;
          this.finishWrapUp(a, 'agent');
          return OK;
        default:
          a.pendingNotReady = code;
          return OK;
      }
    });
  }

  endWrapUp(agentId: string): AcdResult {
    return this.tx(() => {
      const a = this.agents.get(agentId);
      if (!a) return fail(`unknown agent ${agentId}`);
      if (a.state !== 'wrap-up') return fail(`agent ${agentId} is not in wrap-up`);
      this.finishWrapUp(a, 'agent');
      return OK;
    });
  }

  /** Extend the current wrap-up once by up to the queue's wrapUpExtendMax seconds. */
  extendWrapUp(agentId: string, seconds: number): AcdResult {
    return this.tx(() => {
      const a = this.agents.get(agentId);
      if (!a) return fail(`unknown agent ${agentId}`);
      const w = a.wrap;
      if (a.state !== 'wrap-up' || !w) return fail(`agent ${agentId} is not in wrap-up`);
      if (w.extended) return fail('wrap-up may be extended only once');
      const max = w.call.queue.cfg.wrapUpExtendMax;
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > max) {
        return fail(`extension must be 1..${max} seconds`);
      }
      w.extended = true;
      const endsAt = w.deadline.at + Math.round(seconds * 1000);
      this.agenda.cancel(w.deadline);
      w.deadline = this.agenda.at(endsAt, () => this.finishWrapUp(a, 'timer'));
      this.publish({ type: 'wrapupExtend', at: this.now(), agentId: a.id, callId: w.call.callId, queue: w.call.queue.name, endsAt });
      return OK;
    });
  }

  // ---------------------------------------------------------------- call commands

  enqueue(req: EnqueueRequest): EnqueueResult {
    return this.tx((): EnqueueResult => {
      const bad = (error: string): EnqueueResult => ({ ok: false, reason: 'invalid', error });
      if (typeof req?.callId !== 'string' || req.callId === '') return bad('callId required');
      if (this.calls.has(req.callId)) return bad(`call ${req.callId} is already in the ACD`);
      const q = this.queues.get(req.queue);
      if (!q) return bad(`unknown queue ${req.queue}`);
      const priority = req.priority ?? 0;
      if (!Number.isInteger(priority) || priority < 0 || priority > 100) return bad('priority must be an integer 0..100');
      if (req.skills !== undefined) {
        if (!Array.isArray(req.skills) || req.skills.length === 0) return bad('skills, when given, must be a non-empty list');
        for (const s of req.skills) {
          if (typeof s?.skill !== 'string' || !Number.isInteger(s.minLevel) || s.minLevel < 1 || s.minLevel > 10) {
            return bad('each skill needs a name and a minLevel 1..10');
          }
        }
      }
      if (req.callback !== undefined && (typeof req.callback.number !== 'string' || req.callback.number === '')) {
        return bad('callback needs a number');
      }
      const now = this.now();
      const refuse = (reason: ExitReason, error: string): EnqueueResult => {
        this.publish({ type: 'exit', at: now, callId: req.callId, queue: q.name, reason, waitedMs: 0 });
        return { ok: false, reason, error };
      };
      if (!q.open) return refuse('closed', `queue ${q.name} is closed`);
      if (q.cfg.maxLength !== undefined && q.calls.size >= q.cfg.maxLength) return refuse('full', `queue ${q.name} is full`);
      if (!this.emptyRuleHolds(q, q.cfg.joinWhenEmpty)) return refuse('no-agents', `no agents for queue ${q.name}`);

      let arrivedAt = typeof req.arrivedAt === 'number' && Number.isFinite(req.arrivedAt) ? Math.min(req.arrivedAt, now) : now;
      let seq = ++this.seq;
      let resumed = false;
      let prio = priority;
      const resumeId = resumeKey(req.callerId);
      if (q.cfg.abandonResume > 0 && resumeId) {
        const key = `${q.name}\n${resumeId}`;
        const r = this.resume.get(key);
        if (r && now - r.at <= q.cfg.abandonResume * 1000) {
          arrivedAt = r.arrivedAt;
          seq = r.seq;
          prio = Math.max(prio, r.priority);
          resumed = true;
        }
        this.resume.delete(key);
      }
      const call: CallRt = {
        callId: req.callId,
        queue: q,
        priority: prio,
        arrivedAt,
        joinedAt: now,
        seq,
        callerId: req.callerId,
        skills: req.skills?.map((s) => ({ skill: s.skill, minLevel: s.minLevel })),
        state: 'waiting',
        step: 0,
        bucket: undefined,
        heapIndex: -1,
        offeredTo: [],
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
      this.calls.set(call.callId, call);
      q.calls.add(call);
      call.step = this.dueSteps(q, call, now);
      this.place(call);
      const position = q.order.position(call);
      const ewtSeconds = this.ewt(q, position);
      this.publish({
        type: 'enqueue',
        at: now,
        callId: call.callId,
        queue: q.name,
        priority: prio,
        arrivedAt,
        position,
        ewtSeconds,
        resumed,
        callback: call.callback !== undefined,
      });
      if (call.callback) {
        q.callbacksWaiting++;
        this.publish({ type: 'callbackRequested', at: now, callId: call.callId, queue: q.name, number: call.callback.number });
      } else {
        this.armMaxWait(call);
        this.armAnnounce(call);
      }
      this.armEscalation(call);
      this.routeCall(call);
      if (call.state !== 'waiting') return { ok: true, position: 1, ewtSeconds: 0 };
      return { ok: true, position, ewtSeconds };
    });
  }

  /** The offered agent picked up (for a callback: the customer answered too). */
  answered(callId: string, agentId: string): AcdResult {
    return this.tx(() => {
      const call = this.calls.get(callId);
      const a = this.agents.get(agentId);
      if (!call) return fail(`unknown call ${callId}`);
      if (!a) return fail(`unknown agent ${agentId}`);
      if (call.state !== 'offered' || a.call !== call || a.state !== 'offered') {
        return fail(`call ${callId} is not ringing agent ${agentId}`);
      }
      const now = this.now();
      this.agenda.cancel(call.offerDeadline);
      call.offerDeadline = undefined;
      const others = call.offeredTo.filter((o) => o !== a);
      call.offeredTo = [];
      call.state = 'connected';
      call.agent = a;
      call.connectedAt = now;
      this.cancelWaitTimers(call);
      if (call.callback) call.queue.callbacksWaiting--;
      // Connected calls no longer count against the queue's length.
      call.queue.calls.delete(call);
      a.misses = 0;
      this.setState(a, 'on-call', undefined, call);
      const waitedMs = now - call.arrivedAt;
      const within = waitedMs <= call.queue.cfg.serviceLevel.threshold * 1000;
      this.publish({
        type: 'connect',
        at: now,
        callId,
        agentId,
        queue: call.queue.name,
        waitedMs,
        withinThreshold: within,
        callback: call.callback !== undefined,
      });
      this.recordSl(call.queue, within ? 'met' : 'late');
      for (const o of others) {
        o.call = undefined;
        this.emitCancelled(o, call, 'answered-elsewhere');
        this.afterWork(o);
      }
      return OK;
    });
  }

  /** The offered agent declined (softphone reject, 486/603): back-off, and the call rings on. */
  rejected(callId: string, agentId: string): AcdResult {
    return this.tx(() => {
      const call = this.calls.get(callId);
      const a = this.agents.get(agentId);
      if (!call) return fail(`unknown call ${callId}`);
      if (!a) return fail(`unknown agent ${agentId}`);
      if (call.state !== 'offered' || a.call !== call || a.state !== 'offered') {
        return fail(`call ${callId} is not ringing agent ${agentId}`);
      }
      this.publish({ type: 'reject', at: this.now(), callId, agentId, queue: call.queue.name });
      call.offeredTo = call.offeredTo.filter((o) => o !== a);
      a.call = undefined;
      if (a.pendingLogout || a.pendingNotReady !== undefined || this.options.rejectDelay === 0) {
        this.afterWork(a);
      } else {
        this.setState(a, 'not-ready', REJECTED);
        a.backoff = this.agenda.after(this.options.rejectDelay * 1000, () => {
          a.backoff = undefined;
          if (a.state === 'not-ready' && a.reason === REJECTED) this.becomeAvailable(a);
        });
      }
      if (call.offeredTo.length === 0) this.requeue(call);
      return OK;
    });
  }

  /** The call ended after being answered: the agent goes to wrap-up. Before an answer it is an abandon. */
  callEnded(callId: string): AcdResult {
    return this.tx(() => {
      const call = this.calls.get(callId);
      if (!call) return fail(`unknown call ${callId}`);
      if (call.state !== 'connected') return this.abandonCall(call);
      const a = call.agent!;
      const now = this.now();
      const talkMs = now - call.connectedAt;
      this.publish({ type: 'callEnd', at: now, callId, agentId: a.id, queue: call.queue.name, talkMs });
      this.dropCall(call);
      a.call = undefined;
      this.addOccupied(a, talkMs);
      const wrapMs = call.queue.cfg.wrapUp * 1000;
      if (a.pendingLogout || wrapMs === 0) {
        call.queue.aht.record(talkMs);
        this.afterWork(a);
        return OK;
      }
      const endsAt = now + wrapMs;
      a.wrap = {
        call,
        startedAt: now,
        talkMs,
        extended: false,
        deadline: this.agenda.at(endsAt, () => this.finishWrapUp(a, 'timer')),
      };
      this.setState(a, 'wrap-up', undefined, call);
      this.publish({ type: 'wrapupStart', at: now, agentId: a.id, callId, queue: call.queue.name, endsAt });
      return OK;
    });
  }

  /** The caller hung up before an agent answered. */
  abandon(callId: string): AcdResult {
    return this.tx(() => {
      const call = this.calls.get(callId);
      if (!call) return fail(`unknown call ${callId}`);
      if (call.state === 'connected') return fail(`call ${callId} is connected; use callEnded`);
      return this.abandonCall(call);
    });
  }

  /** Withdraw a call or callback that has not reached an agent (exit 'cancelled'). */
  cancel(callId: string): AcdResult {
    return this.tx(() => {
      const call = this.calls.get(callId);
      if (!call) return fail(`unknown call ${callId}`);
      if (call.state === 'connected') return fail(`call ${callId} is connected; use callEnded`);
      this.exitCall(call, 'cancelled');
      return OK;
    });
  }

  /**
   * Turn a waiting caller into a callback that keeps the caller's place. Call control then lets
   * the caller go; when the callback reaches the head, a 'callbackDial' event reserves an agent.
   */
  requestCallback(req: { callId: string; number: string }): AcdResult {
    return this.tx(() => {
      const call = this.calls.get(req?.callId);
      if (!call) return fail(`unknown call ${req?.callId}`);
      if (typeof req.number !== 'string' || req.number === '') return fail('callback needs a number');
      if (call.callback) return fail(`call ${call.callId} is already a callback`);
      if (call.state !== 'waiting') return fail(`call ${call.callId} is ${call.state}, not waiting`);
      call.callback = { number: req.number, attempts: 0 };
      call.queue.callbacksWaiting++;
      this.agenda.cancel(call.maxWait);
      this.agenda.cancel(call.announce);
      call.maxWait = call.announce = undefined;
      this.publish({ type: 'callbackRequested', at: this.now(), callId: call.callId, queue: call.queue.name, number: req.number });
      return OK;
    });
  }

  /** Dialling the callback customer failed: free the agent; retry later in the same place, or give up. */
  callbackFailed(callId: string, agentId: string): AcdResult {
    return this.tx(() => {
      const call = this.calls.get(callId);
      const a = this.agents.get(agentId);
      if (!call || !call.callback) return fail(`unknown callback ${callId}`);
      if (!a || a.call !== call || call.state !== 'offered') return fail(`callback ${callId} is not reserved for agent ${agentId}`);
      this.agenda.cancel(call.offerDeadline);
      call.offerDeadline = undefined;
      call.offeredTo = [];
      a.call = undefined;
      const attempt = ++call.callback.attempts;
      const q = call.queue;
      const now = this.now();
      if (attempt >= q.cfg.callback.maxAttempts) {
        this.publish({ type: 'callbackFailed', at: now, callId, agentId, queue: q.name, attempt });
        this.afterWork(a);
        this.exitCall(call, 'callback-failed');
        return OK;
      }
      const retryAt = now + q.cfg.callback.retryDelay * 1000;
      this.publish({ type: 'callbackFailed', at: now, callId, agentId, queue: q.name, attempt, retryAt });
      call.state = 'retry';
      call.retry = this.agenda.at(retryAt, () => {
        call.retry = undefined;
        if (call.state === 'retry') this.requeue(call);
      });
      this.afterWork(a);
      return OK;
    });
  }

  /** Close (refuse new callers with exit 'closed') or reopen a queue. Waiting callers stay. */
  setQueueOpen(queue: string, open: boolean): AcdResult {
    const q = this.queues.get(queue);
    if (!q) return fail(`unknown queue ${queue}`);
    q.open = open;
    return OK;
  }

  // ---------------------------------------------------------------- configuration

  /**
   * Apply a reloaded configuration without dropping calls. Queues: changed ones keep their callers
   * (re-sorted under the new requirements, escalation steps kept by index); removed ones send
   * their callers out with exit 'closed'. Agents: new ones appear logged out; removed ones are
   * logged out (after their call, if on one) and may not log in; changed skills apply at once.
   * An available agent whose skills change goes to the back of the idle order.
   */
  configure(next: { queues?: Record<string, Queue>; agents?: Agent[]; auxCodes?: AuxCode[] }): AcdResult {
    return this.tx(() => {
      if (next.auxCodes) this.auxCodes = new Map(next.auxCodes.map((a) => [a.code, a]));
      if (next.queues) {
        for (const [name, q] of [...this.queues]) {
          if (next.queues[name]) continue;
          q.open = false;
          for (const c of [...q.calls]) this.exitCall(c, 'closed');
          this.queues.delete(name);
        }
        for (const [name, cfg] of Object.entries(next.queues)) {
          const q = this.queues.get(name);
          if (!q) {
            this.queues.set(name, this.makeQueue(name, cfg));
            continue;
          }
          const waiting = [...q.calls].filter((c) => c.state === 'waiting');
          for (const c of waiting) this.unplace(c);
          q.cfg = cfg;
          q.steps = [...cfg.escalation].sort((a, b) => a.after - b.after);
          q.buckets = new Map();
          for (const c of q.calls) c.step = Math.min(c.step, q.steps.length);
          for (const c of waiting) {
            this.place(c);
            this.armEscalation(c);
          }
        }
      }
      if (next.agents) {
        const wanted = new Map(next.agents.map((a) => [a.id, a]));
        for (const a of this.agents.values()) {
          const cfg = wanted.get(a.id);
          if (!cfg) {
            if (!a.removed) {
              a.removed = true;
              this.forceLogout(a, 'removed');
            }
            continue;
          }
          a.removed = false;
          if (!sameSkills(a.skills, cfg.skills)) this.applySkills(a, cfg.skills);
        }
        for (const cfg of next.agents) if (!this.agents.has(cfg.id)) this.agents.set(cfg.id, this.makeAgent(cfg, this.nextOrd++));
      }
      this.recount();
      for (const a of [...this.agents.values()]) if (a.state === 'available') this.routeAgent(a);
      return OK;
    });
  }

  /** Change one agent's skills now (a supervisor borrowing an agent into another skill group). */
  setAgentSkills(agentId: string, skills: Record<string, number>): AcdResult {
    return this.tx(() => {
      const a = this.agents.get(agentId);
      if (!a || a.removed) return fail(`unknown agent ${agentId}`);
      if (typeof skills !== 'object' || skills === null) return fail('skills must be an object of skill -> level');
      for (const [k, v] of Object.entries(skills)) {
        if (k === '' || !Number.isInteger(v) || v < 1 || v > 10) return fail(`skill "${k}": level must be an integer 1..10`);
      }
      this.applySkills(a, skills);
      for (const q of a.queues) q.counts[a.state]--;
      a.queues = [...this.queues.values()].filter((q) => meetsAny(a, [q.cfg.skills]));
      for (const q of a.queues) q.counts[a.state]++;
      for (const q of this.queues.values()) for (const b of q.buckets.values()) if (a.ord < b.memo.length) b.memo[a.ord] = 0;
      a.eligibleBuckets = [];
      a.bucketsSeen = 0;
      if (a.state === 'available') this.routeAgent(a);
      return OK;
    });
  }

  private applySkills(a: AgentRt, skills: Record<string, number>): void {
    const indexed = this.available.has(a);
    if (indexed) this.available.remove(a);
    a.skills = new Map(Object.entries(skills));
    if (indexed) {
      // The index keeps agents in idle order by appending: re-entering means now.
      a.idleSince = this.now();
      this.available.add(a);
    }
  }

  private forceLogout(a: AgentRt, reason: string): void {
    switch (a.state) {
      case 'logged-out':
        return;
      case 'on-call':
        a.pendingLogout = true;
        return;
      case 'wrap-up':
        a.pendingLogout = true;
        this.finishWrapUp(a, 'agent');
        return;
      case 'offered':
        this.withdrawOffer(a, 'logout');
        break;
      default:
        break;
    }
    this.logout(a, reason);
  }

  /** Rebuild who counts for which queue, and forget eligibility memos. */
  private recount(): void {
    this.allBuckets = [...this.queues.values()].flatMap((q) => [...q.buckets.values()]);
    for (const q of this.queues.values()) {
      for (const s of STATES) q.counts[s] = 0;
      for (const b of q.buckets.values()) b.memo = new Uint8Array(this.nextOrd);
    }
    for (const a of this.agents.values()) {
      a.eligibleBuckets = [];
      a.bucketsSeen = 0;
      a.queues = [...this.queues.values()].filter((q) => meetsAny(a, [q.cfg.skills]));
      for (const q of a.queues) q.counts[a.state]++;
    }
  }

  // ---------------------------------------------------------------- views

  queueStats(queue: string): QueueStats | undefined {
    const q = this.queues.get(queue);
    if (!q) return undefined;
    const now = this.now();
    const oldest = q.order.oldest();
    const c = q.counts;
    const staffed = c.available + c.offered + c['on-call'] + c['wrap-up'];
    const sl = q.sl.counts(now);
    return {
      queue: q.name,
      open: q.open,
      waiting: q.order.size,
      callbacks: q.callbacksWaiting,
      offered: q.calls.size - q.order.size - this.retrying(q),
      longestWaitMs: oldest ? now - oldest.arrivedAt : 0,
      agentsLoggedIn: staffed + c['not-ready'],
      agentsStaffed: staffed,
      agentsAvailable: c.available,
      agentsOnCall: c['on-call'],
      agentsWrapUp: c['wrap-up'],
      agentsNotReady: c['not-ready'],
      serviceLevelLive: q.sl.value(now),
      serviceLevelTarget: q.cfg.serviceLevel.target,
      answered: sl.answered,
      abandoned: sl.abandoned,
      ahtSeconds: Math.round(q.aht.meanMs() / 1000),
      ewtSeconds: this.ewt(q, q.order.size + 1),
    };
  }

  queueNames(): string[] {
    return [...this.queues.keys()];
  }

  agentView(agentId: string): AgentView | undefined {
    const a = this.agents.get(agentId);
    return a ? this.viewAgent(a) : undefined;
  }

  callView(callId: string): CallView | undefined {
    const c = this.calls.get(callId);
    return c ? this.viewCall(c, this.now()) : undefined;
  }

  snapshot(): AcdSnapshot {
    const now = this.now();
    return {
      at: now,
      queues: [...this.queues.keys()].map((n) => this.queueStats(n)!),
      agents: [...this.agents.values()].map((a) => this.viewAgent(a)),
      calls: [...this.calls.values()].map((c) => this.viewCall(c, now)),
    };
  }

  /**
   * Check the engine's invariants; returns the violations (empty when sound). O(agents x buckets):
   * for tests and simulations, not the hot path.
   */
  audit(): string[] {
    const out: string[] = [];
    const holder = new Map<CallRt, AgentRt[]>();
    for (const a of this.agents.values()) {
      const indexed = this.available.has(a);
      if (indexed !== (a.state === 'available')) out.push(`agent ${a.id} ${a.state} but indexed=${indexed}`);
      if (a.state === 'offered' || a.state === 'on-call') {
        if (!a.call) out.push(`agent ${a.id} ${a.state} without a call`);
        else holder.set(a.call, [...(holder.get(a.call) ?? []), a]);
        if (a.call && !this.calls.has(a.call.callId)) out.push(`agent ${a.id} holds a call the ACD dropped`);
      } else if (a.call) out.push(`agent ${a.id} ${a.state} still holds call ${a.call.callId}`);
      if (a.state === 'available') {
        for (const b of this.nonEmpty) {
          if (meetsAny(a, b.alts)) out.push(`agent ${a.id} available while ${b.heap.peek()?.callId} waits in ${b.key}`);
        }
      }
    }
    for (const c of this.calls.values()) {
      const hs = holder.get(c) ?? [];
      if (c.state === 'connected' && (hs.length !== 1 || hs[0] !== c.agent)) out.push(`call ${c.callId} connected to ${hs.length} agents`);
      if (c.state === 'offered' && (hs.length === 0 || hs.length !== c.offeredTo.length)) out.push(`call ${c.callId} offered to ${hs.length} agents`);
      if (c.state === 'waiting' && (!c.bucket || !c.bucket.heap.has(c))) out.push(`call ${c.callId} waiting outside its heap`);
      if (c.state !== 'waiting' && c.heapIndex !== -1) out.push(`call ${c.callId} ${c.state} but in a heap`);
      if (c.state !== 'connected' && !c.queue.calls.has(c)) out.push(`call ${c.callId} missing from queue ${c.queue.name}`);
    }
    for (const q of this.queues.values()) {
      for (const s of STATES) {
        let n = 0;
        for (const a of this.agents.values()) if (a.state === s && a.queues.includes(q)) n++;
        if (n !== q.counts[s]) out.push(`queue ${q.name} counts ${s}=${q.counts[s]} but is ${n}`);
      }
    }
    return out;
  }

  /** Stop all timers (engine shutdown). */
  dispose(): void {
    this.agenda.dispose();
  }

  // ---------------------------------------------------------------- construction

  private makeQueue(name: string, cfg: Queue): QueueRt {
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
      aht: new HandleTimes(this.options.ahtSamples, cfg.ahtSeconds * 1000),
      sl: new ServiceLevelWindow(cfg.serviceLevel.window * 1000),
      breached: undefined,
      callbacksWaiting: 0,
    };
  }

  private makeAgent(cfg: Agent, ord: number): AgentRt {
    const now = this.now();
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
    for (const q of this.queues.values()) {
      if (meetsAny(a, [q.cfg.skills])) {
        a.queues.push(q);
        q.counts['logged-out']++;
      }
    }
    return a;
  }

  // ---------------------------------------------------------------- routing

  /** Find agent(s) for a waiting call; offer if any. */
  private routeCall(call: CallRt): void {
    if (call.state !== 'waiting' || !call.bucket) return;
    const q = call.queue;
    // A callback reserves one agent: ringing several for one customer dial makes no sense.
    const limit = q.cfg.strategy === 'ring-all' && !call.callback ? this.options.ringAllMax : 1;
    const agents = this.available.select(call.bucket.alts, q.cfg.strategy, q.rrLast, limit);
    if (agents.length > 0) this.offer(call, agents);
  }

  /** Find the best waiting call for an agent who just became available; offer if any. */
  private routeAgent(a: AgentRt): void {
    if (a.state !== 'available') return;
    let best: CallRt | undefined;
    let bestQp = -1;
    const consider = (b: Bucket): void => {
      const head = b.heap.peek();
      if (!head) return;
      const qp = b.queue.cfg.priority;
      if (best && (qp < bestQp || (qp === bestQp && !callBefore(head, best)))) return;
      best = head;
      bestQp = qp;
    };
    // Learn the buckets created since this agent last looked (each agent/bucket pair once).
    if (a.bucketsSeen < this.allBuckets.length) {
      for (let i = a.bucketsSeen; i < this.allBuckets.length; i++) {
        const b = this.allBuckets[i]!;
        if (meetsAny(a, b.alts)) a.eligibleBuckets.push(b);
      }
      a.bucketsSeen = this.allBuckets.length;
    }
    // Walk whichever is shorter: the buckets this agent can serve, or the buckets with callers.
    if (a.eligibleBuckets.length <= this.nonEmpty.size) {
      for (const b of a.eligibleBuckets) consider(b);
    } else {
      for (const b of this.nonEmpty) if (this.eligible(a, b)) consider(b);
    }
    if (best) this.offer(best, [a]);
  }

  private eligible(a: AgentRt, b: Bucket): boolean {
    let m = b.memo[a.ord];
    if (m === undefined) return meetsAny(a, b.alts);
    if (m === 0) {
      m = meetsAny(a, b.alts) ? 1 : 2;
      b.memo[a.ord] = m;
    }
    return m === 1;
  }

  private offer(call: CallRt, agents: AgentRt[]): void {
    const now = this.now();
    const q = call.queue;
    this.unplace(call);
    call.state = 'offered';
    call.offeredTo = agents;
    const expiresAt = now + q.cfg.offerTimeout * 1000;
    call.offerDeadline = this.agenda.at(expiresAt, () => this.offerExpired(call));
    q.rrLast = agents[0]!.ord;
    const waitedMs = now - call.arrivedAt;
    for (const a of agents) {
      this.available.remove(a);
      this.setState(a, 'offered', undefined, call);
      if (call.callback) {
        this.publish({
          type: 'callbackDial',
          at: now,
          callId: call.callId,
          agentId: a.id,
          queue: q.name,
          number: call.callback.number,
          attempt: call.callback.attempts + 1,
          waitedMs,
          expiresAt,
        });
      } else {
        this.publish({
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
  private offerExpired(call: CallRt): void {
    call.offerDeadline = undefined;
    if (call.state !== 'offered') return;
    const ringAll = call.queue.cfg.strategy === 'ring-all';
    const agents = call.offeredTo;
    call.offeredTo = [];
    const now = this.now();
    for (const a of agents) {
      a.call = undefined;
      if (!ringAll) a.misses++;
      this.publish({ type: 'rona', at: now, callId: call.callId, agentId: a.id, queue: call.queue.name, penalised: !ringAll, misses: a.misses });
      if (ringAll) {
        this.emitCancelled(a, call, 'timeout');
        this.afterWork(a, false);
      } else if (this.options.maxMisses > 0 && a.misses >= this.options.maxMisses) {
        this.logout(a, 'rona');
      } else if (a.pendingLogout) {
        this.logout(a, 'agent');
      } else {
        // A break asked for while ringing wins over the 'missed' mark.
        const code = a.pendingNotReady ?? MISSED;
        a.pendingNotReady = undefined;
        this.setState(a, 'not-ready', code);
        this.checkLeaveWhenEmpty(a);
      }
    }
    this.requeue(call);
    // Ring-all agents were held back so the same call could ring them again.
    if (ringAll) for (const a of agents) this.routeAgent(a);
  }

  /** An offered agent is withdrawn (logout): the call rings on elsewhere. */
  private withdrawOffer(a: AgentRt, reason: OfferCancelledEvent['reason']): void {
    const call = a.call;
    if (!call) return;
    a.call = undefined;
    call.offeredTo = call.offeredTo.filter((o) => o !== a);
    this.emitCancelled(a, call, reason);
    if (call.offeredTo.length === 0) {
      this.agenda.cancel(call.offerDeadline);
      call.offerDeadline = undefined;
      this.requeue(call);
    }
  }

  /** A call whose offer failed goes back to its place (its arrival time keeps it at the head). */
  private requeue(call: CallRt): void {
    this.agenda.cancel(call.offerDeadline);
    call.offerDeadline = undefined;
    call.state = 'waiting';
    call.offeredTo = [];
    const q = call.queue;
    const now = this.now();
    if (!call.callback && q.cfg.maxWait !== undefined && now >= call.joinedAt + q.cfg.maxWait * 1000) {
      this.exitCall(call, 'timeout');
      return;
    }
    if (!call.callback && !this.emptyRuleHolds(q, q.cfg.leaveWhenEmpty)) {
      this.exitCall(call, 'no-agents');
      return;
    }
    this.place(call);
    this.armEscalation(call);
    this.routeCall(call);
  }

  // ---------------------------------------------------------------- queue placement

  private place(call: CallRt): void {
    const b = this.bucketFor(call);
    call.bucket = b;
    b.heap.push(call);
    this.nonEmpty.add(b);
    call.queue.order.insert(call);
  }

  private unplace(call: CallRt): void {
    const b = call.bucket;
    if (b && b.heap.remove(call)) {
      if (b.heap.size === 0) this.nonEmpty.delete(b);
      call.queue.order.remove(call);
    }
    call.bucket = undefined;
  }

  private bucketFor(call: CallRt): Bucket {
    const q = call.queue;
    const key = call.skills ? `${call.step}|${JSON.stringify(call.skills)}` : `${call.step}`;
    let b = q.buckets.get(key);
    if (!b) {
      let alts: SkillRequirement[][] = [(call.skills ?? q.cfg.skills).map((s) => ({ ...s }))];
      for (const s of q.steps.slice(0, call.step)) {
        if (s.relaxMinLevel !== undefined) {
          const relax = s.relaxMinLevel;
          alts = alts.map((conj) => conj.map((r) => ({ skill: r.skill, minLevel: Math.min(r.minLevel, relax) })));
        }
        for (const add of s.addSkills ?? []) alts.push([{ ...add }]);
      }
      b = {
        key: `${q.name}#${key}`,
        queue: q,
        alts,
        heap: new IndexedHeap<CallRt>(callBefore),
        memo: new Uint8Array(this.nextOrd),
      };
      q.buckets.set(key, b);
      this.allBuckets.push(b);
    }
    return b;
  }

  // ---------------------------------------------------------------- escalation & timers

  /** Steps of the queue already due for this call's age. */
  private dueSteps(q: QueueRt, call: CallRt, now: number): number {
    let n = 0;
    for (const s of q.steps) {
      // Overflow steps are taken one by one by the timer so that each is announced and applied.
      if (now - call.arrivedAt >= s.after * 1000 && s.overflowTo === undefined) n++;
      else break;
    }
    return n;
  }

  private armEscalation(call: CallRt): void {
    this.agenda.cancel(call.escalation);
    call.escalation = undefined;
    const s = call.queue.steps[call.step];
    if (!s) return;
    const at = Math.max(this.now(), call.arrivedAt + s.after * 1000);
    call.escalation = this.agenda.at(at, () => {
      call.escalation = undefined;
      // A ringing call escalates when it comes back (requeue re-arms).
      if (call.state === 'waiting') this.escalate(call);
    });
  }

  private escalate(call: CallRt): void {
    const q = call.queue;
    const step = call.step;
    const s = q.steps[step];
    if (!s) return;
    const target = s.overflowTo !== undefined ? this.queues.get(s.overflowTo) : undefined;
    const moving = target !== undefined && !call.visited.has(target.name) && target.open;
    this.publish({
      type: 'escalate',
      at: this.now(),
      callId: call.callId,
      queue: q.name,
      step,
      ...(moving ? { overflowTo: target.name } : {}),
    });
    this.unplace(call);
    if (moving) {
      q.calls.delete(call);
      if (call.callback) {
        q.callbacksWaiting--;
        target.callbacksWaiting++;
      }
      call.queue = target;
      call.visited.add(target.name);
      target.calls.add(call);
      call.step = this.dueSteps(target, call, this.now());
      // The overflow queue's own maxWait counts from joining it.
      call.joinedAt = this.now();
      this.agenda.cancel(call.maxWait);
      call.maxWait = undefined;
      if (!call.callback) this.armMaxWait(call);
    } else {
      call.step = step + 1;
    }
    this.place(call);
    this.armEscalation(call);
    this.routeCall(call);
  }

  private armMaxWait(call: CallRt): void {
    const mw = call.queue.cfg.maxWait;
    if (mw === undefined) return;
    call.maxWait = this.agenda.at(call.joinedAt + mw * 1000, () => {
      call.maxWait = undefined;
      // A ringing call is judged when the ring ends (requeue).
      if (call.state === 'waiting' && !call.callback) this.exitCall(call, 'timeout');
    });
  }

  private armAnnounce(call: CallRt): void {
    const period = call.queue.cfg.announce.period;
    if (period <= 0) return;
    call.announce = this.agenda.after(period * 1000, () => {
      call.announce = undefined;
      if (call.callback || !this.calls.has(call.callId)) return;
      if (call.state === 'waiting') {
        const position = call.queue.order.position(call);
        this.publish({
          type: 'position',
          at: this.now(),
          callId: call.callId,
          queue: call.queue.name,
          position,
          ewtSeconds: this.ewt(call.queue, position),
        });
      }
      if (call.state === 'waiting' || call.state === 'offered') this.armAnnounce(call);
    });
  }

  private cancelWaitTimers(call: CallRt): void {
    for (const d of [call.escalation, call.maxWait, call.announce, call.retry, call.offerDeadline]) this.agenda.cancel(d);
    call.escalation = call.maxWait = call.announce = call.retry = call.offerDeadline = undefined;
  }

  // ---------------------------------------------------------------- leaving

  private abandonCall(call: CallRt): AcdResult {
    if (call.callback) {
      this.exitCall(call, 'cancelled');
      return OK;
    }
    const now = this.now();
    const q = call.queue;
    const waitedMs = now - call.arrivedAt;
    const whileOffered = call.state === 'offered';
    const ringing = call.offeredTo;
    this.dropCall(call);
    this.publish({ type: 'abandon', at: now, callId: call.callId, queue: q.name, waitedMs, whileOffered });
    this.recordSl(q, waitedMs > q.cfg.serviceLevel.threshold * 1000 ? 'abandoned' : 'short-abandon');
    for (const a of ringing) {
      a.call = undefined;
      this.emitCancelled(a, call, 'abandon');
      this.afterWork(a);
    }
    const resumeId = resumeKey(call.callerId);
    if (q.cfg.abandonResume > 0 && resumeId) {
      const key = `${q.name}\n${resumeId}`;
      const entry = { arrivedAt: call.arrivedAt, seq: call.seq, priority: call.priority, at: now };
      this.resume.set(key, entry);
      this.agenda.at(now + q.cfg.abandonResume * 1000 + 1, () => {
        if (this.resume.get(key) === entry) this.resume.delete(key);
      });
    }
    return OK;
  }

  private exitCall(call: CallRt, reason: ExitReason): void {
    const now = this.now();
    const q = call.queue;
    const ringing = call.offeredTo;
    this.dropCall(call);
    this.publish({ type: 'exit', at: now, callId: call.callId, queue: q.name, reason, waitedMs: now - call.arrivedAt });
    if (reason === 'timeout' || reason === 'no-agents') this.recordSl(q, 'timeout');
    for (const a of ringing) {
      a.call = undefined;
      this.emitCancelled(a, call, 'exit');
      this.afterWork(a);
    }
  }

  /** Forget a call: timers, heap, queue. */
  private dropCall(call: CallRt): void {
    this.cancelWaitTimers(call);
    if (call.state === 'waiting') this.unplace(call);
    if (call.callback && call.state !== 'connected') call.queue.callbacksWaiting--;
    call.queue.calls.delete(call);
    this.calls.delete(call.callId);
    call.offeredTo = [];
  }

  private checkLeaveWhenEmpty(a: AgentRt): void {
    for (const q of a.queues) {
      const rule = q.cfg.leaveWhenEmpty;
      if (rule === 'always' || q.order.size === 0 || this.emptyRuleHolds(q, rule)) continue;
      const out = [...q.order.values()].filter((c) => !c.callback);
      for (const c of out) this.exitCall(c, 'no-agents');
    }
  }

  private emptyRuleHolds(q: QueueRt, rule: Queue['joinWhenEmpty']): boolean {
    const c = q.counts;
    const staffed = c.available + c.offered + c['on-call'] + c['wrap-up'];
    if (rule === 'staffed') return staffed > 0;
    if (rule === 'logged-in') return staffed + c['not-ready'] > 0;
    return true;
  }

  // ---------------------------------------------------------------- agent transitions

  private setState(a: AgentRt, to: AgentState, reason?: string, call?: CallRt): void {
    const from = a.state;
    for (const q of a.queues) {
      q.counts[from]--;
      q.counts[to]++;
    }
    a.state = to;
    a.reason = reason;
    a.since = this.now();
    if (to === 'offered' || to === 'on-call') a.call = call;
    this.publish({
      type: 'agentState',
      at: a.since,
      agentId: a.id,
      from,
      to,
      ...(reason !== undefined ? { reason } : {}),
      ...(call ? { callId: call.callId, queue: call.queue.name } : {}),
    });
  }

  private becomeAvailable(a: AgentRt, route = true): void {
    a.idleSince = this.now();
    this.setState(a, 'available');
    this.available.add(a);
    if (route) this.routeAgent(a);
  }

  /** An agent's call or offer is over: apply what they asked for meanwhile, else available. */
  private afterWork(a: AgentRt, route = true): void {
    if (a.pendingLogout) {
      this.logout(a, 'agent');
    } else if (a.pendingNotReady !== undefined) {
      const code = a.pendingNotReady;
      a.pendingNotReady = undefined;
      this.setState(a, 'not-ready', code);
      this.checkLeaveWhenEmpty(a);
    } else {
      this.becomeAvailable(a, route);
    }
  }

  private logout(a: AgentRt, reason: string): void {
    this.available.remove(a);
    this.agenda.cancel(a.backoff);
    a.backoff = undefined;
    a.pendingLogout = false;
    a.pendingNotReady = undefined;
    this.setState(a, 'logged-out', reason);
    this.checkLeaveWhenEmpty(a);
  }

  private finishWrapUp(a: AgentRt, by: 'timer' | 'agent'): void {
    const w = a.wrap;
    if (!w || a.state !== 'wrap-up') return;
    this.agenda.cancel(w.deadline);
    a.wrap = undefined;
    const now = this.now();
    const durationMs = now - w.startedAt;
    this.addOccupied(a, durationMs);
    w.call.queue.aht.record(w.talkMs + durationMs);
    this.publish({
      type: 'wrapupEnd',
      at: now,
      agentId: a.id,
      callId: w.call.callId,
      queue: w.call.queue.name,
      by,
      extended: w.extended,
      durationMs,
    });
    this.afterWork(a);
  }

  private addOccupied(a: AgentRt, ms: number): void {
    const day = Math.floor(this.now() / DAY_MS);
    if (day !== a.occupiedDay) {
      a.occupiedDay = day;
      a.occupiedMs = 0;
    }
    a.occupiedMs += ms;
  }

  private emitCancelled(a: AgentRt, call: CallRt, reason: OfferCancelledEvent['reason']): void {
    this.publish({ type: 'offerCancelled', at: this.now(), callId: call.callId, agentId: a.id, queue: call.queue.name, reason });
  }

  // ---------------------------------------------------------------- figures

  private ewt(q: QueueRt, position: number): number | null {
    const c = q.counts;
    return estimatedWaitSeconds(position, c.available + c.offered + c['on-call'] + c['wrap-up'], q.aht.meanMs());
  }

  private recordSl(q: QueueRt, outcome: SlOutcome): void {
    const now = this.now();
    q.sl.record(now, outcome);
    const value = q.sl.value(now);
    if (value === null) return;
    const breached = value < q.cfg.serviceLevel.target;
    if (breached !== q.breached) {
      // The first figure only sets the baseline unless it already breaches.
      if (q.breached !== undefined || breached) {
        this.publish({ type: 'serviceLevel', at: now, queue: q.name, value, target: q.cfg.serviceLevel.target, breached });
      }
      q.breached = breached;
    }
  }

  private retrying(q: QueueRt): number {
    let n = 0;
    if (q.callbacksWaiting === 0) return 0;
    for (const c of q.calls) if (c.state === 'retry') n++;
    return n;
  }

  private viewAgent(a: AgentRt): AgentView {
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

  private viewCall(c: CallRt, now: number): CallView {
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

  // ---------------------------------------------------------------- plumbing

  private now(): number {
    return this.clock.now();
  }

  private publish(e: AcdEvent): void {
    this.emit('event', e);
  }

  /**
   * Run a command; events are delivered once the engine is consistent again (the emitter holds
   * them until the outermost command returns). A listener may call back into the engine: its
   * events join the same delivery queue, in order.
   */
  private tx<T>(fn: () => T): T {
    return this.deferred(() => {
      try {
        return fn();
      } catch (err) {
        // A bug must not take the call centre down with it; the command reports failure instead.
        log.error({ err }, 'acd command failed');
        return { ok: false, reason: 'invalid', error: `internal error: ${(err as Error).message}` } as T;
      }
    });
  }
}

