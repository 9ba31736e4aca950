/**
 * Hold and resume. A party's re-INVITE is answered from the same media leg (a new address, a
 * codec refresh, or hold); its direction tells whether that party stops listening: a=sendonly or
 * a=inactive, or the older c=0.0.0.0 form (RFC 3264 §8.4, RFC 2543). While any party holds, the
 * call is on hold, written as hold.start / hold.end with the agent on the call, so the reports
 * count hold time as hold, not talk. A hold still open when the talk ends is closed by the
 * report engine at the talk's end.
 *
 * The agent can also hold from the agent API (holdCall): the caller then hears the queue's music
 * on hold and the agent hears nothing, with the same hold.start / hold.end.
 */
import { parse as parseSdp } from 'sdp-transform';
import type { SipRequest, SipServerResponse } from '../sip/index.ts';
import { PlainRtpLeg, WebRtcLeg, type Playback } from '../../media/index.ts';
import type { Call } from './call.ts';
import type { CallLeg } from './leg.ts';
import { CallControlError } from './controlError.ts';

/** Answer a re-INVITE from one of the call's legs, and note hold or resume. */
export async function reinvite(call: Call, leg: CallLeg, req: SipRequest, res: SipServerResponse): Promise<void> {
  const offer = req.body.length ? req.bodyText : undefined;
  let answer: string;
  try {
    // Plain RTP legs re-latch and honour the new direction; a browser leg keeps its DTLS
    // transport and answers an ICE restart (a network change) with fresh ICE credentials.
    answer =
      offer && (leg.media instanceof PlainRtpLeg || leg.media instanceof WebRtcLeg)
        ? await leg.media.update(offer)
        : (leg.dialog?.localSdp ?? '');
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

/** Agents' holds from the API (holdCall): the music playing to the caller meanwhile. */
const agentHolds = new WeakMap<Call, { leg: CallLeg; music: Playback | undefined }>();

/** Is the call on hold by its agent from the API? */
export function heldByAgent(call: Call): boolean {
  return agentHolds.has(call);
}

/**
 * The agent puts the caller on hold (the agent API): the caller hears the queue's music on hold
 * (or silence when the queue has none), the agent hears nothing, and hold.start is written;
 * resume (held = false) gives each party the other's voice back and writes hold.end. Throws a
 * CallControlError (nothing changed) when the call is not connected to an agent, or is already
 * in the state asked for.
 */
export async function holdCall(call: Call, held: boolean): Promise<void> {
  const agent = call.agent;
  const customer = call.customerMedia;
  if (call.phase !== 'connected' || !agent || !customer || !call.media || !agent.media) {
    throw new CallControlError(409, `the call is not connected to an agent (it is ${call.phase})`);
  }
  const current = agentHolds.get(call);
  if (held === (current !== undefined)) throw new CallControlError(409, held ? 'the call is already on hold' : 'the call is not on hold');
  if (held) {
    const state = { leg: agent, music: undefined as Playback | undefined };
    agentHolds.set(call, state);
    setHold(call, agent, true);
    // The agent hears nothing; the caller's feed (the agent) is held back while the music plays.
    await agent.media.hear(undefined);
    const moh = call.queue ? call.ctx.flows().musicOnHold[call.queue] : undefined;
    if (moh) {
      try {
        const file = await call.promptFile(moh);
        if (agentHolds.get(call) === state && !call.ended) state.music = await call.media.play(customer, file, { loop: true });
        // Resumed while the music was starting: stop it at once.
        if (agentHolds.get(call) !== state) state.music?.stop();
      } catch (e) {
        call.log.warn({ err: String(e) }, 'music on hold failed; the caller hears silence');
      }
    }
    return;
  }
  agentHolds.delete(call);
  endAgentHold(current!);
  if (agent.media && customer.producer) await agent.media.hear(customer.producer);
  setHold(call, current!.leg, false);
}

/**
 * The held agent leaves the call (a transfer, a hang-up): the music stops; hold.end is written
 * while the agent is still the call's agent.
 */
export function dropAgentHold(call: Call): void {
  const current = agentHolds.get(call);
  if (!current) return;
  agentHolds.delete(call);
  endAgentHold(current);
  setHold(call, current.leg, false);
}

function endAgentHold(h: { music: Playback | undefined }): void {
  // The caller's leg takes up its feed again (the agent, unless muted) when the music stops.
  h.music?.stop();
}
