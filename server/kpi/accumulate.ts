/**
 * The KPI engine's accumulators: what one interval's figures for one key are made of (Acc), how
 * calls, customer calls and agent time add into them, and how an Acc becomes a report row
 * (toRow). computeReport (report.ts) and the rollups (rollup.ts) both use exactly this code, so a
 * row computed from the raw log and a row merged from stored interval records are the same
 * function of the same sums. Definitions of every figure: report.ts.
 */
import type { ContactFact, Facts, QueueCall } from './facts.ts';
import { acwMs, chainOf, holdMs, isHandled, rootOf, talkMs, waitMs } from './facts.ts';
import { bucketIndex, overlap, type Bucket } from './intervals.ts';
import type { Dimension, KpiRow } from './row.ts';
import { round4, serviceLevel, type ServiceLevelFigure } from './serviceLevel.ts';
import type { KpiSettings } from './settings.ts';

export const sec = (ms: number) => Math.round(ms) / 1000;
const avgSec = (ms: number, n: number) => (n > 0 ? Math.round(ms / n) / 1000 : null);
const ratio = (n: number, d: number) => (d > 0 ? round4(n / d) : null);
export const iso = (t: number) => new Date(t).toISOString();

export class Acc {
  offered = 0;
  answered = 0;
  abandoned = 0;
  shortAbandoned = 0;
  exited = 0;
  waiting = 0;
  answeredWaitMs = 0;
  abandonedWaitMs = 0;
  longestWaitMs = 0;
  answeredWithin: number[];
  abandonedWithin: number[];
  abandonedAfter: number[];
  handled = 0;
  talkMs = 0;
  holdMs = 0;
  acwMs = 0;
  wrapupsExtended = 0;
  transferred = 0;
  rona = 0;
  rejected = 0;
  contactsOffered = 0;
  contactsAnsweredByAgent = 0;
  contactsCompletedInIvr = 0;
  loggedInMs = 0;
  readyMs = 0;
  notReadyMs = 0;
  stateTalkMs = 0;
  stateHoldMs = 0;
  stateAcwMs = 0;
  fcrEligible = 0;
  fcrResolved = 0;
  fcrSurveyAnswers = 0;
  fcrSurveyResolved = 0;
  csatAnswers = 0;
  csatSum = 0;
  csatTop2 = 0;
  constructor(n: number) {
    this.answeredWithin = new Array<number>(n).fill(0);
    this.abandonedWithin = new Array<number>(n).fill(0);
    this.abandonedAfter = new Array<number>(n).fill(0);
  }
}

/** What the engine knows about one queue call beyond the raw facts. */
export interface CallView {
  q: QueueCall;
  contact: ContactFact;
  wait: number;
  shortAbandon: boolean;
  fcrResolved: boolean | null;
  csat: { value: number; scale: number }[];
  fcrSurvey: number[];
}

/**
 * Every Acc of [list] per key for a report of this dimension, as computeReport sums them. Keys
 * outside `wanted` get none. Accs are created lazily per key, one per bucket of the list.
 */
export function accumulate(
  facts: Facts,
  list: Bucket[],
  dimension: Dimension,
  wanted: (key: string) => boolean,
  asOf: number,
  settings: KpiSettings,
): Map<string, Acc[]> {
  const thresholds = allThresholds(settings);
  const accs = new Map<string, Acc[]>();
  const accFor = (key: string, i: number): Acc => {
    let row = accs.get(key);
    if (!row) accs.set(key, (row = list.map(() => new Acc(thresholds.length))));
    return row[i]!;
  };
  for (const v of callViews(facts, asOf, settings)) {
    const i = bucketIndex(list, v.q.enterTs);
    if (i < 0) continue;
    if (dimension === 'agent') {
      if (v.q.outcome === 'answered' && v.q.agentId && wanted(v.q.agentId)) addCall(accFor(v.q.agentId, i), v, settings, asOf);
      for (const r of v.q.ronaAgents) if (wanted(r.agentId)) accFor(r.agentId, i).rona++;
      for (const r of v.q.rejectAgents) if (wanted(r.agentId)) accFor(r.agentId, i).rejected++;
      continue;
    }
    const key = dimension === 'centre' ? '*' : dimension === 'queue' ? v.q.queue : v.q.skillGroup;
    if (!wanted(key)) continue;
    const a = accFor(key, i);
    addCall(a, v, settings, asOf);
    a.rona += v.q.ronaAgents.length;
    a.rejected += v.q.rejectAgents.length;
  }
  if (dimension === 'centre' && wanted('*')) {
    // Make the centre row exist for every bucket even in a quiet interval.
    for (let i = 0; i < list.length; i++) accFor('*', i);
    addCustomerCalls(facts, list, accFor);
  }
  if (dimension === 'agent' || dimension === 'centre') addAgentTime(facts, list, asOf, dimension, wanted, accFor);
  return accs;
}

