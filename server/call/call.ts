/**
 * A customer call: one contact, its legs (the customer's, a ringing or connected agent's, later
 * consult, supervisor and outbound legs), its phase and its media. The call only holds state and
 * ends itself; each stage and operation is its own file and works on the call:
 *
 *   answer.ts   the trunk INVITE is answered (media, SDP, the customer's dialog)
 *   ivr.ts      the IVR session's actions are carried out (prompts, queue, survey, callback)
 *   queue.ts    waiting in a queue: music on hold, position announcements, leaving the queue
 *   offer.ts    ringing an agent the ACD chose
 *   connect.ts  the agent answered: bridge, record, and the agent hanging up
 *
 * The ACD decides who; the IVR decides what; these files carry it out on SIP and media and write
 * what happened to the call detail log.
 */
import type { Acd } from '../acd/acd.ts';
import type { Clock } from '../../lib/clock.ts';
import { Emitter } from '../../lib/events.ts';
import { log as rootLog, type Logger } from '../../lib/log.ts';
import type { FlowSet, ResolvedPrompt } from '../ivr/flow.ts';
import type { IvrSession } from '../ivr/session.ts';
import type { LookupFn } from '../ivr/actions.ts';
import type { TtsProvider } from '../ivr/tts.ts';
import type { SipServerResponse, SipStack } from '../sip/index.ts';
import type { MediaCall, MediaPlane, PlainRtpLeg } from '../../media/index.ts';
import type { CallDetailLog } from './cdr.ts';
import { CallLeg } from './leg.ts';
import type { Agent, Queue } from '../acd/config.ts';

const log = rootLog.child({ mod: 'call' });

/** What every call needs from the centre: the engines, the edges and the config in force. */
export interface CallContext {
  clock: Clock;
  sip: SipStack;
  media: MediaPlane;
  acd: Acd;
  cdr: CallDetailLog;
  tts: TtsProvider;
  /** The flows in force now; a call keeps the version it started with. */
  flows: () => FlowSet;
  lookup?: LookupFn;
  recordingsDir: string;
  /** Domain for the From/To of INVITEs to agents. */
  sipDomain: string;
  /** The call is over (the ACD may still hold its wrap-up). */
  onEnd: (call: Call) => void;
  /** The call went on as a new contact (a transfer, transfer.ts): it is known by its new id now. */
  renumbered?: (call: Call, previousContactId: string) => void;
  /** Queues and agents a transfer may target (transfer.ts); absent: REFER is declined. */
  transfers?: TransferDeps;
  /** Dial an external number through an outbound trunk (call/dial.ts); absent: no outbound trunk. */
  dialOut?: DialOut;
  /**
   * Would dialOut take this number? Throws an error with an HTTP `status` (no outbound config 501,
   * not a number or no trunk serves it 422, trunk full 503) before anything is dialled.
   */
  dialCheck?: (number: string) => void;
  /**
   * How long a call waits for its browser agent's lost connection to come back before the caller
   * goes back to the head of the queue (legRecovery.ts); 0 or absent: the agent's side ends at once.
   */
  agentLegGraceMs?: number;
  /**
   * What the agent's desk shows of the call changed on its own (a consult rang, was answered, or
   * the consulted party hung up: consult.ts): the desk's event stream pushes the call's view.
   */
  deskChanged?: (call: Call) => void;
}

/**
 * Dial `number` for this call: a new leg (role 'outbound') on the call's media, up when the far end
 * answered; rejects (SipError) when it did not. The call bridges it (transfer.ts).
 */
/** Queues and agents a transfer may target (transfer.ts), from the config in force. */
export interface TransferDeps {
  /** Queues and agents in force (the config watcher's current ones). */
  queues(): Readonly<Record<string, Pick<Queue, 'maxLength' | 'joinWhenEmpty' | 'skills'>>>;
  agents(): readonly Pick<Agent, 'id'>[];
}

export type DialOut = (call: Call, number: string, opts: { signal?: AbortSignal }) => Promise<CallLeg>;

export type Phase = 'setup' | 'ivr' | 'queued' | 'connected' | 'after-call' | 'ended';
export type EndedBy = 'caller' | 'agent' | 'system';

