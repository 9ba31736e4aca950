/**
 * Schema migrations with node-pg-migrate: plain SQL files in ./migrations, applied in name order at
 * start-up under node-pg-migrate's advisory lock, so two processes starting at once do not race.
 */
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import { log } from '../../lib/log.ts';

const mlog = log.child({ mod: 'migrate' });
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** Apply every pending migration; returns the names applied. */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    log: (msg: string) => mlog.debug(msg),
    logger: {
      debug: (m: string) => mlog.debug(m),
      info: (m: string) => mlog.debug(m),
      warn: (m: string) => mlog.warn(m),
      error: (m: string) => mlog.error(m),
    },
  });
  if (applied.length > 0) mlog.info({ applied: applied.map((m) => m.name) }, 'migrations applied');
  return applied.map((m) => m.name);
}