export function isCustomerCall(c: ContactFact): boolean {
  return c.initiation === 'inbound' && c.previousContactId === undefined && c.arrivedTs !== undefined;
}

export function knownCaller(caller: string | undefined): caller is string {
  if (!caller) return false;
  const t = caller.trim().toLowerCase();
  return t !== '' && t !== 'anonymous' && t !== 'unknown' && t !== 'restricted';
}

export function callViews(facts: Facts, asOf: number, settings: KpiSettings): CallView[] {
  // Arrival times of customer calls per caller, for the repeat-contact FCR test.
  const arrivals = new Map<string, number[]>();
  for (const c of facts.contacts.values()) {
    if (!isCustomerCall(c) || !knownCaller(c.caller)) continue;
    let l = arrivals.get(c.caller);
    if (!l) arrivals.set(c.caller, (l = []));
    l.push(c.arrivedTs!);
  }
  const windowMs = settings.fcrWindowSec * 1000;
  const views: CallView[] = [];
  for (const q of facts.queueCalls) {
    const contact = facts.contacts.get(q.contactId)!;
    const wait = waitMs(q, asOf);
    const view: CallView = {
      q,
      contact,
      wait,
      shortAbandon: q.outcome === 'abandoned' && wait < settings.shortAbandonSec * 1000,
      fcrResolved: null,
      csat: [],
      fcrSurvey: [],
    };
    if (q.finalHandler) {
      const root = facts.contacts.get(rootOf(facts, q.contactId))!;
      if (isCustomerCall(root) && knownCaller(root.caller) && isHandled(q)) {
        const t0 = root.arrivedTs!;
        const repeat = (arrivals.get(root.caller) ?? []).some((t) => t > t0 && t <= t0 + windowMs);
        view.fcrResolved = !repeat;
      }
      for (const c of chainOf(facts, root.contactId)) {
        for (const s of c.surveys) {
          if (s.question === 'csat') view.csat.push({ value: s.value, scale: s.scale });
          else if (s.question === 'fcr') view.fcrSurvey.push(s.value);
        }
      }
    }
    views.push(view);
  }
  return views;
}

export function addCall(a: Acc, v: CallView, settings: KpiSettings, asOf: number): void {
  const q = v.q;
  a.offered++;
  a.longestWaitMs = Math.max(a.longestWaitMs, v.wait);
  const thresholds = allThresholds(settings);
  switch (q.outcome) {
    case 'waiting':
      a.waiting++;
      break;
    case 'exited':
      a.exited++;
      break;
    case 'abandoned':
      a.abandoned++;
      if (v.shortAbandon) {
        a.shortAbandoned++;
        break;
      }
      a.abandonedWaitMs += v.wait;
      thresholds.forEach((t, i) => {
        if (v.wait <= t * 1000) a.abandonedWithin[i]!++;
        else a.abandonedAfter[i]!++;
      });
      break;
    case 'answered':
      a.answered++;
      a.answeredWaitMs += v.wait;
      thresholds.forEach((t, i) => {
        if (v.wait <= t * 1000) a.answeredWithin[i]!++;
      });
      if (q.transferred) a.transferred++;
      if (isHandled(q)) {
        a.handled++;
        a.talkMs += talkMs(q, asOf);
        a.holdMs += holdMs(q);
        a.acwMs += acwMs(q);
        if (q.wrapupExtended) a.wrapupsExtended++;
      }
      break;
  }
  if (v.fcrResolved !== null) {
    a.fcrEligible++;
    if (v.fcrResolved) a.fcrResolved++;
  }
  for (const s of v.fcrSurvey) {
    a.fcrSurveyAnswers++;
    if (s >= 1) a.fcrSurveyResolved++;
  }
  for (const c of v.csat) {
    a.csatAnswers++;
    a.csatSum += c.value;
    if (c.value >= c.scale - 1) a.csatTop2++;
  }
}

