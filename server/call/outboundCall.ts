/**
 * A call the centre places for an agent: click-to-dial from the desk, or a callback the ACD
 * reserved an agent for (callback.ts). Agent first, then customer:
 *
 *   1. ring the agent's registered phone or browser (our offer, as offer.ts rings agents);
 *   2. once they answer, dial the customer through the outbound trunk (dial.ts), with the law
 *      the agent's leg chose; early media from the carrier is bridged so the agent hears ringback;
 *   3. the customer answers: bridged and recorded (stereo: customer left, agent right);
 *   4. either side hangs up: the other is hung up, call.end written.
 *
 * It is an outbound contact in the event log: contact.arrived (initiation outbound or callback,
 * previousContactId for a callback), outbound.result (answered/busy/no-answer/failed: the
 * outbound answer rate), recording.*, call.end. The ACD is not told: a callback's agent is
 * reserved by the ACD itself; a click-to-dial agent must not be ringing or talking.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import { log as rootLog, type Logger } from '../../lib/log.ts';
import type { Acd } from '../acd/acd.ts';
import type { OutboundTarget, OutboundTrunks } from '../config/trunks.ts';
import { SipError, type SipStack } from '../sip/index.ts';
import type { MediaCall, MediaPlane, Recording } from '../../media/index.ts';
import type { CallDetailLog } from './cdr.ts';
import { dial, DialError, DialFailed, reserveTrunk, type DialOutcome, type OutboundLeg } from './dial.ts';
import { CallLeg } from './leg.ts';

const log = rootLog.child({ mod: 'outbound' });

export interface OutboundCallContext {
  clock: Clock;
  sip: SipStack;
  media: MediaPlane;
  cdr: CallDetailLog;
  trunks: OutboundTrunks;
  /** Agent states (click-to-dial refuses an agent who is ringing or talking). Optional for callbacks. */
  acd?: Acd;
  recordingsDir: string;
  sipDomain: string;
  /** A call was placed / is over (for a registry of calls in progress). */
  onStart?: (call: OutboundCall) => void;
  onEnd?: (call: OutboundCall) => void;
}

export interface OutboundCallRequest {
  agentId: string;
  /** The customer's number as dialled (numbering rules make it E.164). */
  number: string;
  initiation?: 'outbound' | 'callback';
  /** A callback: the contact it continues. */
  previousContactId?: string;
  /** The queue the call is for (caller-ID policy 'queue', reports). */
  queue?: string;
  /** Ring the agent this long before giving up; default 30 s. */
  agentRingMs?: number;
  /** Headers for the agent's INVITE (a callback's screen pop). */
  agentHeaders?: Record<string, string>;
}

/** The agent cannot take the call (not registered, busy): an API answers 409. */
export class AgentUnavailable extends Error {
  override name = 'AgentUnavailable';
  readonly status = 409;
}

export type OutboundPhase = 'ringing-agent' | 'dialling' | 'connected' | 'ended';

