/**
 * A browser agent's leg that loses its connection mid-call (Wi-Fi drops, a laptop changes network,
 * a proxy recycles the WebSocket) is kept for a grace period (media.webrtc.callGraceSec) instead of
 * ending the call:
 *
 * - signalling: the agent's WebSocket closed. The SIP dialog stays (Dialog 'flowLost'); when the
 *   browser registers again on a new WebSocket the stack re-binds the dialog to it ('flowRestored',
 *   server/sip/stack.ts), and the page's ICE-restart re-INVITE is answered on the new connection
 *   with fresh ICE credentials (hold.ts reinvite -> WebRtcLeg.update).
 * - media: the browser's ICE consent lapsed (mediasoup 'disconnected', media.iceConsentTimeoutSec).
 *   It is back when ICE connects again (after the restart, or on its own when the path returns).
 *
 * Meanwhile the caller stays bridged to the agent's leg and hears SILENCE, not music on hold: a
 * short cut (the common case: seconds) is over before music would make sense, and while only the
 * WebSocket is down the audio path often still works — the two keep talking, and music would cut a
 * working conversation. The call detail log is untouched while the leg recovers.
 *
 * When the grace runs out with the leg still down, the conversation with that agent is over, as
 * after a transfer (linkedContact.ts): the contact so far ends (call.end 'agent-connection-lost',
 * the talk and the recording stop there, recording.stopped on that contact) and the call goes on
 * as a NEW contact linked to it (initiation 'transfer', previousContactId), with its own recording
 * once the next agent answers. The new contact enters the HEAD of the queue (the caller's original
 * arrival, and a priority above everyone waiting, as a supervisor's "to head" does), hears the
 * queue's music again and is offered to the next agent. The agent is set Not ready
 * ('disconnected'), so the call is not offered back to a phone that is not there. Each step is
 * logged (agent leg lost, recovered after N ms, or back to the queue head as contact X).
 */
import type { TimerHandle } from '../../lib/clock.ts';
import { WebRtcLeg } from '../../media/index.ts';
import { AcdSupervisor } from '../acd/supervisor.ts';
import { SYSTEM_AUX_DISCONNECTED } from './agentDesk.ts';
import type { Call } from './call.ts';
import { agentHungUp } from './agentHangUp.ts';
import { dropAgentHold } from './hold.ts';
import type { CallLeg } from './leg.ts';
import { clearMute } from './mute.ts';
import { continueAsLinkedContact, nextContactId } from './linkedContact.ts';
import { enqueue } from './queue.ts';

type Part = 'signalling' | 'media';

interface Recovery {
  leg: CallLeg;
  down: Set<Part>;
  since: number;
  timer: TimerHandle;
}

const recovering = new WeakMap<Call, Recovery>();

/** Is the call waiting for its agent's browser to come back? */
export function legRecovering(call: Call): boolean {
  return recovering.has(call);
}

/**
 * Watch a connected browser agent's leg (connect.ts): its dialog's WebSocket and its ICE. Does
 * nothing for desk phones, or when the grace is 0.
 */
export function watchAgentLeg(call: Call, leg: CallLeg): void {
  const media = leg.media;
  const dialog = leg.dialog;
  if (!(call.ctx.agentLegGraceMs ?? 0) || !(media instanceof WebRtcLeg) || !dialog) return;
  dialog.on('flowLost', () => void legLost(call, leg, 'signalling'));
  dialog.on('flowRestored', () => legBack(call, leg, 'signalling'));
  media.transport.on('icestatechange', (s) => {
    if (s === 'connected' || s === 'completed') legBack(call, leg, 'media');
  });
}

/**
 * Part of the agent's leg is down: keep the call (true) and start the grace, or false when the
 * call cannot wait (no grace configured, not a browser leg, not the call's agent now).
 */
