/**
 * Volume forecast per queue and interval (15, 30 or 60 minutes) from the centre's own history.
 *
 * The model is the classic decomposition WFM tools use (and what a planner can read back):
 *
 *   calls(day d, slot s) = level(d) × weekday[wd(d)] × shape[wd(d)][s]
 *
 * - level(d) = α + β·d: a linear trend in deseasonalised daily volume (d = local day number);
 * - weekday[w]: the weekday's share of an average day (mean 1 over the days the centre is open);
 * - shape[w][s]: the share of weekday w's volume falling in slot s (each row sums to 1), so Monday
 *   mornings and Saturday afternoons keep their own curves;
 * - holidays are exceptions: left out of the fit, then learnt as one factor (holiday actual ÷ what
 *   the model says for a normal day) unless the planner gives each holiday its own factor.
 *
 * Fitted by alternating least squares: weekday factors from daily totals over the trend, trend by
 * ordinary least squares on the daily totals divided by the weekday factors, a few rounds. AHT per
 * weekday and slot is the call-weighted mean of the history (handle time has no trend here).
 *
 * Pure: history in, numbers out. Local days and slots follow the centre's zone, as the reports do.
 */
import { buckets, offsetAt, type Interval, type Zone } from '../kpi/intervals.ts';

const MIN = 60_000;
const DAY = 86_400_000;

export interface SeriesPoint {
  /** Interval start, epoch ms. */
  start: number;
  calls: number;
  /** Average handle time of the interval's handled calls, seconds; null when none were handled. */
  ahtSec?: number | null;
}

export interface Holiday {
  /** Local date, YYYY-MM-DD. */
  date: string;
  /** Volume as a share of a normal day (0 = closed); absent: the factor learnt from past holidays. */
  factor?: number;
}

export interface ForecastOptions {
  intervalMin: 15 | 30 | 60;
  zone?: Zone;
  holidays?: readonly Holiday[];
}

export interface ForecastModel {
  intervalMin: 15 | 30 | 60;
  zone: Zone;
  slotsPerDay: number;
  trend: { intercept: number; slopePerDay: number };
  /** Monday = 0 … Sunday = 6. */
  weekday: number[];
  shape: number[][];
  ahtSec: number[][];
  /** Learnt from holidays in the history (actual ÷ normal); 0 when none were seen and none are given. */
  holidayFactor: number;
  holidays: Map<string, number | undefined>;
  /** Days of history the model was fitted on (holidays excluded). */
  daysFitted: number;
}

export interface LocalSlot {
  dayNumber: number;
  date: string;
  weekday: number;
  slot: number;
}

/** Local day number (days since 1970-01-01 in the zone), date, weekday (Mon = 0) and slot of an instant. */
export function localSlot(t: number, zone: Zone, intervalMin: number): LocalSlot {
  const local = t + offsetAt(zone, t) * MIN;
  const dayNumber = Math.floor(local / DAY);
  const minute = Math.floor((local - dayNumber * DAY) / MIN);
  // 1970-01-01 was a Thursday: Monday-based weekday is (day + 3) mod 7.
  return {
    dayNumber,
    date: new Date(dayNumber * DAY).toISOString().slice(0, 10),
    weekday: (((dayNumber + 3) % 7) + 7) % 7,
    slot: Math.floor(minute / intervalMin),
  };
}

interface DayRow {
  dayNumber: number;
  date: string;
  weekday: number;
  slots: Float64Array;
  total: number;
}

function byDay(history: readonly SeriesPoint[], zone: Zone, intervalMin: number, slotsPerDay: number): Map<number, DayRow> {
  const days = new Map<number, DayRow>();
  for (const p of history) {
    const l = localSlot(p.start, zone, intervalMin);
    let d = days.get(l.dayNumber);
    if (!d)
      days.set(
        l.dayNumber,
        (d = { dayNumber: l.dayNumber, date: l.date, weekday: l.weekday, slots: new Float64Array(slotsPerDay), total: 0 }),
      );
    // A 25-hour daylight-saving day folds its extra hour into the last slot rather than losing it.
    d.slots[Math.min(l.slot, slotsPerDay - 1)]! += p.calls;
    d.total += p.calls;
  }
  return days;
}

