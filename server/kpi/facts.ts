/**
 * From the event log to facts: one QueueCall per queue visit, one ContactFact per contact, one
 * AgentTimeline per agent. Every KPI in report.ts is an aggregate of these facts, and the per-call
 * drill-down lists them, so the detail always sums to the report.
 *
 * The derivation is tolerant: a log with gaps (lost producer, crash mid-call) yields facts marked
 * incomplete instead of throwing, because a report must never fail on one bad contact.
 */
import { AGENT_STREAM_PREFIX, type AgentStateName, type CcEvent, type ExitReason } from './events.ts';

export type Span = readonly [start: number, end: number];

export type QueueOutcome = 'answered' | 'abandoned' | 'exited' | 'waiting';

/** One visit of a contact to a queue, from queue.enter to its outcome and (if answered) handling. */
export interface QueueCall {
  contactId: string;
  /** 1-based index of this visit among the contact's queue visits. */
  visit: number;
  queue: string;
  skillGroup: string;
  enterTs: number;
  outcome: QueueOutcome;
  /** When the queue phase ended (connect, abandon, exit); undefined while waiting. */
  outcomeTs?: number;
  exitReason?: ExitReason;
  agentId?: string;
  connectTs?: number;
  /** End of the talk segment (call end or transfer); undefined while connected. */
  talkEndTs?: number;
  holds: Span[];
  acw?: Span;
  /** wrap-up started but not ended yet. */
  acwOpen: boolean;
  wrapupExtended: boolean;
  disposition?: string;
  note?: string;
  transferred: boolean;
  transferTarget?: string;
  /** Agents who let it ring out / declined it, in order. */
  ronaAgents: { agentId: string; ts: number }[];
  rejectAgents: { agentId: string; ts: number }[];
  /** Set by attachOutcomes(): this visit is the final answered visit of its customer call. */
  finalHandler: boolean;
}

export interface ContactFact {
  contactId: string;
  arrivedTs?: number;
  initiation?: 'inbound' | 'outbound' | 'transfer' | 'callback';
  caller?: string;
  dialled?: string;
  trunk?: string;
  previousContactId?: string;
  nextContactIds: string[];
  ivrPath: string[];
  completedInIvr: boolean;
  endTs?: number;
  endedBy?: 'caller' | 'agent' | 'system';
  callbackRequested: boolean;
  /** Dial attempts of the callback this contact asked for (callback.dialled), when any. */
  callbackAttempts?: number;
  /** The callback used up its attempts (callback.given-up). */
  callbackGivenUp?: boolean;
  queueCalls: QueueCall[];
  surveys: { question: 'csat' | 'fcr' | 'nps' | 'custom'; value: number; scale: number; ts: number }[];
  recordings: { recordingId: string; path: string; startTs: number; stopTs?: number }[];
}

export interface AgentStateSpan {
  agentId: string;
  state: Exclude<AgentStateName, 'logged-out'>;
  reason?: string;
  start: number;
  end: number;
}

export interface Facts {
  contacts: Map<string, ContactFact>;
  queueCalls: QueueCall[];
  agentStates: AgentStateSpan[];
  /** Events that contradicted the state machine; kept for diagnostics, never fatal. */
  anomalies: Anomaly[];
}

/**
 * An event the engine could not take at face value: set aside (e.g. a queue.abandon for a call no
 * longer queued) or read through a fallback (a call.end while still queued closes the queue call).
 */
export interface Anomaly {
  /** The event's stream (contact id or agent stream id), seq, type and time. */
  contactId: string;
  seq: number;
  type: CcEvent['type'];
  ts: number;
  /** What was wrong and what the engine did instead. */
  why: string;
}

export function formatAnomaly(a: Anomaly): string {
  return `${a.contactId}#${a.seq} ${a.type}: ${a.why}`;
}

/**
 * Build facts from events (any order; duplicates by (contactId, seq) are dropped). Open spans
 * (agent still logged in, call still on hold) end at asOf.
 */
