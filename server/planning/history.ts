/**
 * The centre's own history for planning, read through the store's KPI report (offered and AHT per
 * queue and interval: the same definitions every report uses), and the forecast-then-staff question
 * the CLI and REST API both ask. The store is injected; no SQL here.
 */
import type { KpiReport, ReportRequest } from '../kpi/report.ts';
import type { KpiSettings } from '../kpi/settings.ts';
import { zoneOf } from '../kpi/settings.ts';
import { parseTime } from '../kpi/intervals.ts';
import {
  backtest,
  fitForecast,
  forecastRange,
  historyFromRows,
  type Accuracy,
  type ForecastPoint,
  type Holiday,
  type SeriesPoint,
} from './forecast.ts';
import { requiredAgents, type StaffingResult, type StaffingTargetsInput } from './staffing.ts';

const DAY = 86_400_000;

export interface HistorySource {
  readonly settings: KpiSettings;
  report(req: ReportRequest, overrides?: Partial<KpiSettings>): Promise<KpiReport>;
}

/** Offered calls and AHT per queue and interval over [from, to), a week per query to bound memory. */
export async function loadHistory(
  store: HistorySource,
  queues: readonly string[],
  from: number,
  to: number,
  intervalMin: 15 | 30 | 60,
): Promise<Map<string, SeriesPoint[]>> {
  const rows: KpiReport['rows'] = [];
  for (let start = from; start < to; start += 7 * DAY) {
    const report = await store.report({
      from: start,
      to: Math.min(to, start + 7 * DAY),
      interval: `${intervalMin}m` as ReportRequest['interval'],
      dimension: 'queue',
      ...(queues.length > 0 ? { keys: queues } : {}),
    });
    rows.push(...report.rows);
  }
  return historyFromRows(rows);
}

export interface ForecastQuery {
  queue: string;
  /** Forecast range. */
  from: string;
  to: string;
  /** History ending at `from`. */
  historyWeeks: number;
  intervalMin: 15 | 30 | 60;
  holidays?: Holiday[];
  /** Held-out weeks of the history to measure accuracy on (0: skip). */
  holdoutWeeks?: number;
  /** With targets, each interval also gets its staffing requirement. */
  staffing?: StaffingTargetsInput;
}

export interface ForecastAnswer {
  queue: string;
  from: string;
  to: string;
  historyFrom: string;
  daysFitted: number;
  trend: { intercept: number; slopePerDay: number };
  weekday: number[];
  holidayFactor: number;
  accuracy: (Accuracy & { holdoutWeeks: number }) | null;
  intervals: (ForecastPoint & { staffing?: StaffingResult })[];
}

export class PlanningQueryError extends Error {}

export async function forecastFromStore(store: HistorySource, q: ForecastQuery, now = Date.now()): Promise<ForecastAnswer> {
  const zone = zoneOf(store.settings);
  let from: number;
  let to: number;
  try {
    from = parseTime(q.from, zone, now);
    to = parseTime(q.to, zone, now);
  } catch (err) {
    throw new PlanningQueryError((err as Error).message);
  }
  if (!(to > from)) throw new PlanningQueryError('to must be after from');
  if (to - from > 92 * DAY) throw new PlanningQueryError('forecast range longer than 92 days');
  if (!(q.historyWeeks >= 1 && q.historyWeeks <= 104)) throw new PlanningQueryError('history must be 1 to 104 weeks');
  const historyFrom = from - q.historyWeeks * 7 * DAY;
  const history = (await loadHistory(store, [q.queue], historyFrom, from, q.intervalMin)).get(q.queue) ?? [];
  if (history.every((p) => p.calls === 0))
    throw new PlanningQueryError(`no calls to queue ${q.queue} in the ${q.historyWeeks} weeks before ${new Date(from).toISOString()}`);
  const opts = { intervalMin: q.intervalMin, zone, holidays: q.holidays ?? [] };
  const model = fitForecast(history, opts);
  const holdout = q.holdoutWeeks ?? 0;
  const acc = holdout > 0 && holdout < q.historyWeeks ? { ...strip(backtest(history, opts, holdout)), holdoutWeeks: holdout } : null;
  const targets = q.staffing;
  const intervals = forecastRange(model, from, to).map((p) =>
    // A slot with no handled calls in the history has no AHT: the ACD's own default (180 s) stands in.
    targets
      ? {
          ...p,
          staffing: requiredAgents(
            { start: p.start, calls: p.calls, ahtSec: p.ahtSec > 0 ? p.ahtSec : 180 },
            { ...targets, intervalSec: q.intervalMin * 60 },
          ),
        }
      : p,
  );
  return {
    queue: q.queue,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    historyFrom: new Date(historyFrom).toISOString(),
    daysFitted: model.daysFitted,
    trend: model.trend,
    weekday: model.weekday,
    holidayFactor: model.holidayFactor,
    accuracy: acc,
    intervals,
  };
}

function strip(r: Accuracy & { splitAt: number }): Accuracy {
  return { mape: r.mape, wape: r.wape, bias: r.bias, intervals: r.intervals };
}
