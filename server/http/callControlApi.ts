/**
 * Call control in the agent REST API: what an agent does to the call they are on (hold, resume,
 * mute, DTMF, blind transfer) and the end of their wrap-up with a disposition. Each operation is
 * its own file in server/call/; this file finds the agent's call, validates the body with zod and
 * answers. A refused operation (wrong state, unknown target) is a 4xx JSON error and leaves the
 * call as it was.
 *
 * The routes are a table (CALL_CONTROL_ROUTES): the handler dispatches from it and the OpenAPI
 * document (openapi.ts) is generated from it, so the two cannot drift apart.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Acd } from '../acd/acd.ts';
import type { AcdEvent } from '../acd/events.ts';
import { Emitter } from '../../lib/events.ts';
import type { Call, TransferDeps } from '../call/call.ts';
import type { CallDetailLog } from '../call/cdr.ts';
import { CallControlError } from '../call/controlError.ts';
import { DTMF_DIGITS, sendDigits } from '../call/dtmf.ts';
import { heldByAgent, holdCall } from '../call/hold.ts';
import { isMuted, muteCall } from '../call/mute.ts';
import { blindTransfer, type TransferTarget } from '../call/transfer.ts';
import { conference } from '../call/conference.ts';
import { cancelConsult, completeTransfer, consult, consultOf } from '../call/consult.ts';
import { endWrapUpWith, type Disposition } from '../call/wrapup.ts';
import { pauseRecording, recordingView, resumeRecording } from '../call/recordingPause.ts';
import type { AgentSessions } from '../secrets/sessions.ts';
import { HttpError, readJson, sendJson, type Handler } from './server.ts';

export interface CallControlDeps extends TransferDeps {
  sessions: AgentSessions;
  acd: Pick<Acd, 'agentView' | 'endWrapUp' | 'extendWrapUp'>;
  cdr: Pick<CallDetailLog, 'setWrapupOutcome'>;
  /** Calls in progress (the centre's map). */
  calls(): Iterable<Call>;
  dispositions(queue: string): readonly Disposition[];
  /** Wrap-up deadlines (fed the ACD's events); absent: extend answers without the new end. */
  wrapups?: WrapupClock;
  /** The most seconds one extension may add for this queue (queues.yaml wrapUpExtendMax). */
  wrapUpExtendMax?(queue: string): number;
}

/** An agent's wrap-up as the desktop shows it: the countdown, whether "extend" is still offered, the codes. */
export interface WrapupView {
  contactId: string;
  queue: string;
  /** When the ACD ends the wrap-up by itself, epoch ms. */
  endsAt: number;
  extended: boolean;
  /** Seconds one extension may add (0: none). */
  extendMax: number;
  dispositions: readonly Disposition[];
}

/**
 * Each agent's wrap-up deadline, from the ACD's wrapupStart / wrapupExtend / wrapupEnd events (the
 * ACD keeps the timer; this only remembers what it announced), pushed to the agent's event stream.
 */
export class WrapupClock {
  private readonly now = new Map<string, WrapupView>();
  private readonly changes = new Emitter<{ wrapup: [agentId: string, view: WrapupView | null] }>();

  constructor(
    private readonly dispositions: (queue: string) => readonly Disposition[],
    private readonly extendMax: (queue: string) => number,
  ) {}

  onAcdEvent(e: AcdEvent): void {
    if (e.type === 'wrapupStart' || e.type === 'wrapupExtend') {
      const v: WrapupView = {
        contactId: e.callId,
        queue: e.queue,
        endsAt: e.endsAt,
        extended: e.type === 'wrapupExtend',
        extendMax: this.extendMax(e.queue),
        dispositions: this.dispositions(e.queue),
      };
      this.now.set(e.agentId, v);
      this.changes.emit('wrapup', e.agentId, v);
    } else if (e.type === 'wrapupEnd' && this.now.delete(e.agentId)) this.changes.emit('wrapup', e.agentId, null);
  }

  view(agentId: string): WrapupView | undefined {
    return this.now.get(agentId);
  }

