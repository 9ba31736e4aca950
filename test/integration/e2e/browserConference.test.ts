/**
 * A browser (WebRTC) agent in a mixed call, through real peers: headless Chromium on the real
 * agent desktop as agent A (1001, fake microphone at 1209 Hz), sipp as the carrier's caller (697
 * Hz), baresip desk phones as the consulted agent B (1003, 1336 Hz) and the supervisor (9001, 1477
 * Hz). The browser's leg joins the call's mix through a loopback tap (media/mediasoup/mixTap.ts).
 *
 * What the phones and the caller hear is captured off loopback (tcpdump) and what the browser
 * hears is recorded inside the page (WebAudio), over the same window; each is judged by Goertzel
 * (the median amplitude over 80 ms blocks, in G.711 units: test/support/tones.ts's on / off).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Call } from '../../../server/call/call.ts';
import { consultOf } from '../../../server/call/consult.ts';
import { monitor, setMonitorMode, stopMonitor } from '../../../server/call/monitor.ts';
import { placeDemoCall, type DemoCall } from '../../../server/call/demoCaller.ts';
import { goertzelPower } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { captureRemoteAudio, launchBrowser, loginAgent, waitForAgentState, waitForCallState, writeToneWav } from '../../support/browser.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { listenPhase, off, on, show, type Heard, type PortRanges } from '../../support/tones.ts';
import { waitFor } from '../../support/waitFor.ts';

const CALLER = 697;
const A = 1209;
const B = 1336;
const SUP = 1477;
const FREQS = [CALLER, A, B, SUP];
// This file's block: 12500–12999 (SIP, HTTP, Postgres, phones, sipp, mediasoup, RTP relays).
const RANGES = { b: [12560, 12579], sup: [12580, 12599] } as const;

let tc: TestCentre;
let browser: Browser;
let page: Page;
const phones: DeskPhone[] = [];
const calls: DemoCall[] = [];

interface Win {
  cc: { call?: { consult: string }; callState: string };
}

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 12500, http: 12510, pg: 12520, rtc: 12700 },
    { env: { CC_RTP_MIN_PORT: '12900', CC_RTP_MAX_PORT: '12999' } },
  );
  const phone = (user: string, password: string, port: number, rtp: readonly [number, number], hz: number) =>
    startDeskPhone({
      dir: join(tc.dataDir, `baresip-${user}`),
      user,
      password,
      registrar: `127.0.0.1:${tc.sipPort}`,
      listenPort: port,
      rtpPorts: [rtp[0], rtp[1]],
      toneHz: hz,
    });
  phones.push(await phone('1003', 'carol1003', 12530, RANGES.b, B));
  phones.push(await phone('9001', 'sam9001', 12533, RANGES.sup, SUP));
  browser = await launchBrowser(writeToneWav(tc.dataDir, A, 10));
  page = await loginAgent(browser, tc.httpUrl, '1001', 'alice1001');
  await page.click('#ready');
  await waitForAgentState(page, 'available');
});
afterAll(async () => {
  for (const c of calls) c.stop();
  await browser?.close();
  for (const p of phones) await p.stop();
  await tc?.stop();
});

/** The amplitude of each tone in what the browser played out, in G.711 units (median of 80 ms blocks). */
function amplitudes(samples: Float32Array, rate: number): Record<number, number> {
  const blk = Math.round(rate * 0.08);
  return Object.fromEntries(
    FREQS.map((f) => {
      const amps: number[] = [];
      for (let i = 0; i + blk <= samples.length; i += blk)
        amps.push(((2 * Math.sqrt(goertzelPower(samples.subarray(i, i + blk), f, rate))) / blk) * 32768);
      amps.sort((p, q) => p - q);
      return [f, amps.length >= 10 ? amps[amps.length >> 1]! : -1];
    }),
  );
}

/**
 * Listen to the phones / caller (tcpdump) and to the browser (in the page) over the same window: the
 * browser is `a` (left out once the browser has no call).
 */
async function phase(ranges: PortRanges, ms = 2000, browserInCall = true): Promise<Heard> {
  const [heard, a] = await Promise.all([
    listenPhase(ranges, FREQS, ms),
    browserInCall ? new Promise((r) => setTimeout(r, 300)).then(() => captureRemoteAudio(page, ms)) : undefined,
  ]);
  const r = a ? { ...heard, a: amplitudes(a.samples, a.rate) } : heard;
  console.log('heard:', show(r));
  return r;
}

/** A sipp caller into sales (key 1), answered on the browser desktop by agent A. */
async function answeredCall(caller: string, sipPort: number, mediaPort: number): Promise<Call> {
  await waitForAgentState(page, 'available');
  calls.push(placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, digits: '1', toneHz: CALLER, holdMs: 50_000, sipPort, mediaPort, caller }));
  await waitForCallState(page, 'ringing', 20_000);
  await page.click('#answer');
  await waitForCallState(page, 'connected');
  const call = await waitFor(() => [...tc.centre.calls.values()].find((c) => c.caller === caller && c.phase === 'connected'), {
    timeoutMs: 5000,
    what: 'the call connected',
  });
  // The caller speaks once it has pressed 1: wait for its tone at the browser before judging.
  let last: Record<number, number> = {};
  await waitFor(
    async () => {
      const h = await captureRemoteAudio(page, 1200);
      last = amplitudes(h.samples, h.rate);
      return on(last[CALLER]) ? true : undefined;
    },
    { timeoutMs: 10_000, what: "the caller's tone at the browser", detail: () => show(last) },
  );
  return call;
}

