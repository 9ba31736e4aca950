/**
 * Targets and their attainment. A target says what one interval must reach (service level, answer
 * rate, 接通率, FCR, abandon rate, AHT and occupancy ranges); attainment is the share of a period's
 * intervals that reached it, by day, ISO week, month and quarter, against the share the centre
 * promises (seed: the service-level target met in ≥ 92 % of a quarter's intervals).
 *
 * Input is the KPI engine's own rows (server/kpi/report.ts, 15/30/60-minute intervals), so a target
 * is judged on exactly the figure the reports show. An interval whose figure is undefined (no calls:
 * the ratio is null) is not counted either way. Pure.
 */
import { z } from 'zod';
import type { KpiRow } from '../kpi/report.ts';
import { offsetAt, type Zone } from '../kpi/intervals.ts';

const Range = z
  .object({ min: z.number().nonnegative().optional(), max: z.number().nonnegative().optional() })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not exceed max');

export const TargetSetSchema = z.object({
  /** Share answered within thresholdSec, at least `target` (computed in the report's SL mode). */
  serviceLevel: z.object({ thresholdSec: z.number().int().min(1).max(3600), target: z.number().min(0).max(1) }).optional(),
  /** Queue answer rate (answered ÷ offered) at least this. Give an outbound queue its own (seed: 60 %) against inbound's 80 %. */
  answerRate: z.number().min(0).max(1).optional(),
  /** Centre 接通率 (connect rate) at least this. */
  connectRate: z.number().min(0).max(1).optional(),
  /** First-contact resolution (repeat-contact measure) at least this (seed: 85 %). */
  fcr: z.number().min(0).max(1).optional(),
  /** Abandon rate at most this. */
  abandonRate: z.number().min(0).max(1).optional(),
  /** Average handle time range, seconds. */
  ahtSec: Range.optional(),
  /** Occupancy range, fraction (rows that carry occupancy: centre and agent). */
  occupancy: z
    .object({ min: z.number().min(0).max(1).optional(), max: z.number().min(0).max(1).optional() })
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not exceed max')
    .optional(),
  /** Share of a period's intervals that must meet each target (seed: 92 %). */
  intervalShare: z.number().min(0).max(1).default(0.92),
});
export type TargetSet = z.output<typeof TargetSetSchema>;

/** `targets:` in the centre config: centre-wide, per queue (overriding the centre's per key), the multi-skill share. */
export const TargetsConfigSchema = z.object({
  centre: TargetSetSchema.optional(),
  queues: z.record(z.string(), TargetSetSchema).default({}),
  /** Share of agents holding at least two skills (seed: 80 %). */
  multiSkillShare: z.number().min(0).max(1).default(0.8),
});
export type TargetsConfig = z.output<typeof TargetsConfigSchema>;
export type TargetsConfigInput = z.input<typeof TargetsConfigSchema>;

export type TargetName = 'serviceLevel' | 'answerRate' | 'connectRate' | 'fcr' | 'abandonRate' | 'ahtSec' | 'occupancy';
export type Period = 'day' | 'week' | 'month' | 'quarter';

export type AttainmentInputRow = Pick<
  KpiRow,
  | 'dimension'
  | 'key'
  | 'intervalStart'
  | 'serviceLevels'
  | 'answerRate'
  | 'connectRate'
  | 'fcrRepeatRate'
  | 'abandonRate'
  | 'ahtSec'
  | 'occupancy'
>;

/** Whether one interval met one target: true / false, or null when the figure is undefined there. */
export function intervalMeets(row: AttainmentInputRow, name: TargetName, t: TargetSet): boolean | null {
  const atLeast = (v: number | null, min: number | undefined) => (min === undefined || v === null ? null : v >= min - 1e-12);
  const inRange = (v: number | null, r: { min?: number | undefined; max?: number | undefined } | undefined) =>
    r === undefined || v === null ? null : (r.min === undefined || v >= r.min - 1e-12) && (r.max === undefined || v <= r.max + 1e-12);
  switch (name) {
    case 'serviceLevel': {
      if (!t.serviceLevel) return null;
      const f = row.serviceLevels?.find((s) => s.thresholdSec === t.serviceLevel!.thresholdSec);
      return atLeast(f?.value ?? null, t.serviceLevel.target);
    }
    case 'answerRate':
      return atLeast(row.answerRate, t.answerRate);
    case 'connectRate':
      return atLeast(row.connectRate, t.connectRate);
    case 'fcr':
      return atLeast(row.fcrRepeatRate, t.fcr);
    case 'abandonRate':
      return t.abandonRate === undefined || row.abandonRate === null ? null : row.abandonRate <= t.abandonRate + 1e-12;
    case 'ahtSec':
      return inRange(row.ahtSec, t.ahtSec);
    case 'occupancy':
      return inRange(row.occupancy, t.occupancy);
  }
}

