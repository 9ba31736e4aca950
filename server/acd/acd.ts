/**
 * The ACD (automatic call distributor): decides which waiting call goes to which agent.
 *
 * A pure command/event state machine. Call control drives it with commands (enqueue, answered,
 * rejected, callEnded, abandon, agent logins and state changes) and acts on its events (an 'offer'
 * means "ring this agent"). Timers (ring-no-answer, wrap-up, escalation, max wait, announcements,
 * reject back-off, callback retry) run on the injected clock. No I/O.
 *
 * This class holds the commands, reconfiguration and the transaction around each; the work is
 * done by functions over the engine's state (records.ts): routing.ts (the routing invariant and
 * offers), agent-states.ts, timers.ts, leaving.ts, placement.ts, figures.ts, views.ts. It also
 * wires the engine's upward calls (AcdEngine, records.ts) to routing.ts and leaving.ts.
 */
import { Emitter } from '../../lib/events.ts';
import { log as rootLog } from '../../lib/log.ts';
import { Agenda } from './agenda.ts';
import { afterCall, afterReject, applySkills, becomeAvailable, finishWrapUp, forceLogout, setState } from './agent-states.ts';
import { AvailableAgents } from './available-agents.ts';
import { AcdOptionsSchema, type Agent, type AcdOptions, type AuxCode, type Queue } from './config.ts';
import type { AcdEvent, CallbackOutcome, ResumePlace } from './events.ts';
import type { ExitReason } from './exit-reasons.ts';
import { emptyRuleHolds, ewt } from './figures.ts';
import { dialOutcome, reservationExpired } from './callbacks.ts';
import { abandonCall, checkLeaveWhenEmpty, dropCall, exitCall, keepPlace, takeResumedPlace } from './leaving.ts';
import { place } from './placement.ts';
import { makeAgent, makeCall, makeQueue, recount, requalify, resumeKey, sameSkills, type AcdState } from './records.ts';
import { connect, reconfigureQueue, requeue, routeAgent, routeCall, withdrawOffer } from './routing.ts';
import { armAnnounce, armEscalation, armMaxWait, armRetry, dueSteps } from './timers.ts';
import type { AcdInit, AcdResult, AcdSnapshot, AgentView, CallView, EnqueueRequest, EnqueueResult, QueueStats } from './types.ts';
import { audit, queueStats, snapshot, viewAgent, viewCall } from './views.ts';

// The public types moved to types.ts; the rest of the server imports them from here as before.
export type { AcdInit, AcdResult, AcdSnapshot, AgentView, CallView, EnqueueRequest, EnqueueResult, QueueStats } from './types.ts';

const log = rootLog.child({ mod: 'acd' });

function fail(error: string): AcdResult {
  return { ok: false, error };
}
const OK: AcdResult = { ok: true };

export class Acd extends Emitter<{ event: [AcdEvent] }> {
  readonly options: AcdOptions;
  private readonly s: AcdState;
  /** Events of the commands in progress, delivered in order once the outermost one returns (tx). */
  private readonly pending: AcdEvent[] = [];
  private depth = 0;
  private delivering = false;

