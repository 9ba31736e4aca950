/**
 * The agent desktop's own panels end to end (issue 15): a real centre (embedded Postgres), sipp
 * callers and headless Chromium logged in as agent 1001 on the real page.
 *
 * - My day: after a call with a hold and a wrap-up with a disposition, and a second call that rang
 *   out once (RONA) before it was answered, the page's figures EQUAL the reports API's agent row
 *   for the page's own period (GET /api/v1/reports/agents?<the panel's query>), figure by figure;
 *   they arrive without a reload (the page only listens to its stream, never asks); agent 1001
 *   cannot read 1003's day and no one reads it without a session (401 / 403).
 * - Screen pop: the second call from the same number shows the first contact with its
 *   disposition and note, the caller's name, the queue, the IVR path, and the queue's knowledge card.
 * - QA: an evaluation made through the QA API shows on 1001's desk, and not on 1003's.
 */
import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { DAY_FIGURES } from '../../../server/http/agentDay.ts';
import { launchBrowser, loginAgent, waitForAgentState, waitForCallState, writeToneWav } from '../../support/browser.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';

const CALLER = '02079460123';
const SHOTS = process.env.HDAY_SHOTS ?? join(tmpdir(), 'cc-myday-shots');
mkdirSync(SHOTS, { recursive: true });

let tc: TestCentre;
let browser: Browser;
let page: Page;
let tokenA = '';
let tokenB = '';
/** Every request the desk page made (to prove the day is pushed, not fetched). */
const requests: string[] = [];

const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
const SUP = basic('9001', 'sam9001');
const api = (path: string, init: RequestInit = {}) => fetch(new URL(path, tc.httpUrl), init);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const post = (path: string, body: unknown, headers: Record<string, string>) =>
  api(path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function login(agent: string, password: string): Promise<string> {
  const r = await post('/api/v1/agent/login', { agent, password }, {});
  expect(r.status).toBe(200);
  return ((await r.json()) as { token: string }).token;
}

/** A figure as the page shows it: the raw value behind the formatted text. */
async function onPage(field: string): Promise<number | null> {
  const v = await page.locator(`#myday [data-field="${field}"]`).first().getAttribute('data-value');
  return v === '' || v === null ? null : Number(v);
}

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 21060, http: 21080, pg: 21433, rtc: 21100 },
    {
      edits: {
        // Plain RTP inside this file's port range (21000–21999), clear of mediasoup's 21100–21299.
        'centre.yaml': [
          ['rtpMinPort: 20000', 'rtpMinPort: 21600'],
          ['rtpMaxPort: 29999', 'rtpMaxPort: 21799'],
        ],
        // A short ring-no-answer, and a wrap-up long enough for the test to write its disposition.
        'queues.yaml': [
          ['offerTimeout: 15', 'offerTimeout: 4'],
          ['wrapUp: 10', 'wrapUp: 120'],
        ],
        // The outage card becomes the sales queue's own note (a card naming only queues shows on every call).
        'knowledge/outage.md': [
          ['  queues: [support]\n  ivr: { reason: outage }\n  words: [outage, no service, down]\n', '  queues: [sales]\n'],
          ['title: Known service outage', 'title: Sales desk note'],
        ],
      },
    },
  );
  browser = await launchBrowser(writeToneWav(tc.dataDir, 440));
});
afterAll(async () => {
  await browser?.close();
  await tc?.stop();
});