export function legLost(call: Call, leg: CallLeg, part: Part, reason: string = part): boolean {
  const graceMs = call.ctx.agentLegGraceMs ?? 0;
  if (!graceMs || call.phase !== 'connected' || call.agent !== leg || !(leg.media instanceof WebRtcLeg)) return false;
  let r = recovering.get(call);
  if (!r) {
    const { clock } = call.ctx;
    r = { leg, down: new Set(), since: clock.now(), timer: clock.setTimeout(() => graceOver(call), graceMs) };
    recovering.set(call, r);
    call.log.warn({ agentId: leg.party, part, reason, graceMs }, "agent's leg lost: keeping the call while the browser reconnects");
  }
  r.down.add(part);
  return true;
}

/** Part of the agent's leg is back; with all of it back, the call goes on as before. */
export function legBack(call: Call, leg: CallLeg, part: Part): void {
  const r = recovering.get(call);
  if (!r || r.leg !== leg) return;
  r.down.delete(part);
  if (r.down.size > 0) return;
  call.ctx.clock.clearTimeout(r.timer);
  recovering.delete(call);
  call.log.info({ agentId: leg.party, afterMs: call.ctx.clock.now() - r.since }, "agent's leg recovered");
}

/** The grace is over with the leg still down: the caller goes back to the head of the queue. */
function graceOver(call: Call): void {
  const r = recovering.get(call);
  recovering.delete(call);
  if (!r || call.ended || call.phase !== 'connected' || call.agent !== r.leg) return;
  const leg = r.leg;
  const agentId = leg.party;
  const queue = call.queue;
  const { ctx } = call;
  const downMs = ctx.clock.now() - r.since;
  if (!queue || !ctx.acd.queueStats(queue)) {
    call.log.warn({ agentId, downMs }, "agent's leg did not come back and the call has no queue: the agent's side ends");
    agentHungUp(call, 'agent-connection-lost');
    return;
  }
  // Not ready first (it takes effect as the talk ends), so the call is not offered back to them.
  ctx.acd.agentNotReady(agentId, SYSTEM_AUX_DISCONNECTED);
  dropAgentHold(call);
  clearMute(call);
  call.legs.delete(leg);
  // BYE towards a browser that is not there fails at once; the media leg closes with it.
  leg.close();
  // The contact so far ends here: its talk (call.end), its recording (recording.stopped on it).
  call.logEnd('system', 'agent-connection-lost');
  call.endTalk();
  void call.media?.unbridge().catch(() => undefined);
  call.phase = 'after-call';
  // The call goes on as a new contact linked to this one; the screen pop's wait still counts from
  // the caller's first queue entry (continueAs starts it afresh).
  const queuedAt = call.queuedAt;
  const previous = continueAsLinkedContact(call, nextContactId());
  call.queuedAt = queuedAt;
  // Straight to Not ready, without the wrap-up the talk's end may have started (after continueAs:
  // its wrap-up.end closes the previous contact's stream, which is no longer the call's).
  ctx.acd.agentNotReady(agentId, SYSTEM_AUX_DISCONNECTED);
  // A caller the queue then lets go unanswered has no IVR branch to follow (the IVR handed the
  // call to an agent already): the call ends, as a transferred one does.
  const onPhase = (p: string): void => {
    if (p === 'connected' || p === 'ended') call.off('phase', onPhase);
    else if (p === 'ivr') {
      call.off('phase', onPhase);
      call.finish('system', 'requeued-not-answered');
    }
  };
  call.on('phase', onPhase);
  // The ACD keeps the caller's original arrival (enqueue passes call.arrivedAt); to head: first.
  enqueue(call, queue, 0, undefined, ctx.flows().musicOnHold[queue]);
  const head = new AcdSupervisor(ctx.acd).toHead(call.contactId);
  const view = ctx.acd.callView(call.contactId);
  call.log.warn(
    { agentId, downMs, queue, previous, toHead: head.ok, state: view?.state },
    "agent's leg did not come back within the grace: the caller is back at the head of the queue as a new contact, the agent Not ready (disconnected)",
  );
}
