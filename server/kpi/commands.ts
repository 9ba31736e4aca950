/**
 * `callcentre report`: KPI reports on the command line, read from the same store and computed by
 * the same engine with the same settings as the REST API, so the figures match digit for digit.
 *
 *   callcentre report --from 2026-01-05 --to 2026-01-06 --interval 30m --queue sales --format table
 *   callcentre report --calls --from ... --to ... --queue sales --format csv     (per-call detail)
 *
 * Like the server it reads the centre's config (--config DIR): KPI definitions (centre.yaml kpi:),
 * queue service-level objectives, the time zone local times and interval edges are read in, and
 * the database. Database: --database-url, else the config's (DATABASE_URL / server.database.url),
 * else the embedded server: reuse it if the centre is running, or start it on its data directory
 * for the duration of the command. Only the report goes to stdout; logs go to stderr (cli.ts).
 */
import type { Command } from 'commander';
import { loadForCommand, withConfigOption } from '../config/commands.ts';
import { kpiSettingsOf } from '../config/kpi.ts';
import type { CentreConfig } from '../config/load.ts';
import type { Store } from '../store/store.ts';
import { detailsToCsv, reportToCsv, reportToTable } from './format.ts';
import { parseReportParams, ReportQueryError } from './query.ts';
import { DEFAULT_KPI_SETTINGS, KpiSettingsSchema, type KpiSettings } from './settings.ts';

export interface ReportCommandDeps {
  /** How to reach the store; default opens a read-only store per the flags. */
  openStore?: (o: StoreOpenArgs) => Promise<Pick<Store, 'report' | 'calls' | 'settings' | 'close'>>;
  /** KPI settings to use instead of the config's (in-process tests); --config is then not read. */
  settings?: Partial<KpiSettings>;
  out?: (s: string) => void;
  /** Config errors; default stderr. */
  err?: (s: string) => void;
}

interface ReportFlags extends StoreFlags {
  from?: string;
  to?: string;
  interval: string;
  queue?: string[];
  agent?: string[];
  skill?: string[];
  dimension?: string;
  format: string;
  calls?: boolean;
  slMode?: string;
  slThresholds?: string;
  shortAbandon?: string;
  fcrWindow?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerReportCommands(program: Command, deps: ReportCommandDeps = {}): void {
  withStoreOptions(program.command('report'))
    .description('KPI report (offered, answered, SL, 接通率, ASA, AHT, occupancy, FCR, CSAT …) per interval and queue/agent/skill/centre')
    .requiredOption(
      '--from <time>',
      'start: ISO 8601, local "2026-01-05 09:00" (centre time zone), today, yesterday, tomorrow, now, or epoch ms',
    )
    .requiredOption('--to <time>', 'end (exclusive), same forms as --from')
    .option('--interval <i>', '15m | 30m | 60m | day | week | month | quarter | range', '30m')
    .option('--queue <name>', 'queue (repeatable); implies --dimension queue', collect)
    .option('--agent <id>', 'agent (repeatable); implies --dimension agent', collect)
    .option('--skill <group>', 'skill group (repeatable); implies --dimension skillGroup', collect)
    .option('--dimension <d>', 'centre | queue | skillGroup | agent')
    .option('--format <f>', 'table | csv | json', 'table')
    .option('--calls', 'per-call drill-down instead of the aggregate report')
    .option('--sl-mode <m>', 'abandons-met | abandons-missed | abandons-ignored')
    .option('--sl-thresholds <s>', 'service-level thresholds in seconds, comma-separated (e.g. 20,30)')
    .option('--short-abandon <s>', 'short-abandon threshold in seconds')
    .option('--fcr-window <s>', 'repeat-contact window for FCR in seconds')
    .action(async function (this: Command, f: ReportFlags) {
      const out = deps.out ?? ((s: string) => process.stdout.write(s));
      const fail = (msg: string): never => this.error(`report: ${msg}`, { exitCode: 2, code: 'report.invalid' });
      if (!['table', 'csv', 'json'].includes(f.format)) fail('--format must be table, csv or json');
      const dimension = f.dimension ?? (f.agent ? 'agent' : f.skill ? 'skillGroup' : f.queue ? 'queue' : 'queue');
      const centre = centreForCommand(this, 'report', f, deps);
      const base = centre.settings;
      let parsed;
      try {
        parsed = parseReportParams(
          {
            from: f.from,
            to: f.to,
            interval: f.calls ? 'range' : f.interval,
            dimension,
            keys: [...(f.queue ?? []), ...(f.agent ?? []), ...(f.skill ?? [])],
            slMode: f.slMode,
            slThresholds: f.slThresholds,
            shortAbandonSec: f.shortAbandon,
            fcrWindowSec: f.fcrWindow,
          },
          base,
        );
      } catch (err) {
        if (err instanceof ReportQueryError) return fail(err.message);
        throw err;
      }
      const store = await (deps.openStore ?? defaultOpenStore)(centre.store);
      try {
        if (f.calls) {
          const q = parsed.request;
          const details = await store.calls(
            {
              from: q.from,
              to: q.to,
              ...(f.queue?.[0] ? { queue: f.queue[0] } : {}),
              ...(f.agent?.[0] ? { agentId: f.agent[0] } : {}),
            },
            parsed.overrides,
          );
          if (f.format === 'csv') out(detailsToCsv(details));
          // The same document as GET /api/v1/reports/calls.
          else if (f.format === 'json')
            out(JSON.stringify({ from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), calls: details }, null, 2) + '\n');
          else
            out(
              details
                .map(
                  (d) =>
                    `${d.enteredAt}  ${d.contactId}  ${d.queue}  ${d.outcome}  wait ${d.waitSec}s  ${d.agentId ?? '-'}  talk ${d.talkSec}s hold ${d.holdSec}s acw ${d.acwSec}s`,
                )
                .join('\n') + '\n',
            );
          return;
        }
        const report = await store.report(parsed.request, parsed.overrides);
        if (f.format === 'csv') out(reportToCsv(report));
        else if (f.format === 'json') out(JSON.stringify(report, null, 2) + '\n');
        else out(reportToTable(report));
      } finally {
        await store.close();
      }
    });
}