export class OutboundCall {
  readonly contactId = randomUUID();
  readonly startedAt: number;
  readonly log: Logger;
  phase: OutboundPhase = 'ringing-agent';
  agent: CallLeg | undefined;
  customer: OutboundLeg | undefined;
  media: MediaCall | undefined;
  #recording: Recording | undefined;
  #outcome: DialOutcome | undefined;
  #resolve!: (o: DialOutcome) => void;
  /** answered once the customer picks up, or why not; settles once. */
  readonly outcome = new Promise<DialOutcome>((r) => (this.#resolve = r));
  #resolveEnded!: () => void;
  /** The whole call is over (both legs hung up, call.end written). */
  readonly ended = new Promise<void>((r) => (this.#resolveEnded = r));
  readonly #abort = new AbortController();

  constructor(
    readonly ctx: OutboundCallContext,
    readonly req: OutboundCallRequest,
    readonly target: OutboundTarget,
    private readonly reserved: { target: OutboundTarget; release: () => void },
  ) {
    this.startedAt = ctx.clock.now();
    this.log = log.child({ contact: this.contactId, agent: req.agentId, to: target.e164 });
  }

  view(): { contactId: string; agentId: string; number: string; trunk: string; phase: OutboundPhase; since: number } {
    return {
      contactId: this.contactId,
      agentId: this.req.agentId,
      number: this.target.e164,
      trunk: this.target.trunk,
      phase: this.phase,
      since: this.startedAt,
    };
  }

  /** Hang the call up from the API (either side, whatever the phase). */
  hangUp(): void {
    this.finish('agent', 'hangup-api', 'failed');
  }

  settle(o: DialOutcome): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = o;
    this.#resolve(o);
  }

  /** @internal */
  async run(): Promise<void> {
    const { ctx, req, target } = this;
    ctx.cdr.contact(this.contactId, {
      type: 'contact.arrived',
      ts: this.startedAt,
      initiation: req.initiation ?? 'outbound',
      caller: target.e164,
      dialled: target.e164,
      trunk: target.trunk,
      ...(req.previousContactId ? { previousContactId: req.previousContactId } : {}),
    });
    try {
      this.media = await ctx.media.createCall(this.contactId);
      this.media.on('lost', (reason) => this.finish('system', reason, 'failed'));
      await this.ringAgent();
      if (this.phase === 'ended') return;
      this.phase = 'dialling';
      let customer: OutboundLeg;
      try {
        customer = await dial(
          { sip: ctx.sip, trunks: ctx.trunks, log: this.log },
          this.media,
          {
            number: req.number,
            queue: req.queue,
            agentId: req.agentId,
            contactId: this.contactId,
            signal: this.#abort.signal,
            // The carrier's ringback or announcement reaches the agent before the answer.
            onEarlyMedia: (leg) => void this.bridge(leg).catch(() => undefined),
          },
          this.reserved,
        );
      } catch (e) {
        // The agent hung up (or the API did) while the customer rang: not the customer's outcome.
        const outcome = e instanceof DialFailed && (this.phase as OutboundPhase) !== 'ended' ? e.outcome : 'failed';
        const status = e instanceof DialFailed ? e.status : undefined;
        this.result(outcome, status);
        this.finish('system', e instanceof DialFailed ? `customer-${outcome}` : 'dial-failed', outcome);
        return;
      }
      if ((this.phase as OutboundPhase) === 'ended') {
        customer.close();
        return;
      }
      this.customer = customer;
      this.result('answered');
      this.settle('answered');
      this.phase = 'connected';
      customer.dialog?.on('destroy', () => this.finish('caller', 'customer-bye', 'answered'));
      await this.bridge(customer);
      await this.startRecording();
    } catch (e) {
      this.log.error({ err: String(e) }, 'outbound call failed');
      this.finish('system', 'outbound-failed', 'failed');
    } finally {
      // A trunk slot not handed to a leg (media failed before dialling) is freed here.
      if (!this.customer) this.reserved.release();
    }
  }

  private result(outcome: DialOutcome, status?: number): void {
    this.ctx.cdr.contact(this.contactId, {
      type: 'outbound.result',
      ts: this.ctx.clock.now(),
      agentId: this.req.agentId,
      number: this.target.e164,
      trunk: this.target.trunk,
      outcome,
      ...(status !== undefined ? { status } : {}),
      ...(this.req.queue ? { queue: this.req.queue } : {}),
    });
  }

  /** Ring the agent's newest registration with our offer; throws if they do not answer. */
  private async ringAgent(): Promise<void> {
    const { ctx, req } = this;
    const leg = new CallLeg('agent', req.agentId);
    this.agent = leg;
    const onAbort = () => leg.ringing.abort();
    this.#abort.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const b = (await ctx.sip.lookup(req.agentId)).sort((x, y) => y.registeredAt - x.registeredAt)[0];
      if (!b) throw new SipError(480, 'agent not registered');
      const webrtc = b.source.transport === 'ws' || b.source.transport === 'wss';
      const media = webrtc ? await this.media!.createWebRtcLeg() : await this.media!.createRtpLeg();
      leg.attachMedia(media);
      if (leg.ringing.signal.aborted) throw new SipError(487, 'Request Terminated');
      const shown = this.target.e164;
      const dialog = await ctx.sip.createUAC(b.contact, {
        destination: ctx.sip.bindingDestination(b),
        // A desk phone is offered both laws and picks; a browser leg needs one fixed up front (one law
        // per call end to end), and every browser speaks PCMU.
        localSdp: media.offer(webrtc ? { law: 'PCMU' } : {}),
        from: `"${req.initiation === 'callback' ? 'Callback' : 'Outbound'} ${shown}" <sip:${encodeURIComponent(shown).replace(/%2B/g, '+')}@${ctx.sipDomain}>`,
        to: `<sip:${req.agentId}@${ctx.sipDomain}>`,
        headers: {
          'X-CC-Call-Id': this.contactId,
          'X-CC-Direction': req.initiation ?? 'outbound',
          'X-CC-Number': encodeURIComponent(shown),
          ...(req.queue ? { 'X-CC-Queue': req.queue } : {}),
          ...req.agentHeaders,
        },
        timeoutMs: req.agentRingMs ?? 30_000,
        signal: leg.ringing.signal,
      });
      if (leg.state !== 'ringing' || this.phase === 'ended') {
        void dialog.destroy().catch(() => undefined);
        return;
      }
      await media.setAnswer(dialog.remoteSdp ?? '');
      leg.answered(dialog);
      dialog.on('destroy', () => {
        leg.dialogEnded();
        this.finish('agent', 'agent-bye', this.phase === 'connected' ? 'answered' : 'failed');
      });
    } catch (e) {
      const status = e instanceof SipError ? e.status : 500;
      this.log.info({ status, err: String(e) }, 'agent did not take the outbound call');
      if (this.phase !== 'ended') {
        this.result('failed', status);
        this.finish('system', `agent-${status}`, 'failed');
      }
    } finally {
      this.#abort.signal.removeEventListener('abort', onAbort);
    }
  }

  private async bridge(customer: OutboundLeg): Promise<void> {
    const a = this.agent?.media;
    const c = customer.media;
    if (!this.media || !a || !c || this.phase === 'ended') return;
    await this.media.bridge(a, c);
  }

  private async startRecording(): Promise<void> {
    const { ctx } = this;
    if (!this.media || this.phase !== 'connected') return;
    const day = new Date(ctx.clock.now()).toISOString().slice(0, 10);
    const dir = join(ctx.recordingsDir, day);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${this.contactId}.wav`);
    this.#recording = await this.media.record(path);
    ctx.cdr.contact(this.contactId, { type: 'recording.started', ts: ctx.clock.now(), recordingId: this.contactId, path });
  }

  private async stopRecording(): Promise<void> {
    const rec = this.#recording;
    this.#recording = undefined;
    if (!rec) return;
    const ts = this.ctx.clock.now();
    let bytes: number | undefined;
    try {
      await rec.stop();
      bytes = (await stat(rec.path)).size;
    } catch (e) {
      this.log.error({ err: String(e) }, 'recording stop failed');
    }
    this.ctx.cdr.contact(this.contactId, {
      type: 'recording.stopped',
      ts,
      recordingId: this.contactId,
      ...(bytes !== undefined ? { bytes } : {}),
    });
  }

  /** End everything once: both legs, the recording, the media; call.end; the outcome settles. */
  finish(endedBy: 'caller' | 'agent' | 'system', cause: string, outcome: DialOutcome): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.#abort.abort();
    this.settle(outcome);
    const { ctx } = this;
    ctx.cdr.contact(this.contactId, { type: 'call.end', ts: ctx.clock.now(), endedBy, cause });
    this.agent?.hangUp();
    this.customer?.hangUp();
    const stopped = this.stopRecording().finally(() => {
      this.media?.close();
      ctx.cdr.closeContact(this.contactId);
      this.#resolveEnded();
    });
    ctx.cdr.keepOpen(this.contactId, stopped);
    this.log.info({ endedBy, cause, outcome }, 'outbound call ended');
    ctx.onEnd?.(this);
  }
}

/**
 * Place a call for an agent: the number is routed and a trunk slot taken at once (DialError: no
 * outbound config, bad number, no trunk, trunk full), the agent's registration and state checked
 * (AgentUnavailable); then the call runs on its own and the returned call's `outcome` settles.
 */
export async function placeOutboundCall(ctx: OutboundCallContext, req: OutboundCallRequest): Promise<OutboundCall> {
  if (ctx.acd && req.initiation !== 'callback') {
    const v = ctx.acd.agentView(req.agentId);
    if (!v) throw new AgentUnavailable(`unknown agent ${req.agentId}`);
    if (v.state === 'logged-out' || v.state === 'offered' || v.state === 'on-call')
      throw new AgentUnavailable(`agent ${req.agentId} is ${v.state}`);
  }
  const bindings = await ctx.sip.lookup(req.agentId);
  if (bindings.length === 0) throw new AgentUnavailable(`agent ${req.agentId} has no registered phone or desktop`);
  const reserved = reserveTrunk(ctx, req.number);
  const call = new OutboundCall(ctx, req, reserved.target, reserved);
  ctx.onStart?.(call);
  void call.run();
  return call;
}

export { DialError };
