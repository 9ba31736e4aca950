/**
 * The contact-centre event log: every fact the KPIs are computed from. Like Asterisk's queue_log,
 * but one stream per contact (customer call), each event numbered by `seq` within its stream, so
 * (contactId, seq) is the idempotency key everywhere: the spool, the database, the KPI engine.
 *
 * Agent state changes are not about a contact; they form their own streams, one per agent and
 * producer session, with the stream id `agent:<agentId>#<session>` (see agentStreamId) and their
 * own seq from 1. A new session (e.g. a server restart) must use a new stream id, or its seq
 * numbers would collide with ones the database already holds and be dropped as duplicates.
 *
 * Producers: the call-control layer emits these as calls progress; the ACD engine's transitions are
 * mapped onto the queue.* events. Consumers: the store (server/store/) persists them verbatim; the
 * KPI engine (server/kpi/report.ts) derives every figure from them and nothing else.
 */
import { z } from 'zod';
import { LOGGED_EXIT_REASONS } from '../acd/exit-reasons.ts';

const Base = {
  /** Stream id: the contact id, or `agent:<agentId>` for agent state streams. */
  contactId: z.string().min(1).max(200),
  /** 1-based position in the stream. With contactId, the idempotency key. */
  seq: z.number().int().min(1),
  /** Milliseconds since the Unix epoch. */
  ts: z.number().int().min(0),
};

const Id = z.string().min(1).max(200);

/** Why the contact exists: a fresh customer call, or a continuation of an earlier contact. */
export const InitiationSchema = z.enum(['inbound', 'outbound', 'transfer', 'callback']);

export const ContactArrived = z.object({
  ...Base,
  type: z.literal('contact.arrived'),
  initiation: InitiationSchema.default('inbound'),
  /** Caller's number (E.164 or as received); the key for repeat-contact FCR. */
  caller: z.string().max(200),
  dialled: z.string().max(200),
  trunk: z.string().max(200).optional(),
  /** Set for transfers and callbacks: the contact this one continues. */
  previousContactId: Id.optional(),
  /** The node (server process) that owns the contact's stream; crash recovery closes a dead node's. */
  node: Id.optional(),
});

export const IvrStep = z.object({
  ...Base,
  type: z.literal('ivr.step'),
  /** IVR node name as in the admin's IVR config. */
  node: z.string().max(200),
  /** DTMF or speech result that left the node, if any. */
  input: z.string().max(200).optional(),
});

export const IvrEnd = z.object({
  ...Base,
  type: z.literal('ivr.end'),
  /** True when the caller's need was served by the IVR itself (self-service). */
  completedInIvr: z.boolean(),
  /** Queue the IVR routed to, if any. */
  queue: z.string().max(200).optional(),
});

export const QueueEnter = z.object({
  ...Base,
  type: z.literal('queue.enter'),
  queue: Id,
  /** Skill group the call is reported under (default: the queue's first required skill). */
  skillGroup: z.string().max(200).optional(),
  priority: z.number().int().optional(),
});

export const QueueOffer = z.object({
  ...Base,
  type: z.literal('queue.offer'),
  queue: Id,
  agentId: Id,
});

/** Ring-no-answer: the offered agent did not answer within the offer timeout. */
export const QueueRona = z.object({
  ...Base,
  type: z.literal('queue.rona'),
  queue: Id,
  agentId: Id,
});

/** The offered agent declined the call (softphone reject / 486 / 603). */
export const QueueReject = z.object({
  ...Base,
  type: z.literal('queue.reject'),
  queue: Id,
  agentId: Id,
});

export const QueueConnect = z.object({
  ...Base,
  type: z.literal('queue.connect'),
  queue: Id,
  agentId: Id,
});

/** The caller hung up while waiting in the queue. */
export const QueueAbandon = z.object({
  ...Base,
  type: z.literal('queue.abandon'),
  queue: Id,
});

/**
 * The answering agent transferred the call away. The talk segment ends here; the far side is a new
 * contact whose previousContactId is this one (toContactId, when known).
 */
