/**
 * Staffing per interval: how many agents must be on the phones to meet the service-level, ASA,
 * abandon and occupancy targets for a forecast volume, by Erlang C (callers wait forever) or
 * Erlang A (callers abandon after an exponential patience), and how many must be scheduled once
 * shrinkage (breaks, meetings, absence, training) takes its share.
 *
 * Pure: numbers in, numbers out. Used by the `callcentre erlang` command, the planning REST API,
 * and the scheduler (the interval requirement it must cover).
 */
import { z } from 'zod';
import { averageSpeedOfAnswer, erlangA, erlangC, serviceLevel } from './erlang.ts';

export const StaffingModelSchema = z.enum(['erlang-c', 'erlang-a']);
export type StaffingModel = z.infer<typeof StaffingModelSchema>;

/** Targets and assumptions for sizing. Every target is optional; the tightest one decides. */
export const StaffingTargetsSchema = z
  .object({
    /** Interval length in seconds (900 = 15 minutes, 1800 = 30 minutes). */
    intervalSec: z.number().int().positive().default(1800),
    model: StaffingModelSchema.default('erlang-c'),
    /** Service level: `target` share answered within `thresholdSec`. */
    serviceLevel: z.object({ thresholdSec: z.number().nonnegative(), target: z.number().min(0).max(1) }).optional(),
    /** Average speed of answer, seconds, at most. */
    asaSec: z.number().positive().optional(),
    /** Agents' occupancy at most (e.g. 0.85): a cap that adds agents at busy intervals so people can breathe. */
    maxOccupancy: z.number().gt(0).max(1).optional(),
    /** Erlang A: abandon rate at most. */
    maxAbandonRate: z.number().min(0).max(1).optional(),
    /** Erlang A: callers' mean patience, seconds. */
    patienceSec: z.number().positive().optional(),
    /** Share of paid time not on the phones, 0 ≤ s < 1; scheduled = ceil(agents / (1 − s)). */
    shrinkage: z.number().min(0).lt(1).default(0),
  })
  .refine((t) => t.model !== 'erlang-a' || t.patienceSec !== undefined, { message: 'erlang-a needs patienceSec', path: ['patienceSec'] });
export type StaffingTargets = z.output<typeof StaffingTargetsSchema>;
export type StaffingTargetsInput = z.input<typeof StaffingTargetsSchema>;

export interface IntervalDemand {
  /** Interval start, epoch ms (optional: the calculator works on bare numbers too). */
  start?: number;
  /** Calls offered in the interval. */
  calls: number;
  /** Average handle time (talk + hold + ACW), seconds. */
  ahtSec: number;
}

/** Which target decided the head count. */
export type Binding = 'service-level' | 'asa' | 'occupancy' | 'abandon' | 'none';

export interface StaffingFigures {
  agents: number;
  /** Offered traffic in Erlangs: calls × AHT ÷ interval. */
  trafficErlangs: number;
  /** Share answered within the threshold (Erlang A: abandons within the threshold ignored, the KPI default mode). */
  serviceLevel: number | null;
  /** Mean wait of answered callers, seconds; Infinity when Erlang C has no steady state. */
  asaSec: number;
  occupancy: number;
  pWait: number;
  /** Erlang A only; 0 under Erlang C. */
  abandonRate: number;
}

export interface StaffingResult extends StaffingFigures {
  start?: number;
  calls: number;
  ahtSec: number;
  /** Agents to schedule: agents ÷ (1 − shrinkage), rounded up. */
  scheduled: number;
  binding: Binding;
}

/** The figures for a given head count (what a calculator table shows row by row). */
export function evaluate(agents: number, demand: IntervalDemand, t: StaffingTargets): StaffingFigures {
  const a = (demand.calls * demand.ahtSec) / t.intervalSec;
  const threshold = t.serviceLevel?.thresholdSec ?? 20;
  if (t.model === 'erlang-a') {
    const r = erlangA(agents, demand.calls / t.intervalSec, demand.ahtSec, t.patienceSec!, threshold);
    return {
      agents,
      trafficErlangs: a,
      serviceLevel: r.serviceLevel,
      asaSec: r.asaSec,
      occupancy: r.occupancy,
      pWait: r.pWait,
      abandonRate: r.pAbandon,
    };
  }
  const stable = agents > a;
  return {
    agents,
    trafficErlangs: a,
    serviceLevel: a === 0 ? 1 : serviceLevel(agents, a, demand.ahtSec, threshold),
    asaSec: a === 0 ? 0 : averageSpeedOfAnswer(agents, a, demand.ahtSec),
    occupancy: agents > 0 ? Math.min(1, a / agents) : stable ? 0 : 1,
    pWait: a === 0 ? 0 : erlangC(agents, a),
    abandonRate: 0,
  };
}

