import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { registerPlanningCommands } from '../../../server/planning/commands.ts';
import { createPlanningApi } from '../../../server/http/planning.ts';

async function run(args: string[], files: Record<string, string> = {}): Promise<string> {
  let text = '';
  const program = new Command('callcentre').exitOverride();
  registerPlanningCommands(program, { out: (s) => (text += s), readFile: (p) => files[p] ?? '' });
  await program.parseAsync(['node', 'callcentre', ...args]);
  return text;
}

describe('callcentre erlang', () => {
  it('prints the answer and a table around it', async () => {
    const out = await run(['erlang', '--calls', '100', '--aht', '180', '--sl', '80/20', '--shrinkage', '30%']);
    expect(out).toContain('traffic 10.00 Erlangs: 14 agents on the phones (decided by service-level), 20 scheduled');
    expect(out).toMatch(/^>\s+14\s+88\.8%\s+7\.8\s+71\.4%/m);
    expect(out).toMatch(/^\s+11\s+39\.0%\s+122\.8\s+90\.9%\s+68\.2%/m);
  });

  it('Erlang A from --patience, JSON out', async () => {
    const out = JSON.parse(await run(['erlang', '--calls', '100', '--aht', '180', '--patience', '120', '--format', 'json'])) as {
      targets: { model: string };
      intervals: { agents: number }[];
    };
    expect(out.targets.model).toBe('erlang-a');
    expect(out.intervals[0]!.agents).toBe(12);
  });

  it('per-interval demand CSV to CSV', async () => {
    const csv = 'start,calls,aht\n09:00,100,180\n09:30,200,180\n10:00,0,180\n';
    const out = await run(['erlang', '--demand', 'd.csv', '--sl', '0.8/20', '--format', 'csv'], { 'd.csv': csv });
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^interval,calls,aht_sec,traffic_erlangs,agents,scheduled/);
    expect(lines.slice(1).map((l) => l.split(',')[4])).toEqual(['14', '24', '0']);
  });

  it('rejects bad input with exit code 2', async () => {
    await expect(run(['erlang', '--calls', '100'])).rejects.toMatchObject({ exitCode: 2 });
    await expect(run(['erlang', '--calls', '100', '--aht', '180', '--sl', 'eighty'])).rejects.toMatchObject({ exitCode: 2 });
  });
});

