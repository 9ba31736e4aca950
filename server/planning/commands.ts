/**
 * `callcentre erlang`: the staffing calculator on the command line.
 *
 *   callcentre erlang --calls 100 --interval 30m --aht 180 --sl 80/20            one interval, a table around the answer
 *   callcentre erlang --calls 100 --aht 180 --sl 80/20 --patience 120 --max-abandon 5%   Erlang A
 *   callcentre erlang --demand day.csv --interval 15m --sl 80/20 --shrinkage 30% --format csv   per interval
 *
 * The demand CSV has a header with `calls` and `aht` (or `ahtSec`) and optionally `start` (any text,
 * copied through); one row per interval.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Store } from '../store/store.ts';
import type { KpiSettings } from '../kpi/settings.ts';
import { forecastFromStore, PlanningQueryError, type ForecastQuery, type HistorySource } from './history.ts';
import type { Holiday } from './forecast.ts';
import { attainment, attainmentToCsv, TargetsConfigSchema, type Period } from './targets.ts';
import { zoneOf } from '../kpi/settings.ts';
import { parseReportParams, ReportQueryError } from '../kpi/query.ts';
import { centreForCommand, defaultOpenStore, withStoreOptions, type StoreFlags, type StoreOpenArgs } from '../kpi/commands.ts';
import { buildSchedule, coverageSvg, coverageToCsv, scheduleToCsv, type ScheduleInput } from './schedule.ts';
import {
  requiredAgents,
  staffingTable,
  type IntervalDemand,
  type StaffingFigures,
  type StaffingResult,
  type StaffingTargetsInput,
} from './staffing.ts';

export interface PlanningCommandDeps {
  out?: (s: string) => void;
  readFile?: (path: string) => string;
  /** How to reach the store for history; default opens a read-only store per the flags (as `report`). */
  openStore?: (o: StoreOpenArgs) => Promise<HistorySource & Pick<Store, 'close'>>;
  /** KPI settings to use instead of the config's (in-process tests); --config is then not read. */
  settings?: Partial<KpiSettings>;
  /** Config errors; default stderr. */
  err?: (s: string) => void;
  now?: () => number;
}

