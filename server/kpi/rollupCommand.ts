/**
 * `callcentre rollup`: compute the KPI rollups (#17, server/store/rollups.ts) of a range again from
 * the event log: the backfill after an upgrade or a settings change (SL thresholds, short abandon,
 * FCR window), and the repair of a range. Idempotent: running it twice gives the same records.
 *
 *   callcentre rollup --from 2026-01-01 --to now        (default: from the first event to now)
 *
 * Database as for `callcentre report` (--database-url, else the config's, else the embedded one).
 */
import type { Command } from 'commander';
import { loadForCommand, withConfigOption } from '../config/commands.ts';
import { kpiSettingsOf } from '../config/kpi.ts';
import { defaultOpenStore } from './commands.ts';
import { parseTime } from './intervals.ts';
import { DEFAULT_KPI_SETTINGS, KpiSettingsSchema, zoneOf } from './settings.ts';

interface RollupFlags {
  config: string;
  from?: string;
  to?: string;
  databaseUrl?: string;
  pgDataDir?: string;
  pgPort?: string;
}

export function registerRollupCommand(program: Command): void {
  withConfigOption(program.command('rollup'))
    .description('compute the KPI rollups of a range again from the event log (backfill, repair; idempotent)')
    .option('--from <time>', 'start (default: the first event); same forms as report --from')
    .option('--to <time>', 'end (exclusive; default now)')
    .option('--database-url <url>', "external Postgres (default: the config's, else the embedded one)")
    .option('--pg-data-dir <dir>', 'embedded Postgres data directory')
    .option('--pg-port <port>', 'embedded Postgres port')
    .action(async function (this: Command, f: RollupFlags) {
      const config = loadForCommand(f.config);
      if (!config) return this.error(`rollup: the config in ${f.config} is invalid (callcentre validate)`, { exitCode: 1 });
      const settings = KpiSettingsSchema.parse({ ...DEFAULT_KPI_SETTINGS, ...kpiSettingsOf(config) });
      const db = config.server.database;
      const databaseUrl = f.databaseUrl ?? db.url ?? process.env.DATABASE_URL;
      const pgDataDir = f.pgDataDir ?? db.dataDir;
      const port = f.pgPort !== undefined ? Number(f.pgPort) : (db.port ?? 5433);
      const store = await defaultOpenStore({
        ...(databaseUrl ? { databaseUrl } : {}),
        ...(pgDataDir ? { pgDataDir } : {}),
        pgPort: port,
        kpi: settings,
      });
      try {
        const { backfill } = await import('../store/rollups.ts');
        const now = Date.now();
        let from: number;
        try {
          from =
            f.from !== undefined
              ? parseTime(f.from, zoneOf(settings), now)
              : Number((await store.pool.query<{ t: string | null }>('SELECT min(ts_ms)::text AS t FROM cc_events')).rows[0]?.t ?? now);
        } catch (err) {
          return this.error(`rollup: ${(err as Error).message}`, { exitCode: 2 });
        }
        const to = f.to !== undefined ? parseTime(f.to, zoneOf(settings), now) : now;
        const t0 = performance.now();
        const r = await backfill(store.pool, from, to, settings, now, (done, total) =>
          process.stderr.write(`\rrollup: ${Math.round((100 * done) / Math.max(1, total))} %`),
        );
        process.stderr.write('\n');
        process.stdout.write(
          JSON.stringify({
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
            ...r,
            ms: Math.round(performance.now() - t0),
          }) + '\n',
        );
      } finally {
        await store.close();
      }
    });
}
