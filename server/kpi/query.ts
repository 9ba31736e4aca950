/**
 * One reading of report parameters for every front end (REST query string, CLI flags), so that
 * the same question always reaches the engine as the same request.
 */
import { buckets, parseInterval, parseTime } from './intervals.ts';
import { DimensionSchema, type Dimension, type ReportRequest } from './report.ts';
import { KpiSettingsSchema, zoneOf, type KpiSettings } from './settings.ts';
import { ServiceLevelModeSchema } from './serviceLevel.ts';

export interface ReportParams {
  from?: string | undefined;
  to?: string | undefined;
  interval?: string | undefined;
  dimension?: string | undefined;
  /** Row keys: queue names, agent ids or skill groups (comma-separated or repeated). */
  keys?: string[] | undefined;
  slMode?: string | undefined;
  slThresholds?: string | undefined;
  shortAbandonSec?: string | undefined;
  fcrWindowSec?: string | undefined;
}

export class ReportQueryError extends Error {}

const MAX_RANGE_MS = 400 * 86_400_000;
const MAX_BUCKETS = 20_000;

/** Accepts centre|queue|queues|skill|skills|skillGroup|agent|agents. */
export function parseDimension(text: string): Dimension {
  const alias: Record<string, Dimension> = {
    queues: 'queue',
    skill: 'skillGroup',
    skills: 'skillGroup',
    agents: 'agent',
    center: 'centre',
  };
  const r = DimensionSchema.safeParse(alias[text] ?? text);
  if (!r.success) throw new ReportQueryError(`unknown report "${text}" (centre, queues, skills, agents)`);
  return r.data;
}

export function parseReportParams(
  p: ReportParams,
  base: KpiSettings,
  now = Date.now(),
): { request: ReportRequest; overrides: Partial<KpiSettings> } {
  const overrides: Partial<KpiSettings> = {};
  try {
    if (p.slMode !== undefined) overrides.serviceLevelMode = ServiceLevelModeSchema.parse(p.slMode);
  } catch {
    throw new ReportQueryError(`slMode must be one of ${ServiceLevelModeSchema.options.join(', ')}`);
  }
  if (p.slThresholds !== undefined) overrides.serviceLevelThresholdsSec = p.slThresholds.split(',').map((x) => intParam('slThresholds', x));
  if (p.shortAbandonSec !== undefined) overrides.shortAbandonSec = intParam('shortAbandonSec', p.shortAbandonSec);
  if (p.fcrWindowSec !== undefined) overrides.fcrWindowSec = intParam('fcrWindowSec', p.fcrWindowSec);
  const checked = KpiSettingsSchema.safeParse({ ...base, ...overrides });
  if (!checked.success)
    throw new ReportQueryError(`bad KPI setting: ${checked.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  const tz = zoneOf(checked.data);
  if (!p.from || !p.to) throw new ReportQueryError('from and to are required');
  let from: number;
  let to: number;
  let interval;
  try {
    from = parseTime(p.from, tz, now);
    to = parseTime(p.to, tz, now);
    interval = parseInterval(p.interval ?? 'range');
  } catch (err) {
    throw new ReportQueryError((err as Error).message);
  }
  if (!(to > from)) throw new ReportQueryError('to must be after from');
  if (to - from > MAX_RANGE_MS) throw new ReportQueryError('range longer than 400 days');
  if (interval !== 'range' && buckets(from, to, interval, tz).length > MAX_BUCKETS) {
    throw new ReportQueryError(`too many intervals (over ${MAX_BUCKETS}); use a longer interval`);
  }
  const keys = (p.keys ?? [])
    .flatMap((k) => k.split(','))
    .map((k) => k.trim())
    .filter((k) => k !== '');
  const request: ReportRequest = { from, to, interval, dimension: parseDimension(p.dimension ?? 'queue') };
  if (keys.length > 0) request.keys = keys;
  return { request, overrides };
}

function intParam(name: string, v: string): number {
  if (!/^\d{1,9}$/.test(v.trim())) throw new ReportQueryError(`${name} must be a whole number of seconds`);
  return Number(v.trim());
}
