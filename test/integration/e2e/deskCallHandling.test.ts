/**
 * Issue #15, the agent desktop's call handling, driven through the PAGE (clicks and Alt-key
 * shortcuts, never the REST API by hand) with real peers. Headless Chromium runs in a network
 * namespace (test/support/netns.ts) and opens the desktop over HTTPS on the host's non-loopback
 * address, so the secure-context rule applies as for a remote agent. Agent A (1001, sales) is the
 * page, its fake microphone a 1209 Hz tone; agent B (1003, support) is a baresip desk phone
 * (1336 Hz); callers are sipp (697 Hz); the carrier behind the outbound trunk is sipp (800 Hz).
 * What the caller, B and the carrier heard is captured off loopback and judged by Goertzel, phase
 * by phase; what A heard is recorded inside the page.
 *
 *  1. answer (Alt+A), hold (the caller hears the music, not A) and resume, mute and unmute,
 *     keypad digits (keyboard and clicks) reaching the caller as RFC 4733 events, hang up, the
 *     wrap-up form (countdown, extend, disposition, note, resolved) and the disposition in the reports;
 *  2. blind transfer to a queue (B answers, the caller hears B) and to an agent chosen
 *     in the directory by keyboard, whose state the page shows live;
 *  3. consult then back to the caller; consult then complete (the caller hears B); a conference
 *     from the page (A hears the caller and B at once), which A then leaves;
 *  4. an outbound call from the dial box through the sipp carrier, tones both ways; a blind transfer
 *     to a number typed in the directory (the caller then talks to the carrier); a callback the
 *     caller asked for while queued rings the desk as a callback, then the customer;
 *  5. auto-answer, kept per browser;
 *  6. microphone and speaker switching mid-call with Chromium's fake devices (what it proves: there).
 *
 * Screenshots of each state go to $CC_DESK_SHOTS when set; docs/desk-*.png were made so, then
 * `pngquant 64 --strip` (a 1366×768 shot of 120–150 KB becomes 40–60 KB).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { decodeG711, g711Pcap } from '../../../media/index.ts';
import { readPcapUdp } from '../../../media/audio/pcap.ts';
import { eventToDigit, parseTelephoneEvent } from '../../../media/rtp/rfc4733.ts';
import { parseRtp } from '../../../media/rtp/rtp.ts';
import { placeDemoCall, type DemoCall } from '../../../server/call/demoCaller.ts';
import { dominantFrequency, goertzelPower, rms, tone } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { captureRemoteAudio, loginAgent, waitForAgentState, waitForCallState, writeToneWav } from '../../support/browser.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { createAgentNetwork, type AgentNetwork } from '../../support/netns.ts';
import { startCarrier } from '../../support/sipp.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';

// Ports 20000-20999 (this file): SIP 20060, HTTP 20080 (+1 HTTPS), Postgres 20033, WebRTC 20400-20599,
// RTP 20600-20799, carrier 20010/20012, callers 20100+/20200+, B's phone 20050 and 20800-20819.
const CALLER = 697;
const A = 1209;
const B = 1336;
const CARRIER_HZ = 800;
const FREQS = [CALLER, A, B, CARRIER_HZ];
const CARRIER = 20010;
const CARRIER_MEDIA = 20012;
const B_RTP = [20800, 20819] as const;
const HTTP = 20080;
const shots = process.env.CC_DESK_SHOTS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tc: TestCentre;
let net: AgentNetwork;
let browser: Browser;
let page: Page;
let phoneB: DeskPhone;
let sippDir: string;
let base: string;
const callers: DemoCall[] = [];

beforeAll(async () => {
  net = await createAgentNetwork('cc-desk-ns', 215);
  tc = await startTestCentre(
    { sip: 20060, http: HTTP, pg: 20033, rtc: 20400 },
    {
      env: {
        CC_HTTP_HOST: '0.0.0.0',
        CC_MEDIA_LISTEN_IP: net.hostAddress,
        CC_ANNOUNCED_ADDRESS: net.hostAddress,
        CC_RTP_MIN_PORT: '20600',
        CC_RTP_MAX_PORT: '20799',
      },
      edits: {
        // A wrap-up long enough to fill the form in; the carrier for outbound calls and external numbers.
        'queues.yaml': [
          ['wrapUp: 10', 'wrapUp: 45'],
          // Callbacks for sales: one attempt at a time, a reservation long enough for the page's answer.
          [
            '      - { after: 60, addSkills: [{ skill: operator }] }',
            '      - { after: 60, addSkills: [{ skill: operator }] }\n    callback: { maxAttempts: 2, retryDelay: 5, reservationTimeout: 40 }',
          ],
        ],
        // sipp repeats a key's pcap with one RTP timestamp (one RFC 4733 event): the callback key must differ from the menu's "1".
        'ivr/main.yaml': [['callbackKey: "1"', 'callbackKey: "9"']],
        'centre.yaml': [
          ['port: 5080', `port: ${CARRIER}`],
          ["# username: centre       # digest credentials for the carrier's 401/407", 'username: centre'],
          ['# password: secret', 'password: s3cret'],
          ['ringTimeoutSec: 45', 'ringTimeoutSec: 10'],
          // The echo test on another extension than the default: the page must dial what the server says.
          ['  sipRealm: callcentre.local\n', '  sipRealm: callcentre.local\n  echoTest:\n    extension: selftest\n'],
        ],
      },
    },
  );
  const cert = tc.centre.certificate?.certFile;
  if (!cert) throw new Error('the test centre serves no HTTPS');
  base = `https://${net.hostAddress}:${HTTP + 1}/`;
  browser = await net.launchBrowser(writeToneWav(tc.dataDir, A), { trustCertPem: cert });
  phoneB = await startDeskPhone({
    dir: join(tc.dataDir, 'baresip-1003'),
    user: '1003',
    password: 'carol1003',
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: 20050,
    rtpPorts: [B_RTP[0], B_RTP[1]],
    toneHz: B,
  });
  sippDir = join(tc.dataDir, 'sipp');
  mkdirSync(sippDir, { recursive: true });
  writeFileSync(join(sippDir, 'tone.pcap'), g711Pcap(tone(CARRIER_HZ, 30_000, { amp: 6000 }), 'PCMU'));
  page = await loginAgent(browser, base, '1001', 'alice1001');
  page.on('console', (m) => m.type() === 'error' && console.error('[page 1001 console]', m.text()));
  await page.setViewportSize({ width: 1366, height: 768 });
}, 120_000);

afterAll(async () => {
  for (const c of callers) c.stop();
  await phoneB?.stop();
  await browser?.close();
  await tc?.stop();
  await net?.close();
});

/** tcpdump on loopback for UDP to any of the port ranges (the caller, B, the carrier). */
async function capture(ranges: (readonly [number, number])[]): Promise<{ stop(): Promise<Buffer> }> {
  const file = join(mkdtempSync(join(tmpdir(), 'cc-desk-cap-')), 'cap.pcap');
  const filter = ['udp', 'and', '(', ...ranges.flatMap(([lo, hi], i) => [...(i ? ['or'] : []), 'dst', 'portrange', `${lo}-${hi}`]), ')'];
  const child = spawn('tcpdump', ['-i', 'lo', '-n', '-U', '--immediate-mode', '-s', '0', '-w', file, ...filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  let stopped: Promise<Buffer> | undefined;
  return { stop: () => (stopped ??= new Promise<Buffer>((r) => (child.once('exit', () => r(readFileSync(file))), child.kill('SIGINT')))) };
}

type Frames = { at: number; pcm: Int16Array }[];

/** G.711 frames sent to ports lo..hi, with their capture time (ms). */
function frames(pcap: Buffer, lo: number, hi = lo): Frames {
  const out: Frames = [];
  for (const d of readPcapUdp(pcap)) {
    if (d.dstPort < lo || d.dstPort > hi) continue;
    const p = parseRtp(d.payload);
    if (p?.payloadType === 0) out.push({ at: d.at, pcm: decodeG711('PCMU', p.payload) });
  }
  return out;
}

/** What was heard in [from, to): each test tone's amplitude (median over 80 ms blocks), the dominant frequency, the level. */
function heard(fs: Frames, from: number, to: number): { amp: Record<number, number>; freq: number; rms: number; n: number } {
  const w = fs.filter((f) => f.at >= from && f.at < to);
  const x = new Int16Array(w.reduce((n, f) => n + f.pcm.length, 0));
  let o = 0;
  for (const f of w) {
    x.set(f.pcm, o);
    o += f.pcm.length;
  }
  const blk = 640;
  const amp: Record<number, number> = {};
  for (const f of FREQS) {
    const amps: number[] = [];
    for (let i = 0; i + blk <= x.length; i += blk) amps.push((2 * Math.sqrt(goertzelPower(x.subarray(i, i + blk), f))) / blk);
    amps.sort((p, q) => p - q);
    amp[f] = Math.round(amps.length >= 5 ? amps[amps.length >> 1]! : -1);
  }
  return {
    amp,
    freq: x.length >= 800 ? dominantFrequency(x, 8000, 150, 3000, 10).freq : 0,
    rms: Math.round(x.length ? rms(x) : 0),
    n: w.length,
  };
}

const on = (a: number | undefined) => (a ?? 0) > 1500;
const off = (a: number | undefined) => a !== undefined && a >= 0 && a < 200;

function digitsHeard(pcap: Buffer, port: number): string {
  const seen = new Set<number>();
  let digits = '';
  for (const d of readPcapUdp(pcap)) {
    const p = d.dstPort === port ? parseRtp(d.payload) : undefined;
    if (!p || p.payloadType !== 101 || seen.has(p.timestamp)) continue;
    seen.add(p.timestamp);
    const e = parseTelephoneEvent(p.payload);
    const digit = e ? eventToDigit(e.event) : undefined;
    if (digit) digits += digit;
  }
  return digits;
}

/** What the page keeps in window.cc (softphone/src/store.ts), as far as the test reads it. */
interface Win {
  cc: {
    call?: { held: boolean; muted: boolean; consult: string; kind: string };
    digits: string;
    wrapup?: { extended: boolean };
    directory: { agents: { id: string; state: string }[] };
    errors: string[];
    state: string;
    callState: string;
  };
}
/** Wait for a condition on the page (a function run in the page: the page's CSP forbids evaluating strings). */
async function until(fn: () => boolean, timeout = 15_000): Promise<void> {
  await page.waitForFunction(fn, null, { timeout });
}

/** waitForCallState, saying what the page knew when it times out. */
async function callState(state: 'ringing' | 'connected' | 'idle', timeout = 20_000): Promise<void> {
  try {
    await waitForCallState(page, state, timeout);
  } catch (e) {
    const seen = await page.evaluate(() => {
      const c = (window as unknown as Win).cc;
      return JSON.stringify({ state: c.state, callState: c.callState, call: c.call, errors: c.errors });
    });
    const acd = tc.centre.acd.snapshot();
    throw new Error(
      `${(e as Error).message}\nthe page: ${seen}\nthe ACD: ${JSON.stringify({ agents: acd.agents.map((a) => [a.id, a.state]), calls: acd.calls })}`,
    );
  }
}

async function shot(name: string): Promise<void> {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `desk-${name}.png`) });
}

