/**
 * The work-orders page in headless Chromium against a real centre: a supervisor signs in, sees an
 * order an agent opened (through the REST API, as wrap-up does), opens it, moves it along the
 * configured transitions and comments; a change made elsewhere (another user's PATCH) reaches the
 * page by the push stream without a reload; a new order is created from the form. An agent's
 * wrong password is refused. A screenshot is kept for README.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, writeToneWav } from '../../support/browser.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';

let tc: TestCentre;
let browser: Browser;
beforeAll(async () => {
  tc = await startTestCentre({ sip: 16560, http: 19280, pg: 16433, rtc: 47000 });
  browser = await launchBrowser(writeToneWav(tc.dataDir, 440));
});
afterAll(async () => {
  await browser?.close();
  await tc?.stop();
});

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
async function api<T>(method: string, path: string, auth: string, body?: unknown): Promise<{ status: number; json: T }> {
  const r = await fetch(new URL(path, tc.httpUrl), {
    method,
    headers: { authorization: auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: (await r.json()) as T };
}
interface Wo {
  id: string;
  state: string;
  version: number;
  priority: string;
}

async function signIn(page: Page, user: string, password: string): Promise<void> {
  await page.goto(new URL('/workorders.html', tc.httpUrl).toString());
  await page.fill('#wo-user', user);
  await page.fill('#wo-password', password);
  await page.click('#wo-login button[type=submit]');
}

describe('the work-orders page', () => {
  it('lists, opens, moves and comments on orders; changes made elsewhere are pushed in; new ones are created', async () => {
    const alice = basic('1001', 'alice1001');
    const created = await api<Wo>('POST', '/api/v1/workorders', alice, {
      category: 'billing',
      priority: 'high',
      subject: 'Refund order 42',
      description: 'Charged twice',
    });
    expect(created.status).toBe(201);
    const id = created.json.id;

    // A wrong password stays on the sign-in form with the server's refusal.
    const wrong = await browser.newPage();
    await signIn(wrong, '1001', 'nope');
    await wrong.waitForFunction(() => (document.getElementById('wo-login-error')?.textContent ?? '').length > 0);
    expect(await wrong.isVisible('#wo-app')).toBe(false);
    await wrong.close();

    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('[page]', e.message));
    await signIn(page, '9001', 'sam9001');
    await page.waitForFunction(
      () =>
        (window as unknown as { wo: { live: boolean; pushes: number; list: { subject: string }[]; selected?: { state: string } } }).wo
          .live &&
        (window as unknown as { wo: { live: boolean; pushes: number; list: { subject: string }[]; selected?: { state: string } } }).wo.list
          .length > 0,
      null,
      { timeout: 10_000 },
    );
    expect(await page.textContent('#wo-rows')).toContain('Refund order 42');

    // Open it by keyboard and move it: open → in-progress (the configured transitions are the buttons).
    await page.focus(`#wo-rows tr[data-id="${id}"]`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((i) => (window as unknown as { wo: { selected?: { id: string } } }).wo.selected?.id === i, id);
    const moves = await page.$$eval('#wo-d-moves button', (bs) => bs.map((b) => (b as HTMLButtonElement).dataset.to));
    expect(moves).toEqual(['in-progress', 'resolved', 'closed']);
    await page.click('#wo-d-moves button[data-to="in-progress"]');
    await page.waitForFunction(
      () =>
        (window as unknown as { wo: { live: boolean; pushes: number; list: { subject: string }[]; selected?: { state: string } } }).wo
          .selected?.state === 'in-progress',
    );
    await page.fill('#wo-comment-text', 'Called the bank');
    await page.click('#wo-comment button[type=submit]');
    await page.waitForFunction(() => (document.getElementById('wo-d-history')?.textContent ?? '').includes('Called the bank'));
    const stored = await api<Wo & { history: { kind: string; actor: string }[] }>('GET', `/api/v1/workorders/${id}`, alice);
    expect(stored.json.state).toBe('in-progress');
    expect(stored.json.history.map((h) => h.actor)).toContain('9001');

    // Someone else raises the priority: the page learns it from the push stream, no reload.
    const pushesBefore = await page.evaluate(
      () =>
        (window as unknown as { wo: { live: boolean; pushes: number; list: { subject: string }[]; selected?: { state: string } } }).wo
          .pushes,
    );
    const patched = await api<Wo>('PATCH', `/api/v1/workorders/${id}`, alice, { priority: 'urgent', version: stored.json.version });
    expect(patched.status).toBe(200);
    await page.waitForFunction(
      (n) => {
        const w = (window as unknown as { wo: { pushes: number; selected?: { priority: string } } }).wo;
        return w.pushes > n && w.selected?.priority === 'urgent';
      },
      pushesBefore,
      { timeout: 5000 },
    );
    expect(await page.textContent('#wo-d-priority')).toBe('urgent');
    // A stale version is refused (409) and shown, nothing changes.
    const stale = await api<{ error: string }>('PATCH', `/api/v1/workorders/${id}`, alice, {
      priority: 'low',
      version: stored.json.version,
    });
    expect(stale.status).toBe(409);

    // A new order from the form.
    await page.fill('#n-subject', 'Broken router');
    await page.selectOption('#n-category', 'technical');
    await page.click('#wo-new button[type=submit]');
    await page.waitForFunction(() =>
      (
        window as unknown as { wo: { live: boolean; pushes: number; list: { subject: string }[]; selected?: { state: string } } }
      ).wo.list.some((o) => o.subject === 'Broken router'),
    );
    const list = await api<{ workOrders: (Wo & { subject: string; createdBy: string })[] }>('GET', '/api/v1/workorders?open=true', alice);
    expect(list.json.workOrders.find((o) => o.subject === 'Broken router')).toMatchObject({ createdBy: '9001', state: 'open' });

    await page.setViewportSize({ width: 1100, height: 900 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: 'docs/workorders.png' });
  });
});
