/**
 * The store end to end on a real embedded Postgres: schema by migration, the scripted hour written
 * through the real writer with the database stopped mid-way, then the KPIs read back over REST
 * (JSON and CSV) and through the CLI, compared with the figures worked out by hand for that hour
 * (scriptedTruth.ts), not with the engine the store itself runs.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportsApi } from '../../../server/http/reports.ts';
import { registerReportCommands } from '../../../server/kpi/commands.ts';
import { type CcEvent } from '../../../server/kpi/events.ts';
import { flattenRow, parseCsv, reportToCsv } from '../../../server/kpi/format.ts';
import { type KpiReport } from '../../../server/kpi/report.ts';
import { FakeClock } from '../../../lib/clock.ts';
import { startRetention } from '../../../server/store/recordings.ts';
import { openStore, type Store } from '../../../server/store/store.ts';
import { HOUR, SETTINGS, T0, scriptedDay } from '../../unit/kpi/scriptedDay.ts';
import { AGENTS_30M, CENTRE_30M, QUEUES_30M, QUEUES_RANGE_FCR_2D } from '../../unit/kpi/scriptedTruth.ts';
import { waitFor } from '../../support/waitFor.ts';

const PORT = 55433;
let root: string;
let store: Store;
let server: Server;
let base: string;
const day = scriptedDay();
/** What beforeAll saw while writing the hour, for the first test to check. */
const written: { emitted: boolean[]; duringOutage?: unknown } = { emitted: [] };
const from = new Date(T0).toISOString();
const to = new Date(T0 + HOUR).toISOString();

/** Recordings for the retention test: one 40 days old, one fresh, both under the recordings dir. */
function recordingEvents(recDir: string): CcEvent[] {
  const old = Date.now() - 40 * 86_400_000;
  const fresh = Date.now() - 3_600_000;
  const mk = (id: string, t: number): CcEvent[] => [
    { type: 'contact.arrived', contactId: id, seq: 1, ts: t, initiation: 'inbound', caller: '+900', dialled: '8000' },
    { type: 'recording.started', contactId: id, seq: 2, ts: t + 1000, recordingId: `rec-${id}`, path: join(recDir, `${id}.wav`) },
    { type: 'recording.stopped', contactId: id, seq: 3, ts: t + 61_000, recordingId: `rec-${id}`, bytes: 44 },
    { type: 'call.end', contactId: id, seq: 4, ts: t + 61_000, endedBy: 'caller' },
  ];
  return [...mk('OLD', old), ...mk('NEW', fresh)];
}

