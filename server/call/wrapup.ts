/**
 * The end of an agent's wrap-up with its outcome: a disposition code from the queue's list
 * (queues.yaml `dispositions`), a note, and whether the customer's need was resolved (the agent's
 * side of first-contact resolution). Checked against the agent's state and the queue's codes
 * first; then written with the contact's wrapup.end (CallDetailLog.setWrapupOutcome) as the ACD
 * ends the wrap-up, so the agent becomes available as with a plain "end wrap-up".
 */
import type { Acd } from '../acd/acd.ts';
import type { CallDetailLog, WrapupOutcome } from './cdr.ts';
import { CallControlError } from './controlError.ts';

export interface Disposition {
  code: string;
  label: string;
}

export interface WrapupDeps {
  acd: Pick<Acd, 'agentView' | 'endWrapUp'>;
  cdr: Pick<CallDetailLog, 'setWrapupOutcome'>;
  /** The queue's disposition codes in force (empty: the queue has none, any code is refused). */
  dispositions(queue: string): readonly Disposition[];
}

/** A queue's codes as the config loaded them (queues.yaml's `dispositions`, validated by the config schema). */
export function dispositionsOf(queue: object | undefined): readonly Disposition[] {
  const list = queue && 'dispositions' in queue ? queue.dispositions : undefined;
  return Array.isArray(list) ? (list as Disposition[]) : [];
}

/** End the agent's wrap-up with an outcome; returns the contact it was written to. */
export function endWrapUpWith(deps: WrapupDeps, agentId: string, outcome: WrapupOutcome): { contactId: string; queue: string } {
  const v = deps.acd.agentView(agentId);
  if (v?.state !== 'wrap-up' || !v.callId || !v.queue)
    throw new CallControlError(409, `agent ${agentId} is not in wrap-up (${v?.state ?? 'logged-out'})`);
  const codes = deps.dispositions(v.queue);
  if (outcome.disposition !== undefined && !codes.some((c) => c.code === outcome.disposition)) {
    const known = codes.map((c) => c.code).join(', ');
    throw new CallControlError(
      422,
      codes.length > 0
        ? `disposition "${outcome.disposition}" is not one of queue ${v.queue}'s: ${known}`
        : `queue ${v.queue} has no disposition codes`,
    );
  }
  if (outcome.disposition === undefined && codes.length > 0) {
    throw new CallControlError(422, `queue ${v.queue} asks for a disposition: one of ${codes.map((c) => c.code).join(', ')}`);
  }
  deps.cdr.setWrapupOutcome(v.callId, outcome);
  const r = deps.acd.endWrapUp(agentId);
  if (!r.ok) {
    deps.cdr.setWrapupOutcome(v.callId, {});
    throw new CallControlError(409, r.error);
  }
  return { contactId: v.callId, queue: v.queue };
}