/** Which targets a head count misses (empty: all met). Order is the report's order of blame. */
function misses(f: StaffingFigures, t: StaffingTargets): Binding[] {
  const out: Binding[] = [];
  if (t.serviceLevel && (f.serviceLevel ?? 0) < t.serviceLevel.target - 1e-12) out.push('service-level');
  if (t.asaSec !== undefined && !(f.asaSec <= t.asaSec)) out.push('asa');
  if (t.maxOccupancy !== undefined && f.occupancy > t.maxOccupancy + 1e-12) out.push('occupancy');
  if (t.model === 'erlang-a' && t.maxAbandonRate !== undefined && f.abandonRate > t.maxAbandonRate + 1e-12) out.push('abandon');
  return out;
}

/**
 * Fewest agents meeting every target. All figures improve monotonically with head count, so the
 * answer is the first N that passes; the search starts at a lower bound (Erlang C needs N > A) and
 * steps up, remembering the last target that failed (the binding one).
 */
export function requiredAgents(demand: IntervalDemand, input: StaffingTargetsInput, maxAgents = 100_000): StaffingResult {
  const t = StaffingTargetsSchema.parse(input);
  if (!(demand.calls >= 0) || !(demand.ahtSec > 0)) throw new RangeError('calls must be >= 0 and ahtSec > 0');
  const a = (demand.calls * demand.ahtSec) / t.intervalSec;
  const finish = (f: StaffingFigures, binding: Binding): StaffingResult => ({
    ...(demand.start !== undefined ? { start: demand.start } : {}),
    calls: demand.calls,
    ahtSec: demand.ahtSec,
    ...f,
    scheduled: f.agents === 0 ? 0 : Math.ceil(f.agents / (1 - t.shrinkage) - 1e-9),
    binding,
  });
  if (demand.calls === 0) return finish(evaluate(0, demand, t), 'none');
  // Lower bounds: Erlang C is unstable at N ≤ A; an occupancy cap needs N ≥ A·(1 − abandons)/cap.
  let n = t.model === 'erlang-c' ? Math.floor(a) + 1 : 1;
  if (t.maxOccupancy !== undefined && t.model === 'erlang-c') n = Math.max(n, Math.ceil(a / t.maxOccupancy - 1e-9));
  if (t.model === 'erlang-a') {
    // Erlang A has no stability bound. Search by doubling from one agent, then bisect: a thousand-agent
    // interval costs a few dozen evaluations instead of a thousand.
    if (misses(evaluate(1, demand, t), t).length === 0) return finish(evaluate(1, demand, t), 'none');
    let lo = 1;
    let step = Math.max(1, Math.ceil(Math.sqrt(a)));
    let hi = Math.max(2, Math.ceil(a));
    while (misses(evaluate(hi, demand, t), t).length > 0) {
      lo = hi;
      hi = lo + step;
      step *= 2;
      if (lo > maxAgents) throw new RangeError(`no staffing up to ${maxAgents} agents meets the targets`);
    }
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (misses(evaluate(mid, demand, t), t).length > 0) lo = mid;
      else hi = mid;
    }
    return finish(evaluate(hi, demand, t), misses(evaluate(lo, demand, t), t)[0] ?? 'none');
  }
  let binding: Binding = 'none';
  let f = evaluate(n, demand, t);
  let missed = misses(f, t);
  while (missed.length > 0) {
    binding = missed[0]!;
    n++;
    if (n > maxAgents) throw new RangeError(`no staffing up to ${maxAgents} agents meets the targets`);
    f = evaluate(n, demand, t);
    missed = misses(f, t);
  }
  if (binding === 'none' && t.maxOccupancy !== undefined && n > Math.floor(a) + 1) binding = 'occupancy';
  return finish(f, binding);
}

/** The requirement for each interval of a day (or a week): one sizing per interval. */
export function staffIntervals(demands: readonly IntervalDemand[], targets: StaffingTargetsInput): StaffingResult[] {
  const t = StaffingTargetsSchema.parse(targets);
  return demands.map((d) => requiredAgents(d, t));
}

/** Rows around the answer, as WFM calculators print them: head count → figures. */
export function staffingTable(demand: IntervalDemand, targets: StaffingTargetsInput, from: number, to: number): StaffingFigures[] {
  const t = StaffingTargetsSchema.parse(targets);
  const rows: StaffingFigures[] = [];
  for (let n = Math.max(1, from); n <= to; n++) rows.push(evaluate(n, demand, t));
  return rows;
}
