/**
 * The agents' pre-call echo test, end to end: headless Chromium whose fake microphone plays a
 * 440 Hz tone logs in as agent 1001 on the real desktop and presses "Test audio". The page dials
 * sip:echo@<realm> over its WebSocket; the centre answers (server/call/echoTest.ts) and loops the
 * audio through mediasoup and a plain RTP leg on its RTP thread back to the browser. What the page
 * receives is checked by tone: its own 440 Hz, and not the 1000 Hz of nobody; both level meters
 * (role="meter") showed level; the verdict says audio OK. A SIP client that is not a logged-in
 * agent is challenged, refused with the wrong password and while logged out; a desk phone (plain
 * RTP) that is logged in hears its own tone back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loginAgent, waitForAgentState, waitForCallState, writeToneWav } from '../../support/browser.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { createSocket } from 'node:dgram';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeG711, dominantFrequency, encodeG711, goertzelPower, tone } from '../../support/audio.ts';
import { buildRtp, parseRtp } from '../../../media/rtp/rtp.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { SipStack } from '../../../server/sip/index.ts';
import { SystemClock } from '../../../lib/clock.ts';
import { storedEvents } from '../../support/eventLog.ts';
import { waitFor } from '../../support/waitFor.ts';

const MIC_HZ = 440;
/** Screenshots of the audio panel and the paused banner, kept after the run for a look. */
const SHOTS = join(tmpdir(), 'cc-audio-shots');
let tc: TestCentre;
let browser: Browser;

beforeAll(async () => {
  // Ports in this file's block: SIP 23260, HTTP 23280/1, Postgres 23233, mediasoup 23600-23799, plain RTP 23900-23999.
  tc = await startTestCentre(
    { sip: 23260, http: 23280, pg: 23233, rtc: 23600 },
    { env: { CC_RTP_MIN_PORT: '23900', CC_RTP_MAX_PORT: '23999' } },
  );
  browser = await launchBrowser(writeToneWav(tc.dataDir, MIC_HZ));
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await tc?.stop();
});

/** Tone power at f relative to the mean over the voice band: ~1 for noise, >> 1 for a tone. */
function toneRatio(x: ArrayLike<number>, f: number, rate: number): number {
  let sum = 0;
  let n = 0;
  for (let g = 200; g <= 3400; g += 50) {
    sum += goertzelPower(x, g, rate);
    n++;
  }
  return goertzelPower(x, f, rate) / (sum / n);
}

/** Record `ms` of what the echo test sends back, inside the page (ScriptProcessor on its remote stream). */
async function captureEcho(page: Page, ms: number): Promise<{ rate: number; samples: Float32Array }> {
  const r = await page.evaluate(async (dur) => {
    const w = window as unknown as { ccAudio: { panel: { state: { remote?: MediaStream } } } };
    const stream = w.ccAudio.panel.state.remote;
    if (!stream) throw new Error('no echo stream');
    const ctx = new AudioContext();
    const src = ctx.createMediaStreamSource(stream);
    const proc = ctx.createScriptProcessor(4096, 1, 1);
    const chunks: number[] = [];
    proc.onaudioprocess = (ev) => {
      const d = ev.inputBuffer.getChannelData(0);
      for (let i = 0; i < d.length; i++) chunks.push(d[i] ?? 0);
    };
    src.connect(proc);
    proc.connect(ctx.destination);
    await new Promise((res) => setTimeout(res, dur));
    proc.disconnect();
    src.disconnect();
    const rate = ctx.sampleRate;
    await ctx.close();
    return { rate, samples: chunks };
  }, ms);
  return { rate: r.rate, samples: Float32Array.from(r.samples) };
}