/** The page's dominant frequency over 1 s windows until it is `f` (what agent A hears). */
async function aHears(f: number, what: string): Promise<number> {
  const h = await waitFor(
    async () => {
      const r = await captureRemoteAudio(page, 1000);
      const d = dominantFrequency(r.samples, r.rate, 300, 3000, 10).freq;
      return Math.abs(d - f) <= 15 ? d : undefined;
    },
    { timeoutMs: 10_000, what },
  );
  return h;
}

let callerSeq = 0;
/** A sipp caller into sales (key 1; then 9 asks for a callback) with a 697 Hz voice, on its own ports. */
function call(holdMs = 60_000, digits = '1', from?: string): { caller: DemoCall; port: number; number: string } {
  const i = callerSeq++;
  const port = 20200 + i * 4; // sipp also binds mediaPort + 2 (its video port)
  const number = from ?? `1555020${String(i).padStart(2, '0')}`;
  const caller = placeDemoCall({
    target: `127.0.0.1:${tc.sipPort}`,
    digits,
    toneHz: CALLER,
    holdMs,
    sipPort: 20100 + i,
    mediaPort: port,
    caller: number,
  });
  callers.push(caller);
  return { caller, port, number };
}

/** A's wrap-up through the form: a code, a note, resolved; Done. */
async function wrapUp(code: string, note: string): Promise<void> {
  await waitForAgentState(page, 'wrap-up');
  await page.waitForSelector('#wrapup:not([hidden])');
  await page.selectOption('#wrap-disposition', code);
  await page.fill('#wrap-note', note);
  await page.check('#wrap-resolved');
  await page.click('#wrap-done');
  await waitForAgentState(page, 'available');
}

