/**
 * Surge drills: a past day (see replay.ts) with more calls — arrivals × 1.3, × 1.5, or a burst — run
 * through the real ACD, reporting service level, ASA and abandons per interval, and when each alert
 * would have fired: the volume alerts against the normal for the interval (+30 % elevated, +50 %
 * surge, as the supervisor's live view raises them) and the ACD's own service-level breach events
 * (the hook surge actions hang on).
 *
 * Extra calls are drawn from the day's own calls in the same interval (same queue, talk, wrap-up and
 * patience; arrival jittered inside the interval), so a drill keeps the day's shape and mix. Pure.
 */
import { exponential, mulberry32 } from '../acd/simulation.ts';
import { computeReport, type KpiRow } from '../kpi/report.ts';
import { type KpiSettingsInput } from '../kpi/settings.ts';
import { volumeAlert, type VolumeAlert, type VolumeAlertLevels, DEFAULT_VOLUME_ALERTS } from './forecast.ts';
import { replay, type ReplayCall, type ReplayConfig, type ReplayDay } from './replay.ts';

export interface Burst {
  /** Start of the burst, epoch ms. */
  at: number;
  durationMs: number;
  /** Extra calls arriving uniformly in the burst. */
  calls: number;
  /** Queue they go to; default: drawn from the day's calls. */
  queue?: string;
}

export interface DrillScenario {
  name: string;
  /** Multiply arrivals; 1 = the day as it was. */
  arrivalFactor?: number;
  burst?: Burst;
  seed?: number;
}

/** The day with arrivals × factor: each call kept, plus extra copies drawn per interval (fractional parts at random). */
export function scaleDay(day: ReplayDay, factor: number, intervalMs: number, seed = 1): ReplayDay {
  if (!(factor >= 1)) throw new RangeError('drills only add calls: factor must be >= 1');
  const rand = mulberry32(seed);
  const byInterval = new Map<number, ReplayCall[]>();
  for (const c of day.calls) {
    const k = Math.floor(c.arrivedAt / intervalMs);
    byInterval.set(k, [...(byInterval.get(k) ?? []), c]);
  }
  const extra: ReplayCall[] = [];
  for (const [k, calls] of byInterval) {
    const want = calls.length * (factor - 1);
    const n = Math.floor(want) + (rand() < want - Math.floor(want) ? 1 : 0);
    for (let i = 0; i < n; i++) {
      const src = calls[Math.floor(rand() * calls.length)]!;
      extra.push({
        ...src,
        id: `${src.id}+x${i}`,
        arrivedAt: k * intervalMs + Math.floor(rand() * intervalMs),
        callerId: `drill-${k}-${i}`,
      });
    }
  }
  return { ...day, calls: [...day.calls, ...extra].sort((a, b) => a.arrivedAt - b.arrivedAt) };
}

export function addBurst(day: ReplayDay, b: Burst, seed = 2): ReplayDay {
  const rand = mulberry32(seed);
  const pool = b.queue ? day.calls.filter((c) => c.queue === b.queue) : day.calls;
  if (pool.length === 0) throw new RangeError('burst: no calls to copy handle times from');
  const extra: ReplayCall[] = [];
  for (let i = 0; i < b.calls; i++) {
    const src = pool[Math.floor(rand() * pool.length)]!;
    extra.push({ ...src, id: `burst-${i}`, arrivedAt: b.at + Math.floor(rand() * b.durationMs), callerId: `burst-${i}` });
  }
  return { ...day, calls: [...day.calls, ...extra].sort((a, b2) => a.arrivedAt - b2.arrivedAt) };
}

export interface AlertFiring {
  queue: string;
  intervalStart: number;
  level: Exclude<VolumeAlert, 'none'>;
  /** First moment the level was reached in that interval. */
  at: number;
}

/**
 * When the volume alerts fire: after each arrival, calls so far in the interval against the normal
 * prorated to the elapsed part of it (as the live view judges a running interval).
 */