describe('pre-call echo test', () => {
  it("the agent's own tone comes back through the centre, the meters show it, the verdict is OK", async () => {
    const page = await loginAgent(browser, tc.httpUrl, '1001', 'alice1001');
    await page.click('#audio-test');
    await page.waitForFunction(
      () => (window as unknown as { ccAudio: { panel: { state: { echo: string } } } }).ccAudio.panel.state.echo === 'testing',
      null,
      {
        timeout: 10_000,
      },
    );
    await page.waitForTimeout(1000);
    // The meters draw per animation frame: on a loaded machine give them a moment.
    await page
      .waitForFunction(
        () => ['mic-meter', 'speaker-meter'].every((id) => Number(document.getElementById(id)?.getAttribute('aria-valuenow')) > 30),
        null,
        {
          timeout: 3000,
        },
      )
      .catch(() => undefined);
    const diag = await page.evaluate(() => {
      const p = (window as unknown as { ccAudio: { panel: { mic: { debug: unknown }; speaker: { debug: unknown } } } }).ccAudio.panel;
      return { mic: p.mic.debug, speaker: p.speaker.debug, hidden: document.hidden, vis: document.visibilityState };
    });
    console.log('meter diag', JSON.stringify(diag));
    const meters = await page.evaluate(() =>
      ['mic-meter', 'speaker-meter'].map((id) => {
        const m = document.getElementById(id)!;
        return { role: m.getAttribute('role'), now: Number(m.getAttribute('aria-valuenow')), text: m.getAttribute('aria-valuetext') };
      }),
    );
    await page.screenshot({ path: join(SHOTS, 'echo-test.png'), fullPage: true });
    const heard = await captureEcho(page, 2000);
    const own = toneRatio(heard.samples, MIC_HZ, heard.rate);
    const other = toneRatio(heard.samples, 1000, heard.rate);
    let sq = 0;
    for (const s of heard.samples) sq += s * s;
    const rmsDb = 20 * Math.log10(Math.sqrt(sq / Math.max(1, heard.samples.length)) || 1e-9);
    console.log('echo test', JSON.stringify({ own, other, rmsDb, meters, rate: heard.rate, n: heard.samples.length }));
    expect(heard.samples.length).toBeGreaterThan(heard.rate); // at least a second of audio
    expect(rmsDb).toBeGreaterThan(-30); // G.711 at the fake mic's level, not a trickle
    expect(own).toBeGreaterThan(50);
    expect(other).toBeLessThan(2);
    for (const m of meters) {
      expect(m.role).toBe('meter');
      expect(m.now).toBeGreaterThan(30);
      expect(m.text).toMatch(/-?\d+ dB/);
    }
    // The test ends by itself with a verdict and hangs up.
    await page.waitForFunction(
      () => (window as unknown as { ccAudio: { panel: { state: { echo: string } } } }).ccAudio.panel.state.echo === 'done',
      null,
      {
        timeout: 15_000,
      },
    );
    const v = await page.evaluate(
      () =>
        (window as unknown as { ccAudio: { panel: { state: { verdict: { ok: boolean; micDb: number; echoDb: number } } } } }).ccAudio.panel
          .state.verdict,
    );
    expect(v).toMatchObject({ ok: true });
    // The verdict's levels are the meters' peaks: both sides measured the tone (the fake mic is about −15 dBFS).
    expect(v.micDb).toBeGreaterThan(-30);
    expect(v.echoDb).toBeGreaterThan(-30);
    expect(await page.textContent('#audio-result')).toMatch(/Audio OK/);
    expect(await page.getAttribute('#mic-meter', 'aria-valuenow')).toBe('0'); // meters rest after the test
    await page.close();
  });

  it('only logged-in agents; a desk phone (plain RTP) hears its own tone back', async () => {
    const sip = new SipStack({ clock: new SystemClock(), realm: 'test' });
    await sip.listen({ udp: { port: 23265, host: '127.0.0.1' } });
    const rtp = createSocket('udp4');
    await new Promise<void>((r) => rtp.bind(23266, '127.0.0.1', r));
    const back: Buffer[] = [];
    rtp.on('message', (m) => {
      const p = parseRtp(m);
      if (p?.payloadType === 0) back.push(Buffer.from(p.payload));
    });
    try {
      const sdp = [
        'v=0',
        'o=- 1 1 IN IP4 127.0.0.1',
        's=-',
        'c=IN IP4 127.0.0.1',
        't=0 0',
        'm=audio 23266 RTP/AVP 0',
        'a=rtpmap:0 PCMU/8000',
        '',
      ].join('\r\n');
      const target = `sip:echo@127.0.0.1:${tc.sipPort}`;
      const status = (p: Promise<unknown>) =>
        p.then(
          () => 200,
          (e: { status?: number }) => e.status,
        );
      expect(await status(sip.createUAC(target, { localSdp: sdp }))).toBe(407); // challenged
      expect([403, 407]).toContain(await status(sip.createUAC(target, { localSdp: sdp, auth: { username: '1003', password: 'nope' } })));
      // Right password, but agent 1003 is not logged in.
      expect(await status(sip.createUAC(target, { localSdp: sdp, auth: { username: '1003', password: 'carol1003' } }))).toBe(403);
      const login = await fetch(new URL('/api/v1/agent/login', tc.httpUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agent: '1003', password: 'carol1003' }),
      });
      expect(login.status).toBe(200);
      const dialog = await sip.createUAC(target, { localSdp: sdp, auth: { username: '1003', password: 'carol1003' } });
      const m = /^m=audio (\d+)/m.exec(dialog.remoteSdp ?? '');
      const c = /^c=IN IP4 (\S+)/m.exec(dialog.remoteSdp ?? '');
      expect(m && c).toBeTruthy();
      // 3 s of a 700 Hz tone as 20 ms PCMU packets, paced.
      const pcm = tone(700, 3000, { amp: 8000 });
      const t0 = Date.now();
      for (let i = 0; i * 160 < pcm.length; i++) {
        const payload = encodeG711('PCMU', pcm.subarray(i * 160, (i + 1) * 160));
        rtp.send(
          buildRtp({ payloadType: 0, marker: i === 0, sequenceNumber: i, timestamp: i * 160, ssrc: 0x1234, payload }),
          Number(m![1]),
          c![1],
        );
        const wait = t0 + (i + 1) * 20 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await new Promise((r) => setTimeout(r, 500));
      await dialog.destroy();
      const heard = decodeG711('PCMU', Buffer.concat(back));
      console.log('desk phone echo', back.length, 'packets', dominantFrequency(heard.subarray(8000), 8000, 300, 3000, 10));
      expect(back.length).toBeGreaterThan(100); // most of the 150 sent
      expect(dominantFrequency(heard.subarray(8000), 8000, 300, 3000, 10).freq).toBeCloseTo(700, -1);
    } finally {
      rtp.close();
      await sip.close();
    }
  });

  it('on a call the desk pauses the recording with a visible banner and the elapsed time, and resumes', async () => {
    const page = await loginAgent(browser, tc.httpUrl, '1002', 'bob1002');
    await page.click('#ready');
    await waitForAgentState(page, 'available');
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '2',
      toneHz: 1000,
      holdMs: 14_000,
      sipPort: 23270,
      mediaPort: 23320,
      caller: '15552601',
    });
    await waitForCallState(page, 'ringing', 20_000);
    await page.click('#answer');
    await waitForCallState(page, 'connected');
    await page.waitForSelector('#rec-toggle:not([hidden])', { timeout: 5000 });
    // The recording starts just after the bridge: a pause before it is a 409 the page shows.
    await page.waitForTimeout(1500);
    expect(await page.isHidden('#rec-banner')).toBe(true);
    await page.click('#rec-toggle');
    await page.waitForSelector('#rec-banner:not([hidden])', { timeout: 5000 });
    expect(await page.getAttribute('#rec-toggle', 'aria-pressed')).toBe('true');
    expect(await page.textContent('#rec-toggle')).toBe('Resume recording');
    await page.waitForTimeout(2200);
    const banner = (await page.textContent('#rec-banner')) ?? '';
    expect(banner).toMatch(/Recording paused\s+0:0[2-3]/);
    // The meters follow the call: both sides have level.
    const levels = await page.evaluate(() =>
      ['mic-meter', 'speaker-meter'].map((id) => Number(document.getElementById(id)!.getAttribute('aria-valuenow'))),
    );
    console.log('call meters', JSON.stringify(levels), banner);
    await page.screenshot({ path: join(SHOTS, 'rec-paused.png'), fullPage: true });
    const contactId = [...tc.centre.calls.values()].find((c) => c.caller === '15552601')!.contactId;
    await page.click('#rec-toggle');
    await page.waitForSelector('#rec-banner', { state: 'hidden', timeout: 5000 });
    expect(await page.getAttribute('#rec-toggle', 'aria-pressed')).toBe('false');
    for (const l of levels) expect(l).toBeGreaterThan(30);
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await tc.centre.store.flush();
    const types = (await storedEvents(tc.centre.store, Date.now() - 120_000, Date.now() + 60_000))
      .filter((e) => e.contactId === contactId && e.type.startsWith('recording.'))
      .map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['recording.started', 'recording.pause', 'recording.resume']);
    await page.close();
  });

  it('a Ready agent running the echo test is busy to the ACD: no queue call offered until it ends, then Ready again', async () => {
    // Only 1003 may take support calls here: 1002 (the test before) is made Not ready.
    if (tc.centre.acd.agentView('1002')?.state !== 'logged-out') tc.centre.acd.agentNotReady('1002', 'break');
    const login = await fetch(new URL('/api/v1/agent/login', tc.httpUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent: '1003', password: 'carol1003' }),
    });
    expect(login.status).toBe(200);
    const token = ((await login.json()) as { token: string }).token;
    const ready = await fetch(new URL('/api/v1/agent/state', tc.httpUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'ready' }),
    });
    expect(ready.status).toBe(200);
    expect(tc.centre.acd.agentView('1003')?.state).toBe('available');
    const offers: { at: number; callId: string }[] = [];
    const onAcd = (e: { type: string; agentId?: string; callId?: string }): void => {
      if (e.type === 'offer' && e.agentId === '1003') offers.push({ at: Date.now(), callId: e.callId! });
    };
    tc.centre.acd.on('event', onAcd);
    // Ports from this helper's block (13000-13499): the test's SIP client and the caller.
    const sip = new SipStack({ clock: new SystemClock(), realm: 'test' });
    await sip.listen({ udp: { port: 13270, host: '127.0.0.1' } });
    const sdp = [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=audio 13271 RTP/AVP 0',
      'a=rtpmap:0 PCMU/8000',
      '',
    ].join('\r\n');
    const caller = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '2',
      toneHz: 1000,
      holdMs: 30_000,
      sipPort: 13272,
      mediaPort: 13274,
      caller: '15551302',
    });
    try {
      const dialog = await sip.createUAC(`sip:echo@127.0.0.1:${tc.sipPort}`, {
        localSdp: sdp,
        auth: { username: '1003', password: 'carol1003' },
      });
      // Busy to the ACD for the test's length, as on a click-to-dial call.
      expect(tc.centre.acd.agentView('1003')).toMatchObject({ state: 'not-ready', reason: 'internal-call' });
      const waiting = await waitFor(
        () =>
          [...tc.centre.calls.values()].find((c) => c.caller === '15551302' && tc.centre.acd.callView(c.contactId)?.state === 'waiting'),
        { timeoutMs: 20_000, what: 'the caller waiting in support' },
      );
      await new Promise((r) => setTimeout(r, 3000));
      expect(offers).toEqual([]);
      expect(tc.centre.acd.callView(waiting.contactId)?.state).toBe('waiting');
      const endedAt = Date.now();
      await dialog.destroy();
      // Ready again: the waiting caller is offered to them at once.
      const offer = await waitFor(() => offers[0], { timeoutMs: 5000, what: 'the offer to 1003' });
      expect(offer.callId).toBe(waiting.contactId);
      console.log(`echo test busy: no offer for 3 s while it ran, offered ${offer.at - endedAt} ms after it ended`);
    } finally {
      tc.centre.acd.off('event', onAcd);
      caller.stop();
      await sip.close();
    }
  });
});