/** Scaffolding between tests (so one failure does not fail the next): no callers, A idle and ready. */
async function reset(): Promise<void> {
  for (const c of callers.splice(0)) c.stop();
  await callState('idle', 15_000);
  if (tc.centre.acd.agentView('1001')?.state === 'wrap-up') tc.centre.acd.endWrapUp('1001');
  if (tc.centre.acd.agentView('1001')?.state !== 'available') tc.centre.acd.agentReady('1001');
  await waitForAgentState(page, 'available');
}

async function bAvailable(): Promise<void> {
  const s = tc.centre.acd.agentView('1003')?.state;
  if (s === 'wrap-up') tc.centre.acd.endWrapUp('1003');
  await waitFor(() => tc.centre.acd.agentView('1003')?.state === 'available', { timeoutMs: 15_000, what: 'agent 1003 available' });
}

/** Choose a directory entry by typing and the keyboard (Alt+T, type, arrows, Enter). */
async function choose(search: string, kind: 'queue' | 'agent' | 'external', id: string): Promise<void> {
  await page.keyboard.press('Alt+T');
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('dir-search');
  await page.keyboard.type(search);
  for (let i = 0; i < 10; i++) {
    const active = await page.$eval('#dir-list li.active', (li) => `${(li as HTMLElement).dataset.kind}:${(li as HTMLElement).dataset.id}`);
    if (active === `${kind}:${id}`) break;
    await page.keyboard.press('ArrowDown');
  }
  await page.keyboard.press('Enter');
  expect(await page.$eval('#dir-selected', (e) => (e as HTMLElement).dataset.kind)).toBe(kind);
}

/**
 * My day as the page shows it (each figure's raw value, one reading of the panel) equals the
 * reports API's agent row for the panel's own period (its data-report-query), figure by figure.
 */
async function myDayEqualsReports(expected: Record<string, number>): Promise<void> {
  const [k, v] = Object.entries(expected)[0]!;
  await page.waitForSelector(`#myday[data-live="true"] [data-field="${k}"][data-value="${v}"]`, { timeout: 10_000 });
  const snap = await page.evaluate(() => {
    const root = document.getElementById('myday')!;
    const figures: Record<string, number | null> = {};
    for (const e of Array.from(root.querySelectorAll('[data-field]'))) {
      const x = e.getAttribute('data-value');
      figures[e.getAttribute('data-field')!] = x === '' || x === null ? null : Number(x);
    }
    return { query: root.dataset.reportQuery ?? '', agent: root.dataset.agent, figures };
  });
  expect(snap.agent).toBe('1001');
  expect(snap.query).toMatch(/^from=.*&to=.*&key=1001$/);
  const rep = await fetch(`${tc.httpUrl}api/v1/reports/agents?${snap.query}`, {
    headers: { authorization: `Basic ${Buffer.from('9001:sam9001').toString('base64')}` },
  });
  expect(rep.status).toBe(200);
  const rows = ((await rep.json()) as { rows: Record<string, unknown>[] }).rows;
  expect(rows.map((r) => r.key)).toEqual(['1001']);
  const want: Record<string, unknown> = {};
  for (const f of Object.keys(snap.figures)) want[f] = rows[0]![f];
  console.log('desk My day on the page', JSON.stringify(snap.figures));
  // Every figure the panel shows (tiles and time in state), not a chosen few.
  expect(Object.keys(snap.figures).length).toBeGreaterThanOrEqual(15);
  expect(snap.figures).toEqual(want);
  expect(snap.figures).toMatchObject(expected);
}

async function events(since: number): Promise<{ type: string; contactId: string; ts: number; [k: string]: unknown }[]> {
  await tc.centre.store.flush();
  return await storedEvents(tc.centre.store, since - 60_000, Date.now() + 60_000);
}