describe('agent desktop: My day, screen pop, QA results', () => {
  it('an agent reads only their own day', async () => {
    tokenA = await login('1001', 'alice1001');
    tokenB = await login('1003', 'carol1003');
    expect((await api('/api/v1/agent/day')).status).toBe(401);
    expect((await api('/api/v1/agent/day', { headers: SUP })).status).toBe(401);
    expect((await api('/api/v1/agent/day', { headers: bearer('not-a-token') })).status).toBe(401);
    expect((await api('/api/v1/agent/day?agent=1003', { headers: bearer(tokenA) })).status).toBe(403);
    expect((await api('/api/v1/agent/events/day?agent=1003', { headers: bearer(tokenA) })).status).toBe(403);
    expect((await api('/api/v1/agent/events/day')).status).toBe(401);
    const own = await api('/api/v1/agent/day?agent=1003', { headers: bearer(tokenB) });
    expect(own.status).toBe(200);
    expect(((await own.json()) as { agent: string }).agent).toBe('1003');
    const mine = (await (await api('/api/v1/agent/day', { headers: bearer(tokenA) })).json()) as {
      agent: string;
      figures: Record<string, number | null>;
      period: { reportQuery: string };
    };
    expect(mine.agent).toBe('1001');
    expect(mine.figures.handled).toBe(0);
    expect(mine.period.reportQuery).toMatch(/^from=.*&to=.*&key=1001$/);
    // The reports engine's rows are for report roles only; the agent API is the agent's way in.
    expect((await api(`/api/v1/reports/agents?${mine.period.reportQuery}`, { headers: bearer(tokenA) })).status).toBe(401);
  });

  it('My day and the screen pop follow the calls, pushed; the figures equal the reports API', async () => {
    page = await loginAgent(browser, tc.httpUrl, '1001', 'alice1001');
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    await page.waitForSelector('#myday[data-live="true"] [data-field="handled"][data-value="0"]', { timeout: 15_000 });
    expect(await page.isVisible('#screenpop')).toBe(false);
    await page.click('#ready');
    await waitForAgentState(page, 'available');

    // ---- Call 1: answered, held for 2 s, wrap-up with a disposition and a note. ----
    const call1 = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      holdMs: 16_000,
      sipPort: 21400,
      mediaPort: 21500,
      caller: CALLER,
    });
    await waitForCallState(page, 'ringing');
    await page.waitForSelector('#screenpop:not([hidden]) [data-field="queue"] dd:text("sales")', { timeout: 10_000 });
    expect(await page.textContent('#screenpop [data-field="caller"] dd')).toBe(CALLER);
    expect(await page.textContent('#screenpop .sp-history')).toContain('First contact');
    const contact1 = (await page.getAttribute('#screenpop', 'data-contact'))!;
    expect(contact1).toBeTruthy();
    await page.click('#answer');
    await waitForCallState(page, 'connected');
    await waitForAgentState(page, 'on-call');
    // On call: the pop stays, now with the final wait and the IVR path.
    await page.waitForSelector('#screenpop[data-state="on-call"] [data-field="wait"] dt:text("Waited")', { timeout: 5_000 });
    expect(await page.textContent('#screenpop [data-field="ivrPath"] dd')).toBe('hours → welcome → menu [1] → sales');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await post('/api/v1/agent/call/hold', {}, bearer(tokenA))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await post('/api/v1/agent/call/resume', {}, bearer(tokenA))).status).toBe(200);
    const r1 = await call1.done;
    expect(r1.code, r1.stderr.slice(-1500)).toBe(0);
    await waitForAgentState(page, 'wrap-up');
    // The pop stays through wrap-up (the agent writes notes with it in view).
    expect(await page.getAttribute('#screenpop', 'data-contact')).toBe(contact1);
    const atBefore = Number(await page.getAttribute('#myday', 'data-at'));
    const wrap = await post(
      `/api/v1/contacts/${contact1}/wrapup`,
      { disposition: 'quote', note: 'Quote for three handsets sent by email', endWrapUp: true },
      bearer(tokenA),
    );
    expect(wrap.status).toBe(201);
    await waitForAgentState(page, 'available');
    // Pushed: handled 1 on the page without a reload.
    await page.waitForSelector('#myday [data-field="handled"][data-value="1"]', { timeout: 10_000 });
    expect(Number(await page.getAttribute('#myday', 'data-at'))).toBeGreaterThan(atBefore);
    expect(await onPage('avgHoldSec')).toBeGreaterThanOrEqual(1.5);
    expect(await page.isVisible('#screenpop')).toBe(false);

    // The customer gets a name (the supervisor's CRM work), so the next pop greets them by it.
    const found = (await (await api(`/api/v1/customers?number=${CALLER}`, { headers: bearer(tokenA) })).json()) as {
      customers: { id: string }[];
    };
    expect(
      (
        await api(`/api/v1/customers/${found.customers[0]!.id}`, {
          method: 'PATCH',
          headers: { ...SUP, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Grace Hopper' }),
        })
      ).status,
    ).toBe(200);

    // ---- Call 2, same number: rings out once (RONA), then answered. ----
    const call2 = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      holdMs: 24_000,
      sipPort: 21401,
      mediaPort: 21510,
      caller: CALLER,
    });
    await waitForCallState(page, 'ringing');
    const history = `#screenpop .sp-history tr[data-contact="${contact1}"]`;
    await page.waitForSelector(history, { timeout: 10_000 });
    expect(await page.textContent(`${history} [data-field="disposition"]`)).toBe('quote');
    expect(await page.textContent(`${history} [data-field="note"]`)).toBe('Quote for three handsets sent by email');
    expect(await page.textContent(`${history} [data-field="agent"]`)).toBe('1001');
    expect(await page.textContent(`${history} [data-field="queue"]`)).toBe('sales');
    expect(await page.textContent('#screenpop [data-field="name"] dd')).toBe('Grace Hopper');
    expect(await page.textContent('#screenpop h2')).toBe(`Grace Hopper · ${CALLER}`);
    const card = page.locator('#screenpop .sp-card[data-card="outage"]');
    expect(await card.locator('summary').textContent()).toBe('Sales desk note');
    await card.locator('summary').click();
    await page.locator('#screenpop').screenshot({ path: join(SHOTS, 'screen-pop.png') });
    // Not answered: ring-no-answer after 4 s; the agent is set not ready (missed), the pop goes.
    await waitForAgentState(page, 'not-ready', 15_000);
    await waitForCallState(page, 'idle');
    await page.waitForSelector('#screenpop[hidden]', { state: 'attached', timeout: 5_000 });
    await page.waitForSelector('#myday [data-field="rona"][data-value="1"]', { timeout: 10_000 });
    await page.click('#ready');
    await waitForCallState(page, 'ringing');
    await page.click('#answer');
    await waitForAgentState(page, 'on-call');
    const r2 = await call2.done;
    expect(r2.code, r2.stderr.slice(-1500)).toBe(0);
    await waitForAgentState(page, 'wrap-up');
    await page.click('#endwrap');
    await waitForAgentState(page, 'available');
    await page.waitForSelector('#myday [data-field="handled"][data-value="2"]', { timeout: 10_000 });

    // The knowledge card's opening was counted (one click over the showings).
    const stats = (await (await api('/api/v1/knowledge/cards', { headers: SUP })).json()) as {
      cards: { id: string; shown: number; clicks: number }[];
    };
    expect(stats.cards.find((c) => c.id === 'outage')).toMatchObject({ clicks: 1 });

    // ---- The page's figures equal the reports API for the page's own period. ----
    // One reading of the panel (a later push could change it between two reads).
    const snap = await page.evaluate(() => {
      const root = document.getElementById('myday')!;
      const figures: Record<string, number | null> = {};
      for (const e of Array.from(root.querySelectorAll('[data-field]'))) {
        const v = e.getAttribute('data-value');
        figures[e.getAttribute('data-field')!] = v === '' || v === null ? null : Number(v);
      }
      const reasons = Array.from(root.querySelectorAll('tr[data-reason]')).map(
        (r) => [r.getAttribute('data-reason')!, Number(r.querySelector('[data-value]')!.getAttribute('data-value'))] as const,
      );
      return { query: root.dataset.reportQuery!, figures, reasons };
    });
    const q = snap.query;
    expect(q).toMatch(/^from=.*&to=.*&key=1001$/);
    const rep = (await (await api(`/api/v1/reports/agents?${q}`, { headers: SUP })).json()) as { rows: Record<string, unknown>[] };
    expect(rep.rows).toHaveLength(1);
    const row = rep.rows[0]!;
    const shown = [
      'handled',
      'ahtSec',
      'avgTalkSec',
      'avgHoldSec',
      'avgAcwSec',
      'occupancy',
      'rona',
      'rejected',
      'csatAverage',
      'loggedInSec',
      'readySec',
      'talkSec',
      'holdSec',
      'acwSec',
      'notReadySec',
    ];
    const got: Record<string, number | null> = {};
    const want: Record<string, unknown> = {};
    for (const f of shown) {
      got[f] = snap.figures[f] ?? null;
      want[f] = row[f];
    }
    console.log('My day on the page', JSON.stringify(got));
    expect(got).toEqual(want);
    expect(got).toMatchObject({ handled: 2, rona: 1, rejected: 0 });
    expect(got.holdSec).toBeGreaterThanOrEqual(1.5);
    expect(got.occupancy).toBeGreaterThan(0);
    // The API behind it gives every figure of the row, not only those on the page.
    const day = (await (await api('/api/v1/agent/day', { headers: bearer(tokenA) })).json()) as {
      figures: Record<string, number | null>;
      period: { reportQuery: string };
    };
    const rep2 = (await (await api(`/api/v1/reports/agents?${day.period.reportQuery}`, { headers: SUP })).json()) as {
      rows: Record<string, unknown>[];
    };
    for (const f of DAY_FIGURES) expect(day.figures[f], f).toEqual(rep2.rows[0]![f]);
    // Not ready split by reason: login, missed (RONA); the parts add up to the row's not-ready time.
    const reasons = snap.reasons;
    expect(reasons.map(([r]) => r).sort()).toEqual(['login', 'missed']);
    expect(Math.round(reasons.reduce((s, [, v]) => s + v, 0) * 1000)).toBe(Math.round(Number(row.notReadySec) * 1000));
    // Pushed, never polled: the page opened the day stream and did not fetch the day.
    expect(requests.filter((p) => p === '/api/v1/agent/day')).toEqual([]);
    // The state bars are drawn to scale (logged in is the whole bar; hold a sliver of it).
    const bars = await page.evaluate(() =>
      Object.fromEntries(
        Array.from(document.querySelectorAll('#myday tr')).map((tr) => [
          tr.querySelector('[data-field]')?.getAttribute('data-field') ?? tr.getAttribute('data-reason') ?? '',
          tr.querySelector<HTMLElement>('.md-bar span')?.offsetWidth ?? 0,
        ]),
      ),
    );
    // Logged in fills its track (whatever the column's width: the desk's third column is narrow).
    const track = await page.evaluate(() => {
      const td = document
        .querySelector<HTMLElement>('#myday [data-field="loggedInSec"]')
        ?.closest('tr')
        ?.querySelector<HTMLElement>('.md-bar');
      if (!td) return 0;
      const cs = getComputedStyle(td);
      return td.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    });
    expect(track).toBeGreaterThan(40);
    expect(bars.loggedInSec).toBeGreaterThanOrEqual(track * 0.95);
    expect(bars.holdSec).toBeLessThan(bars.loggedInSec! * 0.2);
    await page.locator('#myday').screenshot({ path: join(SHOTS, 'my-day.png') });
    expect(statSync(join(SHOTS, 'my-day.png')).size).toBeGreaterThan(5_000);
  });

  it("a QA evaluation shows on the agent's desk, not on another agent's", async () => {
    const calls = (await (await api(`/api/v1/reports/calls?from=today&to=tomorrow&agent=1001`, { headers: SUP })).json()) as {
      calls: { contactId: string }[];
    };
    const contactId = calls.calls[0]!.contactId;
    const answers = { greeting: 1, verify: 'na', need: 2, accurate: 5, hold: 1, card: 1, summary: 2, more: 0 };
    const ev = await post(
      `/api/v1/qa/calls/${contactId}/evaluations`,
      {
        answers,
        notes: 'Ask whether there is anything else before closing.',
        comments: [{ offsetMs: 83_500, text: 'Good hold etiquette' }],
      },
      SUP,
    );
    expect(ev.status, await ev.clone().text()).toBeLessThan(300);
    await page.click('#qaresults .qa-refresh');
    const item = page.locator(`#qaresults li[data-contact="${contactId}"]`);
    await item.waitFor({ timeout: 10_000 });
    expect(await item.locator('[data-field="score"]').getAttribute('data-value')).toBe('85');
    expect(await item.locator('[data-field="passed"]').textContent()).toBe('pass');
    expect(await item.textContent()).toContain('Standard call review');
    expect(await item.textContent()).toContain('1:23 Good hold etiquette');
    // Coaching (the reviewer's notes), acknowledged from the desk.
    const ack = item.locator('.qa-coaching button');
    if ((await ack.count()) > 0) {
      await ack.click();
      await item.locator('.qa-acked').waitFor({ timeout: 10_000 });
    }
    await page.locator('#qaresults').screenshot({ path: join(SHOTS, 'qa-results.png') });

    // Agent 1003: their own desk shows no review of 1001's call.
    const other = await loginAgent(browser, tc.httpUrl, '1003', 'carol1003');
    await other.waitForSelector('#qaresults[data-loaded]', { timeout: 10_000 });
    expect(await other.locator('#qaresults li[data-evaluation]').count()).toBe(0);
    expect(await other.textContent('#qaresults')).toContain('No reviews of your calls yet.');
    const theirs = (await (await api('/api/v1/agent/qa', { headers: bearer(tokenB) })).json()) as { evaluations: unknown[] };
    expect(theirs.evaluations).toEqual([]);
    await other.close();
  });
});