export function volumeAlertTimeline(
  calls: readonly Pick<ReplayCall, 'queue' | 'arrivedAt'>[],
  normal: (queue: string, intervalStart: number) => number,
  intervalMs: number,
  levels: VolumeAlertLevels = DEFAULT_VOLUME_ALERTS,
): AlertFiring[] {
  const count = new Map<string, number>();
  const fired = new Set<string>();
  const out: AlertFiring[] = [];
  for (const c of [...calls].sort((a, b) => a.arrivedAt - b.arrivedAt)) {
    const start = Math.floor(c.arrivedAt / intervalMs) * intervalMs;
    const key = `${c.queue}@${start}`;
    const n = (count.get(key) ?? 0) + 1;
    count.set(key, n);
    // Judge at the end of the arrival's minute: a single call a second into the interval says nothing.
    const elapsed = Math.min(intervalMs, Math.ceil((c.arrivedAt - start + 1) / 60_000) * 60_000);
    const level = volumeAlert(n, (normal(c.queue, start) * elapsed) / intervalMs, levels);
    for (const l of ['elevated', 'surge'] as const) {
      if ((l === 'elevated' ? level !== 'none' : level === 'surge') && !fired.has(`${key}/${l}`)) {
        fired.add(`${key}/${l}`);
        out.push({ queue: c.queue, intervalStart: start, level: l, at: c.arrivedAt });
      }
    }
  }
  return out;
}

export interface DrillInterval {
  queue: string;
  intervalStart: string;
  offered: number | null;
  answered: number;
  abandoned: number | null;
  serviceLevel: number | null;
  asaSec: number | null;
  abandonRate: number | null;
}

export interface DrillResult {
  scenario: string;
  calls: number;
  intervals: DrillInterval[];
  totals: DrillInterval;
  volumeAlerts: AlertFiring[];
  serviceLevelBreaches: { at: number; queue: string; value: number; target: number }[];
  auditFailures: string[];
}

export interface DrillOptions {
  from: number;
  to: number;
  intervalMin: 15 | 30 | 60;
  kpi?: KpiSettingsInput;
  /** Normal calls per queue and interval; default: the unchanged day's own arrivals. */
  normal?: (queue: string, intervalStart: number) => number;
  levels?: VolumeAlertLevels;
}

const pick = (r: KpiRow, threshold: number): DrillInterval => ({
  queue: r.key,
  intervalStart: r.intervalStart,
  offered: r.offered,
  answered: r.answered,
  abandoned: r.abandoned,
  serviceLevel: r.serviceLevels?.find((s) => s.thresholdSec === threshold)?.value ?? null,
  asaSec: r.asaSec,
  abandonRate: r.abandonRate,
});

export function drill(day: ReplayDay, cfg: ReplayConfig, scenario: DrillScenario, o: DrillOptions): DrillResult {
  const intervalMs = o.intervalMin * 60_000;
  let d = day;
  if (scenario.arrivalFactor && scenario.arrivalFactor !== 1) d = scaleDay(d, scenario.arrivalFactor, intervalMs, scenario.seed ?? 1);
  if (scenario.burst) d = addBurst(d, scenario.burst, (scenario.seed ?? 1) + 1);
  const baseline = new Map<string, number>();
  for (const c of day.calls) {
    const key = `${c.queue}@${Math.floor(c.arrivedAt / intervalMs) * intervalMs}`;
    baseline.set(key, (baseline.get(key) ?? 0) + 1);
  }
  const normal = o.normal ?? ((q: string, start: number) => baseline.get(`${q}@${start}`) ?? 0);
  const r = replay(d, cfg);
  const settings = o.kpi ?? {};
  const threshold = (settings.serviceLevelThresholdsSec ?? [20])[0] ?? 20;
  const report = computeReport(r.events, { from: o.from, to: o.to, interval: `${o.intervalMin}m`, dimension: 'queue' }, settings);
  const total = computeReport(r.events, { from: o.from, to: o.to, interval: 'range', dimension: 'centre' }, settings).rows[0];
  return {
    scenario: scenario.name,
    calls: d.calls.length,
    intervals: report.rows.filter((x) => (x.offered ?? 0) > 0).map((x) => pick(x, threshold)),
    totals: total
      ? pick(total, threshold)
      : {
          queue: 'centre',
          intervalStart: new Date(o.from).toISOString(),
          offered: 0,
          answered: 0,
          abandoned: 0,
          serviceLevel: null,
          asaSec: null,
          abandonRate: null,
        },
    volumeAlerts: volumeAlertTimeline(d.calls, normal, intervalMs, o.levels),
    serviceLevelBreaches: r.serviceLevelCrossings
      .filter((c) => c.breached)
      .map(({ at, queue, value, target }) => ({ at, queue, value, target })),
    auditFailures: r.auditFailures,
  };
}

/** Re-exported so a caller building a synthetic day needs one import. */
export { exponential, mulberry32 };