/** Ordinary least squares y = a + b·x; with one distinct x, the mean and no slope. */
function ols(xs: readonly number[], ys: readonly number[]): { intercept: number; slopePerDay: number } {
  const n = xs.length;
  if (n === 0) return { intercept: 0, slopePerDay: 0 };
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const b = sxx > 0 ? sxy / sxx : 0;
  return { intercept: my - b * mx, slopePerDay: b };
}

export function fitForecast(history: readonly SeriesPoint[], opts: ForecastOptions): ForecastModel {
  const zone = opts.zone ?? 0;
  const slotsPerDay = (24 * 60) / opts.intervalMin;
  const holidays = new Map<string, number | undefined>((opts.holidays ?? []).map((h) => [h.date, h.factor]));
  const all = [...byDay(history, zone, opts.intervalMin, slotsPerDay).values()].sort((a, b) => a.dayNumber - b.dayNumber);
  const days = all.filter((d) => !holidays.has(d.date));

  // Weekday factors start from mean daily totals; weekdays with no calls at all (closed) stay 0.
  const weekday = new Array<number>(7).fill(0);
  const count = new Array<number>(7).fill(0);
  for (const d of days) {
    weekday[d.weekday]! += d.total;
    count[d.weekday]!++;
  }
  for (let w = 0; w < 7; w++) weekday[w] = count[w]! > 0 ? weekday[w]! / count[w]! : 0;
  normalise(weekday);
  let trend = { intercept: 0, slopePerDay: 0 };
  // Alternate until the factors settle (a handful of rounds on real data; capped for safety).
  for (let round = 0; round < 100; round++) {
    const before = weekday.slice();
    const open = days.filter((d) => weekday[d.weekday]! > 0);
    trend = ols(
      open.map((d) => d.dayNumber),
      open.map((d) => d.total / weekday[d.weekday]!),
    );
    const sum = new Array<number>(7).fill(0);
    const n = new Array<number>(7).fill(0);
    for (const d of days) {
      const level = trend.intercept + trend.slopePerDay * d.dayNumber;
      if (level <= 0) continue;
      sum[d.weekday]! += d.total / level;
      n[d.weekday]!++;
    }
    for (let w = 0; w < 7; w++) weekday[w] = n[w]! > 0 ? sum[w]! / n[w]! : 0;
    normalise(weekday);
    if (weekday.every((w, i) => Math.abs(w - before[i]!) < 1e-13)) break;
  }

  // Intraday shape per weekday: pooled shares (busy days weigh more, as their shares are less noisy).
  const shape = Array.from({ length: 7 }, () => new Array<number>(slotsPerDay).fill(0));
  const weekdayTotal = new Array<number>(7).fill(0);
  for (const d of days) {
    for (let s = 0; s < slotsPerDay; s++) shape[d.weekday]![s]! += d.slots[s]!;
    weekdayTotal[d.weekday]! += d.total;
  }
  for (let w = 0; w < 7; w++) if (weekdayTotal[w]! > 0) for (let s = 0; s < slotsPerDay; s++) shape[w]![s]! /= weekdayTotal[w]!;

  const ahtSec = fitAht(history, zone, opts.intervalMin, slotsPerDay, holidays);
  const model: ForecastModel = {
    intervalMin: opts.intervalMin,
    zone,
    slotsPerDay,
    trend,
    weekday,
    shape,
    ahtSec,
    holidayFactor: 0,
    holidays,
    daysFitted: days.length,
  };

  // Holiday factor: what past holidays did against what a normal day would have brought.
  let actual = 0;
  let normal = 0;
  for (const d of all) {
    if (!holidays.has(d.date)) continue;
    actual += d.total;
    normal += dayVolume(model, d.dayNumber, d.weekday);
  }
  model.holidayFactor = normal > 0 ? actual / normal : 0;
  return model;
}

function normalise(weekday: number[]): void {
  const open = weekday.filter((w) => w > 0);
  const mean = open.reduce((s, w) => s + w, 0) / Math.max(1, open.length);
  if (mean > 0) for (let w = 0; w < 7; w++) weekday[w] = weekday[w]! / mean;
}

