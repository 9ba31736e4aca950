/**
 * One caller's walk through an IVR flow: a pure, event-driven interpreter. The call-control layer
 * feeds it events (prompt finished, DTMF digit, hang-up, queue exit, bridge ended) and performs the
 * actions it emits (play, stop, queue, transfer, callback, hang-up). Timeouts run on the injected
 * Clock; HTTP lookups go through an injected function. No I/O here.
 *
 * Actions are queued and emitted after each state change completes, so a handler may call back
 * into the session (as the simulator does) without seeing a half-made transition.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { Emitter } from '../../lib/events.ts';
import {
  pathSummary,
  type IvrAction,
  type IvrOutcome,
  type IvrSessionEvents,
  type LookupFn,
  type LookupResult,
  type PathStep,
  type QueueExitReason,
} from './actions.ts';
import { calendarState } from './calendar.ts';
import type { NodeAddress } from './check.ts';
import { renderTemplate, type FlowSet, type ResolvedPrompt } from './flow.ts';
import type { IvrNode, NodeOf, PromptRef } from './schema.ts';
import { surveyKeyScore, surveyScale } from './survey.ts';

export interface IvrSessionOptions {
  clock: Clock;
  callerId: string;
  dialled: string;
  /** Extra variables known at call start: the call layer passes `callId` and `trunk`. */
  vars?: Record<string, string>;
  /** HTTP lookups; without it the session waits for lookupResult() from the caller. */
  lookup?: LookupFn;
  /** Consecutive steps without caller input before the session gives up (goto loops). */
  maxAutoSteps?: number;
  /**
   * Whether the centre can dial this number back (an outbound trunk takes it). A callback is not
   * offered for a number it cannot: a queue's callbackKey is neither announced nor taken, a
   * callback node goes to its `declined` branch without asking. Absent: every number can.
   */
  canCallBack?: (number: string) => boolean;
}

export type IvrState = 'idle' | 'playing' | 'waiting' | 'lookup' | 'queued' | 'bridged' | 'ended';

interface InputState {
  attempts: number;
  digits: string;
  /** What to do with a key once any prompt is stopped. */
  onDigit: (d: string) => void;
  onTimeout: () => void;
}

export class IvrSession extends Emitter<IvrSessionEvents> {
  readonly path: PathStep[] = [];
  readonly vars: Record<string, string>;
  language: string;
  outcome: IvrOutcome | undefined;
  endReason: string | undefined;

  private cur: NodeAddress;
  private phase: IvrState = 'idle';
  private playQueue: ResolvedPrompt[] = [];
  private playBargeIn = false;
  private afterPlay: (() => void) | undefined;
  private input: InputState | undefined;
  private typeAhead = '';
  private timer: TimerHandle | undefined;
  private lookupSeq = 0;
  private autoSteps = 0;

  constructor(
    readonly flows: FlowSet,
    flowName: string,
    private readonly opts: IvrSessionOptions,
  ) {
    super();
    const flow = flows.flows[flowName];
    if (!flow) throw new Error(`unknown IVR flow "${flowName}"`);
    this.cur = { flow: flowName, node: flow.start };
    this.language = flow.language;
    this.vars = { callerId: opts.callerId, dialled: opts.dialled, lang: flow.language, ...opts.vars };
  }

  /** What the session waits for: 'playing' a prompt, 'waiting' for keys, 'queued', 'bridged', 'lookup'… */
  get state(): IvrState {
    return this.phase;
  }

  get version(): string {
    return this.flows.version;
  }
  get ended(): boolean {
    return this.phase === 'ended';
  }
  /** Where the caller is now. */
  get position(): Readonly<NodeAddress> {
    return this.cur;
  }

  /** Compact path for a screen pop: "hours=open > welcome > menu[1] > sales=queued". */
  summary(): string {
    return pathSummary(this.path);
  }

