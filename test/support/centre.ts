/**
 * A whole centre for end-to-end tests: the demo config, started through startCentre (the code path
 * of `npm start`), on its own ports and a temporary data directory with its own embedded Postgres.
 */
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCentre, type Centre } from '../../server/call/centre.ts';

export interface TestCentre {
  centre: Centre;
  sipPort: number;
  httpUrl: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * The demo config, copied; with alwaysOpen its business calendar is open around the clock and
 * has no holidays, so a test's call reaches the menu whatever the time of day.
 */
function testConfig(dataDir: string, alwaysOpen: boolean, edits: Record<string, [string, string][]>, from = 'config'): string {
  const dir = join(dataDir, 'config');
  cpSync(resolve(from), dir, { recursive: true });
  for (const [file, pairs] of Object.entries(edits)) {
    let text = readFileSync(join(dir, file), 'utf8');
    for (const [from, to] of pairs) {
      if (!text.includes(from)) throw new Error(`test config edit: "${from}" not in ${file}`);
      text = text.replaceAll(from, to);
    }
    writeFileSync(join(dir, file), text);
  }
  if (alwaysOpen) {
    const hours = join(dir, 'hours.yaml');
    const text = readFileSync(hours, 'utf8')
      .replace(/ {4}weekly:\n(?: {6}.*\n)+?(?= {4}holidays:)/, '    weekly:\n      mon-sun: ["00:00-24:00"]\n')
      .replace(/ {4}holidays:\n(?: {6}.*\n)+/, '    holidays: []\n');
    if (!text.includes('mon-sun: ["00:00-24:00"]')) throw new Error('could not open the demo calendar around the clock');
    writeFileSync(hours, text);
  }
  return dir;
}

export async function startTestCentre(
  ports: { sip: number; http: number; pg: number; rtc: number },
  /** edits: per config file, [search, replace] pairs applied to every occurrence. */
  /** configFrom: the config directory to copy (default the demo's config/). */
  opts: {
    env?: Record<string, string>;
    alwaysOpen?: boolean;
    edits?: Record<string, [string, string][]>;
    configFrom?: string;
    sessionTtlMs?: number;
    /** How long a browser agent whose desktop dropped stays logged in (agentDesk.ts); default 30 s. */
    reconnectGraceMs?: number;
  } = {},
): Promise<TestCentre> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cc-e2e-'));
  // Run as root, embedded Postgres runs as user postgres, which must reach its data dir inside.
  chmodSync(dataDir, 0o755);
  const centre = await startCentre({
    configDir: testConfig(dataDir, opts.alwaysOpen ?? true, opts.edits ?? {}, opts.configFrom),
    mediaWorkers: 1,
    ...(opts.sessionTtlMs !== undefined ? { sessionTtlMs: opts.sessionTtlMs } : {}),
    ...(opts.reconnectGraceMs !== undefined ? { reconnectGraceMs: opts.reconnectGraceMs } : {}),
    env: {
      CC_SIP_PORT: String(ports.sip),
      CC_HTTP_PORT: String(ports.http),
      // The demo serves HTTPS too (8443); each test centre on its own port next to its HTTP one.
      CC_HTTPS_PORT: String(ports.http + 1),
      CC_HTTP_HOST: '127.0.0.1',
      CC_PG_PORT: String(ports.pg),
      CC_DATA_DIR: dataDir,
      CC_RTC_MIN_PORT: String(ports.rtc),
      CC_RTC_MAX_PORT: String(ports.rtc + 199),
      ...opts.env,
    },
  });
  return {
    centre,
    sipPort: ports.sip,
    httpUrl: `http://127.0.0.1:${ports.http}/`,
    dataDir,
    async stop() {
      await centre.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
