/**
 * What happens to callers the first agent does not take: ring-no-answer moves the call to the
 * next agent (and the silent one to not-ready "missed"); a caller who hangs up while queued is an
 * abandon. Real sipp callers, real softphones in headless Chromium, real Postgres.
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { decodeG711 } from '../../../media/g711.ts';
import { rtpFromPcap } from '../../../media/pcap.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { envelopeFind, wavToMono8k } from '../../support/audio.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { launchBrowser, loginAgent, waitForAgentState, waitForCallState, writeToneWav } from '../../support/browser.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';

let tc: TestCentre;
let browser: Browser;

beforeAll(async () => {
  // Waiting callers hear their place in the queue every 3 s (30 s in the demo).
  tc = await startTestCentre({ sip: 15260, http: 18280, pg: 15633, rtc: 43000 }, { edits: { 'queues.yaml': [['announce: { period: 30 }', 'announce: { period: 3 }']] } });
  browser = await launchBrowser(writeToneWav(tc.dataDir, 440));
});
afterAll(async () => {
  await browser?.close();
  await tc?.stop();
});

const sinceStart = Date.now() - 60_000;
const eventsOf = async (contactId: string) =>
  (await tc.centre.store.events(sinceStart, Date.now() + 60_000)).filter((e) => e.contactId === contactId);

describe('queue outcomes', () => {
  it('ring-no-answer: the call goes to the next agent; the silent one becomes not-ready "missed"', async () => {
    const silent = await loginAgent(browser, tc.httpUrl, '1002', 'bob1002');
    await silent.click('#ready');
    await waitForAgentState(silent, 'available');
    // 1002 has been idle longest, so the ACD offers to 1002 first.
    await new Promise((r) => setTimeout(r, 300));
    const taker = await loginAgent(browser, tc.httpUrl, '1001', 'alice1001');
    await taker.click('#ready');
    await waitForAgentState(taker, 'available');

    const call = placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, digits: '1', holdMs: 26_000, sipPort: 15270, mediaPort: 16200, caller: '15550002' });
    await waitForCallState(silent, 'ringing', 20_000);
    expect(await taker.evaluate(() => (window as unknown as { cc: { callState: string } }).cc.callState)).toBe('idle');
    // sales rings for 15 s; then the call must come to 1001.
    await waitForCallState(taker, 'ringing', 25_000);
    await waitForCallState(silent, 'idle', 5_000);
    await waitForAgentState(silent, 'not-ready');
    expect(await silent.evaluate(() => (window as unknown as { cc: { reason: string } }).cc.reason)).toBe('missed');
    await taker.click('#answer');
    await waitForCallState(taker, 'connected');
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await waitForAgentState(taker, 'wrap-up');
    await taker.click('#endwrap');
    await waitForAgentState(taker, 'available');
    await tc.centre.store.flush();

    const cdr = (await tc.centre.store.calls({ from: sinceStart, to: Date.now() + 60_000 })).find((c) => c.caller === '15550002');
    expect(cdr).toMatchObject({ queue: 'sales', agentId: '1001', handled: true, rona: 1 });
    const ev = await eventsOf(cdr!.contactId);
    expect(ev.filter((e) => e.type === 'queue.offer').map((e) => (e as { agentId: string }).agentId)).toEqual(['1002', '1001']);
    expect(ev.find((e) => e.type === 'queue.rona')).toMatchObject({ agentId: '1002' });
    // Closing the desktop drops its WebSocket registration: the agent is logged out, so no more
    // calls are offered to a phone that is not there.
    await silent.close();
    await taker.close();
    const gone = () => ['1001', '1002'].every((id) => tc.centre.acd.agentView(id)?.state === 'logged-out');
    for (let i = 0; i < 50 && !gone(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(tc.centre.acd.agentView('1002')?.state).toBe('logged-out');
    expect(tc.centre.acd.agentView('1001')?.state).toBe('logged-out');
  });

  it('abandon: a queued caller hears their place in the queue, hangs up, and is recorded as abandoned', async () => {
    const away = await loginAgent(browser, tc.httpUrl, '1003', 'carol1003');
    await away.selectOption('#aux', 'break');
    await away.click('#notready');
    await waitForAgentState(away, 'not-ready');

    const cap = await captureUdp(16210);
    const call = placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, digits: '2', holdMs: 12_000, sipPort: 15271, mediaPort: 16210, caller: '15550003' });
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    // The announcement the centre spoke is in the TTS cache; the caller's audio must contain it.
    const ttsDir = tc.centre.config.server.ttsCacheDir;
    const spoken = readdirSync(ttsDir).filter((f) => f.endsWith('.wav'));
    expect(spoken.length).toBeGreaterThan(0);
    const heard = decodeG711('PCMU', Buffer.concat(rtpFromPcap(await cap.stop(), 16210).filter((p) => p.payloadType === 0).map((p) => p.payload)));
    const ref = wavToMono8k(readFileSync(join(ttsDir, spoken[0]!)));
    expect(envelopeFind(heard, ref)).toBeGreaterThan(0.8);
    // Sanity: the music on hold alone does not look like the announcement.
    const moh = wavToMono8k(readFileSync(join(tc.centre.config.dir, 'prompts', readdirSync(join(tc.centre.config.dir, 'prompts')).find((f) => /hold|moh|music/i.test(f))!)));
    expect(envelopeFind(moh, ref)).toBeLessThan(0.6);
    expect(await away.evaluate(() => (window as unknown as { cc: { callState: string } }).cc.callState)).toBe('idle');
    await new Promise((res) => setTimeout(res, 300));
    await tc.centre.store.flush();

    const cdr = (await tc.centre.store.calls({ from: sinceStart, to: Date.now() + 60_000 })).find((c) => c.caller === '15550003');
    expect(cdr).toMatchObject({ queue: 'support', outcome: 'abandoned', agentId: null, handled: false });
    expect(cdr!.waitSec).toBeGreaterThan(2);
    const ev = await eventsOf(cdr!.contactId);
    expect(ev.map((e) => e.type)).toEqual(expect.arrayContaining(['queue.enter', 'queue.abandon', 'call.end']));
    expect(ev.find((e) => e.type === 'call.end')).toMatchObject({ endedBy: 'caller' });
    expect(tc.centre.calls.size).toBe(0);
    await away.close();
  });

  it('wrong agent API calls get clear errors and change nothing', async () => {
    const post = async (path: string, body: string, token?: string) => {
      const r = await fetch(`${tc.httpUrl}api/v1/agent/${path}`, { method: 'POST', body, headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: r.status, body: (await r.json()) as { error?: string; token?: string } };
    };
    expect(await post('login', '{not json')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/JSON/) } });
    expect(await post('login', '{"agent":"1001"}')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/password/) } });
    expect(await post('login', '{"agent":"1001","password":"nope"}')).toMatchObject({ status: 401 });
    expect(await post('state', '{"state":"ready"}')).toMatchObject({ status: 401 });
    const { body } = await post('login', '{"agent":"1004","password":"dave1004"}');
    expect(await post('state', '{"state":"sleeping"}', body.token)).toMatchObject({ status: 400 });
    expect(await post('state', '{"state":"not-ready","reason":"nap"}', body.token)).toMatchObject({ status: 400, body: { error: expect.stringMatching(/unknown not-ready reason/) } });
    expect(await post('wrapup/end', '{}', body.token)).toMatchObject({ status: 409 });
    expect(await post('nowhere', '{}', body.token)).toMatchObject({ status: 404 });
    expect(tc.centre.acd.agentView('1004')?.state).toBe('not-ready');
    expect(await post('logout', '{}', body.token)).toMatchObject({ status: 200 });
    expect(await post('state', '{"state":"ready"}', body.token)).toMatchObject({ status: 401 });
  });

  it('a config edit while running: a broken edit changes nothing; a valid one adds an agent who can log in', async () => {
    const file = join(tc.centre.config.dir, 'agents.yaml');
    const login = (id: string, password: string) =>
      fetch(`${tc.httpUrl}api/v1/agent/login`, { method: 'POST', body: JSON.stringify({ agent: id, password }) }).then((r) => r.status);
    const until = async (cond: () => Promise<boolean>) => {
      for (let i = 0; i < 50 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 100));
    };
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('skills: { sales: 8 }', 'skills: { sales: 11 }')); // level out of range
    await new Promise((r) => setTimeout(r, 1500));
    expect(await login('1001', 'alice1001')).toBe(200); // the old version still runs
    writeFileSync(file, good);
    appendFileSync(file, '  - { id: "1005", name: Erin New, password: erin1005, skills: { sales: 4 } }\n');
    await until(async () => (await login('1005', 'erin1005')) === 200);
    expect(await login('1005', 'erin1005')).toBe(200);
    expect(tc.centre.acd.agentView('1005')?.state).toBe('not-ready');
  });
});