/** Choose an agent in the page's directory (type to search, click the entry). */
async function choose(search: string, id: string): Promise<void> {
  await page.keyboard.press('Alt+T');
  await page.keyboard.type(search);
  await page.click(`#dir-list li[data-kind="agent"][data-id="${id}"]`);
  expect(await page.$eval('#dir-selected', (e) => (e as HTMLElement).dataset.kind)).toBe('agent');
}

const pageConsult = (phase: string) =>
  page.waitForFunction((p) => ((window as unknown as Win).cc.call?.consult ?? '') === p, phase, { timeout: 20_000 });

/** Relays open on the call's RTP thread: its plain legs, plus one tap per browser leg in a mix. */
async function threadLegs(call: Call): Promise<number> {
  return (await call.media!.rtpThread.request({ op: 'stats' })).legs;
}

describe('a browser agent in a mixed call', () => {
  it('consult → conference from the page: each of the three hears the other two; the browser leaves, caller and B go on', async () => {
    const call = await answeredCall('15550401', 12540, 12550);
    const ranges = { caller: [12550, 12550] as const, b: RANGES.b };

    await choose('carol', '1003');
    await page.click('#xfer-consult');
    await pageConsult('consulting');
    expect(consultOf(call)?.phase).toBe('consulting');
    let r = await phase(ranges);
    expect(on(r.a![B]) && on(r.b![A]), show(r)).toBe(true);
    expect(off(r.caller![A]) && off(r.caller![B]) && off(r.b![CALLER]), show(r)).toBe(true);

    await page.click('#consult-conference');
    await pageConsult('conference');
    expect(consultOf(call)?.phase).toBe('conference');
    expect(call.media?.currentMix?.tapped(call.agent!.media!)).toBe(true);
    expect(await threadLegs(call)).toBe(3); // the caller's relay, B's, and the browser's tap
    r = await phase(ranges);
    expect(on(r.caller![A]) && on(r.caller![B]), show(r)).toBe(true);
    expect(on(r.a![CALLER]) && on(r.a![B]), show(r)).toBe(true);
    expect(on(r.b![CALLER]) && on(r.b![A]), show(r)).toBe(true);
    expect(off(r.caller![CALLER]) && off(r.a![A]) && off(r.b![B]), show(r)).toBe(true);

    // The browser agent leaves with the page's Leave button: the caller and B go on, bridged again.
    await page.click('#conf-leave');
    await waitFor(() => consultOf(call)?.phase === 'transferred', { timeoutMs: 10_000, what: 'A out of the conference' });
    await waitForCallState(page, 'idle');
    r = await phase(ranges, 2000, false);
    expect(on(r.caller![B]) && on(r.b![CALLER]), show(r)).toBe(true);
    expect(off(r.caller![A]) && off(r.b![A]), show(r)).toBe(true);
    expect(call.media?.currentMix).toBeUndefined(); // a plain bridge again
    expect(await threadLegs(call)).toBe(2); // the tap closed with the mix

    phones[0]!.command('/hangup');
    await waitFor(() => !tc.centre.calls.has(call.contactId), { timeoutMs: 10_000, what: 'the call to end' });
    // After-call work (the queue's 10 s may already have ended it).
    await page.waitForFunction(() => ['wrap-up', 'available'].includes((window as unknown as { cc: { state: string } }).cc.state));
    if ((await page.evaluate(() => (window as unknown as { cc: { state: string } }).cc.state)) === 'wrap-up') await page.click('#endwrap');
    await waitForAgentState(page, 'available');
  });

  it("monitor a browser agent's call: the supervisor hears both; whisper reaches the browser, never the caller", async () => {
    const call = await answeredCall('15550402', 12541, 12552);
    const ranges = { caller: [12552, 12552] as const, sup: RANGES.sup };

    await monitor(call, '9001', 'listen');
    let r = await phase(ranges);
    expect(on(r.sup![CALLER]) && on(r.sup![A]), show(r)).toBe(true);
    expect(on(r.caller![A]) && on(r.a![CALLER]), show(r)).toBe(true);
    expect(off(r.caller![SUP]) && off(r.a![SUP]), show(r)).toBe(true);

    await setMonitorMode(call, 'whisper');
    r = await phase(ranges);
    expect(on(r.a![SUP]) && on(r.a![CALLER]), show(r)).toBe(true);
    expect(off(r.caller![SUP]), show(r)).toBe(true);
    expect(on(r.caller![A]) && on(r.sup![CALLER]) && on(r.sup![A]), show(r)).toBe(true);

    await setMonitorMode(call, 'barge');
    r = await phase(ranges);
    expect(on(r.caller![SUP]) && on(r.a![SUP]) && on(r.caller![A]) && on(r.a![CALLER]), show(r)).toBe(true);

    await stopMonitor(call);
    r = await phase(ranges);
    expect(call.media?.currentMix).toBeUndefined(); // back to a plain bridge
    expect(on(r.caller![A]) && on(r.a![CALLER]), show(r)).toBe(true);
    expect(off(r.caller![SUP]) && off(r.a![SUP]), show(r)).toBe(true);
    expect(await threadLegs(call)).toBe(1); // the caller's relay; the tap has gone
    call.finish('system', 'test-over');
    await waitForCallState(page, 'idle');
  });
});
