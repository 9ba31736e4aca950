/**
 * Consult and attended transfer. The agent puts the caller on hold (the queue's music on hold) and
 * rings a second agent's registered phone (or an external number, through the outbound dialler the
 * centre injects as `dialOut`) on a 'consult' leg; the two agents talk. Then:
 *  - complete: the caller is joined with the consulted party and the first agent leaves (their talk
 *    ends, the ACD starts their wrap-up); written as queue.transfer, as a blind transfer is, and
 *    the call goes on as a new contact linked to it (handled by the consulted agent, if one);
 *  - cancel: the consult leg is hung up and the agent is back with the caller;
 *  - conference (conference.ts): all three hear each other through the mixer; the agent leaving it
 *    is the same as completing the transfer.
 * The consulted party hanging up returns the call to the agent and the caller (or, after a
 * transfer, ends the call).
 */
import { SipError, type Dialog, type SipRequest, type SipServerResponse } from '../sip/index.ts';
import type { Call } from './call.ts';
import { CallControlError, refuseUndialable } from './controlError.ts';
import { endConsultHold, settleMedia, talkOf, type ConsultState } from './conference.ts';
import { reinvite } from './hold.ts';
import { CallLeg } from './leg.ts';
import { continueAsLinkedContact, nextContactId } from './linkedContact.ts';

export type ConsultTarget = { kind: 'agent'; agentId: string } | { kind: 'external'; number: string };

/**
 * Ring an agent's (or supervisor's) registered phone on `leg` as offer.ts rings one for a queued
 * call: the newest binding, a browser over WebRTC or a desk phone over plain RTP, the call's law.
 * Resolves once answered (leg up, media negotiated); throws SipError if not.
 */
export async function ringRegistered(call: Call, leg: CallLeg, userId: string, headers: Record<string, string>): Promise<void> {
  const { ctx } = call;
  if (!call.media) throw new SipError(500, 'call has no media');
  const bindings = await ctx.sip.lookup(userId);
  const b = bindings.sort((x, y) => y.registeredAt - x.registeredAt)[0];
  if (!b) throw new SipError(480, 'Temporarily Unavailable - not registered');
  const webrtc = b.source.transport === 'ws' || b.source.transport === 'wss';
  const media = webrtc ? await call.media.createWebRtcLeg() : await call.media.createRtpLeg();
  leg.attachMedia(media);
  if (leg.ringing.signal.aborted) throw new SipError(487, 'Request Terminated');
  const law = call.customerMedia?.law ?? call.media.law;
  let dialog: Dialog | undefined;
  try {
    dialog = await ctx.sip.createUAC(b.contact, {
      destination: ctx.sip.bindingDestination(b),
      localSdp: media.offer(law ? { law } : {}),
      from: `"${call.caller.replace(/"/g, '')}" <sip:${encodeURIComponent(call.caller)}@${ctx.sipDomain}>`,
      to: `<sip:${userId}@${ctx.sipDomain}>`,
      headers: { 'X-CC-Call-Id': call.contactId, 'X-CC-Caller': encodeURIComponent(call.caller), ...headers },
      signal: leg.ringing.signal,
    });
    if (leg.state !== 'ringing' || call.ended) throw new SipError(487, 'Request Terminated');
    await media.setAnswer(dialog.remoteSdp ?? '');
    leg.answered(dialog);
  } catch (e) {
    if (dialog) void dialog.destroy().catch(() => undefined);
    throw e;
  }
}

/** The consult in progress on a call, if any. */
export function consultOf(call: Call): ConsultState | undefined {
  return talkOf(call).consult;
}

/**
 * The agent consults `target`: the caller is put on hold (music on hold, hold.start) and the
 * target rung. Resolves when the target answers (agent and target then talk); rejects with a
 * CallControlError if the call is not in a state to consult, or the target is unknown or does not
 * answer, in which case the agent is back with the caller.
 */