const NAMES: TargetName[] = ['serviceLevel', 'answerRate', 'connectRate', 'fcr', 'abandonRate', 'ahtSec', 'occupancy'];

/** The period an instant falls in, in the centre's zone: 2026-01-05 | 2026-W02 (ISO week) | 2026-01 | 2026-Q1. */
export function periodKey(t: number, period: Period, zone: Zone): string {
  const local = new Date(t + offsetAt(zone, t) * 60_000);
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth();
  if (period === 'day') return local.toISOString().slice(0, 10);
  if (period === 'month') return `${y}-${String(m + 1).padStart(2, '0')}`;
  if (period === 'quarter') return `${y}-Q${Math.floor(m / 3) + 1}`;
  // ISO 8601 week: the week with the year's first Thursday is week 1; weeks start on Monday.
  const day = Date.UTC(y, m, local.getUTCDate());
  const weekday = (new Date(day).getUTCDay() + 6) % 7;
  const thursday = new Date(day + (3 - weekday) * 86_400_000);
  const isoYear = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${isoYear}-W${String(week).padStart(2, '0')}`;
}

export interface Attainment {
  dimension: KpiRow['dimension'];
  key: string;
  period: string;
  target: TargetName;
  /** Intervals where the figure was defined. */
  intervals: number;
  met: number;
  /** met ÷ intervals, null when none. */
  share: number | null;
  /** The share promised (intervalShare) and whether it was reached. */
  goal: number;
  goalMet: boolean | null;
}

/** The targets that apply to a row: the queue's own over the centre's, key by key. */
export function targetsFor(cfg: TargetsConfig, row: Pick<KpiRow, 'dimension' | 'key'>): TargetSet | undefined {
  const own = row.dimension === 'queue' ? cfg.queues[row.key] : undefined;
  if (!own && !cfg.centre) return undefined;
  return TargetSetSchema.parse({ ...(cfg.centre ?? {}), ...(own ?? {}) });
}

/** Share of intervals meeting each target, per row key and period. Rows must be 15/30/60-minute intervals. */
export function attainment(rows: readonly AttainmentInputRow[], input: TargetsConfigInput, period: Period, zone: Zone = 0): Attainment[] {
  const cfg = TargetsConfigSchema.parse(input);
  const acc = new Map<string, Attainment>();
  for (const row of rows) {
    const t = targetsFor(cfg, row);
    if (!t) continue;
    const p = periodKey(Date.parse(row.intervalStart), period, zone);
    for (const name of NAMES) {
      const ok = intervalMeets(row, name, t);
      if (ok === null) continue;
      const id = `${row.dimension}\u0000${row.key}\u0000${p}\u0000${name}`;
      let a = acc.get(id);
      if (!a)
        acc.set(
          id,
          (a = {
            dimension: row.dimension,
            key: row.key,
            period: p,
            target: name,
            intervals: 0,
            met: 0,
            share: null,
            goal: t.intervalShare,
            goalMet: null,
          }),
        );
      a.intervals++;
      if (ok) a.met++;
    }
  }
  const out = [...acc.values()].map((a) => {
    const share = a.intervals > 0 ? Math.round((a.met / a.intervals) * 10_000) / 10_000 : null;
    return { ...a, share, goalMet: share === null ? null : a.met / a.intervals >= a.goal - 1e-12 };
  });
  return out.sort(
    (a, b) => a.key.localeCompare(b.key) || a.period.localeCompare(b.period) || NAMES.indexOf(a.target) - NAMES.indexOf(b.target),
  );
}

/** Share of agents holding at least two skills, against the configured target (seed: 80 %). */
export function multiSkillShare(
  agents: readonly { skills: Readonly<Record<string, unknown>> | readonly unknown[] }[],
  target = 0.8,
): { agents: number; multiSkilled: number; share: number | null; target: number; met: boolean | null } {
  const count = (s: Readonly<Record<string, unknown>> | readonly unknown[]) => (Array.isArray(s) ? s.length : Object.keys(s).length);
  const multi = agents.filter((a) => count(a.skills) >= 2).length;
  const share = agents.length > 0 ? multi / agents.length : null;
  return { agents: agents.length, multiSkilled: multi, share, target, met: share === null ? null : share >= target - 1e-12 };
}

export function attainmentToCsv(rows: readonly Attainment[]): string {
  const out = ['dimension,key,period,target,intervals,met,share,goal,goal_met'];
  for (const r of rows)
    out.push([r.dimension, r.key, r.period, r.target, r.intervals, r.met, r.share ?? '', r.goal, r.goalMet ?? ''].join(','));
  return out.join('\n') + '\n';
}
