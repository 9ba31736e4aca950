/**
 * Listen / whisper / barge from the supervisor REST API (server/http/supervisor.ts), through real
 * peers: sipp as the caller (697 Hz), baresip desk phones as agent 1001 (1209 Hz) and supervisor
 * 9001 (1477 Hz). The supervisor acts with HTTP Basic; what each party hears is captured off
 * loopback with tcpdump and judged by Goertzel, as in conference.test.ts; every action is audited.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../../server/call/call.ts';
import { monitorOf } from '../../../server/call/monitor.ts';
import { placeDemoCall, type DemoCall } from '../../../server/call/demoCaller.ts';
import type { Browser } from 'playwright-core';
import { launchBrowser, writeToneWav } from '../../support/browser.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { listenPhase, off, on, show, type Heard, type PortRanges } from '../../support/tones.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';

const CALLER = 697;
const A = 1209;
const SUP = 1477;
const FREQS = [CALLER, A, SUP];
const RANGES = { a: [40300, 40319], sup: [40340, 40359] } as const;

let tc: TestCentre;
const phones: DeskPhone[] = [];
const calls: DemoCall[] = [];
let browser: Browser | undefined;
const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
const SUPERVISOR = basic('9001', 'sam9001');
const AGENT = basic('1001', 'alice1001');

const phone = (
  user: string,
  password: string,
  port: number,
  rtp: readonly [number, number],
  hz: number,
  answermode: 'auto' | 'manual' = 'auto',
) =>
  startDeskPhone({
    answermode,
    dir: join(tc.dataDir, `baresip-${user}-${answermode}`),
    user,
    password,
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: port,
    rtpPorts: [rtp[0], rtp[1]],
    toneHz: hz,
  });

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 40210, http: 40220, pg: 40230, rtc: 40600 },
    {
      env: { CC_RTP_MIN_PORT: '40800', CC_RTP_MAX_PORT: '40999' },
      edits: { 'centre.yaml': [['\ntrunks:\n', '\nfloor:\n  boardRefreshSec: 1\n  monitorRingSec: 3\n\ntrunks:\n']] },
    },
  );
  phones.push(await phone('1001', 'alice1001', 40291, RANGES.a, A));
});
afterAll(async () => {
  await browser?.close();
  for (const c of calls) c.stop();
  for (const p of phones) await p.stop();
  await tc?.stop();
});

const post = async (path: string, body: unknown, headers: Record<string, string> = SUPERVISOR) => {
  const r = await fetch(new URL(path, tc.httpUrl), {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

/** Listen to every party for `ms` and judge what each heard (test/support/tones.ts). */
const phase = (ranges: PortRanges, ms?: number): Promise<Heard> => listenPhase(ranges, FREQS, ms);

