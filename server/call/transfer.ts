/**
 * Blind transfer: the agent sends the caller on, to a queue, to another agent, or to an external
 * number, and leaves the call at once. The caller keeps the call (their leg, media, screen-pop
 * data and IVR path); the conversation so far is one contact, closed with `queue.transfer` and
 * the agent's wrap-up; what follows is a NEW contact (`contact.arrived`, initiation 'transfer',
 * previousContactId), so the reports count the transfer (transferRate) and follow the FCR chain.
 *
 * - to a queue: the caller waits in it again, with its music on hold, and is offered as any caller;
 * - to an agent: the caller waits in the current queue for that agent only. Every agent carries a
 *   skill of its own (agentSkill, added by the centre when it builds the ACD's agents), and the
 *   call asks for it, so the ACD offers it to no one else; the agent must be available now;
 * - to an external number: the outbound dialler (CallContext.dialOut) rings it while the caller
 *   hears music; without an outbound trunk the request is refused before anything changes.
 *
 * The agent leaves as on a hang-up (connect.ts agentHungUp: talk ends, recording stops, the ACD
 * starts the agent's wrap-up), except that the caller stays.
 *
 * Every check runs before anything changes: a refused transfer leaves the call as it was. A
 * transferred call that then leaves its queue unanswered (timeout, closed) ends: the IVR has
 * already finished with it.
 */
import type { Agent } from '../acd/config.ts';
import type { Call, TransferDeps } from './call.ts';
import { CallControlError, refuseUndialable } from './controlError.ts';
import { dropAgentHold } from './hold.ts';
import { clearMute } from './mute.ts';
import { attendedTransfer } from './internalCall.ts';
import { continueAsLinkedContact, nextContactId } from './linkedContact.ts';
import { enqueue } from './queue.ts';
import { parseReferTo } from '../sip/refer.ts';
import type { SipRequest, SipServerResponse } from '../sip/index.ts';
import type { CallLeg } from './leg.ts';

export type TransferTarget = { kind: 'queue'; queue: string } | { kind: 'agent'; agentId: string } | { kind: 'external'; number: string };

/** The skill only agent `id` has: a call asking for it can be offered to that agent alone. */
export function agentSkill(id: string): string {
  return `@agent:${id}`;
}

/** The agents as the ACD gets them: each with its own skill (agentSkill), for transfers to an agent. */
export function withAgentSkills<A extends Pick<Agent, 'id' | 'skills'>>(agents: readonly A[]): A[] {
  return agents.map((a) => ({ ...a, skills: { ...a.skills, [agentSkill(a.id)]: 1 } }));
}

