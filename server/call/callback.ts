/**
 * Dialling a callback: the ACD has reserved an agent for a callback at the head of its queue
 * (server/acd, h-cb); the centre rings that agent first, then the customer through the outbound
 * trunk, and bridges them (outboundCall.ts). The new contact is a `callback` whose
 * previousContactId is the contact that asked for it, so the reports link the two.
 *
 * The outcome is what the ACD needs to retry or finish: answered, busy, no-answer (the customer
 * did not pick up within the trunk's ring timeout), failed (the agent did not answer, no trunk,
 * media down …). It never throws: a callback that cannot be dialled is 'failed', so the agent is
 * never left reserved for a call nobody places.
 */
import { log as rootLog } from '../../lib/log.ts';
import type { DialOutcome } from './dial.ts';
import { placeOutboundCall, type OutboundCallContext } from './outboundCall.ts';

const log = rootLog.child({ mod: 'callback' });

export interface CallbackDial {
  /** The agent the ACD reserved. */
  agentId: string;
  /** The customer's number as left in the IVR (numbering rules make it E.164). */
  number: string;
  queue?: string;
  /** The contact that asked for the callback. */
  contactId: string;
  callbackId?: string;
  attempt?: number;
  /** How long the customer has held their place: from their original queue entry to this attempt. */
  waitedMs?: number;
  /** Ring the agent this long; default 30 s. */
  agentRingMs?: number;
  /** The new contact exists (its id, for callback.dialled on the ACD's side). */
  onPlaced?: (newContactId: string) => void;
  /** The callback's conversation is over (answered calls only): the ACD ends the agent's talk. */
  onEnded?: (newContactId: string) => void;
}

export async function dialCallback(ctx: OutboundCallContext, cb: CallbackDial): Promise<DialOutcome> {
  try {
    const call = await placeOutboundCall(ctx, {
      agentId: cb.agentId,
      number: cb.number,
      initiation: 'callback',
      previousContactId: cb.contactId,
      ...(cb.queue ? { queue: cb.queue } : {}),
      ...(cb.agentRingMs !== undefined ? { agentRingMs: cb.agentRingMs } : {}),
      agentHeaders: {
        'X-CC-Previous-Call-Id': cb.contactId,
        ...(cb.callbackId ? { 'X-CC-Callback-Id': cb.callbackId } : {}),
        ...(cb.attempt !== undefined ? { 'X-CC-Attempt': String(cb.attempt) } : {}),
        // The desk shows it as the callback's wait (as a queue call's offer does, offer.ts).
        ...(cb.waitedMs !== undefined ? { 'X-CC-Waited': String(Math.round(cb.waitedMs / 1000)) } : {}),
      },
    });
    cb.onPlaced?.(call.contactId);
    const outcome = await call.outcome;
    if (outcome === 'answered') void call.ended.then(() => cb.onEnded?.(call.contactId));
    return outcome;
  } catch (e) {
    log.warn({ err: String(e), callback: cb.callbackId, agent: cb.agentId }, 'callback could not be dialled');
    return 'failed';
  }
}