describe('listen / whisper / barge over the supervisor API', () => {
  it('a supervisor listens, whispers, barges and stops by REST; agents are refused; every step is audited', async () => {
    const started = Date.now();
    await waitFor(() => tc.centre.acd.agentView('1001')?.state === 'available', { timeoutMs: 15_000, what: 'agent 1001 available' });
    calls.push(
      placeDemoCall({
        target: `127.0.0.1:${tc.sipPort}`,
        digits: '1',
        toneHz: CALLER,
        holdMs: 60_000,
        sipPort: 40240,
        mediaPort: 40250,
        caller: '15550401',
      }),
    );
    await waitFor(() => tc.centre.acd.agentView('1001')?.state === 'on-call', { timeoutMs: 20_000, what: 'agent 1001 to answer' });
    const call: Call = [...tc.centre.calls.values()].find((c) => c.caller === '15550401')!;
    expect(call.phase).toBe('connected');
    const url = `/api/v1/supervisor/calls/${call.contactId}/monitor`;
    const ranges = { caller: [40250, 40250] as const, a: RANGES.a, sup: RANGES.sup };

    // Refusals, none of which touches the call.
    expect((await post(url, { mode: 'listen' }, AGENT)).status).toBe(403);
    expect((await post(`${url}/stop`, {}, AGENT)).status).toBe(403);
    expect((await post(url, { mode: 'listen' }, {})).status).toBe(401);
    expect((await post(url, { mode: 'shout' })).status).toBe(400);
    expect((await post('/api/v1/supervisor/calls/no-such-call/monitor', { mode: 'listen' })).status).toBe(404);
    expect((await post(`${url}/stop`, {})).status).toBe(409); // not monitored
    const unregistered = await post(url, { mode: 'listen' }); // 9001 has no phone registered yet
    expect(unregistered.status, JSON.stringify(unregistered.body)).toBe(409);
    expect(String(unregistered.body.error)).toMatch(/not registered/);
    expect(monitorOf(call)).toBeUndefined();

    // A phone that rings and is never answered: the request gives up after floor.monitorRingSec (3 s here).
    const unanswered = await phone('9001', 'sam9001', 40298, [40360, 40379], SUP, 'manual');
    let t0 = Date.now();
    const noAnswer = await post(url, { mode: 'listen' });
    console.log(`[monitor] unanswered phone: ${noAnswer.status} after ${Date.now() - t0} ms`);
    await unanswered.stop();
    expect(noAnswer.status, JSON.stringify(noAnswer.body)).toBe(409);
    expect(String(noAnswer.body.error)).toMatch(/did not answer within 3 s/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2900);
    expect(monitorOf(call)).toBeUndefined();

    phones.push(await phone('9001', 'sam9001', 40297, RANGES.sup, SUP));
    t0 = Date.now();
    const listen = await post(url, { mode: 'listen' });
    console.log(`[monitor] listen joined in ${Date.now() - t0} ms`);
    expect(listen.status, JSON.stringify(listen.body)).toBe(200);
    expect(monitorOf(call)).toMatchObject({ supervisorId: '9001', mode: 'listen' });
    let r = await phase(ranges);
    console.log('[monitor] listen', show(r));
    expect(on(r.sup![CALLER]) && on(r.sup![A]), show(r)).toBe(true);
    expect(off(r.caller![SUP]) && off(r.a![SUP]), show(r)).toBe(true);
    expect(on(r.caller![A]) && on(r.a![CALLER]), show(r)).toBe(true);

    // Whisper from the wallboard, by keyboard: the agent's row shows Listen pressed; focus Whisper, Enter.
    browser = await launchBrowser(writeToneWav(tc.dataDir, 440));
    const ctx = await browser.newContext({
      httpCredentials: { username: '9001', password: 'sam9001' },
      viewport: { width: 1600, height: 1000 },
    });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.error('[wallboard]', e.message));
    await page.goto(new URL('/wallboard.html', tc.httpUrl).toString());
    await page.waitForSelector('[data-agent="1001"] [data-mode="listen"][aria-pressed="true"]', { timeout: 15_000 });
    expect(await page.locator('[data-agent="1001"] .monitor button').allTextContents()).toEqual(['Listen', 'Whisper', 'Barge', 'Stop']);
    await page.locator('[data-key="1001:whisper"]').focus();
    t0 = Date.now();
    await page.keyboard.press('Enter');
    await waitFor(() => monitorOf(call)?.mode === 'whisper', { timeoutMs: 5000, what: 'whisper from the board' });
    console.log(`[monitor] whisper from the board in ${Date.now() - t0} ms`);
    await page.waitForSelector('[data-agent="1001"] [data-mode="whisper"][aria-pressed="true"]', { timeout: 5000 });
    // Focus survives the board's re-render (pushed every second).
    await new Promise((res) => setTimeout(res, 1500));
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.key)).toBe('1001:whisper');
    await page.locator('#agents').screenshot({ path: '/tmp/cc-wallboard-monitor.png' });
    console.log(`[monitor] screenshot ${'/tmp/cc-wallboard-monitor.png'}`);
    await ctx.close();
    r = await phase(ranges);
    console.log('[monitor] whisper', show(r));
    expect(on(r.a![SUP]), show(r)).toBe(true);
    expect(off(r.caller![SUP]), show(r)).toBe(true);
    expect(on(r.sup![CALLER]) && on(r.sup![A]) && on(r.caller![A]), show(r)).toBe(true);

    expect((await post(url, { mode: 'barge' })).status).toBe(200);
    r = await phase(ranges);
    console.log('[monitor] barge', show(r));
    expect(on(r.caller![SUP]) && on(r.a![SUP]) && on(r.caller![A]) && on(r.sup![A]) && on(r.sup![CALLER]), show(r)).toBe(true);

    expect((await post(`${url}/stop`, {})).status).toBe(200);
    expect(monitorOf(call)).toBeUndefined();
    r = await phase({ caller: ranges.caller, a: ranges.a });
    console.log('[monitor] stopped', show(r));
    expect(off(r.caller![SUP]) && off(r.a![SUP]), show(r)).toBe(true);
    expect(on(r.caller![A]) && on(r.a![CALLER]), show(r)).toBe(true);
    call.finish('system', 'test-over');

    await tc.centre.store.flushAudit();
    const audit = (await tc.centre.store.listAudit({ action: 'call.monitor', from: started - 1000 })).map((e) => [
      e.action,
      e.actor,
      e.target,
      e.detail.mode ?? null,
      e.detail.ok,
    ]);
    expect(audit).toEqual([
      ['call.monitor.stop', '9001', call.contactId, null, false],
      ['call.monitor', '9001', call.contactId, 'listen', false],
      ['call.monitor', '9001', call.contactId, 'listen', false],
      ['call.monitor', '9001', call.contactId, 'listen', true],
      ['call.monitor.mode', '9001', call.contactId, 'whisper', true],
      ['call.monitor.mode', '9001', call.contactId, 'barge', true],
      ['call.monitor.stop', '9001', call.contactId, null, true],
    ]);
  });
});
