/**
 * Where ACD events reach calls: every event the ACD publishes goes to the call detail log and the
 * agent desk, and the ones about a call (offer, ring-no-answer, queue exit, escalation, position)
 * to that call's stage files.
 */
import type { Acd } from '../acd/acd.ts';
import type { AcdEvent } from '../acd/events.ts';
import type { CentreAgentDesk } from './agentDesk.ts';
import type { Call } from './call.ts';
import type { CallDetailLog } from './cdr.ts';
import { cancelOffer, offer } from './offer.ts';
import { announce, queueExited } from './queue.ts';

export function dispatchAcdEvents(acd: Acd, calls: ReadonlyMap<string, Call>, cdr: CallDetailLog, desk: CentreAgentDesk): void {
  acd.on('event', (e: AcdEvent) => {
    cdr.acd(e);
    desk.onAcdEvent(e);
    const call = 'callId' in e && e.callId ? calls.get(e.callId) : undefined;
    switch (e.type) {
      case 'offer':
        if (call) void offer(call, e.agentId, e.expiresAt);
        else acd.abandon(e.callId); // the ACD holds a call we no longer have
        return;
      case 'rona':
      case 'offerCancelled':
        if (call) cancelOffer(call, e.agentId);
        return;
      case 'exit':
        if (call) queueExited(call, e.reason);
        return;
      case 'escalate':
        if (call && e.overflowTo) call.queue = e.overflowTo;
        return;
      case 'position':
        if (call) void announce(call, e.position, e.ewtSeconds);
        return;
      case 'wrapupEnd':
        if (!calls.has(e.callId)) cdr.closeContact(e.callId);
        return;
      default:
        return;
    }
  });
}
