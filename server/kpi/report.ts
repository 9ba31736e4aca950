/**
 * The KPI engine: pure, from an event log to report rows per interval and per centre, queue,
 * skill group and agent. Every figure states its definition here; README's KPI section repeats
 * them and both must change together.
 *
 * Attribution. Every per-call figure (offered, answered, abandoned, SL, ASA, AHT, transfers, RONA,
 * rejects, FCR, CSAT) is credited to the interval in which the call ENTERED THE QUEUE, so one queue
 * visit lands in exactly one interval and the per-call drill-down sums to the report. Time-in-state
 * figures (logged-in, ready, not-ready, and the talk/hold/ACW time inside occupancy) are cut at
 * interval edges, so they add up across intervals to the wall-clock time.
 *
 * Definitions (a "queue call" is one queue visit, queue.enter to its outcome):
 * - offered: queue calls entering in the interval (a call overflowed or transferred to a second
 *   queue is offered to each queue; the centre row sums queues).
 * - answered / abandoned / exited / waiting: outcome of the queue phase; "waiting" is still in
 *   queue at asOf. shortAbandoned: abandoned with wait < shortAbandonSec (a subset of abandoned).
 * - answerRate = answered / offered.
 * - abandonRate = (abandoned − shortAbandoned) / (offered − shortAbandoned).
 * - serviceLevels: one figure per threshold, see serviceLevel.ts for the three modes.
 * - connectRate (接通率, centre row only) = (customer calls completed in the IVR + customer calls
 *   answered by an agent) / customer calls offered. A customer call is an inbound contact that does
 *   not continue another (no previousContactId), credited to its arrival interval; it counts as
 *   answered if any contact of its chain (transfers, callbacks) was answered by an agent, and as
 *   completed in the IVR if the IVR completed it and no agent answered it (the two are disjoint).
 * - asaSec = Σ wait of answered / answered. avgAbandonSec = Σ wait of abandoned (not short) /
 *   abandoned (not short). longestWaitSec = max wait of any queue call of the interval (for calls
 *   still waiting, wait so far at asOf).
 * - handled: answered, talk ended, and wrap-up ended if one started. talk = connect to call end or
 *   transfer, minus hold; hold = Σ hold spans; acw = wrap-up start to end, extension included.
 *   ahtSec = (Σ talk + Σ hold + Σ acw) / handled over handled calls, with avgTalkSec, avgHoldSec,
 *   avgAcwSec as the split (they add up to ahtSec, within rounding).
 * - transferRate = transferred / answered (calls the answering agent transferred away).
 * - rona: ring-no-answer events, rejected: agent declines, counted on the queue call (queue rows)
 *   or on the agent who let it ring / declined (agent rows).
 * - occupancy (工时利用率) = talk time / logged-in time (agent and centre rows). utilization =
 *   (talk + hold + ACW) / logged-in time. Logged-in = any state but logged-out.
 * - fcrRepeatRate: over customer calls handled by an agent and with a known caller number, the share
 *   with no new customer call from the same number arriving within fcrWindowSec after the first
 *   one's arrival. fcrSurveyRate: share of FCR survey answers that were "resolved" (1). Both are
 *   credited to the final handler: the last agent-answered queue call of the customer call's chain.
 * - csatAverage: mean of CSAT answers (raw scale values); csatTop2Box: share of answers in the top
 *   two points of the scale (value ≥ scale − 1). Credited to the final handler.
 *
 * Rounding: seconds to 3 decimals (exact milliseconds), ratios to 4 decimals; nulls where the
 * denominator is 0.
 */
import type { CcEvent } from './events.ts';
import { accumulate, callViews, iso, sec, toRow, type Acc } from './accumulate.ts';
import {
  acwMs,
  chainOf,
  deriveFacts,
  formatAnomaly,
  holdMs,
  isHandled,
  rootOf,
  talkMs,
  type Anomaly,
  type Facts,
  type QueueCall,
} from './facts.ts';
import { dispositionsIn, type DispositionReport } from './dispositions.ts';
import { buckets, IntervalSchema, type Bucket, type Interval } from './intervals.ts';
import { callVerdict, type ServiceLevelMode } from './serviceLevel.ts';
import { DEFAULT_KPI_SETTINGS, KpiSettingsSchema, zoneOf, type KpiSettings, type KpiSettingsInput } from './settings.ts';

// The row shape lives in row.ts (shared with accumulate.ts and the rollups); re-exported for readers of reports.
import type { Dimension, KpiRow } from './row.ts';
export { DimensionSchema, type Dimension, type KpiRow } from './row.ts';

export interface ReportRequest {
  from: number;
  to: number;
  interval: Interval;
  dimension: Dimension;
  /** Keep only rows with these keys (queue names, agent ids, skill groups). */
  keys?: readonly string[];
  /** Time the log is complete up to; open spans end here. Defaults to `to`. */
  asOf?: number;
}

