/**
 * What-if replay: a past day's arrivals, handle times, wrap-ups, caller patience and agent sessions,
 * taken from the event log, run again through the real ACD engine (server/acd) on a FakeClock, with
 * the queue config, the agents or their sessions changed as the planner likes. The replay writes the
 * same contact-centre events call control would, so its figures come from the same KPI engine as the
 * reports (server/kpi/report.ts): a replayed service level means exactly what a reported one means.
 *
 * What is replayed as it was: each queue call's arrival time and queue, its talk time (connect to
 * end, holds included) and after-call work (ended early or extended through the ACD's own wrap-up
 * commands), abandoned callers' patience (their wait), agents' ready / not-ready / logged-out spans.
 * What has to be modelled: the patience of callers who were answered or left for another reason is
 * only known to exceed their wait. It is drawn as wait + Exp(mean patience), the mean estimated by
 * the censored-exponential maximum likelihood (Σ waits of everyone ÷ number of abandons), which is
 * exact for exponential patience because of memorylessness. Seeded: same input, same result.
 *
 * Pure: events in, events and figures out; the ACD is the real engine, the clock a FakeClock.
 */
import { FakeClock } from '../../lib/clock.ts';
import { Acd, type AcdInit } from '../acd/acd.ts';
import type { AcdEvent, ExitReason as AcdExitReason } from '../acd/events.ts';
import { exponential, mulberry32 } from '../acd/simulation.ts';
import { agentStreamId, type CcEvent, type ExitReason } from '../kpi/events.ts';
import { acwMs, deriveFacts, holdMs, talkMs } from '../kpi/facts.ts';

export interface ReplayCall {
  id: string;
  queue: string;
  arrivedAt: number;
  /** Talk (with holds) in ms if an agent takes it. */
  talkMs: number;
  /** After-call work in ms. */
  acwMs: number;
  /** How long the caller will wait, ms; Infinity = until the queue's own limits. */
  patienceMs: number;
  priority?: number;
  callerId?: string;
}

/** One span of an agent's day: ready or not-ready (logged in) from `start` to `end`; outside them, logged out. */
export interface ReplaySpan {
  agentId: string;
  state: 'ready' | 'not-ready';
  reason?: string;
  start: number;
  end: number;
}

export interface ReplayDay {
  calls: ReplayCall[];
  spans: ReplaySpan[];
  /** Mean patience estimated from the day (ms), null when nobody abandoned. */
  meanPatienceMs: number | null;
}

/**
 * Reads a day from the event log: queue calls entering in [from, to) and agent spans overlapping it.
 * A call visiting two queues (overflow, transfer) replays its first visit only: the ACD decides the rest.
 */
export function dayFromEvents(events: readonly CcEvent[], from: number, to: number, seed = 1): ReplayDay {
  const facts = deriveFacts(events, to + 86_400_000);
  const visits = facts.queueCalls.filter((q) => q.visit === 1 && q.enterTs >= from && q.enterTs < to);
  let exposure = 0;
  let abandons = 0;
  for (const q of visits) {
    const end = q.outcomeTs ?? q.enterTs;
    exposure += end - q.enterTs;
    if (q.outcome === 'abandoned') abandons++;
  }
  const meanPatienceMs = abandons > 0 ? exposure / abandons : null;
  const rand = mulberry32(seed);
  const calls: ReplayCall[] = visits.map((q) => {
    const wait = (q.outcomeTs ?? q.enterTs) - q.enterTs;
    const asOf = q.talkEndTs ?? q.connectTs ?? q.enterTs;
    const patienceMs = q.outcome === 'abandoned' ? wait : meanPatienceMs === null ? Infinity : wait + exponential(rand, meanPatienceMs); // censored: memoryless
    const caller = facts.contacts.get(q.contactId)?.caller;
    return {
      id: `${q.contactId}#${q.visit}`,
      queue: q.queue,
      arrivedAt: q.enterTs,
      talkMs: q.connectTs !== undefined ? talkMs(q, asOf) + holdMs(q) : 0,
      acwMs: q.acw ? acwMs(q) : 0,
      patienceMs,
      ...(caller ? { callerId: caller } : {}),
    };
  });
  // Talk of calls that were never answered is unknown: borrow the queue's mean so a drill that answers them is fair.
  const meanTalk = new Map<string, { talk: number; acw: number }>();
  for (const qn of new Set(calls.map((c) => c.queue))) {
    const answered = calls.filter((c) => c.queue === qn && c.talkMs > 0);
    if (answered.length > 0)
      meanTalk.set(qn, {
        talk: answered.reduce((s, c) => s + c.talkMs, 0) / answered.length,
        acw: answered.reduce((s, c) => s + c.acwMs, 0) / answered.length,
      });
  }
  for (const c of calls) {
    if (c.talkMs > 0) continue;
    const m = meanTalk.get(c.queue);
    if (m) {
      c.talkMs = m.talk;
      c.acwMs = m.acw;
    }
  }
  const spans: ReplaySpan[] = facts.agentStates
    .filter((s) => s.end > from && s.start < to + 6 * 3_600_000)
    .map((s) => ({
      agentId: s.agentId,
      state: s.state === 'ready' ? 'ready' : 'not-ready',
      ...(s.reason ? { reason: s.reason } : {}),
      start: s.start,
      end: s.end,
    }));
  return { calls: calls.sort((a, b) => a.arrivedAt - b.arrivedAt), spans, meanPatienceMs };
}

