/**
 * What happens to callers the first agent does not take: ring-no-answer moves the call to the
 * next agent (and the silent one to not-ready "missed"); a caller who hangs up while queued is an
 * abandon. Real sipp callers, real softphones in headless Chromium, real Postgres.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { rtpFromPcap } from '../../../media/audio/pcap.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { composeAnnouncement, PositionAnnouncer } from '../../../server/ivr/announcement.ts';
import { EspeakTts } from '../../../server/ivr/tts.ts';
import { envelopeFind, wavToMono8k } from '../../support/audio.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { launchBrowser, loginAgent, waitForAgentState, waitForCallState, writeToneWav } from '../../support/browser.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';

let tc: TestCentre;
let browser: Browser;

// Shared state: one centre and one browser for the whole file. Each test logs in the agents it
// needs and leaves them logged out, and finds its own call by its own caller number, so the tests
// do not depend on each other's order or leftovers.
beforeAll(async () => {
  // Waiting callers hear their place in the queue every 3 s (30 s in the demo).
  tc = await startTestCentre(
    { sip: 15260, http: 18280, pg: 15633, rtc: 43000 },
    // Closed desktops are logged out once the reconnect grace is over (1 s here, 30 s by default).
    { edits: { 'queues.yaml': [['announce: { period: 30 }', 'announce: { period: 3 }']] }, reconnectGraceMs: 1000 },
  );
  browser = await launchBrowser(writeToneWav(tc.dataDir, 440));
});
afterAll(async () => {
  await browser?.close();
  await tc?.stop();
});

const sinceStart = Date.now() - 60_000;
const eventsOf = async (contactId: string) =>
  (await storedEvents(tc.centre.store, sinceStart, Date.now() + 60_000)).filter((e) => e.contactId === contactId);

describe('queue outcomes', () => {
  it('ring-no-answer: the call goes to the next agent; the silent one becomes not-ready "missed"', async () => {
    const silent = await loginAgent(browser, tc.httpUrl, '1002', 'bob1002');
    await silent.click('#ready');
    await waitForAgentState(silent, 'available');
    // 1002 must have been idle longest, so the ACD offers to 1002 first: 1001 gets ready only once
    // the clock has moved past 1002's ready time.
    const silentSince = tc.centre.acd.agentView('1002')!.since;
    await waitFor(() => Date.now() > silentSince, { timeoutMs: 1000, what: "the clock to pass 1002's ready time" });
    const taker = await loginAgent(browser, tc.httpUrl, '1001', 'alice1001');
    await taker.click('#ready');
    await waitForAgentState(taker, 'available');

    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      holdMs: 26_000,
      sipPort: 15270,
      mediaPort: 16200,
      caller: '15550002',
    });
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
    await waitFor(gone, { timeoutMs: 5000, what: 'both closed desktops to be logged out' });
    expect(tc.centre.acd.agentView('1002')?.state).toBe('logged-out');
    expect(tc.centre.acd.agentView('1001')?.state).toBe('logged-out');
  });

  it('abandon: a queued caller hears their place in the queue, hangs up, and is recorded as abandoned', async () => {
    const away = await loginAgent(browser, tc.httpUrl, '1003', 'carol1003');
    await away.selectOption('#aux', 'break');
    await away.click('#notready');
    await waitForAgentState(away, 'not-ready');

    const cap = await captureUdp(16210);
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '2',
      holdMs: 12_000,
      sipPort: 15271,
      mediaPort: 16210,
      caller: '02079460003',
    });
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    // The announcement is composed from parts rendered ahead (issue #17): the one caller is number 1
    // (an expected wait, if known, is a few minutes) and the demo's support queue offers a callback
    // with key 1 (issue #12). The part sequence is the pure composition; its audio, each part padded
    // to whole 20 ms frames as the RTP thread plays it, must be in what the caller heard.
    const announcer = new PositionAnnouncer(new EspeakTts({ cacheDir: tc.centre.config.server.ttsCacheDir }));
    await announcer.prepare();
    expect(composeAnnouncement({ position: 1, callbackKey: '1' })).toEqual([
      'you-are-number',
      'n1',
      'in-the-queue',
      'press-for-callback',
      'n1',
    ]);
    const audioOf = (files: string[]) => {
      const parts = files.map((f) => {
        const x = wavToMono8k(readFileSync(f));
        const padded = new Int16Array(Math.ceil(x.length / 160) * 160);
        padded.set(x);
        return padded;
      });
      const out = new Int16Array(parts.reduce((a, p) => a + p.length, 0));
      parts.reduce((off, p) => (out.set(p, off), off + p.length), 0);
      return out;
    };
    const heard = decodeG711(
      'PCMU',
      Buffer.concat(
        rtpFromPcap(await cap.stop(), 16210)
          .filter((p) => p.payloadType === 0)
          .map((p) => p.payload),
      ),
    );
    // The place ("You are number one in the queue"), then the rest (the caller may hang up during it).
    const ref = audioOf(announcer.files({ position: 1 })!);
    const whole = Math.max(
      ...[undefined, ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((m) => m * 60)].map((ewtSeconds) =>
        envelopeFind(heard, audioOf(announcer.files({ position: 1, ewtSeconds, callbackKey: '1' })!)),
      ),
    );
    expect(envelopeFind(heard, ref), `the place was not announced (whole announcement ${whole.toFixed(2)})`).toBeGreaterThan(0.8);
    // Sanity: the music on hold alone does not look like the announcement.
    const moh = wavToMono8k(
      readFileSync(
        join(
          tc.centre.config.dir,
          'prompts',
          readdirSync(join(tc.centre.config.dir, 'prompts')).find((f) => /hold|moh|music/i.test(f))!,
        ),
      ),
    );
    expect(envelopeFind(moh, ref)).toBeLessThan(0.6);
    expect(await away.evaluate(() => (window as unknown as { cc: { callState: string } }).cc.callState)).toBe('idle');
    // The caller's BYE ends the call in the centre; only then is its record complete.
    await waitFor(() => tc.centre.calls.size === 0, { timeoutMs: 5000, what: 'the centre to end the abandoned call' });
    await tc.centre.store.flush();

    const cdr = (await tc.centre.store.calls({ from: sinceStart, to: Date.now() + 60_000 })).find((c) => c.caller === '02079460003');
    expect(cdr).toMatchObject({ queue: 'support', outcome: 'abandoned', agentId: null, handled: false });
    expect(cdr!.waitSec).toBeGreaterThan(2);
    const ev = await eventsOf(cdr!.contactId);
    expect(ev.map((e) => e.type)).toEqual(expect.arrayContaining(['queue.enter', 'queue.abandon', 'call.end']));
    expect(ev.find((e) => e.type === 'call.end')).toMatchObject({ endedBy: 'caller' });
    expect(tc.centre.calls.size).toBe(0);
    await away.close();
  });

  it('a key pressed before the ACK arrives is kept for the menu, not lost', async () => {
    // The IVR starts when the ACK arrives; a slow ACK (lost once, or a loaded box) used to drop the
    // keys a caller typed ahead in between: the menu then timed out and sent them to the operator.
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      dialled: '200',
      keyBeforeAck: '1',
      holdMs: 4000,
      sipPort: 15272,
      mediaPort: 16220,
      caller: '02079460004',
    });
    let path = '';
    await waitFor(
      () => {
        const c = [...tc.centre.calls.values()].find((x) => x.caller === '02079460004');
        path = c?.ivr?.session.summary() ?? path;
        return path.includes('menu[1]');
      },
      { timeoutMs: 3500, what: "the menu to take the caller's early key" },
    ).catch((e: unknown) => {
      throw new Error(`${String(e)} (IVR path: ${path})`);
    });
    expect(path).toMatch(/welcome.*menu\[1\]/);
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await waitFor(() => tc.centre.calls.size === 0, { timeoutMs: 5000, what: 'the call to end' });
  });

  it('wrong agent API calls get clear errors and change nothing', async () => {
    const post = async (path: string, body: string, token?: string) => {
      const r = await fetch(`${tc.httpUrl}api/v1/agent/${path}`, {
        method: 'POST',
        body,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: r.status, body: (await r.json()) as { error?: string; token?: string } };
    };
    expect(await post('login', '{not json')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/JSON/) } });
    expect(await post('login', '{"agent":"1001"}')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/password/) } });
    expect(await post('login', '{"agent":"1001","password":"nope"}')).toMatchObject({ status: 401 });
    expect(await post('state', '{"state":"ready"}')).toMatchObject({ status: 401 });
    const { body } = await post('login', '{"agent":"1004","password":"dave1004"}');
    expect(await post('state', '{"state":"sleeping"}', body.token)).toMatchObject({ status: 400 });
    expect(await post('state', '{"state":"not-ready","reason":"nap"}', body.token)).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/unknown not-ready reason/) },
    });
    expect(await post('wrapup/end', '{}', body.token)).toMatchObject({ status: 409 });
    expect(await post('nowhere', '{}', body.token)).toMatchObject({ status: 404 });
    expect(tc.centre.acd.agentView('1004')?.state).toBe('not-ready');
    expect(await post('logout', '{}', body.token)).toMatchObject({ status: 200 });
    expect(await post('state', '{"state":"ready"}', body.token)).toMatchObject({ status: 401 });
  });

  it('a config edit while running: a broken edit is rejected and changes nothing; the fixed one takes effect', async () => {
    const file = join(tc.centre.config.dir, 'agents.yaml');
    const login = (id: string, password: string) =>
      fetch(`${tc.httpUrl}api/v1/agent/login`, { method: 'POST', body: JSON.stringify({ agent: id, password }) }).then((r) => r.status);
    // The watcher's verdicts as the centre publishes them on /metrics: a rejected edit sets
    // cc_config_invalid to 1 and counts result="invalid"; a good one counts result="ok".
    const metric = async (line: RegExp): Promise<number> => {
      const m = line.exec(await (await fetch(`${tc.httpUrl}metrics`)).text());
      return m ? Number(m[1]) : 0;
    };
    const invalidNow = () => metric(/^cc_config_invalid (\d+)$/m);
    const reloads = (result: 'ok' | 'invalid') => metric(new RegExp(`^cc_config_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm'));
    const good = readFileSync(file, 'utf8');
    const invalidBefore = await reloads('invalid');
    const okBefore = await reloads('ok');
    expect(await invalidNow()).toBe(0);

    // Were the broken edit taken, Alice's password would change and agent 1006 would exist; one
    // skill level out of range (max 10) must make the centre refuse all of it.
    const fay = '  - { id: "1006", name: Fay Broken, password: fay1006, skills: { sales: 4 } }\n';
    writeFileSync(
      file,
      good.replace('skills: { sales: 8 }', 'skills: { sales: 11 }').replace('password: alice1001', 'password: changed') + fay,
    );
    await waitFor(async () => (await invalidNow()) === 1 && (await reloads('invalid')) > invalidBefore, {
      timeoutMs: 15_000,
      what: 'the centre to reject the broken agents.yaml (cc_config_invalid 1)',
    });
    // The previous version stays in force: the old password works, the new one and 1006 do not.
    expect(await reloads('ok')).toBe(okBefore);
    expect(await login('1001', 'alice1001')).toBe(200);
    expect(await login('1001', 'changed')).toBe(401);
    expect(await login('1006', 'fay1006')).toBe(401);
    expect(tc.centre.acd.agentView('1006')).toBeUndefined();

    // The fixed edit: the original file plus agent 1005.
    writeFileSync(file, `${good}  - { id: "1005", name: Erin New, password: erin1005, skills: { sales: 4 } }\n`);
    await waitFor(async () => (await invalidNow()) === 0 && (await reloads('ok')) > okBefore, {
      timeoutMs: 15_000,
      what: 'the centre to take the fixed agents.yaml',
    });
    expect(await login('1005', 'erin1005')).toBe(200);
    expect(tc.centre.acd.agentView('1005')?.state).toBe('not-ready');
    expect(await login('1006', 'fay1006')).toBe(401);
    expect(await login('1001', 'changed')).toBe(401);
  });
});