export interface KpiReport {
  from: string;
  to: string;
  asOf: string;
  interval: Interval;
  dimension: Dimension;
  /** The settings every figure was computed with: the report's own statement of definitions. */
  definitions: KpiSettings & { attribution: 'queue-enter'; timeInState: 'clipped-to-interval' };
  rows: KpiRow[];
  /**
   * Events of this report's calls that contradicted the event order (see facts.ts Anomaly): set
   * aside or read through a fallback. Calls are this report's when they arrived or entered a queue
   * in [from, to); agent-stream events when they fall in [from, to). Not limited by keys.
   */
  anomalies: { count: number; examples: string[] };
  /** Wrap-up dispositions and the agent-side FCR rate over the whole range (dispositions.ts). */
  dispositions: DispositionReport;
}

/** One queue call as the drill-down shows it; its figures are exactly what the report summed. */
export interface CallDetail {
  contactId: string;
  visit: number;
  queue: string;
  skillGroup: string;
  caller: string | null;
  initiation: string | null;
  previousContactId: string | null;
  enteredAt: string;
  outcome: QueueCall['outcome'];
  exitReason: string | null;
  waitSec: number;
  shortAbandon: boolean;
  /** Per threshold, under the report's mode: true met, false missed, null not counted. */
  serviceLevelMet: { thresholdSec: number; mode: ServiceLevelMode; met: boolean | null }[];
  agentId: string | null;
  handled: boolean;
  talkSec: number;
  holdSec: number;
  acwSec: number;
  wrapupExtended: boolean;
  transferred: boolean;
  transferTarget: string | null;
  rona: number;
  rejected: number;
  disposition: string | null;
  note: string | null;
  finalHandler: boolean;
  fcrResolved: boolean | null;
  csat: number[];
  fcrSurvey: number[];
  ivrPath: string[];
  recordings: number;
}

/** Compute a report from an event log. Pure: same events and request, same report. */
export function computeReport(events: readonly CcEvent[], req: ReportRequest, input: KpiSettingsInput = DEFAULT_KPI_SETTINGS): KpiReport {
  IntervalSchema.parse(req.interval);
  const settings = KpiSettingsSchema.parse(input);
  const asOf = req.asOf ?? req.to;
  const facts = deriveFacts(events, asOf);
  const list = buckets(req.from, req.to, req.interval, zoneOf(settings));
  const keep = req.keys && req.keys.length > 0 ? new Set(req.keys) : undefined;
  const accs = accumulate(facts, list, req.dimension, (key) => !keep || keep.has(key), asOf, settings);
  return {
    ...reportHead(req, asOf, settings),
    rows: rowsOf(req.dimension, list, accs, settings),
    anomalies: anomaliesIn(facts, req.from, req.to),
    dispositions: dispositionsIn(events, req.from, req.to, {
      ...(req.dimension === 'queue' ? { queues: req.keys } : {}),
      ...(req.dimension === 'agent' ? { agents: req.keys } : {}),
    }),
  };
}

/** The report's own fields (range, definitions), shared with the rollup path. */
export function reportHead(
  req: ReportRequest,
  asOf: number,
  settings: KpiSettings,
): Pick<KpiReport, 'from' | 'to' | 'asOf' | 'interval' | 'dimension' | 'definitions'> {
  return {
    from: iso(req.from),
    to: iso(req.to),
    asOf: iso(asOf),
    interval: req.interval,
    dimension: req.dimension,
    definitions: { ...settings, attribution: 'queue-enter', timeInState: 'clipped-to-interval' },
  };
}

/** Rows in report order (interval, then key) from each key's Accs, one per bucket of list. */
export function rowsOf(
  dimension: Dimension,
  list: readonly Bucket[],
  accs: ReadonlyMap<string, readonly Acc[]>,
  settings: KpiSettings,
): KpiRow[] {
  const rows: KpiRow[] = [];
  for (const key of [...accs.keys()].sort()) {
    const row = accs.get(key)!;
    row.forEach((a, i) => rows.push(toRow(dimension, key, list[i]!, a, settings)));
  }
  rows.sort((x, y) =>
    x.intervalStart < y.intervalStart ? -1 : x.intervalStart > y.intervalStart ? 1 : x.key < y.key ? -1 : x.key > y.key ? 1 : 0,
  );
  return rows;
}

/** How many anomaly examples a report carries (the count is complete). */
export const ANOMALY_EXAMPLES = 10;

