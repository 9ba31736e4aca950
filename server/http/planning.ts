/**
 * Workforce-planning REST API, mounted by the main HTTP server:
 *
 *   GET  /api/v1/planning/erlang?calls=100&aht=180&interval=30m&sl=80/20[&asa=][&maxOccupancy=85%][&shrinkage=30%]
 *        [&patience=120][&maxAbandon=5%][&model=erlang-c|erlang-a][&rows=3]     one interval + a table around the answer
 *   POST /api/v1/planning/staffing   {targets: {...StaffingTargets}, intervals: [{start?, calls, ahtSec}]}   per interval
 *   GET  /api/v1/planning/forecast?queue=sales&from=tomorrow&to=…[&historyWeeks=8][&interval=30m][&holiday=2026-12-25[=0.4]]
 *        [&holdoutWeeks=1][&sl=80/20 …sizing as for erlang]        forecast per interval, accuracy, optional staffing
 *   POST /api/v1/planning/schedule[?format=json|csv|coverage|svg]   body: {intervalMin, required, templates, agents, minRestHours?}
 *   GET  /api/v1/planning/attainment?from=&to=[&period=day|week|month|quarter][&interval=30m][&format=csv]   targets from centre.yaml
 *
 * Roles supervisor and admin (planning is theirs; agents and QA have no use for it). Who the caller
 * is comes from the injected authorize(), as for the reports API. The engines are pure; this file
 * only parses, authorises and answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseHoliday, parseIntervalSec, targetsFromFlags } from '../planning/commands.ts';
import { forecastFromStore, PlanningQueryError, type HistorySource } from '../planning/history.ts';
import { requiredAgents, staffingTable, StaffingTargetsSchema } from '../planning/staffing.ts';
import { log } from '../../lib/log.ts';
import { parseReportParams, ReportQueryError } from '../kpi/query.ts';
import { zoneOf } from '../kpi/settings.ts';
import { buildSchedule, coverageSvg, coverageToCsv, scheduleToCsv, type ScheduleInput } from '../planning/schedule.ts';
import {
  attainment,
  attainmentToCsv,
  multiSkillShare,
  TargetsConfigSchema,
  type Period,
  type TargetsConfigInput,
} from '../planning/targets.ts';
import type { Principal } from './reports.ts';
import { HttpError, readJson, sendError, sendJson, type Handler } from './server.ts';

export interface PlanningApiDeps {
  /** The store for history (forecast, attainment); without it those URLs answer 503. */
  store?: HistorySource;
  /** centre.yaml `targets:` as it is now (read per request, so a config edit applies at once). */
  targets?: () => TargetsConfigInput | undefined;
  /** The configured agents (for the multi-skill share in attainment). */
  agents?: () => readonly { skills: Readonly<Record<string, number>> }[];
  authorize: (req: IncomingMessage) => Principal | undefined | Promise<Principal | undefined>;
}

export const PLANNING_ROLES: ReadonlySet<string> = new Set(['supervisor', 'admin']);

const PREFIX = '/api/v1/planning';
const plog = log.child({ mod: 'planning-api' });

/** A bounded request: a week of 15-minute intervals is 672; 5000 leaves room and caps the work. */
export const StaffingBodySchema = z.object({
  targets: StaffingTargetsSchema,
  intervals: z
    .array(z.object({ start: z.number().optional(), calls: z.number().nonnegative(), ahtSec: z.number().positive() }))
    .min(1)
    .max(5000),
});