describe('planning REST', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const api = createPlanningApi({
      authorize: (req) => {
        const role = req.headers['x-role'];
        return typeof role === 'string' ? { role } : undefined;
      },
    });
    server = createServer((req, res) => void api(req, res).then((done) => done || res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('GET erlang for a supervisor; 401 and 403 otherwise', async () => {
    const url = `${base}/api/v1/planning/erlang?calls=100&aht=180&sl=80/20&shrinkage=30%25`;
    const ok = await fetch(url, { headers: { 'x-role': 'supervisor' } });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { result: { agents: number; scheduled: number }; table: { agents: number; asaSec: number | null }[] };
    expect(body.result).toMatchObject({ agents: 14, scheduled: 20 });
    expect(body.table.map((r) => r.agents)).toEqual([11, 12, 13, 14, 15, 16, 17]);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { 'x-role': 'agent' } })).status).toBe(403);
    expect((await fetch(`${base}/api/v1/planning/erlang?calls=x&aht=180`, { headers: { 'x-role': 'admin' } })).status).toBe(400);
  });

  it('GET erlang sizes by 80/20 unless the query names another target', async () => {
    const targets = async (q: string) =>
      (
        (await (await fetch(`${base}/api/v1/planning/erlang?calls=100&aht=180${q}`, { headers: { 'x-role': 'admin' } })).json()) as {
          targets: { serviceLevel?: unknown; asaSec?: number };
        }
      ).targets;
    expect(await targets('')).toMatchObject({ serviceLevel: { target: 0.8, thresholdSec: 20 } });
    const byAsa = await targets('&asa=15');
    expect(byAsa.serviceLevel).toBeUndefined();
    expect(byAsa.asaSec).toBe(15);
  });

  it('POST staffing per interval; a bad body is a 400', async () => {
    const post = (body: unknown) =>
      fetch(`${base}/api/v1/planning/staffing`, {
        method: 'POST',
        headers: { 'x-role': 'admin', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const r = await post({
      targets: { serviceLevel: { target: 0.8, thresholdSec: 20 } },
      intervals: [
        { calls: 100, ahtSec: 180 },
        { calls: 200, ahtSec: 180 },
      ],
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { intervals: { agents: number }[] }).intervals.map((i) => i.agents)).toEqual([14, 24]);
    expect((await post({ targets: {}, intervals: [{ calls: -1, ahtSec: 180 }] })).status).toBe(400);
    expect((await fetch(`${base}/api/v1/planning/nope`, { headers: { 'x-role': 'admin' } })).status).toBe(404);
  });
});

describe('planning REST: schedule and attainment', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const { computeReport } = await import('../../../server/kpi/report.ts');
    const { DEFAULT_KPI_SETTINGS } = await import('../../../server/kpi/settings.ts');
    const T0 = Date.UTC(2026, 0, 5, 9);
    const ev = [0, 1].flatMap((i) => {
      const id = `c${i}`;
      const t = T0 + i * 1_800_000;
      return [
        { contactId: id, seq: 1, ts: t, type: 'contact.arrived', initiation: 'inbound', caller: `+1${i}`, dialled: '8000' },
        { contactId: id, seq: 2, ts: t, type: 'queue.enter', queue: 'sales' },
        { contactId: id, seq: 3, ts: t + (i === 0 ? 5_000 : 50_000), type: 'queue.connect', queue: 'sales', agentId: 'a' },
        { contactId: id, seq: 4, ts: t + 100_000, type: 'call.end', endedBy: 'caller' },
      ];
    }) as Parameters<typeof computeReport>[0];
    const api = createPlanningApi({
      authorize: () => ({ role: 'supervisor' }),
      store: { settings: DEFAULT_KPI_SETTINGS, report: async (req) => computeReport(ev, req, DEFAULT_KPI_SETTINGS) },
      targets: () => ({ queues: { sales: { serviceLevel: { thresholdSec: 20, target: 0.8 } } } }),
      agents: (): { skills: Record<string, number> }[] => [{ skills: { sales: 5, support: 3 } }, { skills: { sales: 5 } }],
    });
    server = createServer((req, res) => void api(req, res).then((done) => done || res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('POST schedule returns shifts (json) and the chart (svg)', async () => {
    const required = [Array.from({ length: 48 }, (_, k) => (k >= 18 && k < 26 ? 1 : 0))];
    const body = JSON.stringify({
      intervalMin: 30,
      required,
      templates: [{ name: 'part4', lengthMin: 240, earliestStartMin: 480, latestStartMin: 960 }],
      agents: [{ id: 'ann' }],
    });
    const json = (await (await fetch(`${base}/api/v1/planning/schedule`, { method: 'POST', body })).json()) as {
      shifts: { agentId: string; startMin: number }[];
    };
    expect(json.shifts).toEqual([expect.objectContaining({ agentId: 'ann', startMin: 540 })]);
    const svg = await fetch(`${base}/api/v1/planning/schedule?format=svg`, { method: 'POST', body });
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect((await fetch(`${base}/api/v1/planning/schedule`, { method: 'POST', body: '{}' })).status).toBe(400);
  });

  it('GET attainment by month from the store and the configured targets', async () => {
    const r = (await (await fetch(`${base}/api/v1/planning/attainment?from=2026-01-05&to=2026-01-06&period=month`)).json()) as {
      attainment: { met: number; intervals: number }[];
      multiSkill: { share: number; met: boolean };
    };
    expect(r.multiSkill).toMatchObject({ agents: 2, multiSkilled: 1, share: 0.5, target: 0.8, met: false });
    expect(r.attainment).toEqual([
      expect.objectContaining({ key: 'sales', period: '2026-01', target: 'serviceLevel', met: 1, intervals: 2 }),
    ]);
    expect((await fetch(`${base}/api/v1/planning/attainment?from=2026-01-05&to=2026-01-06&period=year`)).status).toBe(400);
  });
});