describe('the agent desktop handles calls (HTTPS in a network namespace, real peers)', () => {
  it('answer, hold and resume, mute, keypad, hang up; the wrap-up form: countdown, extend, disposition in the reports', async () => {
    expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
    expect(await page.evaluate(() => location.hostname)).toBe(net.hostAddress);
    // "Test audio" dials the extension the server configures (server.echoTest.extension: selftest
    // here); the old hard-coded sip:echo@… would get no echo, and the verdict would not be OK.
    await page.click('#audio-test');
    await page.waitForSelector('#audio-result[data-ok]', { timeout: 30_000 });
    const echoResult = await page.textContent('#audio-result');
    console.log('desk echo test (extension selftest):', echoResult);
    expect(await page.getAttribute('#audio-result', 'data-ok'), echoResult ?? '').toBe('true');
    // The audio panel is below the fold of a 1366×768 screen: the page is scrolled down to it now.
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    await page.keyboard.press('Alt+R');
    await waitForAgentState(page, 'available');
    // The directory arrives pushed on the event stream: queues and colleagues, no one's private data.
    await until(() => (window as unknown as Win).cc.directory.agents.some((a) => a.id === '1003' && a.state === 'available'));

    const started = Date.now();
    const cap = await capture([[20200, 20299]]);
    const c = call();
    await callState('ringing', 20_000);
    expect(await page.textContent('#call-title')).toBe('Incoming call');
    expect(await page.textContent('#caller')).toBe(c.number);
    expect(await page.textContent('#queue')).toBe('sales');
    // The screen pop follows the desk's own state stream (offered) and comes with the offer.
    await page.waitForSelector('#screenpop:not([hidden]) [data-field="queue"] dd:text("sales")', { timeout: 10_000 });
    // An offer brings the call into view: the page was scrolled down to "Test audio" above.
    expect(await page.evaluate(() => document.getElementById('call')!.getBoundingClientRect().top)).toBeGreaterThanOrEqual(0);
    await shot('ringing');
    await page.keyboard.press('Alt+A');
    await callState('connected');
    await waitForAgentState(page, 'on-call');
    await aHears(CALLER, "the caller's 697 Hz at A");
    await sleep(1000);

    const t = { hold: Date.now(), resume: 0, mute: 0, unmute: 0, keys: 0, hangup: 0 };
    await page.click('#hold');
    await until(() => (window as unknown as Win).cc.call?.held === true);
    expect(await page.textContent('#hold')).toBe('Resume');
    await sleep(2500);
    expect(await page.textContent('#hold-state')).toMatch(/^On hold 0:0[1-4]$/);
    await shot('hold');
    t.resume = Date.now();
    await page.keyboard.press('Alt+H');
    await until(() => (window as unknown as Win).cc.call?.held === false);
    await sleep(2000);
    t.mute = Date.now();
    await page.click('#mute');
    await until(() => (window as unknown as Win).cc.call?.muted === true);
    expect(await page.isVisible('#mute-state')).toBe(true);
    await sleep(2000);
    t.unmute = Date.now();
    await page.keyboard.press('Alt+M');
    await until(() => (window as unknown as Win).cc.call?.muted === false);
    await sleep(1500);
    t.keys = Date.now();
    // Digits typed on the keyboard (focus on the page, not in a field) and clicked on the keypad.
    await page.focus('#hold');
    await page.keyboard.press('4');
    await page.keyboard.press('2');
    await page.click('#keypad-keys button[data-key="#"]');
    await until(() => (window as unknown as Win).cc.digits === '42#');
    // Typing in a field sends nothing.
    await page.fill('#dial-number', '99');
    await sleep(1500);
    t.hangup = Date.now();
    await page.click('#hangup');
    await callState('idle');
    // The "99" typed in the dial box during the call is not left there for the next one.
    expect(await page.inputValue('#dial-number')).toBe('');
    // The caller, left by A, is in the post-call survey (the queue's afterCall): a CSAT answer of 4.
    // The digit is handed to the call's IVR session (what the caller's RFC 4733 key would do); the
    // survey node writes the answer and My day pushes it to the page at once, not at its 30 s refresh.
    const surveyed = [...tc.centre.calls.values()].find((x) => x.caller === c.number);
    expect(surveyed?.phase).toBe('after-call');
    await sleep(300);
    const csatAt = Date.now();
    surveyed!.ivr!.session.digit('4');
    await page.waitForSelector('#myday [data-field="csatAverage"][data-value="4"]', { timeout: 10_000 });
    const csatPushMs = Date.now() - csatAt;
    console.log(`desk My day: the CSAT answer on the page ${csatPushMs} ms after it was given`);
    expect(csatPushMs).toBeLessThan(5_000);
    const pcap = await cap.stop();

    const fs = frames(pcap, c.port);
    const w = {
      talk: heard(fs, t.hold - 1000, t.hold - 100),
      held: heard(fs, t.hold + 700, t.resume - 100),
      back: heard(fs, t.resume + 600, t.mute - 100),
      muted: heard(fs, t.mute + 600, t.unmute - 100),
      unmuted: heard(fs, t.unmute + 600, t.keys - 100),
    };
    console.log('desk hold/mute, what the caller heard:', JSON.stringify(w));
    expect(w.talk.freq, JSON.stringify(w)).toBeCloseTo(A, -1);
    // Music on hold: a tune of 220-660 Hz notes; A's microphone is not heard.
    expect(w.held.freq, JSON.stringify(w)).toBeGreaterThan(200);
    expect(w.held.freq, JSON.stringify(w)).toBeLessThan(700);
    expect(w.held.rms, JSON.stringify(w)).toBeGreaterThan(500);
    expect(off(w.held.amp[A]), JSON.stringify(w)).toBe(true);
    expect(w.back.freq, JSON.stringify(w)).toBeCloseTo(A, -1);
    expect(w.muted.rms, JSON.stringify(w)).toBeLessThan(100);
    expect(w.unmuted.freq, JSON.stringify(w)).toBeCloseTo(A, -1);
    expect(digitsHeard(pcap, c.port)).toBe('42#');

    // Wrap-up: the queue's codes, a countdown from the ACD's deadline, extended once.
    await waitForAgentState(page, 'wrap-up');
    await page.waitForSelector('#wrapup:not([hidden])');
    const codes = await page.$$eval('#wrap-disposition option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(codes).toEqual(['', 'sale', 'quote', 'no-sale']);
    const left = Number((await page.textContent('#wrap-countdown'))?.replace(/\D/g, ''));
    expect(left).toBeGreaterThan(30);
    expect(left).toBeLessThanOrEqual(45);
    await page.fill('#wrap-note', 'wants a quote by mail');
    await shot('wrapup');
    await page.keyboard.press('Alt+E');
    await until(() => (window as unknown as Win).cc.wrapup?.extended === true);
    const extended = Number((await page.textContent('#wrap-countdown'))?.replace(/\D/g, ''));
    expect(extended).toBeGreaterThan(left + 100); // + the queue's wrapUpExtendMax (120 s)
    expect(await page.isDisabled('#wrap-extend')).toBe(true);
    // Done without a code is refused on the page (the queue has codes).
    await page.click('#wrap-done');
    expect(await page.textContent('#desk-error')).toMatch(/disposition/i);
    await page.selectOption('#wrap-disposition', 'quote');
    await page.check('#wrap-resolved');
    await page.keyboard.press('Alt+W');
    await waitForAgentState(page, 'available');
    await myDayEqualsReports({ handled: 1, csatAverage: 4 });
    await shot('idle'); // Ready, no call, My day with the call just handled

    const evs = await events(started);
    const end = evs.find((e) => e.type === 'wrapup.end' && e.agentId === '1001');
    expect(end).toMatchObject({ disposition: 'quote', note: 'wants a quote by mail', resolved: true });
    expect(evs.filter((e) => e.type === 'hold.start' || e.type === 'hold.end').map((e) => e.type)).toEqual(['hold.start', 'hold.end']);
    const q = `from=${new Date(started - 60_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&interval=range`;
    const rep = await fetch(`${tc.httpUrl}api/v1/reports/queues?${q}`, {
      headers: { authorization: `Basic ${Buffer.from('9001:sam9001').toString('base64')}` },
    });
    expect(rep.status).toBe(200);
    const body = (await rep.json()) as { dispositions: { byQueue: { key: string; codes: Record<string, number>; resolved: number }[] } };
    expect(body.dispositions.byQueue.find((r) => r.key === 'sales')).toMatchObject({ codes: { quote: 1 }, resolved: 1 });
  }, 120_000);

  it('blind transfer to a queue and to an agent chosen in the live directory', async () => {
    await reset();
    await bAvailable();
    const cap = await capture([[20200, 20299], B_RTP]);

    // To the support queue: B (support) answers; the caller hears B.
    const c1 = call();
    await callState('ringing');
    await page.keyboard.press('Alt+A');
    await callState('connected');
    await aHears(CALLER, 'the caller at A');
    await choose('supp', 'queue', 'support');
    await shot('directory');
    const t1 = Date.now();
    await page.keyboard.press('Alt+B');
    await callState('idle');
    await waitFor(() => tc.centre.acd.agentView('1003')?.state === 'on-call', { timeoutMs: 15_000, what: 'B to answer the transfer' });
    const b1 = Date.now();
    // The page's directory shows B on the call, pushed.
    await until(() => (window as unknown as Win).cc.directory.agents.some((a) => a.id === '1003' && a.state === 'on-call'));
    await sleep(2500);
    phoneB.command('/hangup');
    await wrapUp('no-sale', 'to support');
    await waitFor(() => tc.centre.acd.agentView('1003')?.state !== 'on-call', { timeoutMs: 10_000, what: 'B off the call' });
    const t1end = Date.now();

    {
      const early = await cap.stop();
      const w = {
        queueBefore: heard(frames(early, c1.port), t1 - 1200, t1 - 100),
        queueAfter: heard(frames(early, c1.port), b1 + 800, b1 + 2300),
        bHeard: heard(frames(early, B_RTP[0], B_RTP[1]), b1 + 800, Math.min(b1 + 2300, t1end)),
      };
      console.log('desk blind transfer to a queue:', JSON.stringify(w));
      expect(w.queueBefore.freq, JSON.stringify(w)).toBeCloseTo(A, -1);
      // By tone amplitude (the dominant-frequency search's 10 Hz grid read B's 1336 Hz as 1320 once).
      expect(on(w.queueAfter.amp[B]) && off(w.queueAfter.amp[A]), JSON.stringify(w)).toBe(true);
      expect(on(w.bHeard.amp[CALLER]) && off(w.bHeard.amp[A]), JSON.stringify(w)).toBe(true);
    }

    // To agent B, chosen by name.
    const cap2 = await capture([[20200, 20299], B_RTP]);
    await bAvailable();
    await until(() => (window as unknown as Win).cc.directory.agents.some((a) => a.id === '1003' && a.state === 'available'));
    const c2 = call();
    await callState('ringing');
    await page.click('#answer');
    await callState('connected');
    await aHears(CALLER, 'the caller at A');
    await choose('carol', 'agent', '1003');
    expect(await page.textContent('#dir-selected')).toMatch(/Carol Support \(1003\) · Ready/);
    const t2 = Date.now();
    await page.click('#xfer-blind');
    await callState('idle');
    await waitFor(() => tc.centre.acd.agentView('1003')?.state === 'on-call', { timeoutMs: 15_000, what: 'B to answer the transfer' });
    const b2 = Date.now();
    await sleep(2500);
    phoneB.command('/hangup');
    await wrapUp('sale', 'to carol');
    const pcap = await cap2.stop();

    const w = {
      agentBefore: heard(frames(pcap, c2.port), t2 - 1200, t2 - 100),
      agentAfter: heard(frames(pcap, c2.port), b2 + 800, b2 + 2300),
    };
    console.log('desk blind transfers:', JSON.stringify(w));
    expect(w.agentBefore.freq, JSON.stringify(w)).toBeCloseTo(A, -1);
    expect(on(w.agentAfter.amp[B]) && off(w.agentAfter.amp[A]), JSON.stringify(w)).toBe(true);
    const evs = await events(t1 - 5000);
    const transfers = evs.filter((e) => e.type === 'queue.transfer' && e.agentId === '1001' && e.ts >= t1 - 1000);
    expect(transfers.map((e) => [e.targetKind, e.target])).toEqual([
      ['queue', 'support'],
      ['agent', '1003'],
    ]);
  }, 150_000);

  it('consult then back to the caller; consult then complete; a conference from the page, then A leaves it', async () => {
    await reset();
    await page.uncheck('#auto-answer');
    await bAvailable();
    const cap = await capture([[20200, 20299], B_RTP]);
    const c = call(90_000);
    await callState('ringing', 20_000);
    await page.click('#answer');
    await callState('connected');
    await aHears(CALLER, 'the caller at A');

    const t = { consult: 0, cancel: 0, back: 0, complete: 0, completed: 0, conf: 0, leave: 0, left: 0 };
    await choose('1003', 'agent', '1003');
    await page.keyboard.press('Alt+C');
    await until(() => (window as unknown as Win).cc.call?.consult === 'consulting', 20_000);
    t.consult = Date.now();
    expect(await page.textContent('#xfer-status')).toMatch(/Talking with 1003/);
    await aHears(B, "B's 1336 Hz at A during the consult");
    t.cancel = Date.now();
    await page.click('#consult-cancel');
    await until(() => (window as unknown as Win).cc.call?.consult === '');
    await aHears(CALLER, 'the caller back at A');
    t.back = Date.now();
    await sleep(1500);

    // Consult and complete: the caller stays with B; A goes to wrap-up.
    await bAvailable();
    await page.keyboard.press('Alt+C');
    await until(() => (window as unknown as Win).cc.call?.consult === 'consulting', 20_000);
    await sleep(1000);
    t.complete = Date.now();
    await page.keyboard.press('Alt+L');
    await callState('idle');
    await sleep(2500);
    t.completed = Date.now();
    await wrapUp('sale', 'attended');
    phoneB.command('/hangup');
    const pcap1 = await cap.stop();
    const f1 = frames(pcap1, c.port);
    const fb1 = frames(pcap1, B_RTP[0], B_RTP[1]);
    const w1 = {
      onHold: heard(f1, t.consult + 300, t.cancel - 100),
      bHearsA: heard(fb1, t.consult + 300, t.cancel - 100),
      back: heard(f1, t.back - 100, t.back + 1400),
      afterComplete: heard(f1, t.complete + 1000, t.completed),
    };
    console.log('desk consult/cancel/complete:', JSON.stringify(w1));
    expect(off(w1.onHold.amp[A]) && off(w1.onHold.amp[B]), JSON.stringify(w1)).toBe(true);
    expect(w1.onHold.rms, JSON.stringify(w1)).toBeGreaterThan(500); // the music
    expect(on(w1.bHearsA.amp[A]) && off(w1.bHearsA.amp[CALLER]), JSON.stringify(w1)).toBe(true);
    expect(w1.back.freq, JSON.stringify(w1)).toBeCloseTo(A, -1);
    expect(on(w1.afterComplete.amp[B]) && off(w1.afterComplete.amp[A]), JSON.stringify(w1)).toBe(true);

    // Conference: A's browser leg joins the call's mix through a loopback tap (media/mediasoup/mixTap.ts):
    // A hears the caller and B at once; A leaves the conference (Alt+L) and the caller and B go on.
    await bAvailable();
    const c2 = call(90_000);
    await callState('ringing');
    await page.keyboard.press('Alt+A');
    await callState('connected');
    await aHears(CALLER, 'the caller at A');
    await choose('carol', 'agent', '1003');
    await page.click('#xfer-consult');
    await until(() => (window as unknown as Win).cc.call?.consult === 'consulting', 20_000);
    await page.keyboard.press('Alt+F');
    await until(() => (window as unknown as Win).cc.call?.consult === 'conference', 20_000);
    let amps: Record<number, number> = {};
    await waitFor(
      async () => {
        const r = await captureRemoteAudio(page, 1200);
        const blk = Math.round(r.rate * 0.08);
        amps = Object.fromEntries(
          FREQS.map((f) => {
            const a: number[] = [];
            for (let i = 0; i + blk <= r.samples.length; i += blk)
              a.push(((2 * Math.sqrt(goertzelPower(r.samples.subarray(i, i + blk), f, r.rate))) / blk) * 32768);
            return [f, a.sort((p, q) => p - q)[a.length >> 1] ?? 0];
          }),
        );
        return on(amps[CALLER]) && on(amps[B]) ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'A to hear the caller and B in the conference', detail: () => JSON.stringify(amps) },
    );
    console.log('desk conference, what A heard:', JSON.stringify(amps));
    await shot('conference');
    await page.keyboard.press('Alt+L');
    await callState('idle');
    await wrapUp('no-sale', 'conference');
    phoneB.command('/hangup');
    void c2;
    const evs = await events(t.consult - 5000);
    // The consult completed earlier, and A leaving the conference: each is a queue.transfer.
    expect(evs.filter((e) => e.type === 'queue.transfer' && e.agentId === '1001' && e.ts >= t.consult - 1000).length).toBe(2);
  }, 180_000);

  it('an outbound call from the dial box through the carrier: tones both ways, outbound.result answered', async () => {
    await reset();
    const started = Date.now();
    const carrier = startCarrier({ port: CARRIER, mediaPort: CARRIER_MEDIA, cwd: sippDir });
    const cap = await capture([[CARRIER_MEDIA, CARRIER_MEDIA]]);
    try {
      await page.keyboard.press('Alt+D');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('dial-number');
      await page.fill('#dial-number', '020 7946 0999');
      await page.keyboard.press('Enter');
      await callState('connected', 20_000); // the page answers its own call back
      expect(await page.evaluate(() => (window as unknown as Win).cc.call?.kind)).toBe('outbound');
      expect(await page.textContent('#call-title')).toMatch(/Outbound call/);
      await aHears(CARRIER_HZ, "the carrier's 800 Hz at A");
      // Busy to the ACD while on the outbound call: no queue call is offered meanwhile.
      expect(tc.centre.acd.agentView('1001')).toMatchObject({ state: 'not-ready', reason: 'internal-call' });
      // The state bar names the reason by its label, which fits a browser's click-to-dial too.
      await page.waitForFunction(() => document.getElementById('reason')?.textContent === '(Internal or outbound call)', null, {
        timeout: 5_000,
      });
      const t0 = Date.now();
      await sleep(2500);
      await shot('outbound');
      await page.click('#hangup');
      await callState('idle');
      await waitForAgentState(page, 'available');
      const sr = await carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);
      const w = heard(frames(await cap.stop(), CARRIER_MEDIA), t0, t0 + 2000);
      console.log('desk outbound, what the carrier heard:', JSON.stringify(w));
      expect(on(w.amp[A]) && off(w.amp[CARRIER_HZ]), JSON.stringify(w)).toBe(true);
      const evs = await events(started);
      expect(evs.find((e) => e.type === 'outbound.result' && e.ts >= started)).toMatchObject({ outcome: 'answered', agentId: '1001' });
    } finally {
      await cap.stop().catch(() => undefined);
      await carrier.stop();
    }
  }, 90_000);

  it('a blind transfer to a number typed in the directory: the caller talks to the carrier through the trunk', async () => {
    await reset();
    const started = Date.now();
    const carrier = startCarrier({ port: CARRIER, mediaPort: CARRIER_MEDIA, cwd: sippDir });
    const cap = await capture([
      [20200, 20299],
      [CARRIER_MEDIA, CARRIER_MEDIA],
    ]);
    try {
      const c = call(16_000); // the caller hangs up 16 s after the centre answered: the carrier gets our BYE
      await callState('ringing');
      await page.keyboard.press('Alt+A');
      await callState('connected');
      await aHears(CALLER, 'the caller at A');
      // A number typed in the directory's search is offered as "Dial …" (kind external).
      await choose('02079460777', 'external', '02079460777');
      expect(await page.textContent('#dir-selected')).toMatch(/02079460777/);
      const first = [...tc.centre.calls.values()].find((x) => x.caller === c.number)!.contactId;
      const t = Date.now();
      await page.click('#xfer-blind');
      await callState('idle');
      // The call goes on as a new contact linked to the first (initiation transfer), connected to the carrier.
      const next = await waitFor(
        () => [...tc.centre.calls.values()].find((x) => x.caller === c.number && x.contactId !== first && x.phase === 'connected'),
        { timeoutMs: 15_000, what: 'the carrier to answer the transferred caller' },
      );
      const answered = Date.now();
      await wrapUp('no-sale', 'to a number');
      const r = await c.caller.done;
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
      const sr = await carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);
      const pcap = await cap.stop();
      const w = {
        callerBefore: heard(frames(pcap, c.port), t - 1200, t - 100),
        callerAfter: heard(frames(pcap, c.port), answered + 1000, answered + 3500),
        carrierHeard: heard(frames(pcap, CARRIER_MEDIA), answered + 1000, answered + 3500),
      };
      console.log('desk blind transfer to a number:', JSON.stringify(w));
      expect(on(w.callerBefore.amp[A]), JSON.stringify(w)).toBe(true);
      expect(on(w.callerAfter.amp[CARRIER_HZ]) && off(w.callerAfter.amp[A]), JSON.stringify(w)).toBe(true);
      expect(on(w.carrierHeard.amp[CALLER]) && off(w.carrierHeard.amp[A]), JSON.stringify(w)).toBe(true);
      const evs = await events(started);
      expect(evs.find((e) => e.type === 'queue.transfer' && e.agentId === '1001' && e.ts >= t - 1000)).toMatchObject({
        targetKind: 'external',
        target: '02079460777',
        toContactId: next.contactId,
      });
    } finally {
      await cap.stop().catch(() => undefined);
      await carrier.stop();
    }
  }, 90_000);

  it('a callback rings the desk as a callback (number, queue, the wait it kept, attempt), then the customer through the carrier', async () => {
    await reset();
    const started = Date.now();
    // Not ready, so the caller waits in sales and asks for a callback (key 9), then hangs up.
    tc.centre.acd.agentNotReady('1001', 'break');
    await waitForAgentState(page, 'not-ready');
    // A national number the outbound trunk can dial back (the other callers' 1555… numbers are not).
    const c = call(4500, '19', '02079460555');
    const id = await waitFor(() => [...tc.centre.calls.values()].find((x) => x.caller === c.number)?.contactId, {
      timeoutMs: 10_000,
      what: 'the caller in the centre',
    });
    const r = await c.caller.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await waitFor(() => tc.centre.acd.callView(id)?.callback, { timeoutMs: 10_000, what: 'the callback waiting in sales' });
    expect(tc.centre.acd.callView(id)).toMatchObject({ state: 'waiting' });
    await sleep(1500); // the wait the callback keeps grows while nobody is Ready
    const carrier = startCarrier({ port: CARRIER, mediaPort: CARRIER_MEDIA, cwd: sippDir });
    const cap = await capture([[CARRIER_MEDIA, CARRIER_MEDIA]]);
    try {
      // Ready: the ACD reserves A for the callback at the head of sales; the centre rings A first.
      await page.keyboard.press('Alt+R');
      await callState('ringing', 20_000);
      expect(await page.evaluate(() => (window as unknown as Win).cc.call?.kind)).toBe('callback');
      expect(await page.textContent('#call-title')).toMatch(/Callback/);
      expect(await page.textContent('#caller')).toBe('+442079460555');
      expect(await page.textContent('#queue')).toBe('sales');
      const waited = Number((await page.textContent('#waited'))?.replace(/\D/g, ''));
      expect(waited, 'the wait kept since the first queue entry').toBeGreaterThanOrEqual(4);
      expect(await page.textContent('#call-note')).toMatch(/Callback the customer asked for \(attempt 1\)/);
      // The screen pop is of the contact that asked for the callback: its queue and IVR path, read
      // from its logged events (the call is long gone).
      await page.waitForSelector('#screenpop:not([hidden]) [data-field="queue"] dd:text("sales")', { timeout: 10_000 });
      expect(await page.textContent('#screenpop [data-field="ivrPath"] dd')).toMatch(/welcome → menu \[1\] → sales/);
      // The last call's transfer target (the number typed in the test before) went with that call.
      expect(await page.inputValue('#dir-search')).toBe('');
      expect(await page.textContent('#dir-selected')).toBe('nothing chosen');
      await shot('callback');
      await page.keyboard.press('Alt+A');
      await callState('connected', 20_000);
      await aHears(CARRIER_HZ, "the customer (the carrier's 800 Hz) at A");
      const t0 = Date.now();
      await sleep(2500);
      await page.click('#hangup');
      await callState('idle');
      const sr = await carrier.done;
      expect(sr.exitCode, sr.errors + sr.stdout.slice(-1500)).toBe(0);
      const w = heard(frames(await cap.stop(), CARRIER_MEDIA), t0, t0 + 2000);
      console.log('desk callback, what the customer heard:', JSON.stringify({ ...w, waitedShown: waited }));
      expect(on(w.amp[A]) && off(w.amp[CARRIER_HZ]), JSON.stringify(w)).toBe(true);
      const evs = await events(started);
      const first = evs.find((e) => e.type === 'callback.dialled' && e.ts >= started);
      expect(first).toMatchObject({ attempt: 1, outcome: 'answered' });
      const arrived = evs.find((e) => e.type === 'contact.arrived' && e.initiation === 'callback' && e.ts >= started);
      expect(arrived).toMatchObject({ previousContactId: id });
    } finally {
      await cap.stop().catch(() => undefined);
      await carrier.stop();
    }
    const s = tc.centre.acd.agentView('1001')?.state;
    if (s === 'wrap-up') tc.centre.acd.endWrapUp('1001');
  }, 90_000);

  it('auto-answer (kept per browser) answers an offer without a click', async () => {
    await reset();
    await page.check('#auto-answer');
    expect(await page.evaluate(() => localStorage.getItem('cc.autoAnswer'))).toBe('1');
    const started = Date.now();
    const c = call(20_000);
    try {
      await callState('connected', 20_000);
      await aHears(CALLER, 'the caller at A');
    } catch (e) {
      const evs = (await events(started)).filter((x) => x.ts >= started - 1000);
      throw new Error(
        `${(e as Error).message}\nevents: ${JSON.stringify(evs.map((x) => ({ type: x.type, cause: x.cause, agentId: x.agentId })))}`,
      );
    }
    await page.click('#hangup');
    await callState('idle');
    await page.uncheck('#auto-answer');
    void c;
  }, 60_000);

  it("mid-call microphone and speaker switching with Chromium's fake devices: the new track is sent, the call plays on the chosen output", async () => {
    // What headless Chromium allows: its fake inputs ("Fake Audio Input 1/2") all play the same
    // file (A's 1209 Hz), and its fake outputs go nowhere. So this proves the page swaps the call's
    // outgoing track for one from the chosen input (by the sender's track label), without a new
    // offer (the local SDP is unchanged), that the caller still hears A through the new track,
    // and that the call's <audio> is routed to the chosen output (sinkId); not that a different
    // microphone's sound or a particular loudspeaker was used.
    await reset();
    const cap = await capture([[20200, 20299]]);
    const c = call(30_000);
    await callState('ringing');
    await page.click('#answer');
    await callState('connected');
    await aHears(CALLER, 'the caller at A');
    type W = { ccAudio: { pc(): RTCPeerConnection | undefined } };
    const sent = () =>
      page.evaluate(() => {
        const pc = (window as unknown as W).ccAudio.pc();
        const t = pc?.getSenders().find((x) => x.track?.kind === 'audio')?.track;
        return { label: t?.label ?? '', live: t?.readyState === 'live', sdp: pc?.localDescription?.sdp ?? '' };
      });
    const before = await sent();
    expect(before.label).not.toBe('Fake Audio Input 2');
    await page.waitForSelector('#audio-mic option:text("Fake Audio Input 2")', { state: 'attached', timeout: 10_000 });
    await page.selectOption('#audio-mic', { label: 'Fake Audio Input 2' });
    await waitFor(async () => ((await sent()).label === 'Fake Audio Input 2' ? true : undefined), {
      timeoutMs: 5_000,
      what: 'the call sending from Fake Audio Input 2',
    });
    const switched = Date.now();
    const after = await sent();
    expect(after.live).toBe(true);
    expect(after.sdp).toBe(before.sdp); // replaceTrack, no renegotiation
    // Output: the call's <audio> plays on the chosen device.
    await page.waitForSelector('#audio-speaker option:text("Fake Audio Output 1")', { state: 'attached', timeout: 10_000 });
    expect(await page.isDisabled('#audio-speaker')).toBe(false);
    await page.selectOption('#audio-speaker', { label: 'Fake Audio Output 1' });
    const chosen = await page.$eval('#audio-speaker', (e) => (e as HTMLSelectElement).value);
    await page.waitForFunction((id) => (document.getElementById('remote') as HTMLAudioElement & { sinkId: string }).sinkId === id, chosen, {
      timeout: 5_000,
    });
    await aHears(CALLER, 'the caller at A after the switch');
    await sleep(2500);
    await page.click('#hangup');
    await callState('idle');
    const w = heard(frames(await cap.stop(), c.port), switched + 500, switched + 2500);
    console.log('desk device switch, what the caller heard after the microphone switch:', JSON.stringify(w));
    expect(on(w.amp[A]), JSON.stringify(w)).toBe(true);
    // The choice is kept per browser for the next call.
    expect(JSON.parse((await page.evaluate(() => localStorage.getItem('cc.audio.devices'))) ?? '{}')).toMatchObject({
      mic: { label: 'Fake Audio Input 2' },
      speaker: { label: 'Fake Audio Output 1' },
    });
    await waitForAgentState(page, 'wrap-up');
    tc.centre.acd.endWrapUp('1001');
  }, 90_000);
});