  constructor(init: AcdInit) {
    super();
    const options = AcdOptionsSchema.parse(init.options ?? {});
    this.options = options;
    const s: AcdState = {
      options,
      clock: init.clock,
      agenda: new Agenda(init.clock, (fn) => this.tx(fn)),
      agents: new Map(),
      queues: new Map(),
      calls: new Map(),
      available: new AvailableAgents(),
      nonEmpty: new Set(),
      auxCodes: new Map(),
      resume: new Map(),
      seq: 0,
      nextOrd: 0,
      allBuckets: [],
      publish: (e) => this.pending.push(e),
      // The lower layers' calls upward (AcdEngine in records.ts): the same functions, bound to s.
      engine: {
        routeAgent: (a) => routeAgent(s, a),
        routeCall: (call) => routeCall(s, call),
        requeue: (call) => requeue(s, call),
        withdrawOffer: (a, reason) => withdrawOffer(s, a, reason),
        callbackExpired: (call) => reservationExpired(s, call),
        exitCall: (call, reason) => exitCall(s, call, reason),
        checkLeaveWhenEmpty: (a) => checkLeaveWhenEmpty(s, a),
      },
    };
    this.s = s;
    for (const a of init.auxCodes ?? []) s.auxCodes.set(a.code, a);
    for (const [name, cfg] of Object.entries(init.queues)) s.queues.set(name, makeQueue(s, name, cfg));
    for (const a of init.agents) {
      if (s.agents.has(a.id)) {
        log.warn({ agentId: a.id }, 'duplicate agent id ignored');
        continue;
      }
      s.agents.set(a.id, makeAgent(s, a, s.nextOrd++));
    }
    for (const q of s.queues.values()) {
      for (const step of q.steps) {
        if (step.overflowTo !== undefined && !s.queues.has(step.overflowTo)) {
          log.warn({ queue: q.name, overflowTo: step.overflowTo }, 'escalation overflows to an unknown queue; step will only relax');
        }
      }
    }
  }

  // ---------------------------------------------------------------- agent commands

  /** Log an agent in; ready unless `ready: false` (then not-ready with reason 'login'). */
  agentLogin(agentId: string, opts: { ready?: boolean } = {}): AcdResult {
    return this.tx((s) => {
      const a = s.agents.get(agentId);
      if (!a || a.removed) return fail(`unknown agent ${agentId}`);
      if (a.state !== 'logged-out') return OK;
      a.misses = 0;
      a.pendingLogout = false;
      a.pendingNotReady = undefined;
      if (opts.ready === false) setState(s, a, 'not-ready', 'login');
      else becomeAvailable(s, a);
      return OK;
    });
  }

  /** Log out now; an agent on a call is logged out when the call ends (no wrap-up). */
  agentLogout(agentId: string, reason = 'agent'): AcdResult {
    return this.tx((s) => {
      const a = s.agents.get(agentId);
      if (!a) return fail(`unknown agent ${agentId}`);
      forceLogout(s, a, reason);
      return OK;
    });
  }

