/**
 * `callcentre drill`: replay a past day from the event log through the real ACD with today's config,
 * as it was and with more calls (× 1.3, × 1.5, a burst), and show SL / ASA / abandons per interval
 * and when each alert would have fired.
 *
 *   callcentre drill --from "2026-01-05 08:00" --to "2026-01-05 20:00" --factor 1.3 --factor 1.5 --burst "10:00,15m,120"
 *
 * The store is read through its events() (the KPI engine's loader; no SQL here); queues and agents
 * come from the config directory (--config), so a what-if is "this day, with the config as it is now".
 */
import type { Command } from 'commander';
import { centreForCommand, defaultOpenStore, withStoreOptions, type StoreFlags, type StoreOpenArgs } from '../kpi/commands.ts';
import { parseTime } from '../kpi/intervals.ts';
import type { KpiSettings } from '../kpi/settings.ts';
import type { CcEvent } from '../kpi/events.ts';
import { drill, type DrillResult, type DrillScenario } from './drill.ts';
import { dayFromEvents } from './replay.ts';

export interface DrillCommandDeps {
  out?: (s: string) => void;
  openStore?: (o: StoreOpenArgs) => Promise<{
    readonly settings: KpiSettings;
    events(from: number, to: number): Promise<CcEvent[]>;
    close(): Promise<void>;
  }>;
  /** KPI settings to use instead of the config's (in-process tests). */
  settings?: Partial<KpiSettings>;
  /** Config errors; default stderr. */
  err?: (s: string) => void;
  /** Queues and agents; default: loaded from --config. */
  acd?: {
    queues: Parameters<typeof drill>[1]['queues'];
    agents: Parameters<typeof drill>[1]['agents'];
    auxCodes?: Parameters<typeof drill>[1]['auxCodes'];
  };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
const hhmm = (t: number, off: number) => new Date(t + off * 60_000).toISOString().slice(11, 16);

/** "10:00,15m,120": at 10:00 local on the drilled day, for 15 minutes, 120 extra calls. */
export function parseBurst(text: string, dayStart: number): { at: number; durationMs: number; calls: number } {
  const m = /^(\d{1,2}):(\d{2}),(\d+)m,(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`--burst must look like 10:00,15m,120 (got "${text}")`);
  return { at: dayStart + (Number(m[1]) * 60 + Number(m[2])) * 60_000, durationMs: Number(m[3]) * 60_000, calls: Number(m[4]) };
}

export function registerDrillCommand(program: Command, deps: DrillCommandDeps = {}): void {
  withStoreOptions(
    program
      .command('drill')
      .description(
        'replay a past day through the ACD with the current config, as it was and with surges; SL/ASA/abandons per interval and when alerts fire',
      )
      .requiredOption('--from <time>', 'start of the replayed period (ISO or local "2026-01-05 08:00")')
      .requiredOption('--to <time>', 'end (exclusive)')
      .option('--factor <f>', 'arrival multiplier (repeatable)', collect)
      .option('--burst <spec>', 'extra calls: HH:MM,MINUTESm,CALLS on the replayed day')
      .option('--interval <i>', '15m | 30m | 60m', '30m')
      .option('--format <f>', 'table | json', 'table'),
  ).action(async function (
    this: Command,
    f: StoreFlags & { from: string; to: string; factor?: string[]; burst?: string; interval: string; format: string },
  ) {
    const out = deps.out ?? ((s: string) => process.stdout.write(s));
    const fail = (msg: string): never => this.error(`drill: ${msg}`, { exitCode: 2, code: 'drill.invalid' });
    const intervalMin = Number(f.interval.replace(/m$/, ''));
    if (intervalMin !== 15 && intervalMin !== 30 && intervalMin !== 60) fail('--interval must be 15m, 30m or 60m');
    if (f.format !== 'table' && f.format !== 'json') fail('--format must be table or json');
    // The centre's KPI settings (its time zone for the local times) and database, as `report` uses them.
    const centre = centreForCommand(this, 'drill', f, deps);
    const c = centre.config;
    const acd = deps.acd ?? (c ? { queues: { ...c.queues }, agents: [...c.agents], auxCodes: [...c.auxCodes] } : undefined);
    if (!acd) return fail('no queues and agents: give --config');
    const store = await (deps.openStore ?? defaultOpenStore)(centre.store);
    try {
      const zone = store.settings.timeZone ?? store.settings.tzOffsetMinutes;
      let from: number;
      let to: number;
      const scenarios: DrillScenario[] = [{ name: 'as it was' }];
      try {
        from = parseTime(f.from, zone);
        to = parseTime(f.to, zone);
        if (!(to > from) || to - from > 2 * 86_400_000) throw new Error('the replayed period must be positive and at most 2 days');
        for (const x of f.factor ?? ['1.3', '1.5']) {
          const v = Number(x);
          if (!(v >= 1 && v <= 10)) throw new Error('--factor must be between 1 and 10');
          scenarios.push({ name: `× ${v}`, arrivalFactor: v });
        }
        if (f.burst)
          scenarios.push({
            name: `burst ${f.burst}`,
            burst: parseBurst(f.burst, parseTime(new Date(from).toISOString().slice(0, 10), zone)),
          });
      } catch (err) {
        return fail((err as Error).message);
      }
      const day = dayFromEvents(await store.events(from, to), from, to);
      if (day.calls.length === 0) return fail('no queue calls in that period');
      const results = scenarios.map((s) =>
        drill(day, { ...acd, auxCodes: acd.auxCodes ?? [] }, s, {
          from,
          to: to + 3_600_000,
          intervalMin: intervalMin as 15 | 30 | 60,
          kpi: store.settings,
        }),
      );
      if (f.format === 'json') return out(JSON.stringify(results, null, 2) + '\n');
      const off = typeof zone === 'number' ? zone : 0;
      for (const r of results) out(renderDrill(r, off));
    } finally {
      await store.close();
    }
  });
}

export function renderDrill(r: DrillResult, offsetMin = 0): string {
  const lines = [
    `== ${r.scenario}: ${r.calls} calls; SL ${pct(r.totals.serviceLevel)}, ASA ${r.totals.asaSec ?? '-'} s, abandoned ${r.totals.abandoned} (${pct(r.totals.abandonRate)})`,
    'interval  queue         offered  answered  abandoned      SL     ASA  alerts',
  ];
  for (const i of r.intervals) {
    const start = Date.parse(i.intervalStart);
    const alerts = r.volumeAlerts
      .filter((a) => a.queue === i.queue && a.intervalStart === start)
      .map((a) => `${a.level}@${hhmm(a.at, offsetMin)}`);
    lines.push(
      `${hhmm(start, offsetMin)}     ${i.queue.padEnd(12)}  ${String(i.offered).padStart(7)}  ${String(i.answered).padStart(8)}  ${String(i.abandoned).padStart(9)}  ${pct(i.serviceLevel).padStart(6)}  ${String(i.asaSec ?? '-').padStart(6)}  ${alerts.join(' ')}`,
    );
  }
  const breaches = r.serviceLevelBreaches.map((b) => `${b.queue}@${hhmm(b.at, offsetMin)} (${pct(b.value)} < ${pct(b.target)})`);
  lines.push(`service-level breaches (surge hook): ${breaches.length > 0 ? breaches.join(', ') : 'none'}`, '');
  return lines.join('\n') + '\n';
}
