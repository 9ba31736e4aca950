/**
 * Calls a desk phone places through the centre: an agent's registered phone INVITEs another
 * agent's extension or an external number (through an outbound trunk, dial.ts). This is how a
 * desk phone consults before an attended transfer (RFC 5589 §7): the agent holds the customer,
 * calls a colleague on a second line, then sends REFER with Replaces on the customer's dialog
 * naming this consult dialog (transfer.ts → attendedTransfer below).
 *
 * - Who: an INVITE whose From user is an agent id, from the address that agent registered from,
 *   digest-authenticated (407) with the agent's own credentials. Anything else goes on to the
 *   trunk admission (admission.ts) as before.
 * - To an agent: their newest registration is rung; while the call lasts they are not-ready with
 *   the system reason `internal-call`, so the ACD offers them no customer call meanwhile; they
 *   become available again when it ends (and, after a transfer, when the customer call ends). The
 *   calling agent, when they were available, is not-ready the same way while they call.
 * - To an external number: dial.ts (the outbound trunk the number routes to, its caller-ID policy).
 *
 * An internal call has a media call of its own, a plain bridge between the two legs, no recording
 * and no contact in the event log; the transfer it ends in is written on the customer's contact.
 */
import { randomUUID } from 'node:crypto';
import type { Acd } from '../acd/acd.ts';
import type { Agent } from '../acd/config.ts';
import { log as rootLog, type Logger } from '../../lib/log.ts';
import type { MediaCall, MediaPlane } from '../../media/index.ts';
import { PlainRtpLeg } from '../../media/index.ts';
import { parseNameAddr, parseUri, SipError, type Dialog, type SipRequest, type SipServerResponse, type SipStack } from '../sip/index.ts';
import { replacesDialog, type Replaces } from '../sip/refer.ts';
import type { Call } from './call.ts';
import { adoptConsult, completeTransfer, consultOf } from './consult.ts';
import { dropAgentHold, setHold } from './hold.ts';
import { CallLeg } from './leg.ts';

const log = rootLog.child({ mod: 'internal' });

/** The not-ready reason of an agent on an internal call (a system aux code the centre adds). */
export const SYSTEM_AUX_INTERNAL = 'internal-call';

export interface InternalCallContext {
  sip: SipStack;
  media: MediaPlane;
  acd: Acd;
  sipDomain: string;
  /** The agents in force (the config watcher's current ones). */
  agents: () => readonly Pick<Agent, 'id'>[];
  /** Dial an external number into `media` (dial.ts); absent: no outbound trunk. */
  dial?: (media: MediaCall, number: string, o: { agentId: string; signal: AbortSignal }) => Promise<CallLeg>;
  /** Throws (with an HTTP-like `status`) when no trunk would take the number. */
  dialCheck?: (number: string) => void;
  /** Would the trunk admission route this number from this source (the centre's own numbers)? */
  inbound?: (source: string, dialled: string) => boolean;
}

export type InternalTarget = { kind: 'agent'; agentId: string } | { kind: 'external'; number: string };

/** One call from an agent's phone: the agent's leg (our UAS dialog) and the far leg (our UAC). */
export class InternalCall {
  readonly id = randomUUID();
  readonly caller: CallLeg;
  readonly far: CallLeg;
  readonly log: Logger;
  ended = false;
  /** The far party was handed over to a customer call (attended transfer): do not hang it up. */
  #handedOver = false;
  #media: MediaCall | undefined;
  /** The dialler's leg to an external number (it holds the trunk slot until hung up). */
  #outbound: CallLeg | undefined;

  constructor(
    private readonly ctx: InternalCallContext,
    private readonly registry: InternalCalls,
    readonly agentId: string,
    readonly target: InternalTarget,
  ) {
    this.caller = new CallLeg('agent', agentId);
    this.far = new CallLeg(target.kind === 'agent' ? 'consult' : 'outbound', target.kind === 'agent' ? target.agentId : target.number);
    this.log = log.child({ internal: this.id, from: agentId, to: this.far.party });
  }

  /** Does `r` (a Replaces header or Refer-To parameter) name the agent's dialog of this call? */
  matches(r: Replaces): boolean {
    const d = this.caller.dialog;
    return d !== undefined && replacesDialog(d, r);
  }