  /** Become available; from wrap-up this ends wrap-up; during a call it cancels a pending not-ready. */
  agentReady(agentId: string): AcdResult {
    return this.tx((s) => {
      const a = s.agents.get(agentId);
      if (!a) return fail(`unknown agent ${agentId}`);
      switch (a.state) {
        case 'logged-out':
          return fail(`agent ${agentId} is not logged in`);
        case 'available':
          return OK;
        case 'not-ready':
          s.agenda.cancel(a.backoff);
          a.backoff = undefined;
          becomeAvailable(s, a);
          return OK;
        case 'wrap-up':
          a.pendingNotReady = undefined;
          finishWrapUp(s, a, 'agent');
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
    return this.tx((s) => {
      const a = s.agents.get(agentId);
      if (!a) return fail(`unknown agent ${agentId}`);
      if (!s.auxCodes.has(code)) {
        const known = [...s.auxCodes.keys()].join(', ') || 'none configured';
        return fail(`unknown aux code "${code}" (known: ${known})`);
      }
      switch (a.state) {
        case 'logged-out':
          return fail(`agent ${agentId} is not logged in`);
        case 'available':
          s.available.remove(a);
          setState(s, a, 'not-ready', code);
          checkLeaveWhenEmpty(s, a);
          return OK;
        case 'not-ready':
          s.agenda.cancel(a.backoff);
          a.backoff = undefined;
          if (a.reason !== code) setState(s, a, 'not-ready', code);
          return OK;
        case 'wrap-up':
          a.pendingNotReady = code;
          finishWrapUp(s, a, 'agent');
          return OK;
        default:
          a.pendingNotReady = code;
          return OK;
      }
    });
  }

  endWrapUp(agentId: string): AcdResult {
    return this.tx((s) => {
      const a = s.agents.get(agentId);
      if (!a) return fail(`unknown agent ${agentId}`);
      if (a.state !== 'wrap-up') return fail(`agent ${agentId} is not in wrap-up`);
      finishWrapUp(s, a, 'agent');
      return OK;
    });
  }

  /** Extend the current wrap-up once by up to the queue's wrapUpExtendMax seconds. */
  extendWrapUp(agentId: string, seconds: number): AcdResult {
    return this.tx((s) => {
      const a = s.agents.get(agentId);
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
      s.agenda.cancel(w.deadline);
      w.deadline = s.agenda.at(endsAt, () => finishWrapUp(s, a, 'timer'));
      s.publish({ type: 'wrapupExtend', at: s.clock.now(), agentId: a.id, callId: w.call.callId, queue: w.call.queue.name, endsAt });
      return OK;
    });
  }

  // ---------------------------------------------------------------- call commands

  enqueue(req: EnqueueRequest): EnqueueResult {
    return this.tx((s): EnqueueResult => {
      const bad = (error: string): EnqueueResult => ({ ok: false, reason: 'invalid', error });
      if (typeof req?.callId !== 'string' || req.callId === '') return bad('callId required');
      if (s.calls.has(req.callId)) return bad(`call ${req.callId} is already in the ACD`);
      const q = s.queues.get(req.queue);
      if (!q) return bad(`unknown queue ${req.queue}`);
      const priority = req.priority ?? 0;
      if (!Number.isInteger(priority) || priority < 0 || priority > 100) return bad('priority must be an integer 0..100');
      if (req.skills !== undefined) {
        if (!Array.isArray(req.skills) || req.skills.length === 0) return bad('skills, when given, must be a non-empty list');
        for (const r of req.skills) {
          if (typeof r?.skill !== 'string' || !Number.isInteger(r.minLevel) || r.minLevel < 1 || r.minLevel > 10) {
            return bad('each skill needs a name and a minLevel 1..10');
          }
        }
      }
      if (req.callback !== undefined && (typeof req.callback.number !== 'string' || req.callback.number === '')) {
        return bad('callback needs a number');
      }
      const cbAttempts = req.callback?.attempts ?? 0;
      if (!Number.isInteger(cbAttempts) || cbAttempts < 0) return bad('callback attempts must be a whole number');
      const now = s.clock.now();
      const refuse = (reason: ExitReason, error: string): EnqueueResult => {
        s.publish({ type: 'exit', at: now, callId: req.callId, queue: q.name, reason, waitedMs: 0 });
        return { ok: false, reason, error };
      };
      if (!q.open) return refuse('closed', `queue ${q.name} is closed`);
      // A callback holds no line and waits for an agent however long: length and staffing rules are for live callers.
      if (!req.callback && q.cfg.maxLength !== undefined && q.calls.size >= q.cfg.maxLength)
        return refuse('full', `queue ${q.name} is full`);
      if (!req.callback && !emptyRuleHolds(q, q.cfg.joinWhenEmpty)) return refuse('no-agents', `no agents for queue ${q.name}`);

      const arrivedAt = typeof req.arrivedAt === 'number' && Number.isFinite(req.arrivedAt) ? Math.min(req.arrivedAt, now) : now;
      const seq = ++s.seq;
      // A caller who hung up a moment ago and calls again takes back their old place.
      const resumed = req.callback ? undefined : takeResumedPlace(s, q, req.callerId, now);
      const call = makeCall(
        q,
        req,
        now,
        resumed ? { ...resumed, priority: Math.max(priority, resumed.priority) } : { arrivedAt, seq, priority },
      );
      s.calls.set(call.callId, call);
      q.calls.add(call);
      call.step = dueSteps(q, call, now);
      if (call.callback) call.callback.attempts = cbAttempts;
      // A callback restored between attempts waits out its back-off first (then takes its place).
      const notBefore = req.callback?.notBefore;
      const waitingRetry = call.callback !== undefined && typeof notBefore === 'number' && notBefore > now;
      if (waitingRetry) armRetry(s, call, notBefore);
      else place(s, call);
      const position = waitingRetry ? 0 : q.order.position(call);
      const ewtSeconds = ewt(q, position);
      s.publish({
        type: 'enqueue',
        at: now,
        callId: call.callId,
        queue: q.name,
        priority: call.priority,
        arrivedAt: call.arrivedAt,
        position,
        ewtSeconds,
        resumed: resumed !== undefined,
        ...(resumed ? { resumeKey: resumeKey(req.callerId) } : {}),
        callback: call.callback !== undefined,
      });
      if (call.callback) {
        q.callbacksWaiting++;
        // A callback restored after a restart was requested (and logged) before it.
        if (!req.callback?.restored) {
          s.publish({
            type: 'callbackRequested',
            at: now,
            callId: call.callId,
            queue: q.name,
            number: call.callback.number,
            enteredAt: call.arrivedAt,
            fromWaiting: false,
          });
        }
      } else {
        armMaxWait(s, call);
        armAnnounce(s, call);
      }
      armEscalation(s, call);
      routeCall(s, call);
      if (call.state !== 'waiting') return { ok: true, position: 1, ewtSeconds: 0 };
      return { ok: true, position, ewtSeconds };
    });
  }

  /** The offered agent picked up (for a callback: the customer answered too). */
  answered(callId: string, agentId: string): AcdResult {
    return this.tx((s) => {
      const call = s.calls.get(callId);
      const a = s.agents.get(agentId);
      if (!call) return fail(`unknown call ${callId}`);
      if (!a) return fail(`unknown agent ${agentId}`);
      if (call.state !== 'offered' || a.call !== call || a.state !== 'offered') {
        return fail(`call ${callId} is not ringing agent ${agentId}`);
      }
      connect(s, call, a);
      return OK;
    });
  }

  /** The offered agent declined (softphone reject, 486/603): back-off, and the call rings on. */
  rejected(callId: string, agentId: string): AcdResult {
    return this.tx((s) => {
      const call = s.calls.get(callId);
      const a = s.agents.get(agentId);
      if (!call) return fail(`unknown call ${callId}`);
      if (!a) return fail(`unknown agent ${agentId}`);
      if (call.state !== 'offered' || a.call !== call || a.state !== 'offered') {
        return fail(`call ${callId} is not ringing agent ${agentId}`);
      }
      s.publish({ type: 'reject', at: s.clock.now(), callId, agentId, queue: call.queue.name });
      call.offeredTo = call.offeredTo.filter((o) => o !== a);
      a.call = undefined;
      afterReject(s, a);
      if (call.offeredTo.length === 0) requeue(s, call);
      return OK;
    });
  }

  /** The call ended after being answered: the agent goes to wrap-up. Before an answer it is an abandon. */
  callEnded(callId: string): AcdResult {
    return this.tx((s) => {
      const call = s.calls.get(callId);
      if (!call) return fail(`unknown call ${callId}`);
      if (call.state !== 'connected') {
        abandonCall(s, call);
        return OK;
      }
      const a = call.agent!;
      const talkMs = s.clock.now() - call.connectedAt;
      s.publish({ type: 'callEnd', at: s.clock.now(), callId, agentId: a.id, queue: call.queue.name, talkMs });
      dropCall(s, call);
      afterCall(s, a, call, talkMs);
      return OK;
    });
  }

  /** The caller hung up before an agent answered. */
  abandon(callId: string): AcdResult {
    return this.tx((s) => {
      const call = s.calls.get(callId);
      if (!call) return fail(`unknown call ${callId}`);
      if (call.state === 'connected') return fail(`call ${callId} is connected; use callEnded`);
      abandonCall(s, call);
      return OK;
    });
  }

  /** Withdraw a call or callback that has not reached an agent (exit 'cancelled'). */
  cancel(callId: string): AcdResult {
    return this.tx((s) => {
      const call = s.calls.get(callId);
      if (!call) return fail(`unknown call ${callId}`);
      if (call.state === 'connected') return fail(`call ${callId} is connected; use callEnded`);
      exitCall(s, call, 'cancelled');
      return OK;
    });
  }

  /**
   * Turn a waiting caller into a callback that keeps the caller's place. Call control then lets
   * the caller go; when the callback reaches the head, a 'callbackDial' event reserves an agent.
   */
  requestCallback(req: { callId: string; number: string }): AcdResult {
    return this.tx((s) => {
      const call = s.calls.get(req?.callId);
      if (!call) return fail(`unknown call ${req?.callId}`);
      if (typeof req.number !== 'string' || req.number === '') return fail('callback needs a number');
      if (call.callback) return fail(`call ${call.callId} is already a callback`);
      if (call.state !== 'waiting') return fail(`call ${call.callId} is ${call.state}, not waiting`);
      call.callback = { number: req.number, attempts: 0 };
      call.queue.callbacksWaiting++;
      s.agenda.cancel(call.maxWait);
      s.agenda.cancel(call.announce);
      call.maxWait = call.announce = undefined;
      s.publish({
        type: 'callbackRequested',
        at: s.clock.now(),
        callId: call.callId,
        queue: call.queue.name,
        number: req.number,
        enteredAt: call.arrivedAt,
        fromWaiting: true,
      });
      return OK;
    });
  }

  /** Dialling the callback customer failed: free the agent; retry later in the same place, or give up. */
  callbackFailed(callId: string, agentId: string): AcdResult {
    return this.tx((s) => {
      const call = s.calls.get(callId);
      if (!call || !call.callback) return fail(`unknown callback ${callId}`);
      const a = s.agents.get(agentId);
      if (!a || a.call !== call || call.state !== 'offered') return fail(`callback ${callId} is not reserved for agent ${agentId}`);
      dialOutcome(s, call, a, 'failed');
      return OK;
    });
  }

  /**
   * Call control's report on the dial a 'callbackDial' event asked for. 'answered' (agent and
   * customer both on the line): the callback connects (callEnded when the talk is over). 'busy',
   * 'no-answer', 'failed': the agent is released; the callback retries after the queue's back-off
   * in its original place, or gives up after callback.maxAttempts.
   */
  callbackOutcome(callbackId: string, outcome: CallbackOutcome, detail: { newContactId?: string } = {}): AcdResult {
    return this.tx((s) => {
      if (!['answered', 'busy', 'no-answer', 'failed'].includes(outcome)) return fail(`unknown outcome ${String(outcome)}`);
      const call = s.calls.get(callbackId);
      if (!call || !call.callback) return fail(`unknown callback ${callbackId}`);
      const a = call.offeredTo[0];
      if (call.state !== 'offered' || !a || a.call !== call)
        return fail(`callback ${callbackId} has no agent reserved (reservation expired?)`);
      dialOutcome(s, call, a, outcome, detail.newContactId);
      return OK;
    });
  }

  /**
   * Places abandoned callers may still take back (from the store after a restart); those whose
   * window has passed are ignored.
   */
  restoreResumePlaces(places: readonly ResumePlace[]): AcdResult {
    return this.tx((s) => {
      const now = s.clock.now();
      for (const p of places) {
        if (!s.queues.has(p.queue) || p.until < now || !resumeKey(p.key)) continue;
        keepPlace(s, { ...p, key: resumeKey(p.key)! }, ++s.seq);
      }
      return OK;
    });
  }

  /** Close (refuse new callers with exit 'closed') or reopen a queue. Waiting callers stay. */
  setQueueOpen(queue: string, open: boolean): AcdResult {
    const q = this.s.queues.get(queue);
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
    return this.tx((s) => {
      if (next.auxCodes) s.auxCodes = new Map(next.auxCodes.map((a) => [a.code, a]));
      if (next.queues) {
        for (const [name, q] of [...s.queues]) {
          if (next.queues[name]) continue;
          q.open = false;
          for (const c of [...q.calls]) exitCall(s, c, 'closed');
          s.queues.delete(name);
        }
        for (const [name, cfg] of Object.entries(next.queues)) {
          const q = s.queues.get(name);
          if (!q) {
            s.queues.set(name, makeQueue(s, name, cfg));
            continue;
          }
          reconfigureQueue(s, q, cfg);
        }
      }
      if (next.agents) {
        const wanted = new Map(next.agents.map((a) => [a.id, a]));
        for (const a of s.agents.values()) {
          const cfg = wanted.get(a.id);
          if (!cfg) {
            if (!a.removed) {
              a.removed = true;
              forceLogout(s, a, 'removed');
            }
            continue;
          }
          a.removed = false;
          if (!sameSkills(a.skills, cfg.skills)) applySkills(s, a, cfg.skills);
        }
        for (const cfg of next.agents) if (!s.agents.has(cfg.id)) s.agents.set(cfg.id, makeAgent(s, cfg, s.nextOrd++));
      }
      recount(s);
      for (const a of [...s.agents.values()]) if (a.state === 'available') routeAgent(s, a);
      return OK;
    });
  }

  /** Change one agent's skills now (a supervisor borrowing an agent into another skill group). */
  setAgentSkills(agentId: string, skills: Record<string, number>): AcdResult {
    return this.tx((s) => {
      const a = s.agents.get(agentId);
      if (!a || a.removed) return fail(`unknown agent ${agentId}`);
      if (typeof skills !== 'object' || skills === null) return fail('skills must be an object of skill -> level');
      for (const [k, v] of Object.entries(skills)) {
        if (k === '' || !Number.isInteger(v) || v < 1 || v > 10) return fail(`skill "${k}": level must be an integer 1..10`);
      }
      applySkills(s, a, skills);
      requalify(s, a);
      if (a.state === 'available') routeAgent(s, a);
      return OK;
    });
  }

  // ---------------------------------------------------------------- views

  queueStats(queue: string): QueueStats | undefined {
    const q = this.s.queues.get(queue);
    return q ? queueStats(this.s, q) : undefined;
  }

  queueNames(): string[] {
    return [...this.s.queues.keys()];
  }

  agentView(agentId: string): AgentView | undefined {
    const a = this.s.agents.get(agentId);
    return a ? viewAgent(a) : undefined;
  }

  callView(callId: string): CallView | undefined {
    const c = this.s.calls.get(callId);
    return c ? viewCall(c, this.s.clock.now()) : undefined;
  }

  snapshot(): AcdSnapshot {
    return snapshot(this.s);
  }

  /** The engine's invariants that do not hold (empty when sound); for tests and simulations. */
  audit(): string[] {
    return audit(this.s);
  }

  /** Stop all timers (engine shutdown). */
  dispose(): void {
    this.s.agenda.dispose();
  }

  /**
   * A supervisor command (acd/supervisor.ts: move, head of queue, priority) run on the engine's
   * state inside a transaction, so its events are delivered like any command's. For that file
   * only: the state's invariants (placement, timers) are the command's to keep.
   */
  supervise<T>(fn: (s: AcdState) => T): T {
    return this.tx(fn);
  }

  // ---------------------------------------------------------------- plumbing

  /**
   * Run a command; events are delivered once the engine is consistent again (the emitter holds
   * them until the outermost command returns). A listener may call back into the engine: its
   * events join the same delivery queue, in order.
   */
  private tx<T>(fn: (s: AcdState) => T): T {
    // The engine holds its own events rather than the Emitter's deferred(): the same order and
    // the same "consistent first, then tell", without a wrapper closure and a held record per
    // event on every command (garbage on the routing path is GC pauses in the tail).
    this.depth++;
    try {
      return fn(this.s);
    } catch (err) {
      // A bug must not take the call centre down with it; the command reports failure instead.
      log.error({ err }, 'acd command failed');
      return { ok: false, reason: 'invalid', error: `internal error: ${(err as Error).message}` } as T;
    } finally {
      if (--this.depth === 0) this.deliver();
    }
  }

  /** Hand the held events to the listeners; a listener's own commands add theirs to the same queue. */
  private deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      // Re-read the length: listeners' commands append while this runs.
      for (let i = 0; i < this.pending.length; i++) this.emit('event', this.pending[i]!);
    } finally {
      this.pending.length = 0;
      this.delivering = false;
    }
  }
}