const NUMBER = /^\+?[0-9*#]{2,32}$/;

/** What the transfer will do, once checked; nothing has changed yet. */
function check(
  call: Call,
  byAgent: string,
  target: TransferTarget,
  deps: TransferDeps,
): { queue: string; skills?: { skill: string; minLevel: number }[] } {
  const agent = call.agent;
  if (call.phase !== 'connected' || !agent || !call.customerMedia) {
    throw new CallControlError(409, `the call is not connected to an agent (it is ${call.phase})`);
  }
  if (agent.party !== byAgent) throw new CallControlError(403, `agent ${byAgent} is not on this call`);
  const { acd } = call.ctx;
  switch (target.kind) {
    case 'queue': {
      const q = deps.queues()[target.queue];
      const stats = acd.queueStats(target.queue);
      if (!q || !stats) throw new CallControlError(404, `unknown queue ${target.queue}`);
      if (!stats.open) throw new CallControlError(409, `queue ${target.queue} is closed`);
      if (q.maxLength !== undefined && stats.waiting + stats.offered >= q.maxLength)
        throw new CallControlError(409, `queue ${target.queue} is full`);
      const staffed = stats.agentsStaffed + (q.joinWhenEmpty === 'logged-in' ? stats.agentsNotReady : 0);
      if (q.joinWhenEmpty !== 'always' && staffed === 0) throw new CallControlError(409, `no agents for queue ${target.queue}`);
      return { queue: target.queue };
    }
    case 'agent': {
      if (!deps.agents().some((a) => a.id === target.agentId)) throw new CallControlError(404, `unknown agent ${target.agentId}`);
      if (target.agentId === byAgent) throw new CallControlError(409, 'an agent cannot transfer a call to themselves');
      const v = acd.agentView(target.agentId);
      if (v?.state !== 'available')
        throw new CallControlError(409, `agent ${target.agentId} is not available (${v?.state ?? 'logged-out'})`);
      const queue = call.queue;
      if (!queue || !acd.queueStats(queue)) throw new CallControlError(409, 'the call has no queue to wait in');
      return { queue, skills: [{ skill: agentSkill(target.agentId), minLevel: 1 }] };
    }
    case 'external': {
      if (!NUMBER.test(target.number)) throw new CallControlError(400, 'number: 2 to 32 digits, * or #, optionally with a leading +');
      if (!call.ctx.dialOut) throw new CallControlError(409, 'no outbound trunk: the centre cannot dial external numbers');
      // Refused before the agent leaves, so the call stays as it was: no trunk for it, trunk full.
      refuseUndialable(call.ctx.dialCheck, target.number);
      return { queue: call.queue ?? '' };
    }
  }
}

/**
 * Blind-transfer the call: returns, with the new contact's id, once the caller is queued again
 * (or, external, the dial has started). Throws CallControlError with the call unchanged.
 */
export function blindTransfer(
  call: Call,
  byAgent: string,
  target: TransferTarget,
  deps: TransferDeps,
  /** Hang the agent's leg up only once this settles (a REFER's final NOTIFY must precede the BYE). */
  opts: { byeAfter?: Promise<unknown> } = {},
): string {
  const plan = check(call, byAgent, target, deps);
  const { ctx } = call;
  const agentId = byAgent;
  const fromQueue = call.queue ?? plan.queue;
  const nextId = nextContactId();
  const label = target.kind === 'queue' ? target.queue : target.kind === 'agent' ? target.agentId : target.number;
  // The old contact: the talk ends with the transfer, then the agent leaves (BYE) into wrap-up.
  dropAgentHold(call);
  clearMute(call);
  ctx.cdr.contact(call.contactId, {
    type: 'queue.transfer',
    ts: ctx.clock.now(),
    queue: fromQueue,
    agentId,
    targetKind: target.kind,
    target: label,
    toContactId: nextId,
  });
  leaveCall(call, opts.byeAfter);
  const previous = continueAsLinkedContact(call, nextId);
  call.log.info({ previous, agentId, target }, 'blind transfer');
  // A transferred caller the queue lets go unanswered has no IVR branch to follow: end the call.
  const onPhase = (p: string): void => {
    if (p === 'connected' || p === 'ended') call.off('phase', onPhase);
    else if (p === 'ivr') {
      call.off('phase', onPhase);
      call.finish('system', 'transfer-not-answered');
    }
  };
  call.on('phase', onPhase);
  if (target.kind === 'external') {
    void dialExternal(call, target.number);
    return nextId;
  }
  const priority = 0;
  enqueue(call, plan.queue, priority, plan.skills, ctx.flows().musicOnHold[plan.queue]);
  return nextId;
}

/** The agent leaves (BYE) and goes to wrap-up on the previous contact; the caller stays. */
function leaveCall(call: Call, byeAfter: Promise<unknown> | undefined): void {
  const leg = call.agent;
  if (!leg) return;
  // Out of the call's legs first: the agent's own BYE, if it comes now, no longer ends the talk.
  call.legs.delete(leg);
  if (byeAfter) void byeAfter.catch(() => undefined).finally(() => leg.hangUp());
  else leg.hangUp();
  call.logEnd('agent', 'transferred');
  call.endTalk();
  // Their media leg closes once nothing is routed to it any more.
  void call.media
    ?.unbridge()
    .catch(() => undefined)
    .finally(() => leg.media?.close());
  // The caller is between agents: not talking, not in the IVR; enqueue (or the dial) moves on.
  call.phase = 'after-call';
}

/**
 * The IVR's transfer node: the caller, with no agent yet, goes to an external number through the
 * outbound dialler (as a blind transfer sends them once its agent has left) and stays on the call
 * until either side hangs up. Without an outbound trunk, or with none that takes the number, the
 * call ends ('transfer-unsupported' / 'transfer-failed') as it would if the dial failed.
 */
export function ivrTransfer(call: Call, number: string): void {
  if (!call.ctx.dialOut) {
    call.log.warn({ number }, 'IVR transfer: no outbound trunk is configured');
    return call.finish('system', 'transfer-unsupported');
  }
  try {
    refuseUndialable(call.ctx.dialCheck, number);
  } catch (e) {
    call.log.warn({ number, err: e instanceof Error ? e.message : String(e) }, 'IVR transfer: the number cannot be dialled');
    return call.finish('system', 'transfer-failed');
  }
  call.log.info({ number }, 'IVR transfer to an external number');
  void dialExternal(call, number);
}

/** Ring an external number through the outbound dialler and bridge it to the caller. */
async function dialExternal(call: Call, number: string): Promise<void> {
  const { ctx } = call;
  const moh = call.queue ? ctx.flows().musicOnHold[call.queue] : undefined;
  const music =
    moh && call.media && call.customerMedia
      ? await call.media.play(call.customerMedia, await call.promptFile(moh), { loop: true }).catch(() => undefined)
      : undefined;
  try {
    const leg = await ctx.dialOut!(call, number, {});
    music?.stop();
    if (call.ended) return void leg.close();
    call.legs.add(leg);
    await call.media!.bridge(call.customerMedia!, leg.media!);
    call.phase = 'connected';
    leg.dialog?.on('destroy', () => {
      leg.dialogEnded();
      call.finish('system', 'transfer-far-end-bye');
    });
  } catch (e) {
    music?.stop();
    call.log.info({ number, err: String(e) }, 'external transfer failed');
    call.finish('system', 'transfer-failed');
  }
}

/** What a CallControlError means to a SIP phone that sent a REFER. */
const SIP_STATUS: Record<number, [number, string]> = {
  400: [400, 'Bad Request'],
  403: [403, 'Forbidden'],
  404: [404, 'Not Found'],
  409: [480, 'Temporarily Unavailable'],
};

/**
 * A REFER from the agent's phone (RFC 3515): a blind transfer of the caller to the Refer-To
 * target, named by its user part: a queue, an agent id, or else an external number. Refused
 * targets get a final error to the REFER itself, the call unchanged; an accepted one gets 202,
 * the caller is transferred at once, and the phone gets NOTIFY "200 OK" before our BYE.
 * With Replaces in the Refer-To it is an attended transfer to the phone's own consult call
 * (internalCall.ts attendedTransfer).
 */
export function referred(call: Call, leg: CallLeg, req: SipRequest, res: SipServerResponse): void {
  const deps = call.ctx.transfers;
  const refer = parseReferTo(req);
  if (!refer?.user) return void res.send(400, { reason: 'Bad Request - Refer-To' });
  // Attended transfer from the phone (RFC 5589 §7): the Replaces names its consult call.
  if (refer.replaces) {
    void attendedTransfer(call, leg, refer.replaces, res).catch((e: unknown) =>
      call.log.warn({ err: String(e) }, 'attended transfer failed'),
    );
    return;
  }
  if (!deps) return void res.send(603, { reason: 'Decline - transfers are not enabled' });
  const user = refer.user;
  const target: TransferTarget =
    deps.queues()[user] !== undefined
      ? { kind: 'queue', queue: user }
      : deps.agents().some((a) => a.id === user)
        ? { kind: 'agent', agentId: user }
        : { kind: 'external', number: user };
  try {
    check(call, leg.party, target, deps);
  } catch (e) {
    const [status, reason] =
      e instanceof CallControlError ? (SIP_STATUS[e.status] ?? [480, 'Temporarily Unavailable']) : [500, 'Server Internal Error'];
    call.log.info({ target, err: String(e) }, 'REFER refused');
    return void res.send(status, { reason: `${reason} - ${e instanceof Error ? e.message : String(e)}`.slice(0, 200) });
  }
  res.send(202, { reason: 'Accepted' });
  const dialog = leg.dialog;
  const notified = dialog ? withTimeout(dialog.notifyRefer(200, 'OK'), 4000) : Promise.resolve();
  try {
    blindTransfer(call, leg.party, target, deps, { byeAfter: notified });
  } catch (e) {
    call.log.warn({ target, err: String(e) }, 'REFER accepted, transfer failed');
  }
}

function withTimeout(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);
}