export function deriveFacts(events: readonly CcEvent[], asOf: number): Facts {
  const byStream = new Map<string, CcEvent[]>();
  for (const e of events) {
    let list = byStream.get(e.contactId);
    if (!list) byStream.set(e.contactId, (list = []));
    list.push(e);
  }
  const facts: Facts = { contacts: new Map(), queueCalls: [], agentStates: [], anomalies: [] };
  for (const [streamId, list] of byStream) {
    list.sort((a, b) => a.seq - b.seq);
    const deduped = list.filter((e, i) => i === 0 || list[i - 1]!.seq !== e.seq);
    if (streamId.startsWith(AGENT_STREAM_PREFIX)) agentStream(deduped, asOf, facts);
    else contactStream(streamId, deduped, asOf, facts);
  }
  // Link next contacts (transfers, callbacks) from the children's previousContactId.
  for (const c of facts.contacts.values()) {
    if (c.previousContactId) facts.contacts.get(c.previousContactId)?.nextContactIds.push(c.contactId);
  }
  markFinalHandlers(facts);
  clipOverlappingSessions(facts.agentStates);
  facts.queueCalls.sort((a, b) => a.enterTs - b.enterTs || cmp(a.contactId, b.contactId) || a.visit - b.visit);
  facts.agentStates.sort((a, b) => a.start - b.start || cmp(a.agentId, b.agentId));
  return facts;
}

/**
 * An agent's state spans from different streams must not overlap: a session left open by a crashed
 * producer ends where the agent's next session begins, so logged-in time is never counted twice.
 */
