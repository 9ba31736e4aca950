/**
 * Issue #13, end to end: the centre runs as `npm start` does (a child process, its own embedded
 * Postgres and media workers in its process group) with two baresip desk phones registered (1001,
 * 1004). Six calls are up — two talking to the phones and recorded, three queued, one in the IVR —
 * when the whole process group is SIGKILLed. Started again on the same data directory:
 *
 * - every contact is closed (system / crash) at the last time the log proves, so the crashed
 *   calls' talk is what was talked and the queued calls' waits end at the crash;
 * - the reports have no phantom waiting call and no occupancy over 100 %;
 * - the phones' registrations were restored (no REGISTER since the restart) and their agents are
 *   logged in ready again; a new call reaches one of them;
 * - both recordings are valid WAVs whose rows are stopped, with the file's size.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { placeDemoCall, type DemoCall } from '../../../server/call/demoCaller.ts';
import { readStereoWav } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { waitFor } from '../../support/waitFor.ts';

// Ports no other test uses (grep test/ for them before changing).
const SIP = 15960;
const HTTP = 18980;
const PG = 15933;
const RTC = 46000; // 46000–46199 WebRTC, 46200–46599 plain RTP
const AUTH = `Basic ${Buffer.from('9001:sam9001').toString('base64')}`;

const dataDir = mkdtempSync(join(tmpdir(), 'cc-crash-'));
chmodSync(dataDir, 0o755); // embedded Postgres runs as user postgres when we are root
const configDir = join(dataDir, 'config');
const phones: DeskPhone[] = [];
const callers: DemoCall[] = [];
let centre: ChildProcess | undefined;
let centreOut = '';

/** The demo config, open around the clock; the menu waits 60 s for a key, so a silent caller stays in the IVR. */
function writeConfig(): void {
  cpSync(resolve('config'), configDir, { recursive: true });
  const hours = join(configDir, 'hours.yaml');
  const text = readFileSync(hours, 'utf8')
    .replace(/ {4}weekly:\n(?: {6}.*\n)+?(?= {4}holidays:)/, '    weekly:\n      mon-sun: ["00:00-24:00"]\n')
    .replace(/ {4}holidays:\n(?: {6}.*\n)+/, '    holidays: []\n');
  if (!text.includes('mon-sun: ["00:00-24:00"]')) throw new Error('could not open the demo calendar around the clock');
  writeFileSync(hours, text);
  const main = join(configDir, 'ivr', 'main.yaml');
  const flow = readFileSync(main, 'utf8');
  if (!flow.includes('    timeout: 5\n')) throw new Error('main.yaml: menu timeout not found');
  writeFileSync(main, flow.replace('    timeout: 5\n', '    timeout: 60\n'));
}

/** `node --import tsx server/main.ts` in its own process group, as `npm start` runs it. */
function startCentreProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--config', configDir], {
    cwd: resolve('.'),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      CC_SIP_PORT: String(SIP),
      CC_HTTP_PORT: String(HTTP),
      CC_HTTPS_PORT: String(HTTP + 1),
      CC_HTTP_HOST: '127.0.0.1',
      CC_PG_PORT: String(PG),
      CC_DATA_DIR: dataDir,
      CC_RTC_MIN_PORT: String(RTC),
      CC_RTC_MAX_PORT: String(RTC + 199),
      CC_RTP_MIN_PORT: String(RTC + 200),
      CC_RTP_MAX_PORT: String(RTC + 599),
    },
  });
  const add = (b: Buffer) => (centreOut = (centreOut + b.toString()).slice(-30_000));
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return child;
}

