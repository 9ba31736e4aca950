/**
 * Where ACD events reach calls: every event the ACD publishes goes to the call detail log and the
 * agent desk, and the ones about a call (offer, ring-no-answer, queue exit, escalation, position)
 * to that call's stage files.
 */
import type { Acd } from '../acd/acd.ts';
import type { AcdEvent, CallbackDialEvent, CallbackOutcome } from '../acd/events.ts';
import { log as rootLog } from '../../lib/log.ts';
import type { CentreAgentDesk } from './agentDesk.ts';
import type { Call } from './call.ts';
import type { CallDetailLog } from './cdr.ts';
import { cancelOffer, offer } from './offer.ts';
import { announce, queueExited } from './queue.ts';

const log = rootLog.child({ mod: 'acd-dispatch' });

/**
 * Dials a callback the ACD reserved an agent for (issue #12): agent first, then the customer; the
 * promise settles with the outcome once it is known ('answered' when both are talking; the
 * dialler then calls acd.callEnded(callbackId) when the talk ends). newContactId: the outbound
 * contact it made (previousContactId = e.contactId), for the event log's callback.dialled.
 */
export type CallbackDialler = (e: CallbackDialEvent) => Promise<{ outcome: CallbackOutcome; newContactId?: string }>;

/**
 * PLACEHOLDER until the outbound dialler (server/call/callback.ts dialCallback, h-out) is joined:
 * nothing can dial yet, so every attempt is reported 'failed' at once; the ACD then releases the
 * agent and retries on the queue's back-off until its attempt limit, so the retry path runs end to
 * end and no agent stays reserved.
 */
export const noDialler: CallbackDialler = async (e) => {
  log.warn({ callbackId: e.callbackId, number: e.number, attempt: e.attempt }, 'no callback dialler wired yet; attempt reported failed');
  return { outcome: 'failed' };
};

export function dispatchAcdEvents(
  acd: Acd,
  calls: ReadonlyMap<string, Call>,
  cdr: CallDetailLog,
  desk: CentreAgentDesk,
  dialCallback: CallbackDialler = noDialler,
): void {
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
      case 'callbackDial':
        dialCallback(e).then(
          (r) => report(e, r.outcome, r.newContactId),
          (err: unknown) => {
            log.error({ err: String(err), callbackId: e.callbackId }, 'callback dial failed');
            report(e, 'failed');
          },
        );
        return;
      case 'callbackGivenUp':
        log.warn({ callbackId: e.callbackId, queue: e.queue, attempts: e.attempts, lastOutcome: e.lastOutcome }, 'callback given up');
        return;
      case 'wrapupEnd':
        if (!calls.has(e.callId)) cdr.closeContact(e.callId);
        return;
      default:
        return;
    }
  });

  function report(e: CallbackDialEvent, outcome: CallbackOutcome, newContactId?: string): void {
    const r = acd.callbackOutcome(e.callbackId, outcome, newContactId ? { newContactId } : {});
    // Refused when the reservation ran out first (the ACD already counted the attempt).
    if (!r.ok) log.warn({ callbackId: e.callbackId, outcome, error: r.error }, 'callback outcome refused');
  }
}
