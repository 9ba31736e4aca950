/**
 * The supervisor floor end to end: a real centre (embedded Postgres), baresip desk phones as agents,
 * sipp callers, and the wallboard page in headless Chromium.
 *
 * - Only supervisors and admins see the board or act (401 without credentials, 403 for an agent).
 * - A scripted surge: agent 1001 alone staffs sales; 1004 (standby) is logged out by a supervisor;
 *   1003 (group "helpers") has no sales skill. Eight callers for sales: the waiting-callers alert
 *   (yellow 1, orange 2, red 3, held 2 s) climbs, the surge plan logs 1004 in (level 1), lends 1003
 *   the sales skill (level 2), diverts IVR flow main (level 3); the callers hang up, the alert clears
 *   and every action is reversed. Each step is checked in the floor event log and on the board.
 * - After the calls, the board's figures equal GET /api/v1/reports for the board's own period.
 * - An agent's call for help pops up on the board.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { placeDemoCall, type DemoCall } from '../../../server/call/demoCaller.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { launchBrowser, writeToneWav } from '../../support/browser.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';

const FLOOR = `floor:
  boardRefreshSec: 1
  sampleSec: 0.5
  groups: { helpers: ['1003'] }
  standby: ['1004']
  alerts:
    - name: sales-waiting
      metric: waiting
      scope: { queue: sales }
      levels: { yellow: 1, orange: 2, red: 3 }
      minDurationSec: 2
      surge: sales
  surge:
    sales:
      queue: sales
      level1: { skills: { sales: 5 } }
      level2: { groups: [helpers], share: 1, level: 5 }
      level3: { flows: [main] }

trunks:
`;

let tc: TestCentre;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const phones: DeskPhone[] = [];
const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
const SUP = basic('9001', 'sam9001');
/** Screenshots to look at (docs/ keeps a small one). */
const SHOTS = join(tmpdir(), 'cc-wallboard-shots');
mkdirSync(SHOTS, { recursive: true });

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 36060, http: 36080, pg: 36433, rtc: 36100 },
    { edits: { 'centre.yaml': [['\ntrunks:\n', `\n${FLOOR}`]] } },
  );
  // 1004's phone refreshes its registration only hourly: a REGISTER refresh logs a desk phone's
  // agent in again (agentDesk.ts), which would undo the supervisor's forced logout mid-test.
  const phone = (user: string, password: string, n: number) =>
    startDeskPhone({
      regint: user === '1004' ? 3600 : 60,
      dir: join(tc.dataDir, `baresip-${user}`),
      user,
      password,
      registrar: `127.0.0.1:${tc.sipPort}`,
      listenPort: 36400 + n * 10,
      rtpPorts: [36500 + n * 50, 36549 + n * 50],
      toneHz: 500 + n * 100,
    });
  // One at a time, so afterAll stops the ones that started if a later one fails.
  phones.push(await phone('1001', 'alice1001', 0));
  phones.push(await phone('1003', 'carol1003', 1));
  phones.push(await phone('1004', 'dave1004', 2));
  browser = await launchBrowser(writeToneWav(tc.dataDir, 440));
});
afterAll(async () => {
  await ctx?.close();
  await browser?.close();
  for (const p of phones) await p.stop();
  await tc?.stop();
});

const api = (path: string, init: RequestInit = {}) => fetch(new URL(path, tc.httpUrl), init);
const post = (path: string, body: unknown, headers: Record<string, string> = SUP) =>
  api(path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });

interface Ev {
  type: string;
  actor: string;
  target: string | null;
  detail: Record<string, unknown>;
}
async function floorEvents(): Promise<Ev[]> {
  const r = await api('/api/v1/floor/events?limit=1000', { headers: SUP });
  expect(r.status).toBe(200);
  return ((await r.json()) as { events: Ev[] }).events.reverse();
}