async function api<T>(path: string): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${HTTP}${path}`, { headers: { authorization: AUTH } });
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

interface Live {
  acd: { agents: { id: string; state: string }[] };
  calls: { contactId: string; caller: string; phase: string; agent?: string }[];
}
const live = () => api<Live>('/api/v1/live');
const agentState = (l: Live, id: string) => l.acd.agents.find((a) => a.id === id)?.state;

async function centreUp(child: ChildProcess): Promise<void> {
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`centre exited ${child.exitCode}`);
      return (await live()).acd.agents.length > 0;
    },
    { timeoutMs: 120_000, intervalMs: 250, what: 'the centre to answer /api/v1/live', detail: () => centreOut.slice(-3000) },
  );
}

function call(n: number, digits: string, holdMs = 200_000): DemoCall {
  const c = placeDemoCall({
    target: `127.0.0.1:${SIP}`,
    digits,
    holdMs,
    toneHz: 1000,
    sipPort: 15961 + n,
    mediaPort: 46800 + n * 10,
    caller: `1555013${n}`,
  });
  callers.push(c);
  return c;
}

afterAll(async () => {
  for (const c of callers) c.stop();
  await Promise.all(phones.map((p) => p.stop()));
  if (centre && centre.exitCode === null && centre.pid !== undefined) {
    const exited = new Promise((r) => centre!.once('exit', r));
    process.kill(-centre.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (centre.exitCode === null) process.kill(-centre.pid, 'SIGKILL');
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('crash recovery: SIGKILL with calls in every phase, then npm start again', () => {
  it('closes every contact with the right durations, restores the desk phones, keeps recordings valid', async () => {
    writeConfig();
    const testStart = Date.now();
    centre = startCentreProcess();
    await centreUp(centre);
    for (const [i, user, password] of [
      [0, '1001', 'alice1001'],
      [1, '1004', 'dave1004'],
    ] as const) {
      phones.push(
        await startDeskPhone({
          dir: join(dataDir, `baresip-${user}`),
          user,
          password,
          registrar: `127.0.0.1:${SIP}`,
          listenPort: 15980 + i * 10, // baresip takes the next port too (TLS)
          rtpPorts: [46600 + i * 100, 46690 + i * 100],
          toneHz: 600,
        }),
      );
    }
    await waitFor(
      async () => {
        const l = await live();
        return agentState(l, '1001') === 'available' && agentState(l, '1004') === 'available';
      },
      { timeoutMs: 10_000, what: 'both desk-phone agents to be available' },
    );

    // Two calls to the phones (1 = sales), then three that queue behind them, then one in the IVR.
    call(0, '1');
    call(1, '1');
    await waitFor(async () => (await live()).calls.filter((c) => c.phase === 'connected').length === 2, {
      timeoutMs: 40_000,
      what: 'two calls talking to the desk phones',
      detail: () => centreOut.slice(-3000),
    });
    for (const n of [2, 3, 4]) call(n, '1');
    call(5, '');
    const before = await waitFor(
      async () => {
        const l = await live();
        const n = (p: string) => l.calls.filter((c) => c.phase === p).length;
        return n('connected') === 2 && n('queued') === 3 && n('ivr') === 1 ? l : undefined;
      },
      { timeoutMs: 40_000, what: 'calls in every phase (2 connected, 3 queued, 1 in the IVR)' },
    );
    const talking = before.calls.filter((c) => c.phase === 'connected').map((c) => c.contactId);
    // Let them talk: until both recordings hold 8 s of audio (8 kHz, 16-bit stereo).
    const pg1 = new pg.Client({ connectionString: `postgres://postgres:callcentre@127.0.0.1:${PG}/callcentre` });
    await pg1.connect();
    const paths = await waitFor(
      async () => {
        const r = await pg1.query<{ path: string }>('SELECT path FROM recordings WHERE contact_id = ANY($1::text[])', [talking]);
        return r.rows.length === 2 ? r.rows.map((x) => x.path) : undefined;
      },
      { timeoutMs: 10_000, what: 'both recordings in Postgres' },
    );
    await pg1.end();
    await waitFor(() => paths.every((p) => (statSync(p, { throwIfNoEntry: false })?.size ?? 0) >= 44 + 8 * 32_000), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: '8 s of talk in both recordings',
    });

    // SIGKILL the centre's whole process group: node, its embedded Postgres, its media workers.
    const killedAt = Date.now();
    const gone = new Promise((r) => centre!.once('exit', r));
    process.kill(-centre.pid!, 'SIGKILL');
    await gone;

    // npm start again, same data directory.
    const restartedAt = Date.now();
    centreOut = '';
    centre = startCentreProcess();
    await centreUp(centre);

    // Agents logged in from the restored registrations, not from a new REGISTER.
    const after = await live();
    expect(agentState(after, '1001')).toBe('available');
    expect(agentState(after, '1004')).toBe('available');
    const db = new pg.Client({ connectionString: `postgres://postgres:callcentre@127.0.0.1:${PG}/callcentre` });
    await db.connect();
    try {
      const regs = await db.query<{ username: string; at: string }>(
        `SELECT username, (binding->>'registeredAt') AS at FROM sip_registrations WHERE username IN ('1001', '1004') ORDER BY username`,
      );
      expect(regs.rows.map((r) => r.username)).toEqual(['1001', '1004']);
      // (baresip refreshes after ~half its 60 s; if one did already, its row is newer: allowed.)
      const restored = regs.rows.filter((r) => Number(r.at) < restartedAt);
      expect(restored.length, JSON.stringify(regs.rows)).toBeGreaterThanOrEqual(1);

      // Every contact closed; the six crashed ones by the system, cause crash, at or before the kill.
      await waitFor(async () => (await db.query('SELECT 1 FROM contacts WHERE ended_at IS NULL')).rowCount === 0, {
        timeoutMs: 10_000,
        what: 'every contact to have ended_at',
      });
      const crashed = await db.query<{ contact_id: string; ended_by: string; end_cause: string; ended_ms: string }>(
        `SELECT contact_id, ended_by, end_cause, (extract(epoch FROM ended_at) * 1000)::bigint::text AS ended_ms FROM contacts`,
      );
      expect(crashed.rows).toHaveLength(6);
      for (const r of crashed.rows) {
        expect(r).toMatchObject({ ended_by: 'system', end_cause: 'crash' });
        expect(Number(r.ended_ms)).toBeLessThanOrEqual(killedAt + 50);
        // The last moment proven: the recordings' audio (within a write period of the kill).
        expect(Number(r.ended_ms)).toBeGreaterThan(killedAt - 2_000);
      }
      expect((await db.query('SELECT 1 FROM legs WHERE ended_at IS NULL')).rowCount).toBe(0);
      const oldNodes = await db.query('SELECT 1 FROM cc_nodes WHERE recovered_at IS NOT NULL');
      expect(oldNodes.rowCount).toBe(1);

      // The recordings: rows stopped with the file's size; files valid, as long as the talk.
      const recs = await db.query<{ contact_id: string; path: string; bytes: string; stopped_ms: string; started_ms: string }>(
        `SELECT contact_id, path, bytes::text,
           (extract(epoch FROM stopped_at) * 1000)::bigint::text AS stopped_ms, (extract(epoch FROM started_at) * 1000)::bigint::text AS started_ms
         FROM recordings ORDER BY contact_id`,
      );
      expect(recs.rows).toHaveLength(2);
      for (const r of recs.rows) {
        expect(r.stopped_ms).not.toBeNull();
        expect(Number(r.bytes)).toBe(statSync(r.path).size);
        const wav = readStereoWav(readFileSync(r.path));
        const audioSec = wav.left.length / wav.rate;
        expect(audioSec).toBeGreaterThan(8);
        expect(Math.abs(Number(r.stopped_ms) - (Number(r.started_ms) + audioSec * 1000))).toBeLessThan(1_500);
      }

      // The per-call figures: talk as talked (connect → kill), waits ending at the kill.
      const from = new Date(testStart - 60_000).toISOString();
      const to = new Date(Date.now() + 60_000).toISOString();
      const { calls } = await api<{
        calls: {
          contactId: string;
          outcome: string;
          exitReason: string | null;
          talkSec: number;
          waitSec: number;
          agentId: string | null;
        }[];
      }>(`/api/v1/reports/calls?from=${from}&to=${to}`);
      const connects = await db.query<{ contact_id: string; ms: string; event: string }>(
        `SELECT contact_id, event, (extract(epoch FROM at) * 1000)::bigint::text AS ms FROM queue_events WHERE event IN ('CONNECT', 'ENTER')`,
      );
      const at = (id: string, ev: string) => Number(connects.rows.find((r) => r.contact_id === id && r.event === ev)?.ms);
      expect(calls).toHaveLength(5);
      for (const c of calls) {
        if (talking.includes(c.contactId)) {
          expect(c.outcome).toBe('answered');
          const talked = (killedAt - at(c.contactId, 'CONNECT')) / 1000;
          expect(c.talkSec).toBeGreaterThan(talked - 2);
          expect(c.talkSec).toBeLessThanOrEqual(talked + 0.1);
        } else {
          expect(c).toMatchObject({ outcome: 'exited', exitReason: 'system' });
          const waited = (killedAt - at(c.contactId, 'ENTER')) / 1000;
          expect(c.waitSec).toBeGreaterThan(waited - 2);
          expect(c.waitSec).toBeLessThanOrEqual(waited + 0.1);
        }
      }

      // The reports: nothing waiting, longest wait as it was at the crash, occupancy ≤ 100 %.
      const q = await api<{
        rows: { key: string; waiting: number; offered: number; answered: number; exited: number; longestWaitSec: number }[];
      }>(`/api/v1/reports/queues?from=${from}&to=${to}&interval=range`);
      const sales = q.rows.find((r) => r.key === 'sales')!;
      expect(sales).toMatchObject({ waiting: 0, offered: 5, answered: 2, exited: 3 });
      expect(sales.longestWaitSec).toBeLessThanOrEqual(Math.max(...calls.map((c) => c.waitSec)) + 0.001);
      const agents = await api<{ rows: { key: string; occupancy: number | null; loggedInSec: number | null; talkSec: number }[] }>(
        `/api/v1/reports/agents?from=${from}&to=${to}&interval=range`,
      );
      for (const key of ['1001', '1004']) {
        const row = agents.rows.find((r) => r.key === key)!;
        expect(row.occupancy).not.toBeNull();
        expect(row.occupancy!).toBeLessThanOrEqual(1);
        expect(row.talkSec).toBeGreaterThan(8);
      }
      for (const r of agents.rows) expect(r.occupancy ?? 0).toBeLessThanOrEqual(1);
    } finally {
      await db.end();
    }

    // A new call reaches a desk phone through its restored registration.
    call(6, '1', 8_000);
    await waitFor(async () => (await live()).calls.some((c) => c.caller === '15550136' && c.phase === 'connected'), {
      timeoutMs: 40_000,
      what: 'a new call to be answered by a desk phone after the restart',
      detail: () => `${centreOut.slice(-3000)}\n${phones.map((p) => p.output().slice(-1500)).join('\n')}`,
    });
  }, 300_000);
});