export function createPlanningApi(deps: PlanningApiDeps): Handler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path !== PREFIX && !path.startsWith(PREFIX + '/')) return false;
    try {
      const who = await deps.authorize(req);
      if (!who) throw new HttpError(401, 'authentication required');
      if (!PLANNING_ROLES.has(who.role)) throw new HttpError(403, `role ${who.role} may not use planning`);
      const name = path.slice(PREFIX.length + 1);
      if (name === 'erlang') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET');
        sendJson(res, 200, erlang(url.searchParams));
      } else if (name === 'staffing') {
        if (req.method !== 'POST') throw new HttpError(405, 'only POST');
        const parsed = StaffingBodySchema.safeParse(await readJson(req, 1024 * 1024));
        if (!parsed.success)
          throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
        const { targets, intervals } = parsed.data;
        sendJson(res, 200, { targets, intervals: intervals.map((d) => requiredAgents(d, targets)) });
      } else if (name === 'forecast') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET');
        if (!deps.store) throw new HttpError(503, 'no store: history unavailable');
        sendJson(res, 200, await forecastFromStore(deps.store, forecastQuery(url.searchParams)));
      } else if (name === 'schedule') {
        if (req.method !== 'POST') throw new HttpError(405, 'only POST');
        const body = (await readJson(req, 4 * 1024 * 1024)) as Partial<ScheduleInput>;
        if (
          ![15, 30, 60].includes(body.intervalMin ?? 0) ||
          !Array.isArray(body.required) ||
          body.required.length > 31 ||
          !Array.isArray(body.templates) ||
          !Array.isArray(body.agents)
        ) {
          throw new HttpError(400, 'body needs intervalMin (15, 30 or 60), required (up to 31 days of slots), templates and agents');
        }
        const input = body as ScheduleInput;
        const { highsSolver } = await import('../planning/highs.ts');
        const sched = buildSchedule(input, await highsSolver({ timeLimitSec: 20 }));
        const fmt = url.searchParams.get('format') ?? 'json';
        if (fmt === 'csv') sendText(res, scheduleToCsv(sched), 'text/csv; charset=utf-8');
        else if (fmt === 'coverage')
          sendText(res, coverageToCsv(input.required, sched.scheduled, input.intervalMin), 'text/csv; charset=utf-8');
        else if (fmt === 'svg') sendText(res, coverageSvg(input.required, sched.scheduled, input.intervalMin), 'image/svg+xml');
        else sendJson(res, 200, sched);
      } else if (name === 'attainment') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET');
        if (!deps.store) throw new HttpError(503, 'no store: history unavailable');
        const targets = deps.targets?.();
        if (!targets) throw new HttpError(404, 'no targets: configure targets: in centre.yaml');
        const q = url.searchParams;
        const period = q.get('period') ?? 'day';
        if (!['day', 'week', 'month', 'quarter'].includes(period)) throw new HttpError(400, 'period must be day, week, month or quarter');
        const interval = q.get('interval') ?? '30m';
        if (!['15m', '30m', '60m'].includes(interval)) throw new HttpError(400, 'interval must be 15m, 30m or 60m');
        let parsed;
        try {
          parsed = parseReportParams(
            { from: q.get('from') ?? undefined, to: q.get('to') ?? undefined, interval, dimension: 'queue' },
            deps.store.settings,
          );
        } catch (err) {
          throw new HttpError(400, (err as ReportQueryError).message);
        }
        const rows = [];
        for (const dimension of ['queue', 'centre'] as const)
          rows.push(...(await deps.store.report({ ...parsed.request, dimension })).rows);
        const result = attainment(rows, targets, period as Period, zoneOf(deps.store.settings));
        if (q.get('format') === 'csv') sendText(res, attainmentToCsv(result), 'text/csv; charset=utf-8');
        else {
          const agents = deps.agents?.();
          const multiSkill = agents ? multiSkillShare(agents, TargetsConfigSchema.parse(targets).multiSkillShare) : null;
          sendJson(res, 200, { period, attainment: result, multiSkill });
        }
      } else
        throw new HttpError(
          404,
          `GET ${PREFIX}/erlang, POST ${PREFIX}/staffing, GET ${PREFIX}/forecast, POST ${PREFIX}/schedule, GET ${PREFIX}/attainment`,
        );
    } catch (err) {
      if (err instanceof HttpError) sendError(res, err);
      else if (err instanceof RangeError || err instanceof PlanningQueryError) sendJson(res, 400, { error: err.message });
      else {
        plog.error({ err: (err as Error).message, path }, 'planning request failed');
        const unavailable = /ECONNREFUSED|timeout|terminat|Connection/i.test((err as Error).message ?? '');
        sendJson(res, unavailable ? 503 : 500, { error: unavailable ? 'database unavailable; try again' : 'internal error' });
      }
    }
    return true;
  };
}

function erlang(q: URLSearchParams): unknown {
  const get = (k: string) => q.get(k) ?? undefined;
  const calls = Number(get('calls'));
  const aht = Number(get('aht'));
  if (get('calls') === undefined || !(calls >= 0)) throw new HttpError(400, 'calls must be a number >= 0');
  if (!(aht > 0)) throw new HttpError(400, 'aht must be seconds > 0');
  let targets;
  try {
    // Service level 80/20 unless the query sizes by another target.
    targets = staffingFromQuery(q, get('asa') || get('maxOccupancy') || get('maxAbandon') ? undefined : '80/20');
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  const demand = { calls, ahtSec: aht };
  const result = requiredAgents(demand, targets);
  const span = Math.min(20, Math.max(0, Number(get('rows') ?? 3) || 0));
  // Infinity (an unstable Erlang C row) is not JSON: say null.
  const table = staffingTable(demand, targets, result.agents - span, result.agents + span).map((r) => ({
    ...r,
    asaSec: Number.isFinite(r.asaSec) ? r.asaSec : null,
  }));
  return { targets: StaffingTargetsSchema.parse(targets), result, table };
}

function forecastQuery(q: URLSearchParams): Parameters<typeof forecastFromStore>[1] {
  const get = (k: string) => q.get(k) ?? undefined;
  const queue = get('queue');
  if (!queue) throw new HttpError(400, 'queue is required');
  if (!get('from') || !get('to')) throw new HttpError(400, 'from and to are required');
  try {
    const interval = parseIntervalSec(get('interval') ?? '30m') / 60;
    if (interval !== 15 && interval !== 30 && interval !== 60) throw new Error('interval must be 15m, 30m or 60m');
    const sizing = get('sl') || get('asa') || get('maxOccupancy') || get('patience') || get('maxAbandon');
    return {
      queue,
      from: get('from')!,
      to: get('to')!,
      historyWeeks: Number(get('historyWeeks') ?? 8),
      intervalMin: interval,
      holidays: q.getAll('holiday').map(parseHoliday),
      holdoutWeeks: Number(get('holdoutWeeks') ?? 1),
      ...(sizing
        ? {
            staffing: staffingFromQuery(q),
          }
        : {}),
    };
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}

/** Staffing targets from a query's flags (the CLI's flags, same names), `defaultSl` when no sl is given. */
function staffingFromQuery(q: URLSearchParams, defaultSl?: string): ReturnType<typeof targetsFromFlags> {
  const get = (k: string) => q.get(k) ?? undefined;
  return targetsFromFlags({
    interval: get('interval') ?? '30m',
    sl: get('sl') ?? defaultSl,
    asa: get('asa'),
    maxOccupancy: get('maxOccupancy'),
    shrinkage: get('shrinkage'),
    patience: get('patience'),
    maxAbandon: get('maxAbandon'),
    model: get('model'),
  });
}

function sendText(res: ServerResponse, text: string, type: string): void {
  res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
