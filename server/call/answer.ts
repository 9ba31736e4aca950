/**
 * Answering a trunk INVITE: the call's media (one router, the customer's plain-RTP leg from the
 * carrier's offer), the 200 OK with our answer, and the customer's dialog (BYE, INFO keys,
 * re-INVITEs). Then the IVR starts. A call that cannot be answered is refused with the status that
 * says why (488 no common codec, 503 media down). A late-offer INVITE (no SDP, RFC 3261 §13.2.1)
 * gets our offer in the 200 (PCMU/PCMA + telephone-event) and the carrier's answer comes in the
 * ACK; an ACK without a usable answer ends the call with a BYE.
 */
import { SipError, type Dialog, type SipRequest, type SipServerResponse } from '../sip/index.ts';
import { CodecMismatch, SdpError, parseDtmfInfo } from '../../media/index.ts';
import type { Call } from './call.ts';
import { agentHungUp } from './agentHangUp.ts';
import { reinvite } from './hold.ts';
import { legLost } from './legRecovery.ts';
import { startIvr } from './ivr.ts';

/** Answer and start the IVR. Never throws: failures end the call with a cause. */
export async function answer(call: Call, req: SipRequest, res: SipServerResponse): Promise<void> {
  const { ctx } = call;
  ctx.cdr.contact(call.contactId, {
    type: 'contact.arrived',
    ts: call.arrivedAt,
    initiation: 'inbound',
    caller: call.caller,
    dialled: call.dialled,
    trunk: call.trunk,
  });
  res.once('cancel', () => call.finish('caller', 'cancelled'));
  let ivrStarted = false;
  let earlyKeys = '';
  let sdp: string;
  const lateOffer = req.contentType !== 'application/sdp' || req.body.length === 0;
  try {
    const media = await ctx.media.createCall(call.contactId);
    call.media = media;
    media.on('lost', (reason) => call.finish('system', reason));
    media.on('dtmf', (digit) => {
      if (ivrStarted) call.ivr?.session.digit(digit);
      // A caller who knows the menu keys ahead, before the IVR has started (under load the 200's
      // ACK and the IVR's start can trail the first RTP by a second): keep the keys for the menu.
      else if (earlyKeys.length < 32) earlyKeys += digit;
    });
    // A browser that vanished (tab closed, network gone) without a BYE: its ICE/DTLS fails.
    media.on('legFailed', (leg, reason) => {
      if (call.agent?.media !== leg) return;
      // A browser whose network dropped may come back: the call waits for it (legRecovery.ts).
      if (legLost(call, call.agent, 'media', reason)) return;
      agentHungUp(call, `agent-media-${reason}`);
    });
    const trunkLeg = await media.createTrunkLeg();
    call.customer.attachMedia(trunkLeg);
    sdp = lateOffer ? trunkLeg.offer() : await trunkLeg.answer(req.bodyText);
  } catch (e) {
    if (call.ended) return; // the caller CANCELled while media was being set up
    if (e instanceof CodecMismatch || e instanceof SdpError) call.reject(488, `Not Acceptable Here - ${e.message}`);
    else {
      call.log.error({ err: String(e) }, 'media setup failed');
      call.reject(503, 'Service Unavailable - media');
    }
    return;
  }
  if (call.ended) return;
  let dialog: Dialog;
  try {
    dialog = await ctx.sip.createUAS(req, res, { localSdp: sdp });
  } catch (e) {
    call.finish('caller', e instanceof SipError ? `sip-${e.status}` : 'answer-failed');
    return;
  }
  if (call.ended) {
    // The caller hung up while the 200 was on its way: finish() ran before the dialog existed.
    void dialog.destroy().catch(() => undefined);
    return;
  }
  if (lateOffer) {
    try {
      // createUAS resolved on the ACK: its SDP is the answer to our offer.
      await call.customerMedia!.setAnswer(dialog.remoteSdp ?? '');
    } catch (e) {
      call.log.info({ err: String(e) }, 'late offer: the ACK carried no usable answer');
      call.customer.answered(dialog);
      call.finish('system', 'late-offer-no-answer');
      return;
    }
    if (call.ended) {
      void dialog.destroy().catch(() => undefined);
      return;
    }
  }
  call.customer.answered(dialog);
  dialog.on('destroy', () => {
    if (call.ended) return;
    call.customer.dialogEnded(); // already terminated by the caller's BYE
    call.finish('caller', 'caller-bye');
  });
  dialog.on('info', (info: SipRequest, r: SipServerResponse) => {
    const d = parseDtmfInfo(info.contentType ?? '', info.bodyText);
    r.send(d || info.body.length === 0 ? 200 : 415);
    if (d) call.media?.injectDtmf(d, 'info');
  });
  dialog.on('modify', (re: SipRequest, r: SipServerResponse) => void reinvite(call, call.customer, re, r));
  startIvr(call);
  ivrStarted = true;
  for (const k of earlyKeys) call.ivr?.session.digit(k);
}