/** The IVR stage as the call sees it (server/call/ivr.ts). */
export interface IvrStage {
  readonly session: IvrSession;
  /** Stop the prompt playing now, if any. */
  stopPrompt(): void;
  /** Write the path steps not yet logged, and ivr.end the first time the caller leaves the IVR. */
  logPath(completed: boolean, queue?: string): void;
}

/** Something the call stops when it ends: music on hold, a recording. */
export interface Stoppable {
  stop(): void | Promise<void>;
}

export interface CallEvents {
  phase: [phase: Phase];
  ended: [endedBy: EndedBy, cause: string];
}

/** Where the call came from, as admission found it. */
export interface Arrival {
  contactId: string;
  caller: string;
  dialled: string;
  trunk: string;
  flow: string;
  /** The trunk's INVITE, answered (or refused) by answer.ts. */
  res: SipServerResponse;
}

export class Call extends Emitter<CallEvents> {
  #contactId: string;
  readonly caller: string;
  readonly dialled: string;
  readonly trunk: string;
  readonly flow: string;
  readonly arrivedAt: number;
  log: Logger;
  /** The leg to the customer (the carrier's side). */
  readonly customer: CallLeg;
  /** Every leg still up or ringing, the customer's first. */
  readonly legs = new Set<CallLeg>();
  /** The queue the caller waits in (or waited in); an escalation may move it. */
  queue: string | undefined;
  /** The agent who answered, kept after they hang up (wrap-up, logs). */
  agentId: string | undefined;
  media: MediaCall | undefined;
  ivr: IvrStage | undefined;
  /** Music on hold or a position announcement while queued. */
  waiting: Stoppable | undefined;
  recording: Stoppable | undefined;
  /** Legs whose party has put the call on hold (hold.ts). */
  readonly holding = new Set<CallLeg>();
  /** When the caller entered their (first) queue: the screen pop's wait is counted from here. */
  queuedAt: number | undefined;
  /** The agent hung up first; whatever ends the call afterwards is put down to them. */
  agentLeftFirst = false;
  #phase: Phase = 'setup';
  /** call.end is written once: when the talk ends, or when the call ends without one. */
  #endLogged = false;
  readonly #res: SipServerResponse;

  constructor(
    readonly ctx: CallContext,
    arrival: Arrival,
  ) {
    super();
    this.#contactId = arrival.contactId;
    this.caller = arrival.caller;
    this.dialled = arrival.dialled;
    this.trunk = arrival.trunk;
    this.flow = arrival.flow;
    this.#res = arrival.res;
    this.arrivedAt = ctx.clock.now();
    this.log = log.child({ contact: arrival.contactId, callId: arrival.res.req.callId });
    this.customer = new CallLeg('customer', arrival.caller);
    this.legs.add(this.customer);
  }

  /** The contact the call is now: a transfer makes it a new one (continueAs). */
  get contactId(): string {
    return this.#contactId;
  }

  /**
   * The call goes on as a new contact (server/call/transfer.ts): the previous contact keeps its
   * events and its agent's wrap-up; from now on events go to `contactId`, and call.end, the agent
   * and the wait start afresh. Returns the previous contact id.
   */
  continueAs(contactId: string): string {
    const previous = this.#contactId;
    this.#contactId = contactId;
    this.#endLogged = false;
    this.agentId = undefined;
    this.agentLeftFirst = false;
    this.queuedAt = undefined;
    this.log = this.log.child({ contact: contactId });
    this.ctx.renumbered?.(this, previous);
    return previous;
  }

