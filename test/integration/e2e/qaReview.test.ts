/**
 * Quality assurance end to end: a real call (sipp caller → IVR → queue → baresip desk phone as
 * agent 1004, the caller holding for 3 s mid-call) is recorded; the centre's analytics worker
 * analyses the recording after the call (both sides sent tones the whole time: heavy overtalk, so
 * the flag rule routes it to the review queue; the hold comes from the event log). Then in headless
 * Chromium a QA reviewer (9002) signs in to /qa.html, finds the call, plays it (the audio element's
 * currentTime advances), comments at the playhead and scores it on the configured form. The agent
 * sees the score through the agent API (Bearer session) and acknowledges the coaching item; the
 * score is in the QA reports API; every step is in the audit log.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { launchBrowser, writeToneWav } from '../../support/browser.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';

let tc: TestCentre;
let phone: DeskPhone | undefined;
let browser: Browser | undefined;

const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
const QA = basic('9002', 'quinn9002');

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 37060, http: 37080, pg: 37433, rtc: 37200 },
    { edits: { 'qa.yaml': [['scanSec: 15', 'scanSec: 0.5']] } },
  );
  phone = await startDeskPhone({
    dir: join(tc.dataDir, 'baresip'),
    user: '1004',
    password: 'dave1004',
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: 37500,
    rtpPorts: [37600, 37700],
    toneHz: 600,
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await phone?.stop();
  await tc?.stop();
});

describe('QA review of a real call', () => {
  it('analysed and flagged after the call; scored in the workspace; acknowledged by the agent; reported', async () => {
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: 'agent 1004 available' });
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      toneHz: 1000,
      holdMs: 10_000,
      hold: { afterMs: 3000, forMs: 3000 },
      sipPort: 37501,
      mediaPort: 37520,
      caller: '15550180',
    });
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'wrap-up', { timeoutMs: 5000, what: 'wrap-up' });
    tc.centre.acd.endWrapUp('1004');
    await tc.centre.store.flush();

    // The worker (scanSec 0.5) analyses the finished recording on its own.
    const pool = tc.centre.store.pool;
    const row = await waitFor(
      async () =>
        (
          await pool.query<{ contact_id: string; detail: { analytics: Record<string, number> }; flags: string[]; error: string | null }>(
            'SELECT * FROM qa_analytics',
          )
        ).rows[0],
      { timeoutMs: 20_000, what: 'the QA analytics of the recording' },
    );
    expect(row.error).toBeNull();
    const a = row.detail.analytics;
    // Tones both ways the whole call: both sides talk about half the time each, overtalk nearly
    // everywhere outside the hold; the hold (3 s, from hold.start/hold.end) is set apart.
    expect(a.holdSec).toBeGreaterThan(2.4);
    expect(a.holdSec).toBeLessThan(3.6);
    expect(a.callerShare).toBeGreaterThan(0.35);
    expect(a.callerShare).toBeLessThan(0.65);
    expect(a.overtalkShare).toBeGreaterThan(0.6);
    expect(row.flags).toEqual(['heavy-overtalk']);
    const contactId = row.contact_id;
    const queue = (await pool.query<{ contact_id: string; source: string }>('SELECT * FROM qa_review_queue')).rows;
    expect(queue).toEqual([expect.objectContaining({ contact_id: contactId, source: 'flag' })]);

    // The search API finds it by flag; an agent's Basic credentials are refused.
    const api = (path: string, init: RequestInit = {}) => fetch(new URL(path, tc.httpUrl), init);
    const found = (await (await api('/api/v1/qa/calls?flag=heavy-overtalk', { headers: QA })).json()) as { calls: { contactId: string }[] };
    expect(found.calls.map((c) => c.contactId)).toEqual([contactId]);
    expect(((await api('/api/v1/qa/calls?flag=low-csat', { headers: QA }).then((x) => x.json())) as { calls: unknown[] }).calls).toEqual(
      [],
    );
    expect((await api('/api/v1/qa/calls', { headers: basic('1004', 'dave1004') })).status).toBe(403);

    // The reviewer's workspace in headless Chromium.
    browser = await launchBrowser(writeToneWav(join(tc.dataDir, 'mic'), 440));
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(new URL('/qa.html', tc.httpUrl).toString());
    await page.fill('#qa-user', '9002');
    await page.fill('#qa-password', 'quinn9002');
    await page.click('#qa-login button[type=submit]');
    await page.selectOption('#s-flag', 'heavy-overtalk');
    await page.click('#qa-search button[type=submit]');
    await page.waitForSelector(`tr[data-contact="${contactId}"]`, { timeout: 10_000 });
    await page.click(`tr[data-contact="${contactId}"] button`);
    await page.waitForFunction(() => document.querySelector<HTMLAudioElement>('#qa-audio')!.src.startsWith('blob:'), null, {
      timeout: 10_000,
    });
    await page.waitForSelector('#qa-timeline li', { timeout: 5000 });
    const timeline = await page.locator('#qa-timeline li strong').allTextContents();
    expect(timeline).toEqual(
      expect.arrayContaining(['contact.arrived', 'queue.enter', 'queue.connect', 'hold.start', 'hold.end', 'call.end']),
    );
    // Play with the keyboard (space on the waveform) and check the audio really plays.
    await page.focus('#qa-wave');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelector<HTMLAudioElement>('#qa-audio')!.currentTime > 1.5, null, { timeout: 10_000 });
    const duration = await page.evaluate(() => document.querySelector<HTMLAudioElement>('#qa-audio')!.duration);
    expect(duration).toBeGreaterThan(5);
    await page.fill('#qa-comment-text', 'Both talking at once here');
    await page.click('#qa-comment button[type=submit]');
    await page.waitForSelector('#qa-comments li', { timeout: 5000 });
    // Answers: everything full marks except "anything else" (No): closing = (1 + 0) / 2, so
    // 20·1 + 50·1 + 30·0.5 = 85: a pass (mark 80), and "more" a failed item.
    const full: Record<string, string> = {
      greeting: '1',
      verify: 'na',
      need: '2',
      accurate: '5',
      hold: '1',
      card: '1',
      summary: '2',
      more: '0',
    };
    for (const [item, v] of Object.entries(full)) await page.check(`input[name="${item}"][value="${v}"]`);
    await page.fill('#qa-notes', 'Let the caller finish before answering; ask whether there is anything else.');
    await page.click('#qa-score button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#qa-score-result')!.textContent.startsWith('Scored'), null, {
      timeout: 10_000,
    });
    expect(await page.textContent('#qa-score-result')).toBe('Scored 85: pass (review)');
    await page.evaluate(() => document.querySelector('#qa-call')!.scrollIntoView());
    await page.screenshot({ path: join(tc.dataDir, 'qa-workspace.png'), fullPage: false });
    if (process.env.QA_SCREENSHOT) await page.screenshot({ path: process.env.QA_SCREENSHOT, fullPage: false });
    expect(statSync(join(tc.dataDir, 'qa-workspace.png')).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);

    // The agent sees the result on their own session and acknowledges the coaching item.
    const login = (await (
      await api('/api/v1/agent/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agent: '1004', password: 'dave1004' }),
      })
    ).json()) as { token: string };
    const bearer = { authorization: `Bearer ${login.token}` };
    const mine = (await (await api('/api/v1/agent/qa', { headers: bearer })).json()) as {
      evaluations: { contactId: string; score: number; passed: boolean; comments: { text: string }[] }[];
      coaching: { id: number; notes: string; acknowledgedAt: string | null }[];
    };
    expect(mine.evaluations).toEqual([expect.objectContaining({ contactId, score: 85, passed: true })]);
    expect(mine.coaching).toEqual([expect.objectContaining({ notes: expect.stringMatching(/anything else/), acknowledgedAt: null })]);
    const ack = await api(`/api/v1/agent/qa/coaching/${mine.coaching[0]!.id}/ack`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: 'Understood' }),
    });
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as { coaching: { acknowledgedAt: string | null } }).coaching.acknowledgedAt).not.toBeNull();
    // Without a session: 401; someone else's item: 404.
    expect((await api('/api/v1/agent/qa')).status).toBe(401);
    expect((await api('/api/v1/agent/qa/coaching/999999/ack', { method: 'POST', headers: bearer })).status).toBe(404);

    // The score is in the QA reports (per agent and per queue).
    const rep = (await (await api('/api/v1/qa/reports/agents?from=today&to=tomorrow', { headers: QA })).json()) as {
      rows: { key: string; evaluations: number; averageScore: number; passRate: number; itemFailures: { item: string }[] }[];
    };
    expect(rep.rows).toEqual([expect.objectContaining({ key: '1004', evaluations: 1, averageScore: 85, passRate: 1 })]);
    expect(rep.rows[0]!.itemFailures.map((f) => f.item)).toEqual(['more']);
    const csv = await (await api('/api/v1/qa/reports/queues?from=today&to=tomorrow&format=csv', { headers: QA })).text();
    expect(csv.split('\r\n')[1]).toMatch(/,sales,1,85,1,1,0,/);

    // Calibration: the supervisor scores the same call (full marks: 100); it counts as a second
    // opinion, not a second review, and the spread (100 − 85) is shown.
    const SUP = basic('9001', 'sam9001');
    const nums = Object.fromEntries(Object.entries(full).map(([k, v]) => [k, v === 'na' ? 'na' : Number(v)]));
    const json = { 'content-type': 'application/json' };
    const second = await api(`/api/v1/qa/calls/${contactId}/evaluations`, {
      method: 'POST',
      headers: { ...SUP, ...json },
      body: JSON.stringify({
        answers: { ...Object.fromEntries(Object.entries(full).map(([k, v]) => [k, v === 'na' ? 'na' : Number(v)])), more: 1 },
      }),
    });
    expect(second.status).toBe(201);
    const cal = (await second.json()) as {
      evaluation: { kind: string; score: number };
      calibration: { spread: number; disagreements: { item: string }[] };
    };
    expect(cal.evaluation).toMatchObject({ kind: 'calibration', score: 100 });
    expect(cal.calibration.spread).toBe(15);
    expect(cal.calibration.disagreements.map((d) => d.item)).toEqual(['more']);
    // Bad answers are a 400 naming the item; N/A where the form forbids it too.
    const bad = await api(`/api/v1/qa/calls/${contactId}/evaluations`, {
      method: 'POST',
      headers: { ...SUP, ...json },
      body: JSON.stringify({ answers: { ...nums, greeting: 'na' } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/greeting: N\/A is not allowed/);
    // The reviewer corrects their score (accurate 5 → 4: handling (2 + 2.4 + 1 + 1) / 7, total
    // 20 + 45.71 + 15 = 80.71); only its reviewer may.
    const evId = (await pool.query<{ id: string }>("SELECT id FROM qa_evaluations WHERE kind = 'review'")).rows[0]!.id;
    const answers = { ...nums, accurate: 4 };
    expect(
      (await api(`/api/v1/qa/evaluations/${evId}`, { method: 'PUT', headers: { ...SUP, ...json }, body: JSON.stringify({ answers }) }))
        .status,
    ).toBe(403);
    const fixed = await api(`/api/v1/qa/evaluations/${evId}`, {
      method: 'PUT',
      headers: { ...QA, ...json },
      body: JSON.stringify({ answers }),
    });
    expect(((await fixed.json()) as { evaluation: { score: number } }).evaluation.score).toBe(80.71);
    const rep2 = (await (await api('/api/v1/qa/reports/centre?from=today&to=tomorrow', { headers: QA })).json()) as {
      rows: { evaluations: number; averageScore: number; calibration: { calls: number; meanSpread: number } }[];
    };
    expect(rep2.rows[0]).toMatchObject({ evaluations: 1, averageScore: 80.71, calibration: { calls: 1, meanSpread: 19.29 } });

    // Audited: the flag, the score, the comment, the acknowledgement.
    await tc.centre.store.flushAudit();
    const audit = await tc.centre.store.listAudit({ action: 'qa' });
    const actions = audit.map((x) => x.action);
    for (const want of ['qa.flag', 'qa.score', 'qa.comment', 'qa.coaching.ack', 'qa.rescore']) expect(actions).toContain(want);
    expect(audit.find((x) => x.action === 'qa.score')).toMatchObject({ actor: '9002', target: contactId });
    expect(audit.find((x) => x.action === 'qa.rescore')?.detail).toMatchObject({ before: { score: 85 }, after: { score: 80.71 } });
  }, 120_000);
});