function fitAht(
  history: readonly SeriesPoint[],
  zone: Zone,
  intervalMin: number,
  slotsPerDay: number,
  holidays: Map<string, unknown>,
): number[][] {
  const sum = Array.from({ length: 7 }, () => new Array<number>(slotsPerDay).fill(0));
  const n = Array.from({ length: 7 }, () => new Array<number>(slotsPerDay).fill(0));
  let all = 0;
  let allN = 0;
  for (const p of history) {
    if (p.ahtSec == null || !(p.calls > 0)) continue;
    const l = localSlot(p.start, zone, intervalMin);
    if (holidays.has(l.date)) continue;
    const s = Math.min(l.slot, slotsPerDay - 1);
    sum[l.weekday]![s]! += p.ahtSec * p.calls;
    n[l.weekday]![s]! += p.calls;
    all += p.ahtSec * p.calls;
    allN += p.calls;
  }
  // A slot with no handled calls borrows the overall mean: better than a hole in a staffing plan.
  const fallback = allN > 0 ? all / allN : 0;
  return sum.map((row, w) => row.map((v, s) => (n[w]![s]! > 0 ? v / n[w]![s]! : fallback)));
}

function dayVolume(m: ForecastModel, dayNumber: number, weekday: number): number {
  return Math.max(0, m.trend.intercept + m.trend.slopePerDay * dayNumber) * m.weekday[weekday]!;
}

/** Expected calls in the interval starting at `start` (the model's "normal" for it). */
export function forecastAt(m: ForecastModel, start: number): number {
  const l = localSlot(start, m.zone, m.intervalMin);
  let v = dayVolume(m, l.dayNumber, l.weekday) * (m.shape[l.weekday]![Math.min(l.slot, m.slotsPerDay - 1)] ?? 0);
  if (m.holidays.has(l.date)) v *= m.holidays.get(l.date) ?? m.holidayFactor;
  return v;
}

export interface ForecastPoint {
  start: number;
  end: number;
  calls: number;
  ahtSec: number;
}

const INTERVAL: Record<15 | 30 | 60, Interval> = { 15: '15m', 30: '30m', 60: '60m' };

/** The forecast for every interval of [from, to), cut as the reports cut (the centre's zone). */
export function forecastRange(m: ForecastModel, from: number, to: number): ForecastPoint[] {
  return buckets(from, to, INTERVAL[m.intervalMin], m.zone).map((b) => {
    const l = localSlot(b.start, m.zone, m.intervalMin);
    return {
      start: b.start,
      end: b.end,
      calls: forecastAt(m, b.start),
      ahtSec: m.ahtSec[l.weekday]![Math.min(l.slot, m.slotsPerDay - 1)]!,
    };
  });
}

export interface Accuracy {
  /** Mean absolute percentage error over intervals with calls (intervals with none have no percentage). */
  mape: number | null;
  /** Weighted APE: Σ|actual − forecast| ÷ Σ actual — the figure that does not explode on quiet intervals. */
  wape: number | null;
  /** Σ forecast ÷ Σ actual − 1: over (+) or under (−) forecasting in total. */
  bias: number | null;
  intervals: number;
}

export function accuracy(actual: readonly { calls: number }[], forecast: readonly { calls: number }[]): Accuracy {
  if (actual.length !== forecast.length) throw new RangeError('accuracy: series of different lengths');
  let ape = 0;
  let apeN = 0;
  let absErr = 0;
  let sumA = 0;
  let sumF = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!.calls;
    const f = forecast[i]!.calls;
    absErr += Math.abs(a - f);
    sumA += a;
    sumF += f;
    if (a > 0) {
      ape += Math.abs(a - f) / a;
      apeN++;
    }
  }
  return {
    mape: apeN > 0 ? ape / apeN : null,
    wape: sumA > 0 ? absErr / sumA : null,
    bias: sumA > 0 ? sumF / sumA - 1 : null,
    intervals: actual.length,
  };
}

/**
 * Accuracy on held-out weeks: fit on everything before the last `holdoutWeeks` local weeks of the
 * history, forecast those weeks, compare. The honest figure to quote for a model.
 */
export function backtest(
  history: readonly SeriesPoint[],
  opts: ForecastOptions,
  holdoutWeeks = 1,
): Accuracy & { splitAt: number; model: ForecastModel } {
  if (history.length === 0) throw new RangeError('backtest: empty history');
  const sorted = [...history].sort((a, b) => a.start - b.start);
  const last = sorted[sorted.length - 1]!.start;
  const splitAt = last - holdoutWeeks * 7 * DAY + opts.intervalMin * MIN;
  const train = sorted.filter((p) => p.start < splitAt);
  const test = sorted.filter((p) => p.start >= splitAt);
  if (train.length === 0) throw new RangeError('backtest: nothing left to fit on');
  const model = fitForecast(train, opts);
  return {
    ...accuracy(
      test,
      test.map((p) => ({ calls: forecastAt(model, p.start) })),
    ),
    splitAt,
    model,
  };
}

