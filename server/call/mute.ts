/**
 * Mute: the agent's voice stops reaching the caller while the agent still hears them (not a hold:
 * no music, nothing in the event log's hold spans). Unmute gives the caller the agent's voice
 * back. While the agent also holds, the music plays on; the caller's feed (silence when muted) is
 * what they hear once the hold ends.
 */
import type { Call } from './call.ts';
import { CallControlError } from './controlError.ts';

const muted = new WeakSet<Call>();

export function isMuted(call: Call): boolean {
  return muted.has(call);
}

export async function muteCall(call: Call, mute: boolean): Promise<void> {
  const agent = call.agent;
  const customer = call.customerMedia;
  if (call.phase !== 'connected' || !agent?.media?.producer || !customer) {
    throw new CallControlError(409, `the call is not connected to an agent (it is ${call.phase})`);
  }
  if (mute === muted.has(call)) throw new CallControlError(409, mute ? 'the agent is already muted' : 'the agent is not muted');
  if (mute) muted.add(call);
  else muted.delete(call);
  await customer.hear(mute ? undefined : agent.media.producer);
  call.log.info({ agentId: agent.party }, mute ? 'agent muted' : 'agent unmuted');
}

/** The agent left (transfer, hang-up): the next agent starts unmuted. */
export function clearMute(call: Call): void {
  muted.delete(call);
}