/** The anomalies credited to [from, to): see KpiReport.anomalies. */
export function anomaliesIn(facts: Facts, from: number, to: number): KpiReport['anomalies'] {
  const inRange = (t: number | undefined) => t !== undefined && t >= from && t < to;
  const credited = (a: Anomaly): boolean => {
    const c = facts.contacts.get(a.contactId);
    // A stream with neither arrival nor queue visit (agent streams, a truncated log): by event time.
    if (!c || (c.arrivedTs === undefined && c.queueCalls.length === 0)) return inRange(a.ts);
    return inRange(c.arrivedTs) || c.queueCalls.some((q) => inRange(q.enterTs));
  };
  const list = facts.anomalies.filter(credited).sort((a, b) => a.ts - b.ts || cmpStr(a.contactId, b.contactId) || a.seq - b.seq);
  return { count: list.length, examples: list.slice(0, ANOMALY_EXAMPLES).map(formatAnomaly) };
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Per-call drill-down for queue calls entering in [from, to), optionally for one queue/agent/contact. */
export function callDetails(
  events: readonly CcEvent[],
  req: { from: number; to: number; asOf?: number; queue?: string; agentId?: string; contactId?: string },
  input: KpiSettingsInput = DEFAULT_KPI_SETTINGS,
): CallDetail[] {
  const settings = KpiSettingsSchema.parse(input);
  const asOf = req.asOf ?? req.to;
  const facts = deriveFacts(events, asOf);
  const out: CallDetail[] = [];
  for (const v of callViews(facts, asOf, settings)) {
    const q = v.q;
    if (q.enterTs < req.from || q.enterTs >= req.to) continue;
    if (req.queue !== undefined && q.queue !== req.queue) continue;
    if (req.agentId !== undefined && q.agentId !== req.agentId) continue;
    if (req.contactId !== undefined && q.contactId !== req.contactId) continue;
    out.push({
      contactId: q.contactId,
      visit: q.visit,
      queue: q.queue,
      skillGroup: q.skillGroup,
      caller: v.contact.caller ?? null,
      initiation: v.contact.initiation ?? null,
      previousContactId: v.contact.previousContactId ?? null,
      enteredAt: iso(q.enterTs),
      outcome: q.outcome,
      exitReason: q.exitReason ?? null,
      waitSec: sec(v.wait),
      shortAbandon: v.shortAbandon,
      serviceLevelMet: settings.serviceLevelThresholdsSec.map((t) => ({
        thresholdSec: t,
        mode: settings.serviceLevelMode,
        met: callVerdict(q.outcome, v.wait, v.shortAbandon, settings.serviceLevelMode, t),
      })),
      agentId: q.agentId ?? null,
      handled: isHandled(q),
      talkSec: sec(talkMs(q, asOf)),
      holdSec: sec(holdMs(q)),
      acwSec: sec(acwMs(q)),
      wrapupExtended: q.wrapupExtended,
      transferred: q.transferred,
      transferTarget: q.transferTarget ?? null,
      rona: q.ronaAgents.length,
      rejected: q.rejectAgents.length,
      disposition: q.disposition ?? null,
      note: q.note ?? null,
      finalHandler: q.finalHandler,
      fcrResolved: v.fcrResolved,
      csat: v.csat.map((c) => c.value),
      fcrSurvey: v.fcrSurvey,
      ivrPath: v.contact.ivrPath,
      recordings: v.contact.recordings.length,
    });
  }
  return out;
}

/** One contact of a chain, as the contact drill-down shows it. */
export interface ContactSummary {
  contactId: string;
  initiation: string | null;
  caller: string | null;
  dialled: string | null;
  trunk: string | null;
  previousContactId: string | null;
  nextContactIds: string[];
  arrivedAt: string | null;
  endedAt: string | null;
  endedBy: string | null;
  ivrPath: string[];
  completedInIvr: boolean;
  callbackRequested: boolean;
  surveys: { question: string; value: number; scale: number; at: string }[];
}

/**
 * Drill-down for one customer call: every contact of its transfer/callback chain and every queue
 * call in it, computed from the chain's events by the same code as the reports.
 */
export function contactChain(
  events: readonly CcEvent[],
  contactId: string,
  asOf: number,
  settings: KpiSettingsInput = DEFAULT_KPI_SETTINGS,
): { contacts: ContactSummary[]; calls: CallDetail[]; anomalies: string[] } | undefined {
  const facts = deriveFacts(events, asOf);
  if (!facts.contacts.has(contactId)) return undefined;
  const chain = chainOf(facts, rootOf(facts, contactId));
  const ids = new Set(chain.map((c) => c.contactId));
  const contacts = chain.map((c) => ({
    contactId: c.contactId,
    initiation: c.initiation ?? null,
    caller: c.caller ?? null,
    dialled: c.dialled ?? null,
    trunk: c.trunk ?? null,
    previousContactId: c.previousContactId ?? null,
    nextContactIds: c.nextContactIds,
    arrivedAt: c.arrivedTs === undefined ? null : iso(c.arrivedTs),
    endedAt: c.endTs === undefined ? null : iso(c.endTs),
    endedBy: c.endedBy ?? null,
    ivrPath: c.ivrPath,
    completedInIvr: c.completedInIvr,
    callbackRequested: c.callbackRequested,
    surveys: c.surveys.map((s) => ({ question: s.question, value: s.value, scale: s.scale, at: iso(s.ts) })),
  }));
  const calls = callDetails(events, { from: -8.64e15, to: 8.64e15, asOf }, settings).filter((d) => ids.has(d.contactId));
  // The chain's own anomalies, so the supervisor reading one call sees where a fallback was used.
  const anomalies = facts.anomalies
    .filter((a) => ids.has(a.contactId))
    .sort((a, b) => a.ts - b.ts || a.seq - b.seq)
    .map(formatAnomaly);
  return { contacts, calls, anomalies };
}