export function addCustomerCalls(facts: Facts, list: Bucket[], accFor: (key: string, i: number) => Acc): void {
  for (const c of facts.contacts.values()) {
    if (!isCustomerCall(c)) continue;
    const i = bucketIndex(list, c.arrivedTs!);
    if (i < 0) continue;
    const a = accFor('*', i);
    a.contactsOffered++;
    const chain = chainOf(facts, c.contactId);
    if (chain.some((x) => x.queueCalls.some((q) => q.outcome === 'answered'))) a.contactsAnsweredByAgent++;
    else if (chain.some((x) => x.completedInIvr)) a.contactsCompletedInIvr++;
  }
}

/** Logged-in/ready/not-ready time and handling time, each cut at interval edges. */
export function addAgentTime(
  facts: Facts,
  list: Bucket[],
  asOf: number,
  dimension: Dimension,
  wanted: (key: string) => boolean,
  accFor: (key: string, i: number) => Acc,
): void {
  const keyOf = (agentId: string) => (dimension === 'centre' ? '*' : agentId);
  const spread = (agentId: string, s0: number, s1: number, add: (a: Acc, ms: number) => void) => {
    const key = keyOf(agentId);
    if (!wanted(key) || s1 <= s0) return;
    list.forEach((b, i) => {
      const ms = overlap(s0, s1, b.start, b.end);
      if (ms > 0) add(accFor(key, i), ms);
    });
  };
  for (const s of facts.agentStates) {
    spread(s.agentId, s.start, s.end, (a, ms) => {
      a.loggedInMs += ms;
      if (s.state === 'ready') a.readyMs += ms;
      else a.notReadyMs += ms;
    });
  }
  for (const q of facts.queueCalls) {
    if (q.outcome !== 'answered' || !q.agentId || q.connectTs === undefined) continue;
    const end = q.talkEndTs ?? asOf;
    // Talk is the connected span minus holds: add the span, then take the holds back out.
    spread(q.agentId, q.connectTs, end, (a, ms) => (a.stateTalkMs += ms));
    for (const [h0, h1] of q.holds) {
      spread(q.agentId, h0, h1, (a, ms) => {
        a.stateTalkMs -= ms;
        a.stateHoldMs += ms;
      });
    }
    const acwEnd = q.acw ? q.acw[1] : undefined;
    if (q.acw && acwEnd !== undefined) spread(q.agentId, q.acw[0], acwEnd, (a, ms) => (a.stateAcwMs += ms));
  }
}

/** Report thresholds first (their indexes are the row's serviceLevels), then queue objectives'. */
export function allThresholds(s: KpiSettings): number[] {
  const out = [...s.serviceLevelThresholdsSec];
  for (const o of Object.values(s.queueObjectives)) if (!out.includes(o.thresholdSec)) out.push(o.thresholdSec);
  return out;
}

export function slAt(a: Acc, s: KpiSettings, t: number): ServiceLevelFigure {
  const i = allThresholds(s).indexOf(t);
  return serviceLevel(
    {
      answeredWithin: a.answeredWithin[i] ?? 0,
      answered: a.answered,
      abandonedWithin: a.abandonedWithin[i] ?? 0,
      abandonedAfter: a.abandonedAfter[i] ?? 0,
      exited: a.exited,
    },
    s.serviceLevelMode,
    t,
  );
}

