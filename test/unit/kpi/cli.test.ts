/**
 * The report CLI against the REST API (issue #14), with the store replaced by the engine on an
 * in-memory log: the CLI takes --config like every command, computes with the very settings the
 * server gives REST (kpiSettingsOf: kpi: section, queue objectives, time zone), and reads local
 * times in the centre's zone. The database side is the integration test's (test/integration/kpi/).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { kpiSettingsOf } from '../../../server/config/kpi.ts';
import { loadConfig } from '../../../server/config/load.ts';
import { createReportsApi } from '../../../server/http/reports.ts';
import { registerReportCommands, type ReportCommandDeps } from '../../../server/kpi/commands.ts';
import { registerPlanningCommands } from '../../../server/planning/commands.ts';
import { registerDrillCommand } from '../../../server/planning/drillCommand.ts';
import type { CcEvent } from '../../../server/kpi/events.ts';
import { parseCsv } from '../../../server/kpi/format.ts';
import { callDetails, computeReport, type KpiReport } from '../../../server/kpi/report.ts';
import { DEFAULT_KPI_SETTINGS, KpiSettingsSchema, type KpiSettings } from '../../../server/kpi/settings.ts';

const DEMO = path.resolve(import.meta.dirname, '../../../config');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cc-report-cli-'));

/** The demo centre (Europe/London) with the Amazon Connect definition as its KPI default. */
const configDir = path.join(tmp, 'config');
cpSync(DEMO, configDir, { recursive: true });
writeFileSync(
  path.join(configDir, 'centre.yaml'),
  readFileSync(path.join(configDir, 'centre.yaml'), 'utf8').replace('serviceLevelMode: abandons-ignored', 'serviceLevelMode: abandons-met'),
);
const loaded = loadConfig(configDir, {});
if (!loaded.ok) throw new Error('test config invalid');
const config = loaded.config;

// London is on BST (UTC+1) in July: local 09:00 is 08:00Z.
const Z = (hhmm: string) => Date.parse(`2026-07-01T${hhmm}:00Z`);
const log: CcEvent[] = [];
const call = (id: string, at: number, waitSec: number, end: 'answered' | 'abandoned') => {
  log.push({ contactId: id, seq: 1, ts: at, type: 'contact.arrived', initiation: 'inbound', caller: `+${id}`, dialled: '100' });
  log.push({ contactId: id, seq: 2, ts: at, type: 'queue.enter', queue: 'sales' });
  const t = at + waitSec * 1000;
  if (end === 'answered') {
    log.push({ contactId: id, seq: 3, ts: t, type: 'queue.connect', queue: 'sales', agentId: '1001' });
    log.push({ contactId: id, seq: 4, ts: t + 60_000, type: 'call.end', endedBy: 'caller' });
  } else {
    log.push({ contactId: id, seq: 3, ts: t, type: 'queue.abandon', queue: 'sales' });
    log.push({ contactId: id, seq: 4, ts: t, type: 'call.end', endedBy: 'caller' });
  }
};
call('1', Z('08:10'), 12, 'answered'); // 09:10 London: inside local 09:00–10:00
call('2', Z('08:40'), 15, 'abandoned'); // 09:40 London: inside
call('3', Z('09:05'), 40, 'answered'); // 10:05 London: outside; inside 09:00–10:00 read as UTC

/** The store, as the engine on `log` (what openStore would load and compute). */
function memoryStore(kpi: Partial<KpiSettings>) {
  const settings = KpiSettingsSchema.parse({ ...DEFAULT_KPI_SETTINGS, ...kpi });
  const merged = (o?: Partial<KpiSettings>) => KpiSettingsSchema.parse({ ...settings, ...o });
  return {
    settings,
    recordingsDir: tmp,
    report: async (req: Parameters<typeof computeReport>[1], o?: Partial<KpiSettings>) => computeReport(log, req, merged(o)),
    calls: async (q: Parameters<typeof callDetails>[1], o?: Partial<KpiSettings>) => callDetails(log, q, merged(o)),
    contact: async () => undefined,
    listRecordings: async () => [],
    getRecording: async () => undefined,
    close: async () => {},
  };
}

