/**
 * Hold and resume. A party's re-INVITE is answered from the same media leg (a new address, a
 * codec refresh, or hold); its direction tells whether that party stops listening: a=sendonly or
 * a=inactive, or the older c=0.0.0.0 form (RFC 3264 §8.4, RFC 2543). While any party holds, the
 * call is on hold, written as hold.start / hold.end with the agent on the call, so the reports
 * count hold time as hold, not talk. A hold still open when the talk ends is closed by the
 * report engine at the talk's end.
 */
import { parse as parseSdp } from 'sdp-transform';
import type { SipRequest, SipServerResponse } from '../sip/index.ts';
import { PlainRtpLeg } from '../../media/index.ts';
import type { Call } from './call.ts';
import type { CallLeg } from './leg.ts';

/** Answer a re-INVITE from one of the call's legs, and note hold or resume. */
export async function reinvite(call: Call, leg: CallLeg, req: SipRequest, res: SipServerResponse): Promise<void> {
  const offer = req.body.length ? req.bodyText : undefined;
  let answer: string;
  try {
    // Plain RTP legs re-latch and honour the new direction; a browser leg keeps its DTLS
    // transport, so its current answer stands (WebRTC renegotiation is not supported).
    answer = offer && leg.media instanceof PlainRtpLeg ? await leg.media.update(offer) : (leg.dialog?.localSdp ?? '');
  } catch (e) {
    res.send(488, { reason: `Not Acceptable Here - ${e instanceof Error ? e.message : String(e)}` });
    return;
  }
  res.send(200, { body: answer, contentType: 'application/sdp' });
  // A re-INVITE without SDP asks for our offer (late offer): no direction to read.
  if (offer) setHold(call, leg, holdRequested(offer));
}

/** Does this SDP offer put its sender on hold (they no longer want to receive)? */
export function holdRequested(sdp: string): boolean {
  let s;
  try {
    s = parseSdp(sdp);
  } catch {
    return false;
  }
  const m = s.media.find((x) => x.type === 'audio');
  if (!m) return false;
  const direction = m.direction ?? s.direction ?? 'sendrecv';
  if (direction === 'sendonly' || direction === 'inactive') return true;
  const address = m.connection?.ip ?? s.connection?.ip;
  return address === '0.0.0.0';
}

/** A leg holds or resumes; the call is on hold while any leg holds (and an agent is on it). */
export function setHold(call: Call, leg: CallLeg, held: boolean): void {
  const set = call.holding;
  const before = set.size > 0;
  if (held) set.add(leg);
  else set.delete(leg);
  const after = set.size > 0;
  const agentId = call.agent?.party;
  if (before === after || call.phase !== 'connected' || !agentId) return;
  call.ctx.cdr.contact(call.contactId, { type: after ? 'hold.start' : 'hold.end', ts: call.ctx.clock.now(), agentId });
  call.log.info({ leg: leg.role, agentId }, after ? 'call on hold' : 'call resumed');
}