interface ForecastFlags extends StoreFlags {
  queue: string;
  from: string;
  to: string;
  historyWeeks: string;
  interval: string;
  holiday?: string[];
  holdoutWeeks: string;
  sl?: string;
  asa?: string;
  maxOccupancy?: string;
  shrinkage?: string;
  patience?: string;
  maxAbandon?: string;
  model?: string;
  format: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** "2026-12-25" (learnt factor) or "2026-12-25=0.4" (the planner's factor). */
export function parseHoliday(text: string): Holiday {
  const m = /^(\d{4}-\d{2}-\d{2})(?:=([\d.]+%?))?$/.exec(text.trim());
  if (!m) throw new Error(`holiday must look like 2026-12-25 or 2026-12-25=0.4 (got "${text}")`);
  return m[2] !== undefined ? { date: m[1]!, factor: parseFraction(m[2], 'holiday factor') } : { date: m[1]! };
}

interface ErlangFlags {
  calls?: string;
  aht?: string;
  demand?: string;
  interval: string;
  sl?: string;
  asa?: string;
  maxOccupancy?: string;
  shrinkage?: string;
  patience?: string;
  maxAbandon?: string;
  model?: string;
  rows: string;
  format: string;
}

/** "80%", "80" and "0.8" all mean 0.8: planners write targets every way. */
export function parseFraction(text: string, what: string): number {
  const t = text.trim();
  const pct = t.endsWith('%');
  const v = Number(pct ? t.slice(0, -1) : t);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${what} must be a number or a percentage (got "${text}")`);
  const f = pct || v > 1 ? v / 100 : v;
  if (f > 1) throw new Error(`${what} must be at most 100 % (got "${text}")`);
  return f;
}

/** "15m" | "30m" | "60m" | "1h" | seconds. */
export function parseIntervalSec(text: string): number {
  const m = /^(\d+)\s*(s|m|min|h)?$/i.exec(text.trim());
  if (!m) throw new Error(`interval must look like 15m, 30m, 1h or 900 (got "${text}")`);
  const v = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const sec = unit === 'h' ? v * 3600 : unit === 's' ? v : v * 60;
  if (sec <= 0) throw new Error('interval must be positive');
  return sec;
}

/** "80/20": 80 % within 20 seconds. */
export function parseServiceLevel(text: string): { target: number; thresholdSec: number } {
  const m = /^\s*([\d.]+%?)\s*\/\s*([\d.]+)\s*s?\s*$/.exec(text);
  if (!m) throw new Error(`--sl must look like 80/20 (80 % within 20 s) (got "${text}")`);
  return { target: parseFraction(m[1]!, '--sl target'), thresholdSec: Number(m[2]) };
}

export function targetsFromFlags(f: Omit<ErlangFlags, 'rows' | 'format'>): StaffingTargetsInput {
  const patience = f.patience !== undefined ? Number(f.patience) : undefined;
  if (patience !== undefined && !(patience > 0)) throw new Error('--patience must be seconds > 0');
  const model = f.model ?? (patience !== undefined ? 'erlang-a' : 'erlang-c');
  if (model !== 'erlang-a' && model !== 'erlang-c') throw new Error('--model must be erlang-c or erlang-a');
  if (model === 'erlang-a' && patience === undefined) throw new Error('--model erlang-a needs --patience SECONDS');
  const asa = f.asa !== undefined ? Number(f.asa) : undefined;
  if (asa !== undefined && !(asa > 0)) throw new Error('--asa must be seconds > 0');
  return {
    intervalSec: parseIntervalSec(f.interval),
    model,
    ...(f.sl ? { serviceLevel: parseServiceLevel(f.sl) } : {}),
    ...(asa !== undefined ? { asaSec: asa } : {}),
    ...(f.maxOccupancy ? { maxOccupancy: parseFraction(f.maxOccupancy, '--max-occupancy') } : {}),
    ...(f.maxAbandon ? { maxAbandonRate: parseFraction(f.maxAbandon, '--max-abandon') } : {}),
    ...(patience !== undefined ? { patienceSec: patience } : {}),
    ...(f.shrinkage ? { shrinkage: parseFraction(f.shrinkage, '--shrinkage') } : {}),
  };
}

/** Parses the per-interval demand CSV (header row; `calls`, `aht`/`ahtSec`, optional `start`). */
export function parseDemandCsv(text: string): { label: string; demand: IntervalDemand }[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new Error('demand CSV needs a header and at least one row');
  const head = lines[0]!.split(',').map((h) => h.trim().toLowerCase());
  const ci = head.indexOf('calls');
  const ai = head.findIndex((h) => h === 'aht' || h === 'ahtsec');
  const si = head.indexOf('start');
  if (ci < 0 || ai < 0) throw new Error('demand CSV header must name calls and aht');
  return lines.slice(1).map((l, i) => {
    const cells = l.split(',').map((c) => c.trim());
    const calls = Number(cells[ci]);
    const aht = Number(cells[ai]);
    if (!(calls >= 0) || !(aht > 0)) throw new Error(`demand CSV line ${i + 2}: calls must be >= 0 and aht > 0`);
    return { label: si >= 0 ? (cells[si] ?? '') : String(i + 1), demand: { calls, ahtSec: aht } };
  });
}

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
const secs = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'inf');

function figuresRow(f: StaffingFigures, mark: string): string {
  return [
    mark + String(f.agents).padStart(5),
    pct(f.serviceLevel).padStart(7),
    secs(f.asaSec).padStart(8),
    pct(f.occupancy).padStart(7),
    pct(f.pWait).padStart(7),
    pct(f.abandonRate).padStart(7),
  ].join('  ');
}

export function registerPlanningCommands(program: Command, deps: PlanningCommandDeps = {}): void {
  withStoreOptions(program.command('attainment'))
    .description(
      'share of intervals meeting each target (SL, answer rate, 接通率, FCR, abandons, AHT, occupancy) by day, week, month or quarter',
    )
    .requiredOption('--from <time>', 'start (ISO, local date, today …)')
    .requiredOption('--to <time>', 'end (exclusive)')
    .requiredOption(
      '--targets <file.json>',
      '{centre?: {...}, queues: {name: {serviceLevel: {thresholdSec, target}, answerRate, connectRate, fcr, abandonRate, ahtSec: {min,max}, occupancy: {min,max}, intervalShare}}}',
    )
    .option('--period <p>', 'day | week | month | quarter', 'day')
    .option('--interval <i>', 'the intervals judged: 15m | 30m | 60m', '30m')
    .option('--format <f>', 'table | csv | json', 'table')
    .action(async function (
      this: Command,
      f: StoreFlags & { from: string; to: string; targets: string; period: string; interval: string; format: string },
    ) {
      const out = deps.out ?? ((s: string) => process.stdout.write(s));
      const fail = (msg: string): never => this.error(`attainment: ${msg}`, { exitCode: 2, code: 'attainment.invalid' });
      if (!['day', 'week', 'month', 'quarter'].includes(f.period)) fail('--period must be day, week, month or quarter');
      if (!['15m', '30m', '60m'].includes(f.interval)) fail('--interval must be 15m, 30m or 60m');
      // The centre's KPI settings and database, as `report` and the server use them.
      const centre = centreForCommand(this, 'attainment', f, deps);
      let targets;
      let parsed;
      try {
        targets = TargetsConfigSchema.parse(JSON.parse((deps.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(f.targets)));
        parsed = parseReportParams({ from: f.from, to: f.to, interval: f.interval, dimension: 'queue' }, centre.settings, deps.now?.());
      } catch (err) {
        return fail(err instanceof ReportQueryError || err instanceof Error ? err.message : String(err));
      }
      const store = await (deps.openStore ?? defaultOpenStore)(centre.store);
      try {
        const rows = [];
        // Queue rows for queue targets, the centre row for centre targets (connect rate lives there).
        for (const dimension of ['queue', 'centre'] as const) rows.push(...(await store.report({ ...parsed.request, dimension })).rows);
        const a = attainment(rows, targets, f.period as Period, zoneOf(store.settings));
        if (f.format === 'json') return out(JSON.stringify(a, null, 2) + '\n');
        if (f.format === 'csv') return out(attainmentToCsv(a));
        out('key           period      target        met/intervals   share    goal\n');
        for (const r of a)
          out(
            `${r.key.padEnd(12)}  ${r.period.padEnd(10)}  ${r.target.padEnd(12)}  ${`${r.met}/${r.intervals}`.padStart(13)}  ${pct(r.share).padStart(6)}  ${pct(r.goal)} ${r.goalMet ? 'met' : 'missed'}\n`,
          );
      } finally {
        await store.close();
      }
    });

  program
    .command('schedule')
    .description(
      'shift schedule for a week: requirement per interval + shift templates + agents (JSON) -> shifts with breaks, coverage, peak redundancy / off-peak idle',
    )
    .requiredOption(
      '--input <file.json>',
      '{intervalMin, required: [[agents per slot] per day], templates: [...], agents: [...], minRestHours?}',
    )
    .option('--exact <s>', 'seconds to let the exact MIP try to beat the rounded LP schedule', '0')
    .option('--days <labels>', 'comma-separated day labels for the output (default Mon..Sun)', 'Mon,Tue,Wed,Thu,Fri,Sat,Sun')
    .option('--format <f>', 'table | csv (shifts) | coverage (CSV per interval) | svg (coverage chart) | json', 'table')
    .action(async function (this: Command, f: { input: string; exact: string; days: string; format: string }) {
      const out = deps.out ?? ((s: string) => process.stdout.write(s));
      const fail = (msg: string): never => this.error(`schedule: ${msg}`, { exitCode: 2, code: 'schedule.invalid' });
      if (!['table', 'csv', 'coverage', 'svg', 'json'].includes(f.format)) fail('--format must be table, csv, coverage, svg or json');
      let input: ScheduleInput;
      try {
        input = JSON.parse((deps.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(f.input)) as ScheduleInput;
        if (
          ![15, 30, 60].includes(input.intervalMin) ||
          !Array.isArray(input.required) ||
          !Array.isArray(input.templates) ||
          !Array.isArray(input.agents)
        ) {
          throw new Error('input needs intervalMin (15, 30 or 60), required, templates and agents');
        }
      } catch (err) {
        return fail((err as Error).message);
      }
      const labels = f.days.split(',');
      const label = (d: number) => labels[d] ?? String(d);
      const { highsSolver } = await import('./highs.ts');
      let s;
      try {
        s = buildSchedule(input, await highsSolver(), { exactSec: Number(f.exact) || 0 });
      } catch (err) {
        if (err instanceof RangeError) return fail(err.message);
        throw err;
      }
      if (f.format === 'json') return out(JSON.stringify(s, null, 2) + '\n');
      if (f.format === 'csv') return out(scheduleToCsv(s, label));
      if (f.format === 'coverage') return out(coverageToCsv(input.required, s.scheduled, input.intervalMin, label));
      if (f.format === 'svg') return out(coverageSvg(input.required, s.scheduled, input.intervalMin, label));
      const fig = s.figures;
      out(scheduleToCsv(s, label).replace(/,/g, '  '));
      out(
        `\n${s.shifts.length} shifts (${s.unassigned} unassigned), ${s.solver.status}; short intervals ${fig.shortIntervals} (${fig.shortAgentIntervals} agent-intervals); ` +
          `peak redundancy ${pct(fig.peakRedundancy)} (seed limit 15 %), off-peak idle ${pct(fig.offPeakIdle)} (seed limit 8 %): ${fig.meetsSeedLimits ? 'within' : 'NOT within'} the seed's limits\n`,
      );
    });

  withStoreOptions(program.command('forecast'))
    .description(
      "volume forecast per interval from the queue's own history (weekday × interval seasonality, trend, holidays), with accuracy on held-out weeks and optional staffing",
    )
    .requiredOption('--queue <name>', 'queue to forecast')
    .requiredOption('--from <time>', 'forecast start (ISO, local "2026-01-05", today, tomorrow …)')
    .requiredOption('--to <time>', 'forecast end (exclusive)')
    .option('--history-weeks <n>', 'weeks of history before --from to fit on', '8')
    .option('--interval <i>', '15m | 30m | 60m', '30m')
    .option('--holiday <date[=factor]>', 'a holiday in the history or the forecast (repeatable)', collect)
    .option('--holdout-weeks <n>', 'report MAPE/WAPE on this many held-out weeks at the end of the history (0: skip)', '1')
    .option('--sl <t/s>', 'also size each interval: service-level target, e.g. 80/20')
    .option('--asa <s>', 'ASA target for sizing')
    .option('--max-occupancy <f>', 'occupancy cap for sizing')
    .option('--shrinkage <f>', 'shrinkage for scheduled head count')
    .option('--patience <s>', 'Erlang A patience (seconds)')
    .option('--max-abandon <f>', 'Erlang A abandon cap')
    .option('--model <m>', 'erlang-c | erlang-a')
    .option('--format <f>', 'table | csv | json', 'table')
    .action(async function (this: Command, f: ForecastFlags) {
      const out = deps.out ?? ((s: string) => process.stdout.write(s));
      const fail = (msg: string): never => this.error(`forecast: ${msg}`, { exitCode: 2, code: 'forecast.invalid' });
      const centre = centreForCommand(this, 'forecast', f, deps);
      let query: ForecastQuery;
      try {
        const interval = parseIntervalSec(f.interval) / 60;
        if (interval !== 15 && interval !== 30 && interval !== 60) throw new Error('--interval must be 15m, 30m or 60m');
        if (!['table', 'csv', 'json'].includes(f.format)) throw new Error('--format must be table, csv or json');
        const sizing = f.sl || f.asa || f.maxOccupancy || f.patience || f.maxAbandon;
        query = {
          queue: f.queue,
          from: f.from,
          to: f.to,
          historyWeeks: Number(f.historyWeeks),
          intervalMin: interval,
          holidays: (f.holiday ?? []).map(parseHoliday),
          holdoutWeeks: Number(f.holdoutWeeks),
          ...(sizing ? { staffing: targetsFromFlags({ ...f, interval: f.interval }) } : {}),
        };
      } catch (err) {
        return fail((err as Error).message);
      }
      const store = await (deps.openStore ?? defaultOpenStore)(centre.store);
      try {
        const a = await forecastFromStore(store, query, deps.now?.() ?? Date.now());
        if (f.format === 'json') return out(JSON.stringify(a, null, 2) + '\n');
        if (f.format === 'csv') {
          const head = 'interval_start,calls,aht_sec' + (query.staffing ? ',agents,scheduled,service_level,asa_sec,occupancy' : '');
          const body = a.intervals.map((p) =>
            [
              new Date(p.start).toISOString(),
              p.calls.toFixed(2),
              p.ahtSec.toFixed(1),
              ...(p.staffing
                ? [
                    p.staffing.agents,
                    p.staffing.scheduled,
                    p.staffing.serviceLevel?.toFixed(4) ?? '',
                    Number.isFinite(p.staffing.asaSec) ? p.staffing.asaSec.toFixed(2) : '',
                    p.staffing.occupancy.toFixed(4),
                  ]
                : []),
            ].join(','),
          );
          return out([head, ...body].join('\n') + '\n');
        }
        out(
          `${a.queue}: fitted on ${a.daysFitted} days from ${a.historyFrom}; trend ${a.trend.slopePerDay.toFixed(2)} calls/day per day; weekday factors Mon..Sun ${a.weekday.map((w) => w.toFixed(2)).join(' ')}; holiday factor ${a.holidayFactor.toFixed(2)}\n`,
        );
        if (a.accuracy)
          out(
            `accuracy on ${a.accuracy.holdoutWeeks} held-out week(s): WAPE ${pct(a.accuracy.wape)}, MAPE ${pct(a.accuracy.mape)}, bias ${pct(a.accuracy.bias)}\n`,
          );
        out('\ninterval start              calls    aht' + (query.staffing ? '  agents  sched' : '') + '\n');
        for (const p of a.intervals) {
          out(
            `${new Date(p.start).toISOString()}  ${p.calls.toFixed(1).padStart(7)}  ${p.ahtSec.toFixed(0).padStart(5)}` +
              (p.staffing ? `  ${String(p.staffing.agents).padStart(6)}  ${String(p.staffing.scheduled).padStart(5)}` : '') +
              '\n',
          );
        }
      } catch (err) {
        if (err instanceof PlanningQueryError) return fail(err.message);
        throw err;
      } finally {
        await store.close();
      }
    });

  program
    .command('erlang')
    .description('staffing by Erlang C or Erlang A: agents needed for a service level / ASA / occupancy / abandon target, per interval')
    .option('--calls <n>', 'calls offered in the interval')
    .option('--aht <s>', 'average handle time in seconds')
    .option('--demand <file.csv>', 'per-interval demand: CSV with calls, aht and optional start columns')
    .option('--interval <i>', 'interval length: 15m | 30m | 60m | seconds', '30m')
    .option('--sl <t/s>', 'service-level target, e.g. 80/20 = 80 % within 20 s')
    .option('--asa <s>', 'average speed of answer at most, seconds')
    .option('--max-occupancy <f>', 'occupancy cap, e.g. 85%')
    .option('--shrinkage <f>', 'share of paid time off the phones, e.g. 30%', '0')
    .option('--patience <s>', "callers' mean patience in seconds (selects Erlang A)")
    .option('--max-abandon <f>', 'Erlang A: abandon rate at most, e.g. 5%')
    .option('--model <m>', 'erlang-c | erlang-a (default erlang-a when --patience is given)')
    .option('--rows <n>', 'table rows either side of the answer (single interval)', '3')
    .option('--format <f>', 'table | csv | json', 'table')
    .action(function (this: Command, f: ErlangFlags) {
      const out = deps.out ?? ((s: string) => process.stdout.write(s));
      const fail = (msg: string): never => this.error(`erlang: ${msg}`, { exitCode: 2, code: 'erlang.invalid' });
      if (!['table', 'csv', 'json'].includes(f.format)) fail('--format must be table, csv or json');
      let targets: StaffingTargetsInput;
      let rows: { label: string; demand: IntervalDemand }[];
      try {
        targets = targetsFromFlags(f);
        if (
          !targets.serviceLevel &&
          targets.asaSec === undefined &&
          targets.maxOccupancy === undefined &&
          targets.maxAbandonRate === undefined
        ) {
          targets.serviceLevel = { target: 0.8, thresholdSec: 20 }; // the industry default, said in the output
        }
        if (f.demand) rows = parseDemandCsv((deps.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(f.demand));
        else {
          const calls = Number(f.calls);
          const aht = Number(f.aht);
          if (f.calls === undefined || f.aht === undefined) throw new Error('give --calls and --aht, or --demand FILE.csv');
          if (!(calls >= 0) || !(aht > 0)) throw new Error('--calls must be >= 0 and --aht > 0');
          rows = [{ label: '1', demand: { calls, ahtSec: aht } }];
        }
      } catch (err) {
        return fail((err as Error).message);
      }
      const results: (StaffingResult & { label: string })[] = rows.map((r) => ({ label: r.label, ...requiredAgents(r.demand, targets) }));
      if (f.format === 'json') {
        out(JSON.stringify({ targets, intervals: results }, null, 2) + '\n');
        return;
      }
      if (f.format === 'csv') {
        const head = 'interval,calls,aht_sec,traffic_erlangs,agents,scheduled,service_level,asa_sec,occupancy,p_wait,abandon_rate,binding';
        const body = results.map((r) =>
          [
            r.label,
            r.calls,
            r.ahtSec,
            r.trafficErlangs.toFixed(3),
            r.agents,
            r.scheduled,
            r.serviceLevel?.toFixed(4) ?? '',
            Number.isFinite(r.asaSec) ? r.asaSec.toFixed(2) : '',
            r.occupancy.toFixed(4),
            r.pWait.toFixed(4),
            r.abandonRate.toFixed(4),
            r.binding,
          ].join(','),
        );
        out([head, ...body].join('\n') + '\n');
        return;
      }
      const sl = targets.serviceLevel;
      const goal = [
        sl ? `SL ${(sl.target * 100).toFixed(0)}/${sl.thresholdSec}s` : '',
        targets.asaSec !== undefined ? `ASA ≤ ${targets.asaSec}s` : '',
        targets.maxOccupancy !== undefined ? `occupancy ≤ ${pct(targets.maxOccupancy)}` : '',
        targets.maxAbandonRate !== undefined ? `abandons ≤ ${pct(targets.maxAbandonRate)}` : '',
      ].filter(Boolean);
      const model = targets.model === 'erlang-a' ? `Erlang A (patience ${targets.patienceSec}s)` : 'Erlang C';
      out(`${model}; targets: ${goal.join(', ')}; shrinkage ${pct(targets.shrinkage ?? 0)}\n`);
      if (results.length === 1) {
        const r = results[0]!;
        const span = Math.max(0, Number(f.rows) || 0);
        out(
          `traffic ${r.trafficErlangs.toFixed(2)} Erlangs: ${r.agents} agents on the phones (decided by ${r.binding}), ${r.scheduled} scheduled\n\n`,
        );
        out('agents       SL       ASA     occ   pWait  abandon\n');
        for (const row of staffingTable(rows[0]!.demand, targets, r.agents - span, r.agents + span))
          out(figuresRow(row, row.agents === r.agents ? '>' : ' ') + '\n');
        return;
      }
      out('interval          calls    aht  erlangs  agents  sched      SL     ASA     occ  binding\n');
      for (const r of results) {
        out(
          `${r.label.padEnd(16)}  ${String(r.calls).padStart(5)}  ${String(r.ahtSec).padStart(5)}  ${r.trafficErlangs.toFixed(2).padStart(7)}  ${String(r.agents).padStart(6)}  ${String(r.scheduled).padStart(5)}  ${pct(r.serviceLevel).padStart(6)}  ${secs(r.asaSec).padStart(6)}  ${pct(r.occupancy).padStart(6)}  ${r.binding}\n`,
        );
      }
    });
}
