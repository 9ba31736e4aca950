/**
 * A centre killed outright leaves its embedded Postgres running (the postmaster outlives its
 * parent and keeps postmaster.pid and the port). The next start on the same data directory must
 * shut that orphan down and start its own, not fail with "lock file already exists".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type PostgresServer } from '../../../server/store/postgres.ts';
import { waitFor } from '../../support/waitFor.ts';

const PORT = 16047;
const dir = mkdtempSync(join(tmpdir(), 'cc-orphan-'));
chmodSync(dir, 0o755);
const dataDir = join(dir, 'postgres');
let server: PostgresServer | undefined;
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start the embedded server in a separate process (as a centre would), in its own process group. */
async function crashedCentre(): Promise<{ child: ChildProcess; postmaster: number }> {
  const script = `import { startPostgres } from ${JSON.stringify(resolve('server/store/postgres.ts'))};
    await startPostgres({ embedded: { dataDir: ${JSON.stringify(dataDir)}, port: ${PORT} } });
    console.log('READY');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  await waitFor(() => out.includes('READY'), { timeoutMs: 90_000, what: 'the embedded Postgres', detail: () => out.slice(-2000) });
  return { child, postmaster: Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) };
}

async function startAndQuery(): Promise<void> {
  server = await startPostgres({ embedded: { dataDir, port: PORT } });
  const db = new pg.Client({ connectionString: server.url });
  await db.connect();
  expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  await db.end();
  await server.stop();
  server = undefined;
}

describe('embedded Postgres after a crash', () => {
  it('shuts down the postmaster a killed centre left running, then starts its own', async () => {
    const { child, postmaster } = await crashedCentre();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The precondition the product must handle: the killed parent's postmaster is still there.
    expect(alive(postmaster)).toBe(true);
    await startAndQuery();
    expect(alive(postmaster) && !zombie(postmaster)).toBe(false);
  });

  it('starts after the whole process group was killed (the postmaster too, perhaps left a zombie)', async () => {
    const { child } = await crashedCentre();
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await startAndQuery();
  });
});

function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