  onChange(fn: (agentId: string, view: WrapupView | null) => void): () => void {
    this.changes.on('wrapup', fn);
    return () => this.changes.off('wrapup', fn);
  }
}

export const Empty = z.strictObject({});
export const MuteBody = z.strictObject({ mute: z.boolean().describe('true: the caller stops hearing the agent; false: hears them again') });
export const DtmfBody = z.strictObject({
  digits: z.string().regex(DTMF_DIGITS, '1 to 32 of 0-9 * # A-D').describe('Keys sent to the caller as RFC 4733 events, in order'),
});
export const TransferBody = z.union([
  z.strictObject({ queue: z.string().min(1).max(200).describe('Queue the caller waits in again') }),
  z.strictObject({ agent: z.string().min(1).max(64).describe('Agent (available now) the caller is offered to') }),
  z.strictObject({ number: z.string().min(2).max(33).describe('External number, dialled through an outbound trunk') }),
]);
export const ConsultBody = z.union([
  z.strictObject({ agent: z.string().min(1).max(64).describe('Agent whose registered phone or desktop is rung') }),
  z.strictObject({ number: z.string().min(2).max(33).describe('External number, dialled through an outbound trunk') }),
]);
export const ExtendBody = z.strictObject({
  seconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .optional()
    .describe("Seconds to add (at most the queue's wrapUpExtendMax, which is also the default); once per wrap-up"),
});
export const WrapupBody = z.strictObject({
  disposition: z.string().min(1).max(64).optional().describe("One of the queue's disposition codes (required when the queue lists any)"),
  note: z.string().max(10_000).optional(),
  resolved: z.boolean().optional().describe("The customer's need was resolved on this contact (agent-side FCR)"),
});

export interface CallControlRoute {
  method: 'GET' | 'POST';
  path: string;
  summary: string;
  body?: z.ZodType;
  example?: unknown;
  /** Statuses besides 200 the route answers with, and why. */
  errors: Record<number, string>;
  handle(ctx: { agentId: string; body: unknown; deps: CallControlDeps }): Promise<unknown>;
}

const NOT_ON_CALL = { 401: 'not logged in', 409: 'the agent is not connected to a call, or the call is not in a state for this' };

/** The agent's connected call, or a 409. */
function callOf(deps: CallControlDeps, agentId: string): Call {
  for (const c of deps.calls()) if (c.agent?.party === agentId) return c;
  throw new CallControlError(409, `agent ${agentId} is not connected to a call`);
}

/** The call as the agent's desk shows it: GET /api/v1/agent/call, each operation's answer, and the `call` push. */
export function agentCallView(call: Call): Record<string, unknown> {
  const c = consultOf(call);
  return {
    ...call.view(),
    held: heldByAgent(call),
    muted: isMuted(call),
    ...recordingView(call),
    // The consult's phase (ringing, consulting, conference, transferred) and whom it is with.
    ...(c ? { consult: c.phase, consultTarget: { kind: c.targetKind, id: c.target } } : {}),
  };
}