export function toRow(dimension: Dimension, key: string, b: Bucket, a: Acc, s: KpiSettings): KpiRow {
  const objective = dimension === 'queue' ? s.queueObjectives[key] : undefined;
  const own = objective ? slAt(a, s, objective.thresholdSec) : undefined;
  const isAgent = dimension === 'agent';
  const isCentre = dimension === 'centre';
  const queueSide = !isAgent;
  const timeSide = isAgent || isCentre;
  const nonShortAbandoned = a.abandoned - a.shortAbandoned;
  return {
    dimension,
    key,
    intervalStart: iso(b.start),
    intervalEnd: iso(b.end),
    offered: queueSide ? a.offered : null,
    answered: a.answered,
    abandoned: queueSide ? a.abandoned : null,
    shortAbandoned: queueSide ? a.shortAbandoned : null,
    exited: queueSide ? a.exited : null,
    waiting: queueSide ? a.waiting : null,
    answerRate: queueSide ? ratio(a.answered, a.offered) : null,
    abandonRate: queueSide ? ratio(nonShortAbandoned, a.offered - a.shortAbandoned) : null,
    serviceLevels: queueSide ? s.serviceLevelThresholdsSec.map((t) => slAt(a, s, t)) : null,
    serviceLevelObjective:
      objective && own ? { ...own, target: objective.target, targetMet: own.value === null ? null : own.value >= objective.target } : null,
    contactsOffered: isCentre ? a.contactsOffered : null,
    contactsAnsweredByAgent: isCentre ? a.contactsAnsweredByAgent : null,
    contactsCompletedInIvr: isCentre ? a.contactsCompletedInIvr : null,
    connectRate: isCentre ? ratio(a.contactsAnsweredByAgent + a.contactsCompletedInIvr, a.contactsOffered) : null,
    asaSec: avgSec(a.answeredWaitMs, a.answered),
    avgAbandonSec: queueSide ? avgSec(a.abandonedWaitMs, nonShortAbandoned) : null,
    longestWaitSec: queueSide ? (a.offered > 0 ? sec(a.longestWaitMs) : null) : null,
    handled: a.handled,
    talkSec: sec(a.talkMs),
    holdSec: sec(a.holdMs),
    acwSec: sec(a.acwMs),
    ahtSec: avgSec(a.talkMs + a.holdMs + a.acwMs, a.handled),
    avgTalkSec: avgSec(a.talkMs, a.handled),
    avgHoldSec: avgSec(a.holdMs, a.handled),
    avgAcwSec: avgSec(a.acwMs, a.handled),
    wrapupsExtended: a.wrapupsExtended,
    transferred: a.transferred,
    transferRate: ratio(a.transferred, a.answered),
    rona: a.rona,
    rejected: a.rejected,
    loggedInSec: timeSide ? sec(a.loggedInMs) : null,
    readySec: timeSide ? sec(a.readyMs) : null,
    notReadySec: timeSide ? sec(a.notReadyMs) : null,
    occupancy: timeSide ? ratio(a.stateTalkMs, a.loggedInMs) : null,
    utilization: timeSide ? ratio(a.stateTalkMs + a.stateHoldMs + a.stateAcwMs, a.loggedInMs) : null,
    fcrEligible: a.fcrEligible,
    fcrResolved: a.fcrResolved,
    fcrRepeatRate: ratio(a.fcrResolved, a.fcrEligible),
    fcrSurveyAnswers: a.fcrSurveyAnswers,
    fcrSurveyResolved: a.fcrSurveyResolved,
    fcrSurveyRate: ratio(a.fcrSurveyResolved, a.fcrSurveyAnswers),
    csatAnswers: a.csatAnswers,
    csatAverage: a.csatAnswers > 0 ? round4(a.csatSum / a.csatAnswers) : null,
    csatTop2Box: ratio(a.csatTop2, a.csatAnswers),
  };
}