/**
 * Intraday re-forecast: today's intervals so far against the forecast give a ratio; the rest of the
 * day is scaled by it, shrunk towards 1 by credibility (a few calls early in the morning say little):
 * weight = expected so far ÷ (expected so far + `credibilityCalls`).
 */
export function reforecast(
  m: ForecastModel,
  todayActual: readonly SeriesPoint[],
  now: number,
  dayEnd: number,
  credibilityCalls = 50,
): ForecastPoint[] & { ratio?: number } {
  let expected = 0;
  let seen = 0;
  for (const p of todayActual) {
    if (p.start + m.intervalMin * MIN > now) continue; // only closed intervals count
    expected += forecastAt(m, p.start);
    seen += p.calls;
  }
  const ratio = expected > 0 ? seen / expected : 1;
  const weight = expected / (expected + credibilityCalls);
  const scale = 1 + weight * (ratio - 1);
  const from = localIntervalStart(m, now);
  const out = forecastRange(m, from, dayEnd).map((p) => ({ ...p, calls: p.calls * scale })) as ForecastPoint[] & { ratio?: number };
  out.ratio = scale;
  return out;
}

function localIntervalStart(m: ForecastModel, t: number): number {
  const off = offsetAt(m.zone, t) * MIN;
  const size = m.intervalMin * MIN;
  return Math.floor((t + off) / size) * size - off;
}

/** Volume alert levels the supervisor sees: actual against normal for the interval so far. */
export type VolumeAlert = 'none' | 'elevated' | 'surge';

export interface VolumeAlertLevels {
  /** Share above normal that raises the first alert (seed: +30 %). */
  elevated: number;
  /** Share above normal that raises the second (seed: +50 %). */
  surge: number;
  /** Below this many expected calls an interval is too quiet to judge. */
  minExpected: number;
}

export const DEFAULT_VOLUME_ALERTS: VolumeAlertLevels = { elevated: 0.3, surge: 0.5, minExpected: 5 };

export function volumeAlert(actual: number, normal: number, levels: VolumeAlertLevels = DEFAULT_VOLUME_ALERTS): VolumeAlert {
  if (normal < levels.minExpected) return 'none';
  const over = actual / normal - 1;
  return over >= levels.surge ? 'surge' : over >= levels.elevated ? 'elevated' : 'none';
}

/** Models per queue, for "normal for this hour" questions from live monitoring. */
export class Forecaster {
  constructor(private readonly models: ReadonlyMap<string, ForecastModel>) {}

  /**
   * Normal calls for the interval containing `at`, prorated to the part of it elapsed by `at` when
   * `soFar` is set (how a live counter mid-interval is judged fairly).
   */
  normalFor(queue: string, at: number, soFar = false): number | undefined {
    const m = this.models.get(queue);
    if (!m) return undefined;
    const start = localIntervalStart(m, at);
    const full = forecastAt(m, start);
    return soFar ? (full * (at - start)) / (m.intervalMin * MIN) : full;
  }

  alert(queue: string, at: number, actualSoFar: number, levels: VolumeAlertLevels = DEFAULT_VOLUME_ALERTS): VolumeAlert {
    const normal = this.normalFor(queue, at, true);
    return normal === undefined ? 'none' : volumeAlert(actualSoFar, normal, levels);
  }
}

/** History for the forecaster from KPI report rows (dimension queue, 15/30/60-minute interval). */
export function historyFromRows(
  rows: readonly { key: string; intervalStart: string; offered: number | null; ahtSec: number | null }[],
): Map<string, SeriesPoint[]> {
  const out = new Map<string, SeriesPoint[]>();
  for (const r of rows) {
    let list = out.get(r.key);
    if (!list) out.set(r.key, (list = []));
    list.push({ start: Date.parse(r.intervalStart), calls: r.offered ?? 0, ahtSec: r.ahtSec });
  }
  for (const list of out.values()) list.sort((a, b) => a.start - b.start);
  return out;
}