  get phase(): Phase {
    return this.#phase;
  }
  set phase(p: Phase) {
    if (this.#phase === p || this.#phase === 'ended') return;
    this.#phase = p;
    this.emit('phase', p);
  }

  /** Re-read after every await: the caller may have hung up meanwhile. */
  get ended(): boolean {
    return this.#phase === 'ended';
  }

  /** The customer's media leg (plain RTP from the carrier). */
  get customerMedia(): PlainRtpLeg | undefined {
    return this.customer.media as PlainRtpLeg | undefined;
  }

  /** The connected agent's leg, if an agent is on the call now. */
  get agent(): CallLeg | undefined {
    for (const l of this.legs) if (l.role === 'agent' && l.state === 'up') return l;
    return undefined;
  }

  /** The ringing offer to this agent, if any. */
  offerTo(agentId: string): CallLeg | undefined {
    for (const l of this.legs) if (l.role === 'agent' && l.state === 'ringing' && l.party === agentId) return l;
    return undefined;
  }

  /** Stop ringing every agent (someone answered, the caller left the queue or hung up). */
  cancelOffers(): void {
    for (const l of [...this.legs]) if (l.role === 'agent' && l.state === 'ringing') this.dropLeg(l);
  }

  /** Close a leg now and forget it. */
  dropLeg(leg: CallLeg): void {
    this.legs.delete(leg);
    leg.close();
  }

  stopWaiting(): void {
    void this.waiting?.stop();
    this.waiting = undefined;
  }

  /** The file to play for a prompt: text prompts are spoken (and cached) by the TTS provider. */
  async promptFile(p: ResolvedPrompt): Promise<string> {
    return p.kind === 'file' ? p.file : this.ctx.tts.render(p.text, p.lang);
  }

  /** Talk is over: the recording stops and the ACD starts the agent's wrap-up. */
  endTalk(): void {
    void this.stopRecording();
    const r = this.ctx.acd.callEnded(this.contactId);
    if (!r.ok) this.log.warn({ error: r.error }, 'acd callEnded refused');
  }

  async stopRecording(): Promise<void> {
    const rec = this.recording;
    this.recording = undefined;
    if (!rec) return;
    const stopped = Promise.resolve(rec.stop());
    this.ctx.cdr.keepOpen(this.contactId, stopped);
    await stopped;
  }

  logEnd(endedBy: EndedBy, cause: string): void {
    if (this.#endLogged) return;
    this.#endLogged = true;
    this.ctx.cdr.contact(this.contactId, { type: 'call.end', ts: this.ctx.clock.now(), endedBy, cause });
  }

  /** Refuse the trunk's INVITE (before it was answered) and end the call. */
  reject(status: number, reason: string): void {
    this.#res.send(status, { reason });
    this.finish('system', `sip-${status}`);
  }

  /** End everything that is still up, once, and write call.end. */
  finish(endedBy: EndedBy, cause: string): void {
    if (this.ended) return;
    const was = this.#phase;
    this.phase = 'ended';
    const { ctx } = this;
    // The queue's abandon is logged before the call's end: the report engine closes a queue
    // visit at call.end, and would otherwise record the abandon as a system exit.
    if (was === 'queued') ctx.acd.abandon(this.contactId);
    this.logEnd(endedBy, cause);
    this.ivr?.stopPrompt();
    this.stopWaiting();
    this.cancelOffers();
    const agent = this.agent;
    if (agent) {
      agent.hangUp();
      this.endTalk();
    }
    if (this.ivr && !this.ivr.session.ended) this.ivr.session.hangup();
    this.ivr?.logPath(false);
    if (this.customer.dialog) this.customer.hangUp();
    else if (!this.#res.finalSent && !this.#res.cancelled) this.#res.send(endedBy === 'system' ? 500 : 487);
    for (const l of this.legs) l.hangUp();
    void this.stopRecording().finally(() => this.media?.close());
    if (!this.agentId) ctx.cdr.closeContact(this.contactId);
    this.log.info({ endedBy, cause, queue: this.queue, agent: this.agentId }, 'call ended');
    this.emit('ended', endedBy, cause);
    ctx.onEnd(this);
  }

  /** Live view for the supervisor API and logs. */
  view(): { contactId: string; caller: string; dialled: string; phase: Phase; queue?: string; agent?: string; since: number } {
    return {
      contactId: this.contactId,
      caller: this.caller,
      dialled: this.dialled,
      phase: this.#phase,
      since: this.arrivedAt,
      ...(this.queue ? { queue: this.queue } : {}),
      ...(this.agentId ? { agent: this.agentId } : {}),
    };
  }
}
