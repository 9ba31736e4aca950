/**
 * The agent's side of a connected call ended (their BYE, their browser's media failed, their
 * connection did not come back in time): the talk ends, and the caller may go on in the IVR (a
 * post-call survey) or is hung up. Its own file because the bridge (connect.ts), the answer
 * (answer.ts) and leg recovery (legRecovery.ts) all end a call this way.
 */
import type { Call } from './call.ts';
import { dropAgentHold } from './hold.ts';
import { clearMute } from './mute.ts';

/** The agent's side ended (BYE, or their browser's media failed). */
export function agentHungUp(call: Call, cause = 'agent-bye'): void {
  const leg = call.agent;
  if (call.phase !== 'connected' || !leg) return;
  // An agent's hold from the API ends with them (hold.end); the next agent starts unmuted.
  dropAgentHold(call);
  clearMute(call);
  // Out of the call's legs, signalling over; its media closes with the call's.
  call.legs.delete(leg);
  leg.hangUp();
  call.agentLeftFirst = true;
  // The conversation is over; a post-call survey that may follow is not talk time.
  call.logEnd('agent', cause);
  call.endTalk();
  void call.media?.unbridge().catch(() => undefined);
  call.phase = 'after-call';
  // The IVR may go on (a post-call survey); if it has nothing more it asks us to hang up.
  call.ivr?.session.bridgeEnded();
  if (call.phase === 'after-call' && (call.ivr?.session.ended ?? true)) call.finish('agent', 'agent-bye');
}