/** +600 (C6, answered in support via C6b) calls again 36 h later: a repeat only for a 2-day window. */
const lateRepeat: CcEvent[] = [
  { type: 'contact.arrived', contactId: 'C12', seq: 1, ts: T0 + 36 * HOUR, initiation: 'inbound', caller: '+600', dialled: '8000' },
  { type: 'call.end', contactId: 'C12', seq: 2, ts: T0 + 36 * HOUR + 60_000, endedBy: 'caller' },
];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cc-store-it-'));
  chmodSync(root, 0o755); // the embedded server runs as user postgres and must reach its data dir
  mkdirSync(join(root, 'rec'));
  store = await openStore({
    embedded: { dataDir: join(root, 'pg'), port: PORT },
    spoolDir: join(root, 'spool'),
    recordingsDir: join(root, 'rec'),
    kpi: SETTINGS,
    writer: { batchSize: 10, flushDelayMs: 5, retryMinMs: 50, retryMaxMs: 500 },
  });
  const api = createReportsApi({
    store,
    authorize: (req) => {
      const role = req.headers['x-role'];
      return typeof role === 'string' ? { role } : undefined;
    },
  });
  server = createServer((req, res) => {
    void api(req, res).then((mine) => {
      if (!mine) {
        res.writeHead(404);
        res.end('not mine');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Shared state for every test in this file: the scripted hour, written once here through the
  // real writer with a real outage in the middle (the Postgres process stopped), a producer's
  // re-send of ten events, two recordings and a late repeat call. The first test checks what was
  // seen during the outage and that nothing was lost; the others only read.
  const third = Math.floor(day.length / 3);
  for (const e of day.slice(0, third)) written.emitted.push(store.emit(e));
  await store.flush(20_000);
  await store.postgres.stop();
  for (const e of day.slice(third, 2 * third)) written.emitted.push(store.emit(e));
  await waitFor(() => !store.stats()!.dbUp, { timeoutMs: 10_000, what: 'the writer to notice the outage' });
  const down = await get(`/api/v1/reports/queues?from=${from}&to=${to}`);
  written.duringOutage = {
    dbUp: store.stats()!.dbUp,
    spooled: store.stats()!.pendingBytes > 0,
    status: down.status,
    body: await down.json(),
  };
  await store.postgres.restart();
  for (const e of day.slice(2 * third)) written.emitted.push(store.emit(e));
  for (const e of day.slice(0, 10)) store.emit(e); // producer re-sends after its own hiccup
  for (const e of recordingEvents(join(root, 'rec'))) store.emit(e);
  for (const e of lateRepeat) store.emit(e);
  await store.flush(30_000);
});

afterAll(async () => {
  if (server) await new Promise((r) => server.close(r));
  await store?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function get(path: string, role = 'supervisor'): Promise<Response> {
  return fetch(base + path, { headers: role ? { 'x-role': role } : {} });
}

describe('store on embedded Postgres', () => {
  it('writes the scripted hour through a database outage and loses nothing', async () => {
    expect(written.emitted.every(Boolean)).toBe(true);
    // While Postgres was down: the writer saw it, spooled, and the API said so.
    expect(written.duringOutage).toEqual({ dbUp: false, spooled: true, status: 503, body: { error: 'database unavailable; try again' } });
    expect(store.stats()!.dbUp).toBe(true);
    const stored = await store.pool.query<{ k: string }>(
      `SELECT contact_id || '#' || seq AS k FROM cc_events WHERE contact_id NOT IN ('OLD', 'NEW', 'C12')`,
    );
    expect(new Set(stored.rows.map((r) => r.k))).toEqual(new Set(day.map((e) => `${e.contactId}#${e.seq}`)));
    expect(stored.rowCount).toBe(day.length); // the re-sent first ten are not doubled
  });

  it('projects the log into the CDR, queue_log, agent, hold, disposition, survey and IVR tables', async () => {
    const q = async (sql: string): Promise<unknown[]> => (await store.pool.query(sql)).rows as unknown[];
    expect(
      await q(
        `SELECT contact_id, previous_contact_id, next_contact_id FROM contacts WHERE contact_id IN ('C6', 'C6b', 'C7', 'C7b') ORDER BY 1`,
      ),
    ).toEqual([
      { contact_id: 'C6', previous_contact_id: null, next_contact_id: 'C6b' },
      { contact_id: 'C6b', previous_contact_id: 'C6', next_contact_id: null },
      { contact_id: 'C7', previous_contact_id: null, next_contact_id: 'C7b' },
      { contact_id: 'C7b', previous_contact_id: 'C7', next_contact_id: null },
    ]);
    const ql = await q(`SELECT event, count(*)::int AS n FROM queue_events GROUP BY event ORDER BY event`);
    expect(ql).toEqual([
      { event: 'ABANDON', n: 2 },
      { event: 'CONNECT', n: 5 },
      { event: 'ENTER', n: 10 },
      { event: 'EXIT', n: 1 },
      { event: 'OFFER', n: 5 },
      { event: 'REJECT', n: 1 },
      { event: 'RINGNOANSWER', n: 1 },
      { event: 'TRANSFER', n: 1 },
    ]);
    expect(await q(`SELECT agent_id, state, reason FROM agent_state_changes WHERE agent_id = 'alice' ORDER BY seq`)).toEqual([
      { agent_id: 'alice', state: 'ready', reason: null },
      { agent_id: 'alice', state: 'not-ready', reason: 'lunch' },
      { agent_id: 'alice', state: 'ready', reason: null },
      { agent_id: 'alice', state: 'logged-out', reason: null },
    ]);
    expect(await q(`SELECT extract(epoch FROM ended_at - started_at)::int AS s FROM holds`)).toEqual([{ s: 30 }]);
    expect(await q(`SELECT disposition, note, extended FROM dispositions WHERE contact_id = 'C1'`)).toEqual([
      { disposition: 'sale', note: 'upgraded plan', extended: false },
    ]);
    expect(await q(`SELECT question, value FROM survey_answers ORDER BY contact_id, seq`)).toHaveLength(3);
    expect(await q(`SELECT node FROM ivr_paths WHERE contact_id = 'C1' ORDER BY seq`)).toEqual([{ node: 'welcome' }, { node: 'menu' }]);
    expect(await q(`SELECT party_kind, party FROM legs WHERE contact_id = 'C6' ORDER BY seq`)).toEqual([
      { party_kind: 'customer', party: '+600' },
      { party_kind: 'agent', party: 'bob' },
    ]);
  });

  it('serves the hand-computed KPIs over REST', async () => {
    for (const [path, truth] of [
      ['queues', QUEUES_30M],
      ['agents', AGENTS_30M],
      ['centre', CENTRE_30M],
    ] as const) {
      const r = await get(`/api/v1/reports/${path}?from=${from}&to=${to}&interval=30m`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as KpiReport).rows, path).toMatchObject(truth);
    }
    const sales = (await (await get(`/api/v1/reports/queues?from=${from}&to=${to}&queue=sales`)).json()) as KpiReport;
    expect(sales.rows).toHaveLength(1);
    expect(sales.rows[0]).toMatchObject({ offered: 9, answered: 4, ahtSec: 161.25, fcrRepeatRate: 0.6667 });
    const met = (await (await get(`/api/v1/reports/queues?from=${from}&to=${to}&queue=sales&slMode=abandons-met`)).json()) as KpiReport;
    expect(met.rows[0]!.serviceLevels).toEqual([
      { thresholdSec: 20, mode: 'abandons-met', met: 4, base: 7, value: 0.5714 },
      { thresholdSec: 30, mode: 'abandons-met', met: 5, base: 7, value: 0.7143 },
    ]);
    expect(met.definitions.serviceLevelMode).toBe('abandons-met');
  });

  it('finds repeat contacts beyond a day when the FCR window is longer', async () => {
    const r = (await (await get(`/api/v1/reports/queues?from=${from}&to=${to}&fcrWindowSec=172800`)).json()) as KpiReport;
    expect(r.rows).toMatchObject(QUEUES_RANGE_FCR_2D);
    // With the default one-day window, C12 and C9 are too late to be repeats.
    const one = (await (await get(`/api/v1/reports/queues?from=${from}&to=${to}`)).json()) as KpiReport;
    expect(one.rows.map((x) => [x.key, x.fcrEligible, x.fcrResolved])).toEqual([
      ['sales', 3, 2],
      ['support', 1, 1],
    ]);
  });

  it('gives the same figures in CSV and through the CLI', async () => {
    const json = (await (await get(`/api/v1/reports/queues?from=${from}&to=${to}&interval=30m`)).json()) as KpiReport;
    expect(json.rows).toMatchObject(QUEUES_30M);
    const csvRes = await get(`/api/v1/reports/queues?from=${from}&to=${to}&interval=30m&format=csv`);
    expect(csvRes.headers.get('content-type')).toMatch(/text\/csv/);
    const csvText = await csvRes.text();
    expect(csvText).toBe(reportToCsv(json)); // the same report, rendered as CSV
    const csv = parseCsv(csvText);
    json.rows.forEach((row, i) => {
      const flat = flattenRow(row, json.definitions.serviceLevelThresholdsSec);
      for (const [k, v] of Object.entries(flat)) expect(csv[i]![k], k).toBe(v === null ? '' : String(v));
    });

    const run = async (...args: string[]) => {
      let out = '';
      const program = new Command('callcentre').exitOverride();
      registerReportCommands(program, { settings: SETTINGS, out: (s) => (out += s) });
      await program.parseAsync(['report', ...args, '--database-url', store.url], { from: 'user' });
      return out;
    };
    expect(await run('--from', from, '--to', to, '--interval', '30m', '--format', 'csv')).toBe(csvText);
    const cliJson = JSON.parse(
      await run('--from', from, '--to', to, '--interval', '30m', '--queue', 'sales', '--format', 'json'),
    ) as KpiReport;
    expect(cliJson.rows).toMatchObject(QUEUES_30M.filter((r) => r.key === 'sales'));
    const table = await run('--from', '2026-01-05 09:00', '--to', '2026-01-05 10:00', '--interval', 'range', '--queue', 'sales');
    expect(table).toContain('SL mode abandons-ignored');
    expect(table.split('\n')[2]).toMatch(/sales\s+9\s+4\s+3\s+1\s+0\.4444\s+0\.5\s+0\.6/);
    await expect(run('--from', 'yesterday-ish', '--to', to)).rejects.toThrow(/not a time/);
  });

  it('drills down to per-call detail that sums to the report', async () => {
    const r = await get(`/api/v1/reports/calls?from=${from}&to=${to}&queue=sales`);
    const body = (await r.json()) as { calls: { contactId: string; talkSec: number; outcome: string }[] };
    expect(body.calls.map((c) => c.contactId)).toEqual(['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C7b', 'C11']);
    expect(body.calls.reduce((s, c) => s + c.talkSec, 0)).toBe(435);
    const csv = parseCsv(await (await get(`/api/v1/reports/calls?from=${from}&to=${to}&contact=C1&format=csv`)).text());
    expect(csv).toHaveLength(1);
    expect(csv[0]).toMatchObject({ contactId: 'C1', waitSec: '15', talkSec: '135', holdSec: '30', disposition: 'sale' });
  });

  it('drills down to one customer call across its transfer chain', async () => {
    type Detail = {
      contacts: { contactId: string; nextContactIds: string[] }[];
      calls: Record<string, unknown>[];
      recordings: { recordingId: string }[];
    };
    const c6 = (await (await get('/api/v1/reports/contacts/C6b')).json()) as Detail;
    expect(c6.contacts.map((c) => [c.contactId, c.nextContactIds])).toEqual([
      ['C6', ['C6b']],
      ['C6b', []],
    ]);
    expect(c6.calls.map((c) => [c.contactId, c.queue, c.agentId, c.transferred, c.finalHandler, c.fcrResolved])).toEqual([
      ['C6', 'sales', 'bob', true, false, null],
      ['C6b', 'support', 'alice', false, true, true],
    ]);
    const c1 = (await (await get('/api/v1/reports/contacts/C1')).json()) as Detail;
    expect(c1.calls[0]).toMatchObject({ fcrResolved: false, csat: [5], fcrSurvey: [1] }); // C8 repeats inside the window
    expect(c1.recordings.map((r) => r.recordingId)).toEqual(['R1']);
    expect((await get('/api/v1/reports/contacts/nope')).status).toBe(404);
  });

  it('refuses bad requests and the wrong roles with clear errors', async () => {
    expect((await get(`/api/v1/reports/queues?from=${from}&to=${to}`, '')).status).toBe(401);
    expect((await get(`/api/v1/reports/queues?from=${from}&to=${to}`, 'agent')).status).toBe(403);
    const bad = await get(`/api/v1/reports/queues?from=${from}`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'from and to are required' });
    expect((await get(`/api/v1/reports/queues?from=${from}&to=${to}&interval=7m`)).status).toBe(400);
    expect((await get(`/api/v1/reports/queues?from=${to}&to=${from}`)).status).toBe(400);
    expect((await get(`/api/v1/reports/queues?from=${from}&to=${to}&slMode=lenient`)).status).toBe(400);
    expect((await get(`/api/v1/reports/nonsense?from=${from}&to=${to}`)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/reports/queues`, { method: 'POST', headers: { 'x-role': 'admin' } })).status).toBe(405);
    expect((await get('/elsewhere')).status).toBe(404);
  });

  it('lists and serves recordings to supervisor and QA only, and retention deletes old audio but keeps the CDR', async () => {
    const rec = join(root, 'rec');
    writeFileSync(join(rec, 'OLD.wav'), 'RIFF-old-audio');
    writeFileSync(join(rec, 'NEW.wav'), 'RIFF-new-audio');
    expect((await get('/api/v1/recordings?contact=NEW', 'agent')).status).toBe(403);
    expect((await get('/api/v1/recordings?contact=NEW', 'admin')).status).toBe(403);
    const list = (await (await get('/api/v1/recordings?contact=NEW', 'qa')).json()) as {
      recordings: { recordingId: string; audio: string }[];
    };
    expect(list.recordings.map((r) => r.recordingId)).toEqual(['rec-NEW']);
    const audio = await get(list.recordings[0]!.audio, 'qa');
    expect(audio.status).toBe(200);
    expect(audio.headers.get('content-type')).toBe('audio/wav');
    expect(await audio.text()).toBe('RIFF-new-audio');
    // The scripted hour's recording lives outside the recordings directory: never served.
    expect((await get('/api/v1/recordings/R1/audio')).status).toBe(404);

    const res = await store.purgeRecordings(30);
    expect(res).toEqual({ purged: 1, missing: 0, refused: 1 });
    expect(existsSync(join(rec, 'OLD.wav'))).toBe(false);
    expect(readFileSync(join(rec, 'NEW.wav'), 'utf8')).toBe('RIFF-new-audio');
    const gone = await get('/api/v1/recordings/rec-OLD/audio');
    expect(gone.status).toBe(410);
    const cdr = await store.pool.query(`SELECT ended_by FROM contacts WHERE contact_id = 'OLD'`);
    expect(cdr.rows).toEqual([{ ended_by: 'caller' }]);
    const purged = await store.pool.query(`SELECT purged_at IS NOT NULL AS p FROM recordings WHERE recording_id = 'rec-OLD'`);
    expect(purged.rows).toEqual([{ p: true }]);

    // The periodic job: 31 days on, the fresh recording is due too, and the job re-arms itself.
    const clock = new FakeClock(Date.now() + 31 * 86_400_000);
    const stop = startRetention(store.pool, { retentionDays: 30, recordingsDir: rec, clock, intervalMs: 3_600_000 });
    clock.advance(0);
    await waitFor(() => !existsSync(join(rec, 'NEW.wav')), { timeoutMs: 10_000, what: 'the retention job to delete NEW.wav' });
    await waitFor(() => clock.pendingCount > 0, { timeoutMs: 10_000, what: 'the retention job to re-arm' });
    expect(clock.nextAt()).toBe(clock.now() + 3_600_000);
    stop();
    expect(clock.pendingCount).toBe(0);
  });
});