export const QueueTransfer = z.object({
  ...Base,
  type: z.literal('queue.transfer'),
  queue: Id,
  agentId: Id,
  targetKind: z.enum(['queue', 'agent', 'external']),
  target: z.string().max(200),
  toContactId: Id.optional(),
});

/** Left the queue unanswered for a reason other than the caller hanging up. */
// The stored words, defined with the ACD's exit reasons they are made from (loggedExitReason).
export const ExitReasonSchema = z.enum(LOGGED_EXIT_REASONS);
export const QueueExit = z.object({
  ...Base,
  type: z.literal('queue.exit'),
  queue: Id,
  reason: ExitReasonSchema,
});

export const HoldStart = z.object({ ...Base, type: z.literal('hold.start'), agentId: Id });
export const HoldEnd = z.object({ ...Base, type: z.literal('hold.end'), agentId: Id });

export const CallEnd = z.object({
  ...Base,
  type: z.literal('call.end'),
  endedBy: z.enum(['caller', 'agent', 'system']),
  /** SIP cause or internal reason, for the CDR. */
  cause: z.string().max(200).optional(),
});

export const WrapupStart = z.object({
  ...Base,
  type: z.literal('wrapup.start'),
  agentId: Id,
  queue: Id.optional(),
});

export const WrapupEnd = z.object({
  ...Base,
  type: z.literal('wrapup.end'),
  agentId: Id,
  /** The agent extended after-call work beyond the queue's configured wrap-up time. */
  extended: z.boolean().default(false),
  disposition: z.string().max(200).optional(),
  note: z.string().max(10_000).optional(),
  /** The agent marked the customer's need resolved (agent-side FCR; server/kpi/dispositions.ts). */
  resolved: z.boolean().optional(),
});

export const AgentStateSchema = z.enum(['logged-out', 'ready', 'not-ready']);
export const AgentState = z.object({
  ...Base,
  type: z.literal('agent.state'),
  agentId: Id,
  state: AgentStateSchema,
  /** Not-ready (aux) reason code, or logout reason. */
  reason: z.string().max(200).optional(),
});

export const RecordingStarted = z.object({
  ...Base,
  type: z.literal('recording.started'),
  recordingId: Id,
  /** Audio file path on the media host. */
  path: z.string().min(1).max(4096),
});

export const RecordingStopped = z.object({
  ...Base,
  type: z.literal('recording.stopped'),
  recordingId: Id,
  /** Size of the finished file (call control reads it once the recorder has closed it); listed by the recordings API. */
  bytes: z.number().int().min(0).optional(),
});

// recording pause / resume (PCI: a card number read out is not recorded).
export const RecordingPause = z.object({
  ...Base,
  type: z.literal('recording.pause'),
  recordingId: Id,
  /** Who paused: the agent, from the desk. */
  agentId: Id.optional(),
});

export const RecordingResume = z.object({
  ...Base,
  type: z.literal('recording.resume'),
  recordingId: Id,
  agentId: Id.optional(),
  /** Why it resumed: the agent asked, or automatically when the agent left the call (hang-up, transfer) or it ended. */
  reason: z.enum(['agent', 'agent-left', 'call-end']).default('agent'),
  /** Length of the pause (ms): the span of the file holding silence. */
  pausedMs: z.number().int().min(0),
});

export const SurveyAnswer = z.object({
  ...Base,
  type: z.literal('survey.answer'),
  /**
   * 'csat' is a 1..scale score; 'fcr' is 1 (resolved) or 0 (not resolved); 'nps' is 0..10 (scale
   * 10); 'custom' is a 1..scale score to a question the flow names (`name`).
   */
  question: z.enum(['csat', 'fcr', 'nps', 'custom']),
  /** The custom question's name (the survey node's `name`). */
  name: z.string().max(64).optional(),
  value: z.number().int().min(0).max(10),
  /** Top of the scale (default 5; 10 for NPS). */
  scale: z.number().int().min(1).max(10).default(5),
});

export const CallbackRequested = z.object({
  ...Base,
  type: z.literal('callback.requested'),
  queue: Id,
  number: z.string().max(200),
});