function clipOverlappingSessions(spans: AgentStateSpan[]): void {
  const byAgent = new Map<string, AgentStateSpan[]>();
  for (const s of spans) {
    let l = byAgent.get(s.agentId);
    if (!l) byAgent.set(s.agentId, (l = []));
    l.push(s);
  }
  for (const l of byAgent.values()) {
    l.sort((a, b) => a.start - b.start);
    for (let i = 0; i + 1 < l.length; i++) {
      const next = l[i + 1]!;
      if (l[i]!.end > next.start) l[i]!.end = Math.max(l[i]!.start, next.start);
    }
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function agentStream(list: CcEvent[], asOf: number, facts: Facts): void {
  let open: AgentStateSpan | undefined;
  for (const e of list) {
    if (e.type !== 'agent.state') {
      facts.anomalies.push({
        contactId: e.contactId,
        seq: e.seq,
        type: e.type,
        ts: e.ts,
        why: 'not an agent state, in an agent stream; ignored',
      });
      continue;
    }
    if (open) {
      open.end = Math.max(open.start, e.ts);
      facts.agentStates.push(open);
      open = undefined;
    }
    if (e.state !== 'logged-out') {
      open = { agentId: e.agentId, state: e.state, start: e.ts, end: e.ts };
      if (e.reason !== undefined) open.reason = e.reason;
    }
  }
  if (open) {
    open.end = Math.max(open.start, asOf);
    facts.agentStates.push(open);
  }
}

function contactStream(contactId: string, list: CcEvent[], asOf: number, facts: Facts): void {
  const c: ContactFact = {
    contactId,
    nextContactIds: [],
    ivrPath: [],
    completedInIvr: false,
    callbackRequested: false,
    queueCalls: [],
    surveys: [],
    recordings: [],
  };
  facts.contacts.set(contactId, c);
  let current: QueueCall | undefined;
  let holdStart: number | undefined;
  /** The visit whose talk segment is (or was last) live: holds and wrap-up attach to it. */
  let handling: QueueCall | undefined;
  /** Wrap-up belongs to the agent's own (last) call on this contact, even after a transfer. */
  const wrapStarts = new Map<string, number>();
  const answeredBy = (agentId: string): QueueCall | undefined => {
    for (let i = c.queueCalls.length - 1; i >= 0; i--) {
      const q = c.queueCalls[i]!;
      if (q.outcome === 'answered' && q.agentId === agentId) return q;
    }
    return undefined;
  };
  const anomaly = (e: CcEvent, why: string) => facts.anomalies.push({ contactId, seq: e.seq, type: e.type, ts: e.ts, why });

  const endTalk = (ts: number) => {
    if (!handling || handling.talkEndTs !== undefined) return;
    if (holdStart !== undefined) {
      handling.holds.push([holdStart, Math.max(holdStart, ts)]);
      holdStart = undefined;
    }
    handling.talkEndTs = Math.max(handling.connectTs ?? ts, ts);
  };
  const closeWaiting = (ts: number, outcome: 'abandoned' | 'exited', reason?: ExitReason) => {
    if (!current || current.outcome !== 'waiting') return false;
    current.outcome = outcome;
    current.outcomeTs = Math.max(current.enterTs, ts);
    if (reason) current.exitReason = reason;
    current = undefined;
    return true;
  };

  for (const e of list) {
    switch (e.type) {
      case 'contact.arrived':
        c.arrivedTs = e.ts;
        c.initiation = e.initiation;
        c.caller = e.caller;
        c.dialled = e.dialled;
        if (e.trunk !== undefined) c.trunk = e.trunk;
        if (e.previousContactId !== undefined) c.previousContactId = e.previousContactId;
        break;
      case 'ivr.step':
        c.ivrPath.push(e.node);
        break;
      case 'ivr.end':
        if (e.completedInIvr) c.completedInIvr = true;
        break;
      case 'queue.enter': {
        // Entering a queue while waiting in another is an overflow (ACD escalation), even if the
        // producer sent no queue.exit for the first.
        if (current) closeWaiting(e.ts, 'exited', 'overflow');
        current = {
          contactId,
          visit: c.queueCalls.length + 1,
          queue: e.queue,
          skillGroup: e.skillGroup ?? e.queue,
          enterTs: e.ts,
          outcome: 'waiting',
          holds: [],
          acwOpen: false,
          wrapupExtended: false,
          transferred: false,
          ronaAgents: [],
          rejectAgents: [],
          finalHandler: false,
        };
        c.queueCalls.push(current);
        facts.queueCalls.push(current);
        break;
      }
      case 'queue.offer':
        break;
      case 'queue.rona':
        if (current) current.ronaAgents.push({ agentId: e.agentId, ts: e.ts });
        else anomaly(e, 'not waiting in a queue');
        break;
      case 'queue.reject':
        if (current) current.rejectAgents.push({ agentId: e.agentId, ts: e.ts });
        else anomaly(e, 'not waiting in a queue');
        break;
      case 'queue.connect':
        if (!current) {
          anomaly(e, 'not waiting in a queue');
          break;
        }
        current.outcome = 'answered';
        current.outcomeTs = Math.max(current.enterTs, e.ts);
        current.agentId = e.agentId;
        current.connectTs = current.outcomeTs;
        endTalk(e.ts); // a previous segment on the same contact ends when the next one connects
        handling = current;
        current = undefined;
        break;
      case 'queue.abandon':
        if (!closeWaiting(e.ts, 'abandoned')) anomaly(e, 'not waiting in a queue; set aside');
        break;
      case 'queue.exit':
        if (!closeWaiting(e.ts, 'exited', e.reason)) anomaly(e, 'not waiting in a queue; set aside');
        break;
      case 'queue.transfer':
        if (!handling || handling.talkEndTs !== undefined) {
          anomaly(e, 'no connected call to transfer');
          break;
        }
        handling.transferred = true;
        handling.transferTarget = `${e.targetKind}:${e.target}`;
        endTalk(e.ts);
        break;
      case 'hold.start':
        if (handling && handling.talkEndTs === undefined && holdStart === undefined) holdStart = e.ts;
        else anomaly(e, 'not in a connected call, or already on hold');
        break;
      case 'hold.end':
        if (handling && holdStart !== undefined) {
          handling.holds.push([holdStart, Math.max(holdStart, e.ts)]);
          holdStart = undefined;
        } else anomaly(e, 'not on hold');
        break;
      case 'call.end':
        // Fallback: a caller who hangs up while queued abandoned, even if the producer sent no
        // queue.abandon (or sends it late). An abandon has no exit reason; any other end is an
        // exit for a "system" reason. The counts stay right; the anomaly makes the gap visible.
        if (current) {
          const caller = e.endedBy === 'caller';
          anomaly(
            e,
            `the call ended while still queued in ${current.queue} (no queue.abandon or queue.exit before it); closed as ${caller ? 'abandoned' : 'exited (system)'}`,
          );
          if (caller) closeWaiting(e.ts, 'abandoned');
          else closeWaiting(e.ts, 'exited', 'system');
        }
        endTalk(e.ts);
        c.endTs = e.ts;
        c.endedBy = e.endedBy;
        break;
      case 'wrapup.start': {
        const q = answeredBy(e.agentId);
        if (q) {
          wrapStarts.set(e.agentId, e.ts);
          q.acwOpen = true;
        } else anomaly(e, 'no call handled by this agent');
        break;
      }
      case 'wrapup.end': {
        const q = answeredBy(e.agentId);
        const start = wrapStarts.get(e.agentId);
        if (q && start !== undefined) {
          q.acw = [start, Math.max(start, e.ts)];
          q.acwOpen = false;
          q.wrapupExtended = e.extended;
          if (e.disposition !== undefined) q.disposition = e.disposition;
          if (e.note !== undefined) q.note = e.note;
          wrapStarts.delete(e.agentId);
        } else anomaly(e, 'wrap-up was not started');
        break;
      }
      case 'recording.started':
        c.recordings.push({ recordingId: e.recordingId, path: e.path, startTs: e.ts });
        break;
      case 'recording.stopped': {
        const r = c.recordings.find((x) => x.recordingId === e.recordingId);
        if (r) r.stopTs = e.ts;
        else anomaly(e, 'unknown recording');
        break;
      }
      case 'survey.answer':
        c.surveys.push({ question: e.question, value: e.value, scale: e.scale, ts: e.ts });
        break;
      case 'callback.requested':
        c.callbackRequested = true;
        break;
      case 'callback.dialled':
        // One dial attempt of the callback this contact asked for (the talk itself is the new contact's).
        c.callbackAttempts = (c.callbackAttempts ?? 0) + 1;
        break;
      case 'callback.given-up':
        c.callbackGivenUp = true;
        break;
      case 'agent.state':
        anomaly(e, 'agent state in a contact stream');
        break;
    }
  }
  // Still on hold at the end of the log: the hold so far counts, up to asOf.
  if (handling && holdStart !== undefined && handling.talkEndTs === undefined) {
    handling.holds.push([holdStart, Math.max(holdStart, asOf)]);
  }
}

/** Root of a contact chain (the original customer call), following previousContactId. */
export function rootOf(facts: Facts, contactId: string): string {
  let id = contactId;
  const seen = new Set<string>();
  for (;;) {
    const prev = facts.contacts.get(id)?.previousContactId;
    if (!prev || seen.has(prev) || !facts.contacts.has(prev)) return id;
    seen.add(id);
    id = prev;
  }
}

/** Every contact of the chain rooted at rootId, depth-first, root first. */
export function chainOf(facts: Facts, rootId: string): ContactFact[] {
  const out: ContactFact[] = [];
  const seen = new Set<string>();
  const walk = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    const c = facts.contacts.get(id);
    if (!c) return;
    out.push(c);
    for (const n of c.nextContactIds) walk(n);
  };
  walk(rootId);
  return out;
}

/**
 * The final handler of a customer call is the last answered queue visit across its whole chain
 * (transfers, callbacks): FCR and survey answers are credited to it.
 */
function markFinalHandlers(facts: Facts): void {
  for (const c of facts.contacts.values()) {
    if (c.previousContactId && facts.contacts.has(c.previousContactId)) continue;
    const answered = chainOf(facts, c.contactId)
      .flatMap((x) => x.queueCalls)
      .filter((q) => q.outcome === 'answered');
    let last: QueueCall | undefined;
    for (const q of answered) if (!last || (q.connectTs ?? 0) >= (last.connectTs ?? 0)) last = q;
    if (last) last.finalHandler = true;
  }
}

/** Talk milliseconds of an answered visit: connect to end of talk, minus hold. */
export function talkMs(q: QueueCall, asOf: number): number {
  if (q.connectTs === undefined) return 0;
  const end = q.talkEndTs ?? asOf;
  return Math.max(0, end - q.connectTs - holdMs(q));
}

export function holdMs(q: QueueCall): number {
  let s = 0;
  for (const [a, b] of q.holds) s += b - a;
  return s;
}

export function acwMs(q: QueueCall): number {
  return q.acw ? q.acw[1] - q.acw[0] : 0;
}

/** Handled: answered, talk finished, and wrap-up (if any was started) finished. */
export function isHandled(q: QueueCall): boolean {
  return q.outcome === 'answered' && q.talkEndTs !== undefined && !q.acwOpen;
}

/** Time in queue: enter to outcome, or to asOf while still waiting. */
export function waitMs(q: QueueCall, asOf: number): number {
  return Math.max(0, (q.outcomeTs ?? asOf) - q.enterTs);
}