export async function consult(call: Call, target: ConsultTarget): Promise<CallLeg> {
  const { ctx } = call;
  const agent = call.agent;
  const talk = talkOf(call);
  if (call.phase !== 'connected' || !agent || !call.media || !call.customerMedia)
    throw new CallControlError(409, 'no agent is talking with the caller');
  if (talk.consult) throw new CallControlError(409, `a consult is already ${talk.consult.phase}`);
  const dialOut = ctx.dialOut;
  if (target.kind === 'agent') {
    if (target.agentId === agent.party) throw new CallControlError(409, 'an agent cannot consult themselves');
    if (!ctx.acd.agentView(target.agentId)) throw new CallControlError(404, `no agent ${target.agentId}`);
  } else if (!dialOut) {
    throw new CallControlError(501, 'no outbound dialler: external consults need an outbound trunk');
  } else {
    // A number no trunk serves (or a full trunk) is refused before the caller is put on hold.
    refuseUndialable(ctx.dialCheck, target.number);
  }
  const party = target.kind === 'agent' ? target.agentId : target.number;
  const leg = new CallLeg('consult', party);
  const c: ConsultState = { leg, target: party, targetKind: target.kind, phase: 'ringing' };
  talk.consult = c;
  call.legs.add(leg);
  deskChanged(call);
  await holdCaller(call, c);
  try {
    if (target.kind === 'agent')
      await ringRegistered(call, leg, target.agentId, { 'X-CC-Consult': agent.party, 'X-CC-Queue': call.queue ?? '' });
    else {
      // The centre's dialler (CallContext.dialOut, dial.ts) makes its own 'outbound' leg on the
      // call's media; the consult leg takes over its media and dialog.
      const out = await dialOut!(call, target.number, { signal: leg.ringing.signal });
      // Our own BYE on the consult leg fires no 'destroy' on the dialog (only the carrier's BYE
      // does), so the outbound leg is hung up with it (hangUp aborts `ringing`): one BYE, and the
      // trunk slot is freed — after a cancel, a completed transfer or the end of the call.
      if (leg.ringing.signal.aborted) out.hangUp();
      else leg.ringing.signal.addEventListener('abort', () => out.hangUp(), { once: true });
      if (!out.media || !out.dialog) throw new SipError(500, 'outbound leg without media or dialog');
      leg.attachMedia(out.media);
      leg.answered(out.dialog);
    }
    if (call.ended || leg.state !== 'up' || talk.consult !== c) throw new SipError(487, 'Request Terminated');
  } catch (e) {
    if (talk.consult === c) talk.consult = undefined;
    call.dropLeg(leg);
    if (!call.ended) {
      endConsultHold(call, c);
      await settleMedia(call).catch((err: unknown) => call.log.error({ err: String(err) }, 'back to the caller failed'));
      // The consulted party declined or hung up while ringing (or the agent cancelled): no consult now.
      deskChanged(call);
    }
    // SIP refusals and the dialler's (DialFailed: SIP status; DialError: an HTTP status) carry a status.
    const carried = (e as { status?: unknown }).status;
    const status = e instanceof SipError ? e.status : typeof carried === 'number' ? carried : 500;
    call.log.info({ target: party, status, err: e instanceof SipError ? undefined : String(e) }, 'consult failed');
    throw new CallControlError(
      status === 487 ? 409 : status >= 400 && status < 700 ? status : 502,
      `consult ${party}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  c.phase = 'consulting';
  watchConsulted(call, c);
  await settleMedia(call);
  deskChanged(call);
  call.log.info({ agent: agent.party, consulted: party }, 'consulting');
  return leg;
}

/** The consulted party's BYE and re-INVITEs, once their leg is up. */
function watchConsulted(call: Call, c: ConsultState): void {
  const leg = c.leg;
  leg.dialog?.on('destroy', () => {
    leg.dialogEnded();
    void consultedHungUp(call, c);
  });
  leg.dialog?.on('modify', (req: SipRequest, res: SipServerResponse) => void reinvite(call, leg, req, res));
}

/**
 * A consult the agent's desk phone placed itself (internalCall.ts: a second line, then REFER with
 * Replaces): the consulted party's leg, already up on the call's media, becomes the call's consult,
 * so completeTransfer finishes it as it finishes one made through the API. No media changes here.
 */
export function adoptConsult(call: Call, leg: CallLeg, targetKind: ConsultTarget['kind'], target: string): void {
  const talk = talkOf(call);
  if (talk.consult) throw new CallControlError(409, `a consult is already ${talk.consult.phase}`);
  const c: ConsultState = { leg, target, targetKind, phase: 'consulting' };
  talk.consult = c;
  call.legs.add(leg);
  watchConsulted(call, c);
}

/** The caller hears the queue's music on hold while the agent consults; hold.start is written. */
async function holdCaller(call: Call, c: ConsultState): Promise<void> {
  const { ctx } = call;
  await settleMedia(call); // phase 'ringing': the caller leaves the bridge
  c.heldSince = ctx.clock.now();
  ctx.cdr.contact(call.contactId, { type: 'hold.start', ts: c.heldSince, agentId: call.agent!.party });
  const moh = call.queue ? ctx.flows().musicOnHold[call.queue] : undefined;
  const trunk = call.customerMedia;
  if (!moh || !trunk || !call.media) return;
  try {
    c.music = await call.media.play(trunk, await call.promptFile(moh), { loop: true });
    // Stopped meanwhile (the consult failed at once): do not leave it playing.
    if (c.heldSince === undefined) c.music.stop();
  } catch (e) {
    call.log.warn({ err: String(e) }, 'music on hold for the consult failed');
  }
}

/** Back to the caller: the consult leg is hung up (or stops ringing). */
export async function cancelConsult(call: Call): Promise<void> {
  const c = talkOf(call).consult;
  if (!c || (c.phase !== 'ringing' && c.phase !== 'consulting')) throw new CallControlError(409, 'no consult to cancel');
  if (c.phase === 'ringing') {
    // consult() sees the ringing end and takes the agent back to the caller.
    call.dropLeg(c.leg);
    return;
  }
  talkOf(call).consult = undefined;
  call.dropLeg(c.leg);
  endConsultHold(call, c);
  await settleMedia(call);
  deskChanged(call);
  call.log.info({ consulted: c.target }, 'consult cancelled');
}

/**
 * Attended transfer: the caller is joined with the consulted party and the agent leaves (from a
 * consult, or from a conference: the agent dropping out leaves the other two talking). The agent's
 * talk ends here (queue.transfer, then the ACD's wrap-up); the recording goes on.
 */
export async function completeTransfer(
  call: Call,
  /** Hang the agent's leg up only once this settles (a REFER's final NOTIFY must precede the BYE). */
  opts: { byeAfter?: Promise<unknown> } = {},
): Promise<void> {
  const { ctx } = call;
  const c = talkOf(call).consult;
  const agent = call.agent;
  if (!c || (c.phase !== 'consulting' && c.phase !== 'conference') || !agent)
    throw new CallControlError(409, 'no answered consult to transfer to');
  c.phase = 'transferred';
  endConsultHold(call, c);
  // The agent leaves first: out of the call's legs, so their BYE (connect.ts) ends nothing else.
  call.legs.delete(agent);
  if (opts.byeAfter) void opts.byeAfter.catch(() => undefined).finally(() => agent.hangUp());
  else agent.hangUp();
  await settleMedia(call);
  const queue = call.queue ?? 'none';
  const nextId = nextContactId();
  ctx.cdr.contact(call.contactId, {
    type: 'queue.transfer',
    ts: ctx.clock.now(),
    queue,
    agentId: agent.party,
    targetKind: c.targetKind,
    target: c.target,
    toContactId: nextId,
  });
  const r = ctx.acd.callEnded(call.contactId);
  if (!r.ok) call.log.warn({ error: r.error }, 'acd callEnded refused');
  keepRecordingOn(call);
  // What follows is a new contact linked to this one, as after a blind transfer (linkedContact.ts).
  const previous = continueAsLinkedContact(call, nextId);
  if (c.targetKind === 'agent') {
    // The consulted agent handles the new contact: a visit answered at once, so the reports count
    // it (and its talk, until call.end) as theirs. The ACD did not route it: no offer, no wrap-up.
    ctx.cdr.connectedDirectly(nextId, queue, c.target, ctx.clock.now());
  }
  call.log.info({ from: agent.party, to: c.target, previous }, 'attended transfer completed');
}

/**
 * The recording started on the previous contact goes on through the transfer; its
 * recording.stopped belongs to that contact (connect.ts), which stays open until then.
 */
function keepRecordingOn(call: Call): void {
  const rec = call.recording;
  if (!rec) return;
  let stopped!: () => void;
  call.ctx.cdr.keepOpen(call.contactId, new Promise<void>((r) => (stopped = r)));
  call.recording = { stop: () => Promise.resolve(rec.stop()).finally(stopped) };
}

/** The agent drops out of a three-way conference: the caller and the consulted party go on. */
export const leaveConference = completeTransfer;

/** The consulted party hung up. */
async function consultedHungUp(call: Call, c: ConsultState): Promise<void> {
  const talk = talkOf(call);
  if (talk.consult !== c || call.ended) return;
  call.legs.delete(c.leg);
  c.leg.hangUp();
  if (c.phase === 'transferred') {
    // The one talking with the caller has gone: the call is over.
    talk.consult = undefined;
    call.finish('agent', 'agent-bye');
    return;
  }
  talk.consult = undefined;
  // The caller is back with the agent as after a cancel: off the consult's hold, the music stopped.
  endConsultHold(call, c);
  await settleMedia(call).catch((e: unknown) => call.log.error({ err: String(e) }, 'back to the caller failed'));
  deskChanged(call);
  call.log.info({ consulted: c.target }, 'consulted party hung up');
}

/** The agent's desk is told the consult changed (CallContext.deskChanged: its event stream). */
function deskChanged(call: Call): void {
  try {
    call.ctx.deskChanged?.(call);
  } catch (e) {
    call.log.warn({ err: String(e) }, 'desk push failed');
  }
}