/** The embedded Postgres port when neither the flags nor the config name one (as the server). */
const DEFAULT_PG_PORT = 5433;

/** The flags of every command that reads the centre's history (report, attainment, forecast). */
export interface StoreFlags {
  config: string;
  databaseUrl?: string;
  pgDataDir?: string;
  pgPort?: string;
}

export interface StoreOpenArgs {
  databaseUrl?: string;
  pgDataDir?: string;
  pgPort?: number;
  kpi: Partial<KpiSettings>;
}

/** --config and the database flags, with the server's defaults, for a history-reading command. */
export function withStoreOptions(cmd: Command): Command {
  return withConfigOption(cmd)
    .option(
      '--database-url <url>',
      "external Postgres (default: the config's, i.e. $DATABASE_URL or server.database.url, else the embedded one)",
    )
    .option('--pg-data-dir <dir>', "embedded Postgres data directory (default: the config's, ./data/postgres)")
    .option('--pg-port <port>', "embedded Postgres port (default: the config's, 5433)");
}

/**
 * The centre's KPI settings exactly as the server builds them for REST (kpiSettingsOf), and where
 * its database is, from --config and the flags: so a command's figures equal the API's. Exits the
 * command (code 1 for an invalid config, 2 for bad flags) instead of returning on an error.
 * `deps.settings` replaces the config (in-process tests).
 */
export function centreForCommand(
  cmd: Command,
  name: string,
  f: StoreFlags,
  deps: { settings?: Partial<KpiSettings>; err?: (s: string) => void },
): { settings: KpiSettings; store: StoreOpenArgs; config?: CentreConfig } {
  let centre: Partial<KpiSettings> = deps.settings ?? {};
  let db: { url?: string | undefined; dataDir?: string | undefined; port?: number | undefined } = {};
  let config: CentreConfig | undefined;
  if (!deps.settings) {
    config = loadForCommand(f.config, { err: deps.err ?? ((s) => console.error(s)) });
    if (!config)
      return cmd.error(`${name}: the config in ${f.config} is invalid: fix the errors above (callcentre validate)`, {
        exitCode: 1,
        code: `${name}.config`,
      });
    centre = kpiSettingsOf(config);
    db = config.server.database;
  }
  const fail = (msg: string): never => cmd.error(`${name}: ${msg}`, { exitCode: 2, code: `${name}.invalid` });
  const checked = KpiSettingsSchema.safeParse({ ...DEFAULT_KPI_SETTINGS, ...centre });
  if (!checked.success) return fail(`bad KPI settings: ${checked.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  const port = f.pgPort !== undefined ? Number(f.pgPort) : (db.port ?? DEFAULT_PG_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail('--pg-port must be a TCP port');
  // With a config, DATABASE_URL is already in db.url (the loader applies it, as for the server).
  const databaseUrl = f.databaseUrl ?? db.url ?? process.env.DATABASE_URL;
  const pgDataDir = f.pgDataDir ?? db.dataDir;
  return {
    settings: checked.data,
    ...(config ? { config } : {}),
    store: { ...(databaseUrl ? { databaseUrl } : {}), ...(pgDataDir ? { pgDataDir } : {}), pgPort: port, kpi: checked.data },
  };
}

/**
 * Read-only store: the given URL; else the embedded server's URL if it is already up (server
 * running); else start the embedded server on its data directory for this command.
 */
export async function defaultOpenStore(o: StoreOpenArgs) {
  const { openStore } = await import('../store/store.ts');
  const { DEFAULT_EMBEDDED_PORT } = await import('../store/postgres.ts');
  if (o.databaseUrl) return openStore({ url: o.databaseUrl, readOnly: true, kpi: o.kpi });
  const port = o.pgPort ?? DEFAULT_EMBEDDED_PORT;
  const running = `postgres://postgres:callcentre@127.0.0.1:${port}/callcentre`;
  try {
    return await openStore({ url: running, readOnly: true, kpi: o.kpi });
  } catch {
    return openStore({ embedded: { dataDir: o.pgDataDir ?? './data/postgres', port }, readOnly: true, kpi: o.kpi });
  }
}