export interface ReplayConfig {
  queues: AcdInit['queues'];
  agents: AcdInit['agents'];
  options?: AcdInit['options'];
  auxCodes?: AcdInit['auxCodes'];
  /** Ms between an offer and the agent answering; default 3000 (a softphone ring). */
  answerDelayMs?: number;
}

export interface ReplayResult {
  /** The replayed day as contact-centre events, ready for computeReport. */
  events: CcEvent[];
  /** ACD events of note, in order (service-level crossings are the surge hook). */
  serviceLevelCrossings: { at: number; queue: string; value: number; target: number; breached: boolean }[];
  auditFailures: string[];
  endedAt: number;
}

const EXIT: Record<AcdExitReason, ExitReason> = {
  full: 'full',
  timeout: 'timeout',
  closed: 'system',
  'no-agents': 'no-agents',
  'callback-failed': 'callback',
  cancelled: 'system',
};

/** Runs the day through a fresh ACD. `onEvent` sees every ACD event (drills watch alerts there). */
export function replay(day: ReplayDay, cfg: ReplayConfig, onEvent?: (e: AcdEvent, acd: Acd) => void): ReplayResult {
  const first = Math.min(...day.calls.map((c) => c.arrivedAt), ...day.spans.map((s) => s.start));
  const clock = new FakeClock(Number.isFinite(first) ? first - 1000 : Date.UTC(2026, 0, 5));
  const reasons = new Set(day.spans.filter((s) => s.state === 'not-ready').map((s) => s.reason ?? 'break'));
  const auxCodes = [...(cfg.auxCodes ?? [])];
  for (const r of reasons)
    if (!auxCodes.some((a) => a.code === r) && r !== 'missed' && r !== 'rejected') auxCodes.push({ code: r, label: r });
  if (!auxCodes.some((a) => a.code === 'break')) auxCodes.push({ code: 'break', label: 'break' });
  const known = new Set(cfg.agents.map((a) => a.id));
  const acd = new Acd({ clock, queues: cfg.queues, agents: cfg.agents, auxCodes, options: cfg.options ?? {} });
  const out: CcEvent[] = [];
  const seq = new Map<string, number>();
  const emit = (contactId: string, ts: number, e: Record<string, unknown>) => {
    const n = (seq.get(contactId) ?? 0) + 1;
    seq.set(contactId, n);
    out.push({ contactId, seq: n, ts, ...e } as CcEvent);
  };
  const byId = new Map(day.calls.map((c) => [c.id, c]));
  const done = new Set<string>();
  const crossings: ReplayResult['serviceLevelCrossings'] = [];
  const answerDelay = cfg.answerDelayMs ?? 3000;

  acd.on('event', (e) => {
    onEvent?.(e, acd);
    switch (e.type) {
      case 'offer':
        emit(e.callId, e.at, { type: 'queue.offer', queue: e.queue, agentId: e.agentId });
        clock.setTimeout(() => acd.answered(e.callId, e.agentId), answerDelay);
        break;
      case 'connect': {
        emit(e.callId, e.at, { type: 'queue.connect', queue: e.queue, agentId: e.agentId });
        const c = byId.get(e.callId);
        clock.setTimeout(() => acd.callEnded(e.callId), c?.talkMs ?? 0);
        break;
      }
      case 'callEnd':
        emit(e.callId, e.at, { type: 'call.end', endedBy: 'caller' });
        done.add(e.callId);
        break;
      case 'wrapupStart': {
        emit(e.callId, e.at, { type: 'wrapup.start', agentId: e.agentId, queue: e.queue });
        // The real wrap-up: end it early, or extend it (once, up to the queue's maximum) to the recorded length.
        const want = byId.get(e.callId)?.acwMs ?? 0;
        const planned = e.endsAt - e.at;
        if (want < planned) clock.setTimeout(() => acd.endWrapUp(e.agentId), want);
        else if (want > planned) {
          const max = cfg.queues[e.queue]?.wrapUpExtendMax ?? 0;
          const extra = Math.min(max, Math.ceil((want - planned) / 1000));
          if (extra > 0) acd.extendWrapUp(e.agentId, extra);
        }
        break;
      }
      case 'wrapupEnd':
        emit(e.callId, e.at, { type: 'wrapup.end', agentId: e.agentId, extended: e.extended });
        break;
      case 'abandon':
        emit(e.callId, e.at, { type: 'queue.abandon', queue: e.queue });
        emit(e.callId, e.at, { type: 'call.end', endedBy: 'caller' });
        done.add(e.callId);
        break;
      case 'exit':
        emit(e.callId, e.at, { type: 'queue.exit', queue: e.queue, reason: EXIT[e.reason] });
        emit(e.callId, e.at, { type: 'call.end', endedBy: 'system' });
        done.add(e.callId);
        break;
      case 'rona':
        emit(e.callId, e.at, { type: 'queue.rona', queue: e.queue, agentId: e.agentId });
        break;
      case 'agentState': {
        const state =
          e.to === 'logged-out' ? 'logged-out' : e.to === 'not-ready' ? 'not-ready' : e.to === 'available' ? 'ready' : undefined;
        if (state && (e.from === 'logged-out' || e.to === 'logged-out' || e.to === 'not-ready' || e.from === 'not-ready')) {
          emit(agentStreamId(e.agentId, 'replay'), e.at, {
            type: 'agent.state',
            agentId: e.agentId,
            state,
            ...(e.reason && state !== 'ready' ? { reason: e.reason } : {}),
          });
        }
        if (e.to === 'not-ready' && (e.reason === 'missed' || e.reason === 'rejected'))
          clock.setTimeout(() => acd.agentReady(e.agentId), 5000);
        break;
      }
      case 'serviceLevel':
        crossings.push({ at: e.at, queue: e.queue, value: e.value, target: e.target, breached: e.breached });
        break;
      default:
        break;
    }
  });

  // Agent sessions: each span start sets the state; a span end with no span following logs out.
  const spans = day.spans.filter((s) => known.has(s.agentId)).sort((a, b) => a.start - b.start);
  const nextStart = new Map<string, number[]>();
  for (const s of spans) nextStart.set(s.agentId, [...(nextStart.get(s.agentId) ?? []), s.start]);
  for (const s of spans) {
    clock.setTimeout(() => {
      const view = acd.agentView(s.agentId);
      if (!view || view.state === 'logged-out') acd.agentLogin(s.agentId, { ready: s.state === 'ready' });
      if (s.state === 'ready') acd.agentReady(s.agentId);
      else acd.agentNotReady(s.agentId, s.reason && s.reason !== 'missed' && s.reason !== 'rejected' ? s.reason : 'break');
    }, s.start - clock.now());
    const continues = (nextStart.get(s.agentId) ?? []).some((t) => t >= s.end && t - s.end < 1000);
    if (!continues) clock.setTimeout(() => acd.agentLogout(s.agentId, 'replay'), s.end - clock.now());
  }
  for (const c of day.calls) {
    clock.setTimeout(() => {
      emit(c.id, clock.now(), { type: 'contact.arrived', initiation: 'inbound', caller: c.callerId ?? '', dialled: '' });
      emit(c.id, clock.now(), { type: 'queue.enter', queue: c.queue });
      const r = acd.enqueue({ callId: c.id, queue: c.queue, priority: c.priority ?? 0, ...(c.callerId ? { callerId: c.callerId } : {}) });
      if (!r.ok) {
        emit(c.id, clock.now(), { type: 'queue.exit', queue: c.queue, reason: 'system' });
        done.add(c.id);
        return;
      }
      if (Number.isFinite(c.patienceMs)) {
        clock.setTimeout(() => {
          const v = acd.callView(c.id);
          if (v && !done.has(c.id) && (v.state === 'waiting' || v.state === 'offered')) acd.abandon(c.id);
        }, c.patienceMs);
      }
    }, c.arrivedAt - clock.now());
  }

  const limit = day.calls.length * 200 + spans.length * 10 + 10_000;
  let steps = 0;
  const auditFailures: string[] = [];
  for (let next = clock.nextAt(); next !== undefined && steps < limit; next = clock.nextAt(), steps++) clock.advanceTo(next);
  if (steps >= limit) auditFailures.push(`replay did not settle within ${limit} timer steps`);
  auditFailures.push(...acd.audit());
  const endedAt = clock.now();
  acd.dispose();
  return { events: out, serviceLevelCrossings: crossings, auditFailures, endedAt };
}