  async run(req: SipRequest, res: SipServerResponse): Promise<void> {
    const { ctx } = this;
    res.on('cancel', () => this.finish('caller-cancel'));
    try {
      this.#media = await ctx.media.createCall(`internal-${this.id}`);
      this.#media.on('lost', (reason) => this.finish(reason));
      const callerMedia = await this.#media.createRtpLeg();
      this.caller.attachMedia(callerMedia);
      // The agent's phone made the offer: its law is the call's, and the far leg is offered it.
      const answerSdp = await callerMedia.answer(req.bodyText);
      if (this.ended) return;
      if (this.target.kind === 'agent') await this.ringAgent(this.target.agentId, res);
      else {
        const out = await ctx.dial!(this.#media, this.target.number, { agentId: this.agentId, signal: this.far.ringing.signal });
        if (!out.media || !out.dialog) throw new SipError(500, 'outbound leg without media or dialog');
        // The dialler's leg frees its trunk slot when hung up: the far leg hangs it up with itself.
        this.far.ringing.signal.addEventListener('abort', () => out.hangUp(), { once: true });
        this.#outbound = out;
        this.far.attachMedia(out.media);
        this.far.answered(out.dialog);
      }
      if (this.ended || this.far.state !== 'up') throw new SipError(487, 'Request Terminated');
      const dialog = await ctx.sip.createUAS(req, res, { localSdp: answerSdp });
      this.caller.answered(dialog);
      if (this.ended) return void this.caller.hangUp();
      this.watch(dialog, this.caller);
      this.watch(this.far.dialog!, this.far);
      await this.#media.bridge(callerMedia, this.far.media!);
      this.log.info('internal call connected');
    } catch (e) {
      const status = e instanceof SipError ? e.status : ((e as { status?: unknown }).status as number | undefined);
      this.log.info({ err: String(e) }, 'internal call not connected');
      if (!res.finalSent && !res.cancelled) {
        const s = typeof status === 'number' && status >= 400 && status < 700 ? status : 500;
        res.send(s === 487 ? 487 : s, { reason: e instanceof SipError ? e.reason : 'Not Connected' });
      }
      this.finish('not-connected');
    }
  }

  /** Ring the agent's newest registration on the far leg; they are not-ready meanwhile. */
  private async ringAgent(agentId: string, res: SipServerResponse): Promise<void> {
    const { ctx } = this;
    const bindings = await ctx.sip.lookup(agentId);
    const b = bindings.sort((x, y) => y.registeredAt - x.registeredAt)[0];
    if (!b) throw new SipError(480, 'Temporarily Unavailable - not registered');
    const v = ctx.acd.agentView(agentId);
    if (v && v.state !== 'available' && !(v.state === 'not-ready' && v.reason !== SYSTEM_AUX_INTERNAL)) {
      // Ringing or talking to a customer, or in wrap-up: busy (a not-ready agent can still be called).
      throw new SipError(486, `Busy Here - ${v.state}`);
    }
    this.registry.busy(agentId);
    const webrtc = b.source.transport === 'ws' || b.source.transport === 'wss';
    const media = webrtc ? await this.#media!.createWebRtcLeg() : await this.#media!.createRtpLeg();
    this.far.attachMedia(media);
    if (this.far.ringing.signal.aborted) throw new SipError(487, 'Request Terminated');
    const law = this.#media!.law;
    let dialog: Dialog | undefined;
    try {
      dialog = await ctx.sip.createUAC(b.contact, {
        destination: ctx.sip.bindingDestination(b),
        localSdp: media.offer(law ? { law } : {}),
        from: `<sip:${this.agentId}@${ctx.sipDomain}>`,
        to: `<sip:${agentId}@${ctx.sipDomain}>`,
        headers: { 'X-CC-Internal-From': this.agentId },
        signal: this.far.ringing.signal,
        onProvisional: (r) => {
          if (r.status === 180 || r.status === 183) res.send(180);
        },
      });
      if (this.far.state !== 'ringing' || this.ended) throw new SipError(487, 'Request Terminated');
      await media.setAnswer(dialog.remoteSdp ?? '');
      this.far.answered(dialog);
    } catch (e) {
      if (dialog) void dialog.destroy().catch(() => undefined);
      throw e;
    }
  }

  /** A party's BYE ends the call; re-INVITEs (hold) are answered from its media leg. */
  private watch(dialog: Dialog, leg: CallLeg): void {
    dialog.on('destroy', () => {
      if (leg === this.far && this.#handedOver) return;
      leg.dialogEnded();
      this.finish(leg === this.caller ? 'caller-bye' : 'far-bye');
    });
    dialog.on('modify', (req: SipRequest, res: SipServerResponse) => {
      if (leg === this.far && this.#handedOver) return;
      void answerReinvite(leg, req, res);
    });
  }

  /**
   * The far party moves to the customer call's media (a re-INVITE with a new offer from a leg on
   * `media`); this call lets go of it and ends: the agent's consult dialog gets our BYE (it was
   * replaced, RFC 3891 §3). Returns the far party's leg on the customer call, role 'consult'.
   */
  async handOver(media: MediaCall): Promise<CallLeg> {
    const dialog = this.far.dialog;
    if (this.ended || !dialog || this.far.state !== 'up') throw new SipError(481, 'consult call not answered');
    // An external party keeps the dialler's leg, so hanging it up later frees its trunk slot.
    const leg = this.#outbound ?? new CallLeg('consult', this.far.party);
    const rtp = this.#outbound ? await media.createTrunkLeg() : await media.createRtpLeg();
    try {
      const answer = await dialog.modify(rtp.offer(media.law ? { law: media.law } : {}));
      await rtp.setAnswer(answer ?? '');
    } catch (e) {
      rtp.close();
      throw e;
    }
    this.#handedOver = true;
    leg.attachMedia(rtp);
    if (leg.state !== 'up') leg.answered(dialog);
    this.finish('replaced');
    return leg;
  }

  finish(cause: string): void {
    if (this.ended) return;
    this.ended = true;
    this.registry.delete(this);
    this.registry.free(this.agentId);
    this.caller.hangUp();
    if (!this.#handedOver) {
      this.far.hangUp();
      if (this.target.kind === 'agent') this.registry.free(this.target.agentId);
    }
    // Close the media once the BYEs are out; the far party's new leg lives in the customer call.
    const media = this.#media;
    setTimeout(() => media?.close(), 200).unref();
    this.log.info({ cause }, 'internal call ended');
  }
}

async function answerReinvite(leg: CallLeg, req: SipRequest, res: SipServerResponse): Promise<void> {
  try {
    const sdp = req.body.length && leg.media instanceof PlainRtpLeg ? await leg.media.update(req.bodyText) : (leg.dialog?.localSdp ?? '');
    res.send(200, { body: sdp, contentType: 'application/sdp' });
  } catch (e) {
    res.send(488, { reason: `Not Acceptable Here - ${e instanceof Error ? e.message : String(e)}` });
  }
}

/** The internal calls of one centre (one SIP stack): the INVITE edge and the Replaces lookup. */
export class InternalCalls {
  readonly #calls = new Set<InternalCall>();
  /** Agents on an internal call (or on a customer call they were transferred), with their state before. */
  readonly #busy = new Map<string, { count: number; wasAvailable: boolean }>();

  constructor(private readonly ctx: InternalCallContext) {
    registries.set(ctx.sip, this);
  }

  get size(): number {
    return this.#calls.size;
  }

  /**
   * An INVITE from an agent's registered phone? Then it is handled here (challenged, refused, or
   * connected) and this returns true; otherwise false and nothing was sent.
   */
  async invite(req: SipRequest, res: SipServerResponse): Promise<boolean> {
    const from = req.get('from');
    const agentId = from ? parseNameAddr(from)?.uri.user : undefined;
    if (!agentId || !this.ctx.agents().some((a) => a.id === agentId)) return false;
    const source = req.source?.address;
    const bindings = await this.ctx.sip.lookup(agentId);
    if (!source || !bindings.some((b) => b.source.address === source)) return false;
    // A number the centre itself answers (an IVR's number) is not dialled out: admission takes it.
    const dialled = parseUri(req.uri)?.user ?? '';
    if (!this.ctx.agents().some((a) => a.id === dialled) && this.ctx.inbound?.(source, dialled)) return false;
    const who = await this.ctx.sip.authenticate(req, res, true);
    if (who === undefined) return true; // challenged (407) or refused (403)
    if (who !== agentId) {
      res.send(403, { reason: "Forbidden - not this agent's credentials" });
      return true;
    }
    const target = this.targetOf(agentId, dialled, res);
    if (!target) return true;
    if (req.body.length === 0) {
      res.send(488, { reason: 'Not Acceptable Here - an offer is needed' });
      return true;
    }
    const call = new InternalCall(this.ctx, this, agentId, target);
    this.#calls.add(call);
    // The calling agent, if free, is not offered customers meanwhile either.
    this.busy(agentId);
    call.log.info({ target }, 'internal call from a desk phone');
    await call.run(req, res);
    return true;
  }

  private targetOf(agentId: string, user: string, res: SipServerResponse): InternalTarget | undefined {
    if (this.ctx.agents().some((a) => a.id === user)) {
      if (user === agentId) return void res.send(486, { reason: 'Busy Here - calling yourself' });
      return { kind: 'agent', agentId: user };
    }
    if (!/^\+?[0-9*#]{2,32}$/.test(user)) return void res.send(404, { reason: 'Not Found - no agent or number' });
    if (!this.ctx.dial) return void res.send(404, { reason: 'Not Found - no outbound trunk' });
    try {
      this.ctx.dialCheck?.(user);
    } catch (e) {
      const status = (e as { status?: unknown }).status;
      res.send(status === 503 ? 503 : 404, { reason: `Not Found - ${e instanceof Error ? e.message : String(e)}`.slice(0, 120) });
      return undefined;
    }
    return { kind: 'external', number: user };
  }

  /** The internal call whose agent-side dialog `r` names. */
  byReplaces(r: Replaces): InternalCall | undefined {
    for (const c of this.#calls) if (c.matches(r)) return c;
    return undefined;
  }

  delete(c: InternalCall): void {
    this.#calls.delete(c);
  }

  /** The agent is on a call the ACD did not route: not-ready (internal-call) until free(). */
  busy(agentId: string): void {
    const b = this.#busy.get(agentId);
    if (b) return void b.count++;
    const wasAvailable = this.ctx.acd.agentView(agentId)?.state === 'available';
    this.#busy.set(agentId, { count: 1, wasAvailable });
    if (wasAvailable) this.ctx.acd.agentNotReady(agentId, SYSTEM_AUX_INTERNAL);
  }

  free(agentId: string): void {
    const b = this.#busy.get(agentId);
    if (!b || --b.count > 0) return;
    this.#busy.delete(agentId);
    const v = this.ctx.acd.agentView(agentId);
    if (b.wasAvailable && v?.state === 'not-ready' && v.reason === SYSTEM_AUX_INTERNAL) this.ctx.acd.agentReady(agentId);
  }

  /** Hang every internal call up (shutdown). */
  close(): void {
    for (const c of [...this.#calls]) c.finish('shutdown');
  }
}

/** One registry per SIP stack: a customer call finds the consult its agent's REFER names. */
const registries = new WeakMap<SipStack, InternalCalls>();

/**
 * A REFER with Replaces on a customer call (RFC 5589 §7): the agent on `leg` consulted on their
 * phone (an internal call) and now joins the customer with the consulted party. The REFER is
 * answered here: 481 when no internal call of this agent has that dialog, 480 when it is not
 * answered or the customer call is not connected to this agent; otherwise 202, the consulted party
 * moves onto the customer call's media (re-INVITE), the consult dialog is ended, the phone gets
 * NOTIFY "200 OK" and the completion of the REST attended transfer runs (consult.ts
 * completeTransfer: queue.transfer, the agent's BYE and wrap-up).
 */
export async function attendedTransfer(call: Call, leg: CallLeg, replaces: Replaces, res: SipServerResponse): Promise<void> {
  const registry = registries.get(call.ctx.sip);
  const ic = registry?.byReplaces(replaces);
  if (!registry || !ic) return void res.send(481, { reason: 'Call/Transaction Does Not Exist - no such consult dialog' });
  if (ic.agentId !== leg.party) return void res.send(403, { reason: "Forbidden - not this agent's consult" });
  if (ic.far.state !== 'up') return void res.send(480, { reason: 'Temporarily Unavailable - the consult is not answered' });
  if (call.phase !== 'connected' || call.agent !== leg || !call.media || consultOf(call))
    return void res.send(480, { reason: `Temporarily Unavailable - the call is ${call.phase}` });
  res.send(202, { reason: 'Accepted' });
  const dialog = leg.dialog;
  let moved: CallLeg;
  try {
    moved = await ic.handOver(call.media);
  } catch (e) {
    call.log.warn({ err: String(e) }, 'attended transfer: the consulted party could not be moved');
    if (dialog) void dialog.notifyRefer(503, 'Service Unavailable').catch(() => undefined);
    return;
  }
  if (call.ended) return void moved.hangUp();
  // The consulted agent stays not-ready (internal-call) until this customer call ends for them.
  const targetAgent = ic.target.kind === 'agent' ? ic.target.agentId : undefined;
  if (targetAgent) call.once('ended', () => registry.free(targetAgent));
  adoptConsult(call, moved, ic.target.kind, moved.party);
  // The phone held the customer before consulting (re-INVITE, or the API): that hold ends here.
  dropAgentHold(call);
  for (const l of [...call.holding]) if (l === leg) setHold(call, l, false);
  const notified = dialog
    ? Promise.race([dialog.notifyRefer(200, 'OK'), new Promise((r) => setTimeout(r, 4000).unref())])
    : Promise.resolve();
  await completeTransfer(call, { byeAfter: notified });
}
