/**
 * The DATABASE_URL path: the store pointed at a Postgres it did not start. The external server is
 * Debian's PostgreSQL 15 (a different major version and build than the embedded 18), run on a
 * spare port from a temporary cluster. Without it the test fails: a second embedded instance would
 * prove nothing about another build (scripts/test.sh installs Debian's postgresql). Includes an
 * outage of the external server.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresServer } from '../../../server/store/postgres.ts';
import { openStore } from '../../../server/store/store.ts';
import { HOUR, SETTINGS, T0, scriptedDay } from '../../unit/kpi/scriptedDay.ts';
import { AGENTS_30M, CENTRE_30M, QUEUES_30M } from '../../unit/kpi/scriptedTruth.ts';
import { waitFor } from '../../support/waitFor.ts';

const PORT = 55434;
const DEBIAN_BIN = '/usr/lib/postgresql/15/bin';
/** A database that is away, as the reports API recognises it to answer 503 (http/reports.ts). */
const REPORT_DOWN = /ECONNREFUSED|timeout|terminat|Connection/i;
let root: string;
let external: PostgresServer;

/** Debian's server in a throwaway cluster, run as user postgres when we are root. */
function debianServer(dir: string): PostgresServer {
  const asRoot = userInfo().uid === 0;
  const run = (bin: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : `${DEBIAN_BIN}/${bin}`, asRoot ? ['-u', 'postgres', '--', `${DEBIAN_BIN}/${bin}`, ...args] : args, {
      stdio: 'pipe',
    });
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(data, uid, gid);
  }
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  const start = () =>
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      join(data, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${PORT} -c listen_addresses=127.0.0.1 -k ${data}`,
      'start',
    ]);
  const stop = () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  let up = true;
  return {
    url: `postgres://postgres@127.0.0.1:${PORT}/callcentre`,
    embedded: false,
    stop: async () => {
      if (up) stop();
      up = false;
    },
    restart: async () => {
      if (!up) start();
      up = true;
    },
  };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cc-ext-it-'));
  chmodSync(root, 0o755);
  if (!existsSync(`${DEBIAN_BIN}/pg_ctl`))
    throw new Error(`Debian's PostgreSQL 15 is not installed (${DEBIAN_BIN}/pg_ctl): apt-get install postgresql`);
  external = debianServer(root);
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${PORT}/postgres` });
  await admin.connect();
  // It really is the other server: Debian's 15, not the embedded 18.
  const version = (await admin.query<{ server_version_num: string }>('SHOW server_version_num')).rows[0]!.server_version_num;
  expect(Number(version)).toBeGreaterThanOrEqual(150000);
  expect(Number(version)).toBeLessThan(160000);
  await admin.query('CREATE DATABASE callcentre');
  await admin.end();
});

afterAll(async () => {
  await external?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('store on an external Postgres (DATABASE_URL)', () => {
  it('migrates, writes through an outage of the external server, and reports the same KPIs', async () => {
    const store = await openStore({
      url: external.url,
      spoolDir: join(root, 'spool'),
      kpi: SETTINGS,
      writer: { batchSize: 25, flushDelayMs: 5, retryMinMs: 50, retryMaxMs: 500 },
    });
    try {
      expect(store.postgres.embedded).toBe(false);
      const day = scriptedDay();
      const half = Math.floor(day.length / 2);
      for (const e of day.slice(0, half)) store.emit(e);
      await store.flush(20_000);
      await external.stop();
      for (const e of day.slice(half)) store.emit(e);
      await waitFor(() => !store.stats()!.dbUp, { timeoutMs: 10_000, what: 'the writer to notice the outage' });
      // Reports fail cleanly while the database is away; the process carries on.
      await expect(store.report({ from: T0, to: T0 + HOUR, interval: 'range', dimension: 'queue' })).rejects.toThrow(REPORT_DOWN);
      await external.restart();
      await store.flush(30_000);
      const n = await store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM cc_events');
      expect(n.rows[0]!.n).toBe(day.length);
      // The figures worked out by hand for the scripted hour, not the engine the store runs.
      for (const [dimension, truth] of [
        ['queue', QUEUES_30M],
        ['agent', AGENTS_30M],
        ['centre', CENTRE_30M],
      ] as const) {
        expect((await store.report({ from: T0, to: T0 + HOUR, interval: '30m', dimension })).rows, dimension).toMatchObject(truth);
      }
    } finally {
      await store.close();
    }
    // close() must not stop a server it does not own.
    const c = new pg.Client({ connectionString: external.url });
    await c.connect();
    await c.end();
  });

  it('refuses an unreachable URL with a clear error that hides the password', async () => {
    await expect(openStore({ url: 'postgres://cc:s3cret@127.0.0.1:1/callcentre', spoolDir: join(root, 'spool2') })).rejects.toThrow(
      /cannot reach Postgres at postgres:\/\/cc:\*\*\*@127\.0\.0\.1:1\/callcentre/,
    );
  });
});