export const CALL_CONTROL_ROUTES: readonly CallControlRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/agent/call',
    summary: "The agent's current call (contact, caller, queue, hold and mute) and the queue's disposition codes",
    errors: NOT_ON_CALL,
    handle: async ({ agentId, deps }) => {
      const call = callOf(deps, agentId);
      return { call: agentCallView(call), dispositions: call.queue ? deps.dispositions(call.queue) : [] };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/hold',
    summary: "Put the caller on hold: they hear the queue's music on hold, the agent hears nothing (hold.start)",
    body: Empty,
    example: {},
    errors: NOT_ON_CALL,
    handle: async ({ agentId, deps }) => {
      const call = callOf(deps, agentId);
      await holdCall(call, true);
      return agentCallView(call);
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/resume',
    summary: 'Take the caller off hold (hold.end)',
    body: Empty,
    example: {},
    errors: NOT_ON_CALL,
    handle: async ({ agentId, deps }) => {
      const call = callOf(deps, agentId);
      await holdCall(call, false);
      return agentCallView(call);
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/mute',
    summary: 'Mute or unmute the agent: the caller stops (or starts again) hearing the agent; the agent still hears the caller',
    body: MuteBody,
    example: { mute: true },
    errors: NOT_ON_CALL,
    handle: async ({ agentId, body, deps }) => {
      const call = callOf(deps, agentId);
      await muteCall(call, MuteBody.parse(body).mute);
      return agentCallView(call);
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/dtmf',
    summary: 'Send keys to the caller as RFC 4733 telephone-events (answers when all were sent)',
    body: DtmfBody,
    example: { digits: '123#' },
    errors: { ...NOT_ON_CALL, 400: 'digits are not 1 to 32 of 0-9 * # A-D' },
    handle: async ({ agentId, body, deps }) => {
      const call = callOf(deps, agentId);
      const { digits } = DtmfBody.parse(body);
      await sendDigits(call, digits);
      return { sent: digits };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/transfer',
    summary:
      'Blind transfer to a queue, an available agent or an external number: the agent leaves into wrap-up, the caller goes on as a new contact linked to this one',
    body: TransferBody,
    example: { queue: 'support' },
    errors: {
      ...NOT_ON_CALL,
      403: 'the agent is not on this call',
      404: 'unknown queue or agent',
      409: 'not connected; queue closed, full or unstaffed; agent not available; no outbound trunk',
    },
    handle: async ({ agentId, body, deps }) => {
      const call = callOf(deps, agentId);
      const b = TransferBody.parse(body);
      const target: TransferTarget =
        'queue' in b
          ? { kind: 'queue', queue: b.queue }
          : 'agent' in b
            ? { kind: 'agent', agentId: b.agent }
            : { kind: 'external', number: b.number };
      const previous = call.contactId;
      const contactId = blindTransfer(call, agentId, target, deps);
      return { previousContactId: previous, contactId };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/consult',
    summary:
      "Consult: the caller hears the queue's music on hold while the agent rings another agent or a number (answers once they answered)",
    body: ConsultBody,
    example: { agent: '1003' },
    errors: {
      ...NOT_ON_CALL,
      404: 'unknown agent',
      501: 'no outbound trunk for an external consult',
      480: 'not answered (4xx: the SIP status of the refusal, e.g. 486 busy)',
    },
    handle: async ({ agentId, body, deps }) => {
      const call = callOf(deps, agentId);
      const b = ConsultBody.parse(body);
      await consult(call, 'agent' in b ? { kind: 'agent', agentId: b.agent } : { kind: 'external', number: b.number });
      return agentCallView(call);
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/consult/cancel',
    summary: 'End the consult: the consulted party is hung up and the agent is back with the caller',
    body: Empty,
    example: {},
    errors: NOT_ON_CALL,
    handle: async ({ agentId, deps }) => {
      const call = callOf(deps, agentId);
      await cancelConsult(call);
      return agentCallView(call);
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/consult/complete',
    summary:
      'Attended transfer (or leaving a conference): the caller stays with the consulted party, the agent leaves into wrap-up (queue.transfer); the call goes on as a new contact linked to it',
    body: Empty,
    example: {},
    errors: NOT_ON_CALL,
    handle: async ({ agentId, deps }) => {
      const call = callOf(deps, agentId);
      const previousContactId = call.contactId;
      await completeTransfer(call);
      // The call goes on as a new contact linked to the previous one (as after a blind transfer).
      return { contactId: call.contactId, previousContactId, consult: consultOf(call)?.phase };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/conference',
    summary: 'Three-way conference: the agent, the caller and the consulted party all hear each other (G.711 mixer)',
    body: Empty,
    example: {},
    errors: NOT_ON_CALL,
    handle: async ({ agentId, deps }) => {
      const call = callOf(deps, agentId);
      await conference(call);
      return agentCallView(call);
    },
  },
  // recording pause / resume (PCI: card numbers are not recorded).
  {
    method: 'POST',
    path: '/api/v1/agent/call/recording/pause',
    summary:
      'Pause the recording while the caller reads out a card number: the file gets silence for the paused span (recording.pause); resumes by itself when the agent leaves or the call ends',
    body: Empty,
    example: {},
    errors: { 401: 'not logged in', 409: 'the agent is not on a recorded call, or the recording is already paused' },
    handle: async ({ agentId, deps }) => {
      const call = callOf(deps, agentId);
      pauseRecording(call, agentId);
      return agentCallView(call);
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/call/recording/resume',
    summary: 'Resume the paused recording (recording.resume, with the length of the pause)',
    body: Empty,
    example: {},
    errors: { 401: 'not logged in', 409: 'the agent is not on a recorded call, or the recording is not paused' },
    handle: async ({ agentId, deps }) => {
      const call = callOf(deps, agentId);
      const { pausedMs } = resumeRecording(call, 'agent');
      return { ...agentCallView(call), pausedMs };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/wrapup',
    summary: "End wrap-up with a disposition code of the call's queue, a note and a resolved mark (written as wrapup.end)",
    body: WrapupBody,
    example: { disposition: 'sale', note: 'Ordered two licences', resolved: true },
    errors: {
      401: 'not logged in',
      409: 'the agent is not in wrap-up',
      422: "the disposition is not one of the queue's codes, or is missing",
    },
    handle: async ({ agentId, body, deps }) => {
      const b = WrapupBody.parse(body);
      const outcome = {
        ...(b.disposition !== undefined ? { disposition: b.disposition } : {}),
        ...(b.note !== undefined ? { note: b.note } : {}),
        ...(b.resolved !== undefined ? { resolved: b.resolved } : {}),
      };
      const done = endWrapUpWith({ ...deps, dispositions: (q) => deps.dispositions(q) }, agentId, outcome);
      return { ...done, ...deps.acd.agentView(agentId) };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agent/wrapup/extend',
    summary: "Extend the agent's wrap-up once, by up to the queue's wrapUpExtendMax seconds (wrapupExtend); answers the new end",
    body: ExtendBody,
    example: { seconds: 60 },
    errors: { 401: 'not logged in', 409: 'the agent is not in wrap-up, or already extended it', 422: 'more seconds than the queue allows' },
    handle: async ({ agentId, body, deps }) => {
      const v = deps.acd.agentView(agentId);
      if (v?.state !== 'wrap-up' || !v.queue)
        throw new CallControlError(409, `agent ${agentId} is not in wrap-up (${v?.state ?? 'logged-out'})`);
      const max = deps.wrapUpExtendMax?.(v.queue) ?? 0;
      const seconds = ExtendBody.parse(body).seconds ?? max;
      if (seconds < 1 || seconds > max) throw new CallControlError(422, `queue ${v.queue} allows extending wrap-up by 1..${max} seconds`);
      const r = deps.acd.extendWrapUp(agentId, seconds);
      if (!r.ok) throw new CallControlError(409, r.error);
      const w = deps.wrapups?.view(agentId);
      return { ...deps.acd.agentView(agentId), ...(w ? { endsAt: w.endsAt, extended: w.extended } : {}) };
    },
  },
];

/** The call-control routes, for the agent API's handlers (mounted before createAgentApi's). */
export function createCallControlApi(deps: CallControlDeps): Handler {
  const byKey = new Map(CALL_CONTROL_ROUTES.map((r) => [`${r.method} ${r.path}`, r]));
  const paths = new Set(CALL_CONTROL_ROUTES.map((r) => r.path));
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!paths.has(path)) return false;
    const route = byKey.get(`${req.method} ${path}`);
    if (!route) throw new HttpError(405, 'method not allowed');
    const auth = req.headers.authorization;
    const session = deps.sessions.get(auth?.startsWith('Bearer ') ? auth.slice(7) : undefined);
    if (!session) throw new HttpError(401, 'not logged in');
    const body = route.method === 'POST' ? await readJson(req) : undefined;
    if (route.body) {
      const r = route.body.safeParse(body);
      if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    }
    try {
      sendJson(res, 200, await route.handle({ agentId: session.agentId, body, deps }));
    } catch (e) {
      if (e instanceof CallControlError) throw new HttpError(e.status, e.message);
      throw e;
    }
    return true;
  };
}