export const CallbackDialled = z.object({
  ...Base,
  type: z.literal('callback.dialled'),
  /** The new (outbound) contact that carries the callback; its previousContactId is this one. */
  newContactId: Id.optional(),
  /** 1 for the first dial attempt. */
  attempt: z.number().int().min(1).optional(),
  /** 'expired': the agent's reservation ran out before call control reported on the dial. */
  outcome: z.enum(['answered', 'busy', 'no-answer', 'failed', 'expired']).optional(),
  agentId: Id.optional(),
});

/** The callback used up its dial attempts: nobody will call the customer back. */
export const CallbackGivenUp = z.object({
  ...Base,
  type: z.literal('callback.given-up'),
  queue: Id,
  attempts: z.number().int().min(0),
});

/**
 * An outbound contact's dial (agent click-to-dial, callback): what became of ringing the customer
 * through the outbound trunk. answered starts the talk (call.end ends it); the outbound answer rate
 * (接通率) is answered / dialled (server/kpi/outbound.ts).
 */
export const OutboundResult = z.object({
  ...Base,
  type: z.literal('outbound.result'),
  agentId: Id,
  number: z.string().max(200),
  trunk: z.string().max(200),
  outcome: z.enum(['answered', 'busy', 'no-answer', 'failed']),
  /** SIP status behind a failure (486, 408 …). */
  status: z.number().int().optional(),
  queue: Id.optional(),
});

export const CcEventSchema = z.discriminatedUnion('type', [
  ContactArrived,
  IvrStep,
  IvrEnd,
  QueueEnter,
  QueueOffer,
  QueueRona,
  QueueReject,
  QueueConnect,
  QueueAbandon,
  QueueTransfer,
  QueueExit,
  HoldStart,
  HoldEnd,
  CallEnd,
  WrapupStart,
  WrapupEnd,
  AgentState,
  RecordingStarted,
  RecordingStopped,
  RecordingPause,
  RecordingResume,
  SurveyAnswer,
  CallbackRequested,
  CallbackDialled,
  CallbackGivenUp,
  OutboundResult,
]);

/** One event as stored and as fed to the KPI engine (defaults applied). */
export type CcEvent = z.output<typeof CcEventSchema>;
/** What producers may pass (defaults optional). */
export type CcEventInput = z.input<typeof CcEventSchema>;
export type CcEventType = CcEvent['type'];
export type EventOf<T extends CcEventType> = Extract<CcEvent, { type: T }>;
export type AgentStateName = z.infer<typeof AgentStateSchema>;
export type ExitReason = z.infer<typeof ExitReasonSchema>;

export const AGENT_STREAM_PREFIX = 'agent:';
/** Stream id for an agent's state events; `session` distinguishes producer runs (boot id). */
export function agentStreamId(agentId: string, session?: string): string {
  return AGENT_STREAM_PREFIX + agentId + (session === undefined ? '' : `#${session}`);
}

export type ParseResult = { ok: true; event: CcEvent } | { ok: false; error: string };

/** Validate untrusted input (spool lines, API bodies). Never throws. */
export function parseEvent(input: unknown): ParseResult {
  const r = CcEventSchema.safeParse(input);
  if (r.success) return { ok: true, event: r.data };
  return { ok: false, error: z.prettifyError(r.error) };
}

/** Canonical order of a log: by time, then stream, then seq (ties in time keep stream order). */
export function compareEvents(a: CcEvent, b: CcEvent): number {
  return a.ts - b.ts || (a.contactId < b.contactId ? -1 : a.contactId > b.contactId ? 1 : 0) || a.seq - b.seq;
}

/**
 * Helper for producers: numbers a stream's events. The call layer keeps one per contact (and one
 * per agent stream) so seq is dense and deterministic, which makes re-emission after a crash safe.
 */
export class EventSequencer {
  private next = 1;
  constructor(
    readonly contactId: string,
    start = 1,
  ) {
    this.next = start;
  }
  /** Fill in contactId and seq. The caller supplies ts (from its Clock) and the type's fields. */
  stamp<E extends DistributiveOmit<CcEventInput, 'contactId' | 'seq'>>(e: E): E & { contactId: string; seq: number } {
    return { ...e, contactId: this.contactId, seq: this.next++ };
  }
  get nextSeq(): number {
    return this.next;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
