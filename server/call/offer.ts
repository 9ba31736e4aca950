/**
 * Offering a queued call to the agent the ACD chose: ring their registered device (a browser over
 * WebRTC, or a desk phone over plain RTP) with the screen pop in X-CC-* headers. An answer the ACD
 * still accepts connects the call; a failure tells the ACD, which offers the next agent.
 */
import { SipError, type Dialog } from '../sip/index.ts';
import type { Call } from './call.ts';
import { connect } from './connect.ts';
import { CallLeg } from './leg.ts';

/** The ACD offers the call to an agent: ring their registered softphone or desk phone. */
export async function offer(call: Call, agentId: string, expiresAt?: number): Promise<void> {
  const { ctx } = call;
  const trunkLeg = call.customerMedia;
  if (call.phase !== 'queued' || !call.media || !trunkLeg) return;
  const leg = new CallLeg('agent', agentId);
  call.legs.add(leg);
  let dialog: Dialog | undefined;
  try {
    const bindings = await ctx.sip.lookup(agentId);
    const b = bindings.sort((x, y) => y.registeredAt - x.registeredAt)[0];
    if (!b) throw new SipError(480, 'Temporarily Unavailable - agent not registered');
    const webrtc = b.source.transport === 'ws' || b.source.transport === 'wss';
    const media = webrtc ? await call.media.createWebRtcLeg() : await call.media.createRtpLeg();
    leg.attachMedia(media);
    if (leg.ringing.signal.aborted) throw new SipError(487, 'Request Terminated');
    const law = trunkLeg.law ?? call.media.law;
    const sdp = media.offer(law ? { law } : {});
    const path = call.ivr?.session.path.map((s) => s.label ?? s.node) ?? [];
    dialog = await ctx.sip.createUAC(b.contact, {
      destination: ctx.sip.bindingDestination(b),
      localSdp: sdp,
      from: `"${call.caller.replace(/"/g, '')}" <sip:${encodeURIComponent(call.caller)}@${ctx.sipDomain}>`,
      to: `<sip:${agentId}@${ctx.sipDomain}>`,
      headers: {
        'X-CC-Call-Id': call.contactId,
        'X-CC-Caller': encodeURIComponent(call.caller),
        'X-CC-Queue': call.queue ?? '',
        // Time in queue, as the reports count it (IVR time is not waiting for an agent).
        'X-CC-Waited': String(Math.round((ctx.clock.now() - (call.queuedAt ?? call.arrivedAt)) / 1000)),
        'X-CC-Ivr-Path': encodeURIComponent(path.join(',')),
        // Seconds this offer rings before ring-no-answer, for the desktop's countdown.
        ...(expiresAt !== undefined ? { 'X-CC-Ring-Timeout': String(Math.max(0, Math.round((expiresAt - ctx.clock.now()) / 1000))) } : {}),
      },
      signal: leg.ringing.signal,
    });
    if (leg.state !== 'ringing' || call.phase !== 'queued') {
      void dialog.destroy().catch(() => undefined);
      call.dropLeg(leg);
      return;
    }
    await media.setAnswer(dialog.remoteSdp ?? '');
    const r = ctx.acd.answered(call.contactId, agentId);
    if (!r.ok) {
      // The ACD moved on (ring-no-answer fired, or ring-all gave the call to another agent).
      call.log.info({ agentId, error: r.error }, 'answer came too late');
      void dialog.destroy().catch(() => undefined);
      call.dropLeg(leg);
      return;
    }
    leg.answered(dialog);
    await connect(call, leg);
  } catch (e) {
    const cancelled = leg.state === 'ended' || leg.ringing.signal.aborted;
    // Answered, but its SDP could not be used: hang the agent up rather than leave them on air.
    if (dialog && leg.state !== 'up') void dialog.destroy().catch(() => undefined);
    if (leg.state !== 'up') call.dropLeg(leg);
    if (cancelled || call.phase !== 'queued') return;
    const status = e instanceof SipError ? e.status : 500;
    call.log.info({ agentId, status, err: e instanceof SipError ? undefined : String(e) }, 'offer failed');
    ctx.acd.rejected(call.contactId, agentId);
  }
}

/** Ring-no-answer, ring-all won elsewhere, or the caller left: stop ringing this agent. */
export function cancelOffer(call: Call, agentId: string): void {
  const leg = call.offerTo(agentId);
  if (leg) call.dropLeg(leg);
}