let server: Server;
let base: string;
beforeAll(async () => {
  // REST as the centre mounts it: the store opened with kpiSettingsOf(config).
  const api = createReportsApi({ store: memoryStore(kpiSettingsOf(config)), authorize: () => ({ role: 'supervisor' }) });
  server = createServer((req, res) => void api(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => vi.useRealTimers());

const opened: Parameters<NonNullable<ReportCommandDeps['openStore']>>[0][] = [];
async function cli(...args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const program = new Command('callcentre').exitOverride();
  registerReportCommands(program, {
    openStore: async (o) => {
      opened.push(o);
      return memoryStore(o.kpi);
    },
    out: (s) => (out += s),
    err: (s) => (err += `${s}\n`),
  });
  program.configureOutput({ writeErr: (s) => (err += s), writeOut: (s) => (out += s) });
  await program.parseAsync(['report', ...args], { from: 'user' });
  return { out, err };
}
const rest = async (q: string) => (await fetch(`${base}/api/v1/reports/${q}`)).text();

describe('callcentre report --config', () => {
  it('reads local times in the centre\'s zone like REST: "2026-07-01 09:00" in London is 08:00Z', async () => {
    const { out } = await cli(
      '--config',
      configDir,
      '--from',
      '2026-07-01 09:00',
      '--to',
      '2026-07-01 10:00',
      '--interval',
      '60m',
      '--format',
      'json',
    );
    const r = JSON.parse(out) as KpiReport;
    expect([r.from, r.to]).toEqual(['2026-07-01T08:00:00.000Z', '2026-07-01T09:00:00.000Z']);
    // Calls 1 and 2 (09:10 and 09:40 London); not call 3 (10:05 London, 09:05Z).
    expect(r.rows.map((x) => [x.key, x.intervalStart, x.offered, x.answered, x.abandoned, x.asaSec])).toEqual([
      ['sales', '2026-07-01T08:00:00.000Z', 2, 1, 1, 12],
    ]);
    expect(JSON.parse(await rest('queues?from=2026-07-01%2009:00&to=2026-07-01%2010:00&interval=60m'))).toEqual(r);
  });

  it("computes with the centre's definitions and objectives: the kpi: mode, and sales' 80 % in 20 s", async () => {
    const { out } = await cli(
      '--config',
      configDir,
      '--from',
      '2026-07-01 09:00',
      '--to',
      '2026-07-01 10:00',
      '--interval',
      'range',
      '--format',
      'json',
    );
    const r = JSON.parse(out) as KpiReport;
    expect(r.definitions).toMatchObject({ serviceLevelMode: 'abandons-met', timeZone: 'Europe/London', shortAbandonSec: 5 });
    // abandons-met at 20 s: (answered in 12 s + abandoned in 15 s) / (1 answered + 1 abandoned) = 1.
    expect(r.rows[0]!.serviceLevelObjective).toEqual({
      thresholdSec: 20,
      mode: 'abandons-met',
      met: 2,
      base: 2,
      value: 1,
      target: 0.8,
      targetMet: true,
    });
    const csv = await cli(
      '--config',
      configDir,
      '--from',
      '2026-07-01 09:00',
      '--to',
      '2026-07-01 10:00',
      '--interval',
      'range',
      '--format',
      'csv',
    );
    const row = parseCsv(csv.out)[0]!;
    expect([row.sl_objective_threshold_s, row.sl_objective_target, row.sl_objective, row.sl_objective_met, row.sl_mode]).toEqual([
      '20',
      '0.8',
      '1',
      'true',
      'abandons-met',
    ]);
    expect(csv.out).toBe(await rest('queues?from=2026-07-01%2009:00&to=2026-07-01%2010:00&interval=range&format=csv'));
    // A request's own mode still wins, on both.
    const missed = await cli(
      '--config',
      configDir,
      '--from',
      '2026-07-01 09:00',
      '--to',
      '2026-07-01 10:00',
      '--interval',
      'range',
      '--format',
      'json',
      '--sl-mode',
      'abandons-missed',
    );
    expect(JSON.parse(missed.out)).toEqual(
      JSON.parse(await rest('queues?from=2026-07-01%2009:00&to=2026-07-01%2010:00&interval=range&slMode=abandons-missed')),
    );
    expect((JSON.parse(missed.out) as KpiReport).rows[0]!.serviceLevelObjective).toMatchObject({
      met: 1,
      base: 2,
      value: 0.5,
      targetMet: false,
    });
  });

  it("today and tomorrow are the centre's local midnights", async () => {
    // 23:30Z on 1 July is 00:30 on 2 July in London: today starts at 2 July 00:00 BST = 1 July 23:00Z.
    vi.useFakeTimers({ toFake: ['Date'], now: Z('23:30') });
    const { out } = await cli('--config', configDir, '--from', 'today', '--to', 'tomorrow', '--interval', 'range', '--format', 'json');
    const r = JSON.parse(out) as KpiReport;
    expect([r.from, r.to]).toEqual(['2026-07-01T23:00:00.000Z', '2026-07-02T23:00:00.000Z']);
    expect(JSON.parse(await rest('queues?from=today&to=tomorrow&interval=range'))).toMatchObject({ from: r.from, to: r.to });
  });

  it('per-call detail: the same document as GET /api/v1/reports/calls', async () => {
    const { out } = await cli(
      '--config',
      configDir,
      '--calls',
      '--from',
      '2026-07-01 09:00',
      '--to',
      '2026-07-01 10:00',
      '--format',
      'json',
    );
    expect(JSON.parse(out)).toEqual(JSON.parse(await rest('calls?from=2026-07-01%2009:00&to=2026-07-01%2010:00')));
    expect((JSON.parse(out) as { calls: { contactId: string }[] }).calls.map((c) => c.contactId)).toEqual(['1', '2']);
    const csv = await cli('--config', configDir, '--calls', '--from', '2026-07-01 09:00', '--to', '2026-07-01 10:00', '--format', 'csv');
    expect(csv.out).toBe(await rest('calls?from=2026-07-01%2009:00&to=2026-07-01%2010:00&format=csv'));
  });

  it('finds the database in the config, as the server does; flags still win', async () => {
    opened.length = 0;
    await cli('--config', configDir, '--from', 'today', '--to', 'tomorrow', '--format', 'json');
    expect(opened[0]).toMatchObject({ pgDataDir: path.resolve('data/postgres'), pgPort: 5433 });
    expect(opened[0]!.databaseUrl).toBe(process.env.DATABASE_URL);
    expect(opened[0]!.kpi).toEqual(KpiSettingsSchema.parse({ ...DEFAULT_KPI_SETTINGS, ...kpiSettingsOf(config) }));
    await cli(
      '--config',
      configDir,
      '--from',
      'today',
      '--to',
      'tomorrow',
      '--format',
      'json',
      '--pg-port',
      '15999',
      '--pg-data-dir',
      '/srv/pg',
      '--database-url',
      'postgres://x@db/cc',
    );
    expect(opened[1]).toMatchObject({ databaseUrl: 'postgres://x@db/cc', pgDataDir: '/srv/pg', pgPort: 15999 });
  });

  it('an invalid config: its errors, exit code 1, no database opened', async () => {
    const bad = path.join(tmp, 'bad');
    cpSync(configDir, bad, { recursive: true });
    writeFileSync(
      path.join(bad, 'centre.yaml'),
      readFileSync(path.join(bad, 'centre.yaml'), 'utf8').replace('shortAbandonSec: 5', 'shortAbandonSec: five'),
    );
    opened.length = 0;
    let err = '';
    const program = new Command('callcentre').exitOverride().configureOutput({ writeErr: (s) => (err += s) });
    registerReportCommands(program, { openStore: async () => Promise.reject(new Error('must not open')), err: (s) => (err += `${s}\n`) });
    const run = program.parseAsync(['report', '--config', bad, '--from', 'today', '--to', 'tomorrow'], { from: 'user' });
    await expect(run).rejects.toBeInstanceOf(CommanderError);
    await run.catch((e: CommanderError) => expect(e.exitCode).toBe(1));
    expect(err).toMatch(/centre\.yaml:\d+:\d+ kpi\.shortAbandonSec: .*number/);
    expect(err).toMatch(/report: the config in .* is invalid/);
  });
});

describe('callcentre attainment / forecast / drill --config', () => {
  it("read the centre's KPI settings and database as report does (they used defaults and their own database rule)", async () => {
    const withDb = path.join(tmp, 'withdb');
    cpSync(configDir, withDb, { recursive: true });
    const centreYaml = readFileSync(path.join(withDb, 'centre.yaml'), 'utf8');
    expect(centreYaml).toContain('    embedded: true ');
    writeFileSync(path.join(withDb, 'centre.yaml'), centreYaml.replace('    embedded: true ', '    url: postgres://planner@db/cc '));
    const seen: { databaseUrl?: string; kpi: Partial<KpiSettings> }[] = [];
    let out = '';
    const program = new Command('callcentre').exitOverride();
    registerPlanningCommands(program, {
      openStore: async (o) => {
        seen.push(o);
        return memoryStore(o.kpi);
      },
      readFile: () => JSON.stringify({ queues: { sales: { serviceLevel: { thresholdSec: 20, target: 0.8 } } } }),
      out: (s) => (out += s),
      err: () => undefined,
    });
    const range = ['--from', '2026-07-01', '--to', '2026-07-02'];
    await program.parseAsync(['attainment', '--config', withDb, ...range, '--targets', 't.json', '--format', 'json'], { from: 'user' });
    // No history in the in-memory log before July: the forecast says so, after opening the store.
    await expect(
      program.parseAsync(['forecast', '--config', withDb, '--queue', 'sales', ...range, '--format', 'json'], { from: 'user' }),
    ).rejects.toThrow(/no calls to queue sales/);
    registerDrillCommand(program, {
      openStore: async (o) => {
        seen.push(o);
        return { ...memoryStore(o.kpi), events: async () => log };
      },
      out: (s) => (out += s),
      err: () => undefined,
    });
    await program.parseAsync(['drill', '--config', withDb, '--from', '2026-07-01 08:00', '--to', '2026-07-01 12:00', '--format', 'json'], {
      from: 'user',
    });
    expect(seen).toHaveLength(3);
    for (const o of seen) {
      expect(o.databaseUrl).toBe('postgres://planner@db/cc');
      expect(o.kpi).toMatchObject({ serviceLevelMode: 'abandons-met', timeZone: kpiSettingsOf(config).timeZone });
    }
    expect(out).toContain('"period"');
  });
});