describe('supervisor floor', () => {
  it('only supervisors and admins see the board or act', async () => {
    for (const path of ['/wallboard.html', '/api/v1/wallboard', '/api/v1/wallboard/events', '/api/v1/floor/events']) {
      expect((await api(path)).status, path).toBe(401);
      expect((await api(path, { headers: basic('1001', 'alice1001') })).status, path).toBe(403);
      expect((await api(path, { headers: basic('9001', 'wrong') })).status, path).toBe(401);
    }
    expect((await post('/api/v1/supervisor/agents/1004/logout', {}, basic('1003', 'carol1003'))).status).toBe(403);
    expect((await post('/api/v1/supervisor/agents/1004/logout', {}, {})).status).toBe(401);
    expect((await post('/api/v1/supervisor/surge/sales', { level: 7 })).status).toBe(400);
    expect((await post('/api/v1/supervisor/calls/nope/head', {})).status).toBe(409);
    const page200 = await api('/wallboard.html', { headers: SUP });
    expect(page200.status).toBe(200);
    expect(await page200.text()).toContain('wallboard.js');
  });

  it('a supervisor logs the standby agent out (audited)', async () => {
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: '1004 registered' });
    expect((await post('/api/v1/supervisor/agents/1004/logout', {})).status).toBe(200);
    expect(tc.centre.acd.agentView('1004')?.state).toBe('logged-out');
    await tc.centre.store.flushAudit();
    const audit = await tc.centre.store.listAudit({ action: 'agent.logout.forced' });
    expect(audit).toEqual([expect.objectContaining({ actor: '9001', role: 'supervisor', target: '1004' })]);
  });

  it('a surge walks the levels up and back down, in the event log and on the board', async () => {
    ctx = await browser.newContext({ httpCredentials: { username: '9001', password: 'sam9001' }, viewport: { width: 1600, height: 1000 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => console.error('[wallboard]', e.message));
    await page.goto(new URL('/wallboard.html', tc.httpUrl).toString());
    await page.waitForSelector('[data-queue="sales"]', { timeout: 15_000 });
    await page.waitForSelector('#conn.live');

    const calls: DemoCall[] = [];
    for (let i = 0; i < 8; i++) {
      calls.push(
        placeDemoCall({
          target: `127.0.0.1:${tc.sipPort}`,
          digits: '1',
          holdMs: 28_000,
          sipPort: 36700 + i,
          mediaPort: 36800 + i * 10,
          caller: `1555000${i}`,
        }),
      );
      await new Promise((r) => setTimeout(r, 400));
    }
    // Up: level 3 reached, with the three levels' actions taken.
    await page.waitForSelector('[data-plan="sales"] [data-field="level"][data-level="3"]', { timeout: 30_000 });
    await page.waitForSelector('.alert.red[data-rule="sales-waiting"]', { timeout: 5_000 });
    expect((await api('/api/v1/floor/diversions/main')).status).toBe(200);
    const actionsOnBoard = await page.locator('[data-plan="sales"] li').allTextContents();
    expect(actionsOnBoard).toEqual([
      'L1: log in standby agent 1004 with operator, sales, support',
      'L2: lend agent 1003 of helpers the skill sales',
      'L3: divert IVR flow main',
    ]);
    expect(await page.locator('[data-field="diversions"]').textContent()).toContain('main');
    await page.screenshot({ path: join(SHOTS, 'wallboard-red.png') });
    const up = await floorEvents();
    const actions = up.filter((e) => e.type === 'surge.action').map((e) => [e.detail.level, e.detail.description, e.detail.ok]);
    expect(actions).toEqual([
      [1, 'log in standby agent 1004 with operator, sales, support', true],
      [2, 'lend agent 1003 of helpers the skill sales', true],
      [3, 'divert IVR flow main', true],
    ]);
    expect(up.filter((e) => e.type === 'alert.raised').at(-1)?.detail).toMatchObject({
      level: 'red',
      rule: 'sales-waiting',
      scope: 'queue:sales',
    });

    // Supervisor controls on a waiting caller (the count of waiting callers does not change).
    const waiting = tc.centre.acd.snapshot().calls.filter((c) => c.state === 'waiting');
    expect(waiting.length).toBeGreaterThanOrEqual(3);
    const last = waiting.at(-1)!;
    expect((await post(`/api/v1/supervisor/calls/${last.callId}/priority`, { priority: 50 })).status).toBe(200);
    expect(tc.centre.acd.callView(last.callId)?.priority).toBe(50);
    expect(tc.centre.acd.callView(last.callId)?.position).toBe(1);
    const other = waiting.at(-2)!;
    expect((await post(`/api/v1/supervisor/calls/${other.callId}/head`, {})).status).toBe(200);
    expect(tc.centre.acd.callView(other.callId)?.position).toBe(1);
    expect((await post(`/api/v1/supervisor/calls/${other.callId}/priority`, { priority: 500 })).status).toBe(400);

    // Down: the callers hang up; the alert clears and every action is reversed, last first.
    for (const c of calls) await c.done;
    await page.waitForSelector('[data-plan="sales"] [data-field="level"][data-level="0"]', { timeout: 30_000 });
    expect(await page.locator('.alert').count()).toBe(0);
    expect((await api('/api/v1/floor/diversions/main')).status).toBe(404);
    const all = await floorEvents();
    expect(all.filter((e) => e.type === 'alert.cleared').at(-1)?.detail).toMatchObject({ level: null });
    expect(all.filter((e) => e.type === 'surge.reversed').map((e) => [e.detail.level, e.detail.description, e.actor])).toEqual([
      [3, 'divert IVR flow main', 'system'],
      [2, 'lend agent 1003 of helpers the skill sales', 'system'],
      [1, 'log in standby agent 1004 with operator, sales, support', 'system'],
    ]);
    // Every alert change the board showed is a level of the one rule, in order of severity up then down.
    const levels = all.filter((e) => e.type.startsWith('alert.')).map((e) => `${e.type.slice(6)}:${String(e.detail.level)}`);
    expect(levels.at(-1)).toBe('cleared:null');
    expect(levels).toContain('raised:red');
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'logged-out', {
      timeoutMs: 30_000,
      what: '1004 logged out after the surge',
    });
    await page.screenshot({ path: join(SHOTS, 'wallboard-surge.png') });
  });

  it("the board's figures equal the reports API for the board's period", async () => {
    await tc.centre.store.flush();
    // Let the board recompute after the last events reached Postgres.
    const after = Date.now();
    await page.waitForFunction((t) => Number(document.body.dataset.at) > t + 1500, after, { timeout: 15_000 });
    // The period of the board on the page: [midnight, the board's time).
    const q = (await page.evaluate(() => document.body.dataset.reportQuery))!;
    expect(q).toMatch(/^from=.*&to=.*&slThresholds=20%2C30$/);
    const queues = (await (await api(`/api/v1/reports/queues?${q}`, { headers: SUP })).json()) as { rows: Record<string, unknown>[] };
    const centre = (await (await api(`/api/v1/reports/centre?${q}`, { headers: SUP })).json()) as { rows: Record<string, unknown>[] };
    const agents = (await (await api(`/api/v1/reports/agents?${q}`, { headers: SUP })).json()) as { rows: Record<string, unknown>[] };
    const sales = queues.rows.find((r) => r.key === 'sales')!;
    const sl = (row: Record<string, unknown>, t: number) =>
      (row.serviceLevels as { thresholdSec: number; value: number | null }[]).find((f) => f.thresholdSec === t)?.value ?? null;
    const onBoard = async (sel: string) => {
      const v = await page.locator(sel).getAttribute('data-value');
      return v === '' || v === null ? null : Number(v);
    };
    expect(sales.offered).toBe(8);
    const got = {
      offered: await onBoard('[data-queue="sales"] [data-field="offered"]'),
      answered: await onBoard('[data-queue="sales"] [data-field="answered"]'),
      abandoned: await onBoard('[data-queue="sales"] [data-field="abandoned"]'),
      answerRate: await onBoard('[data-queue="sales"] [data-field="answerRate"]'),
      asaSec: await onBoard('[data-queue="sales"] [data-field="asaSec"]'),
      ahtSec: await onBoard('[data-queue="sales"] [data-field="ahtSec"]'),
      sl20: await onBoard('[data-queue="sales"] [data-field="sl20"]'),
      answer30: await onBoard('[data-queue="sales"] [data-field="answer30"]'),
      centreOffered: await onBoard('[data-scope="centre"] [data-field="offered"]'),
      connectRate: await onBoard('[data-scope="centre"] [data-field="connectRate"]'),
      handled1001: await onBoard('tr[data-agent="1001"] [data-field="handled"]'),
      occupancy1001: await onBoard('tr[data-agent="1001"] [data-field="occupancy"]'),
    };
    const a1001 = agents.rows.find((r) => r.key === '1001')!;
    const want = {
      offered: sales.offered,
      answered: sales.answered,
      abandoned: sales.abandoned,
      answerRate: sales.answerRate,
      asaSec: sales.asaSec,
      ahtSec: sales.ahtSec,
      sl20: sl(sales, 20),
      answer30: sl(sales, 30),
      centreOffered: centre.rows[0]!.offered,
      connectRate: centre.rows[0]!.connectRate,
      handled1001: a1001.handled,
      occupancy1001: a1001.occupancy,
    };
    console.log('board vs reports', JSON.stringify(got));
    expect(got).toEqual(want);
    expect(got.answered).toBeGreaterThanOrEqual(3);
  });

  it("an agent's call for help pops up on the board", async () => {
    const login = await api('/api/v1/agent/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent: '1003', password: 'carol1003' }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    expect((await post('/api/v1/agent/help', { note: 'angry caller' }, {})).status).toBe(401);
    expect((await post('/api/v1/agent/help', { note: 'angry caller' }, { authorization: `Bearer ${token}` })).status).toBe(202);
    const box = page.locator('#help .helpbox[data-agent="1003"]');
    await box.waitFor({ timeout: 10_000 });
    expect(await box.textContent()).toContain('angry caller');
    await page.screenshot({ path: join(SHOTS, 'wallboard-help.png') });
    await box.locator('button').click();
    await box.waitFor({ state: 'detached', timeout: 10_000 });
    // Large-screen mode: the button toggles it (keyboard too: it is a button), bigger type.
    // Read in one page task: a pushed update re-renders the tile, and a locator's element can be
    // detached between resolving and evaluating (a detached element's computed fontSize is '', NaN).
    const waitingFontSize = (): Promise<number> =>
      page.evaluate(() => {
        const e = document.querySelector('[data-queue="sales"] [data-field="waiting"]');
        return e ? parseFloat(getComputedStyle(e).fontSize) : NaN;
      });
    const before = await waitingFontSize();
    expect(before).toBeGreaterThan(0);
    await page.focus('#wall');
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('#wall', 'aria-pressed')).toBe('true');
    const after = await waitingFontSize();
    expect(after).toBeGreaterThan(before * 1.4);
    await page.screenshot({ path: join(SHOTS, 'wallboard-wall.png') });
  });
});

describe('metrics', () => {
  it('every metric the Grafana dashboard plots is on /metrics', async () => {
    const text = await (await api('/metrics')).text();
    expect(text).toMatch(/^acd_queue_waiting\{queue="sales"\} \d+$/m);
    expect(text).toMatch(/^floor_alert_level\{rule="sales-waiting",metric="waiting",scope="queue:sales"\} 0$/m);
    expect(text).toMatch(/^floor_surge_level\{plan="sales",queue="sales"\} 0$/m);
    const dash = JSON.parse(readFileSync('docs/grafana/callcentre-floor.json', 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const names = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(?:acd|floor|sip|cc)_[a-z_]+/g) ?? [])));
    expect(names.size).toBeGreaterThan(10);
    // Registered (a labelled counter has no sample before its first event, e.g. acd_exits_total).
    for (const n of names) expect(text, n).toMatch(new RegExp(`^# TYPE ${n.replace(/_bucket$/, '')} `, 'm'));
  });
});
