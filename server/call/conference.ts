/**
 * Three-way conference (agent + caller + consulted party, through the call's G.711 mixer), and the
 * one place that decides who hears whom on a call with more than two legs: consult.ts (the caller
 * on hold while the agent talks to a colleague, attended transfer) and monitor.ts (a supervisor
 * listening, whispering, barging) change the call's talk state here and call settleMedia(), which
 * makes the media match it: a plain bridge when two parties talk and nobody listens in, the mixer
 * (media/mediasoup/mix.ts) otherwise.
 */
import { conferenceHears, monitorHears, type MonitorMode, type Playback } from '../../media/index.ts';
import type { Call } from './call.ts';
import { CallControlError } from './controlError.ts';
import type { CallLeg, MediaLeg } from './leg.ts';

export type ConsultPhase = 'ringing' | 'consulting' | 'conference' | 'transferred';

export interface ConsultState {
  /** The consulted party's leg (role 'consult'). */
  leg: CallLeg;
  /** Agent id, or the external number. */
  target: string;
  targetKind: 'agent' | 'external';
  phase: ConsultPhase;
  /** Music on hold to the caller while the agent consults. */
  music?: Playback | undefined;
  /** When the consult hold began (hold.start written), until hold.end. */
  heldSince?: number | undefined;
}

export interface MonitorState {
  /** The supervisor's leg (role 'supervisor'), ringing until answered. */
  leg: CallLeg;
  supervisorId: string;
  mode: MonitorMode;
}

/** What consult and monitor did to a call (kept beside the call, not in it). */
export interface Talk {
  consult?: ConsultState | undefined;
  monitor?: MonitorState | undefined;
}

const talks = new WeakMap<Call, Talk>();

export function talkOf(call: Call): Talk {
  let t = talks.get(call);
  if (!t) talks.set(call, (t = {}));
  return t;
}

const up = (l: CallLeg | undefined): MediaLeg | undefined => (l && l.state === 'up' ? l.media : undefined);

/**
 * The legs talking together now: the caller (unless on consult hold), the agent (unless gone), the
 * consulted party once conferenced or transferred to; while consulting, the agent and the consulted
 * party. The first is whom a supervisor's whisper is for: the agent, or after a transfer the
 * consulted party.
 */
export function talkingParties(call: Call): { parties: MediaLeg[]; coached: MediaLeg | undefined } {
  const c = talkOf(call).consult;
  const agent = up(call.agent);
  const consulted = up(c?.leg);
  if (c?.phase === 'consulting') return { parties: [agent, consulted].filter((x) => x !== undefined), coached: agent };
  if (c?.phase === 'ringing') return { parties: agent ? [agent] : [], coached: agent };
  const withConsulted = c?.phase === 'conference' || c?.phase === 'transferred';
  const parties = [up(call.customer), agent, withConsulted ? consulted : undefined].filter((x) => x !== undefined);
  return { parties, coached: agent ?? (withConsulted ? consulted : undefined) };
}

/** Make the call's media match its talk state (see the file comment). */
export async function settleMedia(call: Call): Promise<void> {
  const media = call.media;
  if (!media || call.ended) return;
  const m = talkOf(call).monitor;
  const sup = up(m?.leg);
  const { parties, coached } = talkingParties(call);
  if (sup && m && coached && parties.length > 0) {
    await media.mix(monitorHears(m.mode, { parties, supervisor: sup, agent: coached }));
    return;
  }
  if (parties.length === 2) {
    await media.bridge(parties[0]!, parties[1]!);
    return;
  }
  if (parties.length > 2) {
    await media.mix(conferenceHears(parties));
    return;
  }
  await media.endMix();
  await media.unbridge();
}

/** Hold of the caller during a consult ends (conference, transfer, back to the caller). */
export function endConsultHold(call: Call, c: ConsultState): void {
  c.music?.stop();
  c.music = undefined;
  if (c.heldSince === undefined) return;
  c.heldSince = undefined;
  const agentId = call.agent?.party ?? call.agentId;
  if (agentId) call.ctx.cdr.contact(call.contactId, { type: 'hold.end', ts: call.ctx.clock.now(), agentId });
}

/**
 * The agent turns the consult into a three-way conference: the caller comes off hold and the three
 * hear each other through the mixer (a browser agent's leg joins it through a loopback tap,
 * media/mediasoup/mixTap.ts).
 */
export async function conference(call: Call): Promise<void> {
  const c = talkOf(call).consult;
  if (call.phase !== 'connected' || !c || c.phase !== 'consulting')
    throw new CallControlError(409, 'no answered consult to conference with');
  c.phase = 'conference';
  endConsultHold(call, c);
  try {
    await settleMedia(call);
  } catch (e) {
    // The mix could not be made (a leg without media yet): back to consulting, the caller held again.
    c.phase = 'consulting';
    await settleMedia(call).catch(() => undefined);
    throw new CallControlError(409, `conference: ${e instanceof Error ? e.message : String(e)}`);
  }
  call.log.info({ agent: call.agent?.party, consulted: c.target }, 'conference');
}