  start(): void {
    this.deferred(() => {
      if (this.path.length || this.phase === 'ended') return;
      this.enter(this.cur);
    });
  }

  /** The prompt last played has finished (not called after stopPrompt). */
  promptFinished(): void {
    this.deferred(() => {
      if (this.phase !== 'playing') return;
      this.nextPrompt();
    });
  }

  digit(d: string): void {
    this.deferred(() => {
      if (!/^[0-9*#]$/.test(d)) return;
      this.handleDigit(d);
    });
  }

  /** Result of the lookup the session asked for (when no lookup function was injected). */
  lookupResult(result: LookupResult): void {
    this.deferred(() => {
      this.onLookup(this.lookupSeq, result);
    });
  }

  /** The caller left the queue without an agent; continue at the queue node's branch. */
  queueExit(reason: QueueExitReason): void {
    this.deferred(() => {
      if (this.phase !== 'queued') return;
      const node = this.node() as NodeOf<'queue'>;
      this.setOutcome(reason);
      const target = node[reason];
      this.phase = 'idle';
      if (target) this.go(target);
      else this.finish('failed', `queue-${reason}`, true);
    });
  }

  /** An agent answered: the call is bridged; the IVR waits for bridgeEnded() or a hang-up. */
  connected(agentId?: string): void {
    this.deferred(() => {
      if (this.phase !== 'queued') return;
      this.phase = 'bridged';
      this.setOutcome(agentId ? `answered:${agentId}` : 'answered');
    });
  }

  /** The agent hung up first; the caller continues at the queue node's afterCall branch, if any. */
  bridgeEnded(): void {
    this.deferred(() => {
      if (this.phase !== 'bridged') return;
      const node = this.node() as NodeOf<'queue'>;
      this.phase = 'idle';
      if (node.afterCall) {
        this.autoSteps = 0;
        this.go(node.afterCall);
      } else this.finish('queued', 'agent-hangup', true);
    });
  }

  /** The caller hung up. */
  hangup(): void {
    this.deferred(() => {
      if (this.phase === 'ended') return;
      if (!this.path[this.path.length - 1]?.outcome) this.setOutcome('caller-hangup');
      this.finish('abandoned', 'caller-hangup', false);
    });
  }

  // ---- internals ----

  private act(a: IvrAction): void {
    this.emit('action', a);
  }

  private handleDigit(d: string): void {
    if (this.phase === 'playing') {
      if (!this.playBargeIn) return;
      this.playQueue = [];
      this.afterPlay = undefined;
      this.act({ type: 'stopPrompt' });
      if (this.input) {
        this.phase = 'waiting';
        this.input.onDigit(d);
      } else {
        // A barge-in on a plain announcement: keep the key for the next menu and move on.
        this.typeAhead += d;
        this.phase = 'idle';
        this.leavePlayNode();
      }
    } else if (this.phase === 'waiting' && this.input) {
      this.input.onDigit(d);
    } else if (this.phase === 'queued') {
      const node = this.node();
      if (node.type === 'queue' && node.callbackKey === d && this.callbackPossible(node.callbackNumber)) this.callbackWhileQueued(node, d);
    }
  }

  /** Whether a callback to this (template) number could be dialled: never promise one that cannot. */
  private callbackPossible(numberTemplate: string): boolean {
    return this.opts.canCallBack?.(renderTemplate(numberTemplate, this.vars)) ?? true;
  }

  /** The waiting caller pressed the queue's callbackKey: book a callback that keeps the place, confirm, leave. */
  private callbackWhileQueued(node: NodeOf<'queue'>, key: string): void {
    const number = renderTemplate(node.callbackNumber, this.vars);
    this.addInput(key);
    this.setOutcome('callback');
    this.outcome = 'callback';
    this.phase = 'idle';
    this.act({ type: 'callback', queue: node.queue, number, whileQueued: true });
    this.play([node.callbackConfirmPrompt], false, () => {
      if (node.callbackAccepted) {
        this.autoSteps = 0;
        this.go(node.callbackAccepted);
      } else this.finish('callback', 'callback-accepted', true);
    });
  }

  private node(): IvrNode {
    const n = this.flows.node(this.cur);
    if (!n) throw new Error(`IVR node ${this.cur.flow}:${this.cur.node} vanished`);
    return n;
  }

  private setOutcome(outcome: string): void {
    const s = this.path[this.path.length - 1];
    if (s && s.outcome === undefined) s.outcome = outcome;
  }

  private addInput(keys: string): void {
    const s = this.path[this.path.length - 1];
    if (s) s.input = s.input ? `${s.input},${keys}` : keys;
  }

  private clearTimer(): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private startTimer(seconds: number, fn: () => void): void {
    this.clearTimer();
    this.timer = this.opts.clock.setTimeout(
      () => {
        this.timer = undefined;
        if (this.phase === 'ended') return;
        this.deferred(fn);
      },
      Math.round(seconds * 1000),
    );
  }

  private prompt(ref: PromptRef): ResolvedPrompt {
    return this.flows.prompt(ref, this.language, this.vars);
  }

  /** Play prompts in order, then run `then`. */
  private play(refs: (PromptRef | undefined)[], bargeIn: boolean, then: () => void): void {
    this.playQueue = refs.filter((r): r is PromptRef => r !== undefined).map((r) => this.prompt(r));
    this.playBargeIn = bargeIn;
    this.afterPlay = then;
    this.phase = 'playing';
    this.nextPrompt();
  }

  private nextPrompt(): void {
    const p = this.playQueue.shift();
    if (p) {
      this.act({ type: 'play', prompt: p, bargeIn: this.playBargeIn });
      return;
    }
    const then = this.afterPlay;
    this.afterPlay = undefined;
    this.phase = 'idle';
    then?.();
  }

  private go(target: string): void {
    const to = this.flows.resolve(target, this.cur.flow);
    if (!to) {
      // Validation rules this out; fail safe for the caller rather than throw.
      this.finish('failed', `bad-target:${target}`, true);
      return;
    }
    this.enter(to);
  }

  private enter(addr: NodeAddress): void {
    this.clearTimer();
    this.input = undefined;
    this.cur = addr;
    if (++this.autoSteps > (this.opts.maxAutoSteps ?? 100)) {
      this.finish('failed', 'ivr-loop', true);
      return;
    }
    const node = this.node();
    // Type-ahead serves the next question only; keys pressed before a queue or a lookup must not
    // answer a question asked minutes later (e.g. a callback offer after a queue timeout).
    if (node.type === 'queue' || node.type === 'lookup' || node.type === 'transfer' || node.type === 'hangup') this.typeAhead = '';
    const step: PathStep = {
      at: this.opts.clock.now(),
      flow: addr.flow,
      node: addr.node,
      type: node.type,
      ...(node.label ? { label: node.label } : {}),
    };
    this.path.push(step);
    this.emit('step', step);
    switch (node.type) {
      case 'play':
        this.play(Array.isArray(node.prompt) ? node.prompt : [node.prompt], node.bargeIn, () => this.leavePlayNode());
        break;
      case 'menu':
        this.enterMenu(node);
        break;
      case 'collect':
        this.enterCollect(node);
        break;
      case 'hours': {
        const cal = this.flows.calendars[node.calendar];
        const state = cal ? calendarState(cal, this.opts.clock.now()) : 'closed';
        this.setOutcome(state);
        this.go(state === 'open' ? node.open : state === 'holiday' ? (node.holiday ?? node.closed) : node.closed);
        break;
      }
      case 'set':
        for (const [k, v] of Object.entries(node.vars)) this.vars[k] = renderTemplate(String(v), this.vars);
        this.go(node.next);
        break;
      case 'lookup':
        this.enterLookup(node);
        break;
      case 'queue': {
        this.phase = 'queued';
        this.outcome = 'queued';
        const moh = this.flows.musicOnHold[node.queue];
        this.act({
          type: 'queue',
          queue: node.queue,
          priority: node.priority,
          ...(node.skills ? { skills: node.skills } : {}),
          ...(moh ? { musicOnHold: moh } : {}),
          ...(node.callbackKey !== undefined && this.callbackPossible(node.callbackNumber) ? { callbackKey: node.callbackKey } : {}),
          vars: { ...this.vars, ivrPath: this.summary() },
        });
        break;
      }
      case 'callback':
        this.enterCallback(node);
        break;
      case 'transfer':
        this.play([node.prompt], false, () => {
          const number = renderTemplate(node.number, this.vars);
          this.setOutcome(number);
          this.act({ type: 'transfer', number });
          this.finish('transferred', 'transfer', false);
        });
        break;
      case 'survey':
        this.enterSurvey(node);
        break;
      case 'language':
        this.enterLanguage(node);
        break;
      case 'goto':
        this.go(node.target);
        break;
      case 'hangup':
        this.play([node.prompt], false, () => this.finish('completed', node.reason, true));
        break;
    }
  }

  private leavePlayNode(): void {
    const node = this.node();
    if (node.type !== 'play') return;
    if (node.next) this.go(node.next);
    else this.finish('completed', 'ivr-completed', true);
  }

  private finish(outcome: IvrOutcome, reason: string, sendHangup: boolean): void {
    if (this.phase === 'ended') return;
    this.clearTimer();
    this.input = undefined;
    this.playQueue = [];
    this.phase = 'ended';
    // Once handed to the ACD (or booked for a callback) the call is no longer the IVR's to count:
    // a later survey, goodbye or hang-up does not make it "completed" or "abandoned" in the IVR.
    const sticky = this.outcome === 'queued' || this.outcome === 'callback';
    const final: IvrOutcome =
      sticky && this.outcome && (outcome === 'completed' || outcome === 'abandoned' || outcome === 'failed') ? this.outcome : outcome;
    this.outcome = final;
    this.endReason = reason;
    if (sendHangup) this.act({ type: 'hangup', reason });
    this.emit('end', { outcome: final, reason });
  }

  /**
   * The shared shape of menu, collect, survey, language and callback: a prompt the caller may cut
   * short, a wait for keys, feedback prompts and a bounded number of attempts.
   */
  private ask(prompts: (PromptRef | undefined)[], state: InputState, waitSeconds: number): void {
    if (this.typeAhead) {
      // Keys pressed during the announcement before: answer without playing the prompt.
      const keys = this.typeAhead;
      this.typeAhead = '';
      this.input = state;
      this.phase = 'waiting';
      for (const k of keys) if (this.phase === 'waiting' && this.input === state) state.onDigit(k);
      if (this.phase === 'waiting' && this.input === state && !this.timer) this.startTimer(waitSeconds, state.onTimeout);
      return;
    }
    this.input = state;
    this.play(prompts, true, () => {
      this.input = state;
      this.phase = 'waiting';
      this.startTimer(waitSeconds, state.onTimeout);
    });
  }

  private enterMenu(node: NodeOf<'menu'>): void {
    const state: InputState = {
      attempts: 0,
      digits: '',
      onDigit: (d) => {
        this.clearTimer();
        this.addInput(d);
        const target = node.choices[d];
        if (target !== undefined) {
          this.setOutcome(d);
          this.autoSteps = 0;
          this.go(target);
        } else retry(node.invalidPrompt, 'invalid');
      },
      onTimeout: () => retry(node.timeoutPrompt, 'timeout'),
    };
    const retry = (feedback: PromptRef | undefined, why: 'invalid' | 'timeout'): void => this.retry(node, state, feedback, why);
    this.ask([node.prompt], state, node.timeout);
  }

  /** A failed attempt at a menu or collect: ask again with feedback, or leave by onFail when out of tries. */
  private retry(
    node: NodeOf<'menu'> | NodeOf<'collect'>,
    state: InputState,
    feedback: PromptRef | undefined,
    why: 'invalid' | 'timeout',
  ): void {
    state.attempts++;
    if (why === 'timeout') this.addInput('-');
    if (state.attempts > node.retries) {
      this.setOutcome(`failed:${why}`);
      if (node.onFail) this.go(node.onFail);
      else this.finish('failed', `${node.type}-${why}`, true);
      return;
    }
    this.ask([feedback, node.prompt], state, node.timeout);
  }

  private enterCollect(node: NodeOf<'collect'>): void {
    const pattern = node.pattern !== undefined ? new RegExp(`^(?:${node.pattern})$`) : undefined;
    const state: InputState = {
      attempts: 0,
      digits: '',
      onDigit: (d) => {
        this.clearTimer();
        if (d === node.terminator && node.terminator !== '') return done();
        state.digits += d;
        if (state.digits.length >= node.maxDigits) return done();
        this.startTimer(node.interDigitTimeout, done);
      },
      onTimeout: () => (state.digits ? done() : retry(node.timeoutPrompt, 'timeout')),
    };
    const done = (): void => {
      const got = state.digits;
      state.digits = '';
      this.clearTimer();
      this.addInput(got || '-');
      if (got.length >= node.minDigits && (!pattern || pattern.test(got))) {
        this.vars[node.into] = got;
        this.setOutcome('ok');
        this.autoSteps = 0;
        this.go(node.next);
      } else retry(node.invalidPrompt, 'invalid');
    };
    const retry = (feedback: PromptRef | undefined, why: 'invalid' | 'timeout'): void => this.retry(node, state, feedback, why);
    this.ask([node.prompt], state, node.timeout);
  }

  private enterSurvey(node: NodeOf<'survey'>): void {
    const leave = (): void => {
      if (node.next) {
        this.autoSteps = 0;
        this.go(node.next);
      } else this.finish('completed', 'survey-completed', true);
    };
    const scale = surveyScale(node);
    const answer = (score: number): void => {
      this.vars[node.into] = String(score);
      this.setOutcome(`score:${score}`);
      this.act({ type: 'survey', score, variable: node.into, question: node.question, scale, ...(node.name ? { name: node.name } : {}) });
      this.input = undefined;
      this.play([node.thanksPrompt], false, leave);
    };
    const state: InputState = {
      attempts: 0,
      digits: '',
      onDigit: (d) => {
        this.clearTimer();
        this.addInput(d);
        if (state.digits === '1') {
          // NPS two-key: a 1 was pressed; 0 now makes 10, # (or the pause running out) makes it 1.
          state.digits = '';
          if (d === '0') answer(10);
          else if (d === '#') answer(1);
          else retry(node.invalidPrompt);
          return;
        }
        const score = surveyKeyScore(node, d);
        if (score === 'wait') {
          state.digits = '1';
          this.startTimer(node.interDigit, () => {
            state.digits = '';
            answer(1);
          });
        } else if (score !== undefined) answer(score);
        else retry(node.invalidPrompt);
      },
      onTimeout: () => retry(undefined),
    };
    const retry = (feedback: PromptRef | undefined): void => {
      state.attempts++;
      if (state.attempts > node.retries) {
        this.setOutcome('no-score');
        this.input = undefined;
        leave();
        return;
      }
      this.ask([feedback, node.prompt], state, node.timeout);
    };
    this.ask([node.prompt], state, node.timeout);
  }

  /** Play `prompt` and take one key, no retries (language choice, callback offer). */
  private askKey(prompt: PromptRef | undefined, waitSeconds: number, onKey: (digit: string) => void, onTimeout: () => void): void {
    const state: InputState = {
      attempts: 0,
      digits: '',
      onDigit: (d) => {
        this.clearTimer();
        this.addInput(d);
        onKey(d);
      },
      onTimeout,
    };
    this.ask([prompt], state, waitSeconds);
  }

  private enterLanguage(node: NodeOf<'language'>): void {
    const pick = (lang: string | undefined, outcome: string): void => {
      if (lang) this.language = lang;
      this.vars.lang = this.language;
      this.setOutcome(outcome);
      this.autoSteps = 0;
      this.go(node.next);
    };
    this.askKey(
      node.prompt,
      node.timeout,
      (d) => {
        const lang = node.choices[d];
        pick(lang ?? node.default, lang ?? `default:${node.default ?? this.language}`);
      },
      () => pick(node.default, `default:${node.default ?? this.language}`),
    );
  }

  private enterCallback(node: NodeOf<'callback'>): void {
    const accept = (): void => {
      const number = renderTemplate(node.number, this.vars);
      this.setOutcome('accepted');
      this.act({ type: 'callback', queue: node.queue, number });
      this.input = undefined;
      this.play([node.confirmPrompt], false, () => {
        if (node.accepted) {
          this.outcome = 'callback';
          this.autoSteps = 0;
          this.go(node.accepted);
        } else this.finish('callback', 'callback-accepted', true);
      });
    };
    const decline = (why: string): void => {
      this.setOutcome(why);
      this.autoSteps = 0;
      this.go(node.declined);
    };
    if (!this.callbackPossible(node.number)) return decline('no-callback-number');
    // Asked last: keys typed ahead are answered at once, and they need accept/decline.
    this.askKey(
      node.prompt,
      node.timeout,
      (d) => (d === node.acceptDigit ? accept() : decline('declined')),
      () => decline('timeout'),
    );
  }

  private enterLookup(node: NodeOf<'lookup'>): void {
    const id = ++this.lookupSeq;
    const url = renderTemplate(node.url, this.vars, true);
    const timeoutMs = Math.round(node.timeout * 1000);
    const body = node.body !== undefined ? renderTemplate(node.body, this.vars, 'json') : undefined;
    const req = { url, method: node.method, timeoutMs, ...(body !== undefined ? { body } : {}) };
    this.phase = 'lookup';
    this.act({ type: 'lookup', ...req });
    this.startTimer(node.timeout, () => this.onLookup(id, { ok: false, error: 'timeout' }));
    if (this.opts.lookup) {
      let p: Promise<unknown>;
      try {
        p = this.opts.lookup(req);
      } catch (e) {
        p = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      p.then(
        (data) => {
          this.deferred(() => this.onLookup(id, { ok: true, data }));
        },
        (e: unknown) => {
          this.deferred(() => this.onLookup(id, { ok: false, error: e instanceof Error ? e.message : String(e) }));
        },
      );
    }
  }

  private onLookup(id: number, r: LookupResult): void {
    // A late answer (after the timeout fired or the caller left) is dropped.
    if (this.phase !== 'lookup' || id !== this.lookupSeq) return;
    const node = this.node();
    if (node.type !== 'lookup') return;
    this.clearTimer();
    this.phase = 'idle';
    if (!r.ok) {
      this.setOutcome(`failed:${r.error}`);
      this.go(node.onFailure);
      return;
    }
    for (const [v, p] of Object.entries(node.assign)) {
      const got = dig(r.data, p);
      // A scalar (string, number, boolean) as text; an object or array as JSON.
      this.vars[v] =
        got === undefined || got === null
          ? ''
          : typeof got === 'string'
            ? got
            : typeof got === 'number' || typeof got === 'boolean'
              ? String(got)
              : JSON.stringify(got);
    }
    this.setOutcome('ok');
    this.go(node.next);
  }
}

function dig(data: unknown, dotted: string): unknown {
  let v: unknown = data;
  for (const k of dotted.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}
