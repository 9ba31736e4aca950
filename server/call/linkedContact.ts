/**
 * A transfer closes the contact so far and the call goes on as a NEW contact linked to it: the
 * old contact's queue.transfer names the new one (toContactId), and the new one arrives with
 * initiation 'transfer' and previousContactId, so the reports count the transfer (transferRate)
 * and follow the FCR chain. Shared by the blind transfer (transfer.ts) and the attended one
 * (consult.ts completeTransfer, also the conference leave and the desk phone's REFER/Replaces).
 */
import { randomUUID } from 'node:crypto';
import type { Call } from './call.ts';

/** The id the call will continue as: written first into the old contact's queue.transfer. */
export function nextContactId(): string {
  return randomUUID();
}

/**
 * The call goes on as `nextId` (call.continueAs) and the new contact's contact.arrived is written
 * (initiation 'transfer', caller, dialled, trunk, previousContactId). Returns the previous id.
 */
export function continueAsLinkedContact(call: Call, nextId: string): string {
  const { ctx } = call;
  const previous = call.continueAs(nextId);
  ctx.cdr.contact(nextId, {
    type: 'contact.arrived',
    ts: ctx.clock.now(),
    initiation: 'transfer',
    caller: call.caller,
    dialled: call.dialled,
    trunk: call.trunk,
    previousContactId: previous,
  });
  return previous;
}
