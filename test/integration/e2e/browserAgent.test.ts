/**
 * The first real call, end to end: sipp dials the trunk, presses 1 in the IVR, waits in "sales";
 * headless Chromium logged in as agent 1001 on the real softphone page rings, answers; the
 * caller's 1000 Hz tone reaches the agent and the agent's 440 Hz microphone reaches the caller
 * (checked with Goertzel on each side); the caller hangs up; Postgres then holds the call with
 * its timestamps in order, queue sales, agent 1001 and a recording whose channels carry the tones.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { rtpFromPcap } from '../../../media/audio/pcap.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { captureRemoteAudio, launchBrowser, loginAgent, waitForAgentState, waitForCallState, writeToneWav } from '../../support/browser.ts';
import { dominantFrequency, goertzelPower, readStereoWav } from '../../support/audio.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';

let tc: TestCentre;
let browser: Browser;

beforeAll(async () => {
  tc = await startTestCentre({ sip: 15160, http: 18180, pg: 15533, rtc: 42000 });
  browser = await launchBrowser(writeToneWav(tc.dataDir, 440));
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

describe('trunk → IVR → queue → browser agent', () => {
  it('connects a sipp caller to agent 1001 with audio both ways, recorded, with a CDR', async () => {
    const page = await loginAgent(browser, tc.httpUrl, '1001', 'alice1001');
    await page.click('#ready');
    await waitForAgentState(page, 'available');

    const cap = await captureUdp(16100);
    const started = Date.now();
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      toneHz: 1000,
      holdMs: 16_000,
      sipPort: 15170,
      mediaPort: 16100,
      caller: '15550001',
    });

    await waitForCallState(page, 'ringing', 20_000);
    const pop = await page.evaluate(
      () => (window as unknown as { cc: { call: { queue: string; caller: string; ivrPath: string[]; waitedSeconds: number } } }).cc.call,
    );
    expect(pop.queue).toBe('sales');
    expect(pop.caller).toBe('15550001');
    expect(pop.ivrPath).toEqual(['hours', 'welcome', 'menu', 'sales']); // open, welcome, key 1
    // Waited is time in queue, as the reports count it: the agent was ready, so about 0 s; the IVR
    // before it (the key is pressed 1.5 s after the answer) is not waiting for an agent.
    expect(pop.waitedSeconds).toBeLessThanOrEqual(1);
    await page.click('#answer');
    await waitForCallState(page, 'connected');
    await waitForAgentState(page, 'on-call');

    // What the agent hears: the caller's 1000 Hz tone, once the caller has finished pressing 1 and
    // speaks (sipp starts its tone after the key); listened to in 1 s windows until it is there.
    const heard = await waitFor(
      async () => {
        const h = await captureRemoteAudio(page, 1000);
        return Math.abs(dominantFrequency(h.samples, h.rate, 300, 3000, 10).freq - 1000) <= 10 ? h : undefined;
      },
      { timeoutMs: 10_000, what: "the caller's 1000 Hz tone at the agent" },
    );
    expect(toneRatio(heard.samples, 1000, heard.rate)).toBeGreaterThan(50);

    const result = await call.done;
    expect(result.code, result.stderr + result.stdout.slice(-2000)).toBe(0);
    await waitForCallState(page, 'idle');
    await waitForAgentState(page, 'wrap-up');
    // A call counts as handled once its after-call work is over.
    await page.click('#endwrap');
    await waitForAgentState(page, 'available');

    // What the caller heard after the answer: the agent's 440 Hz microphone.
    const rtp = rtpFromPcap(await cap.stop(), 16100).filter((p) => p.payloadType === 0);
    expect(rtp.length).toBeGreaterThan(200);
    const last = decodeG711('PCMU', Buffer.concat(rtp.slice(-150, -25).map((p) => p.payload)));
    expect(dominantFrequency(last, 8000, 300, 3000, 10).freq).toBeCloseTo(440, -1);
    expect(toneRatio(last, 440, 8000)).toBeGreaterThan(50);

    // The record in Postgres.
    await tc.centre.store.flush();
    const calls = await tc.centre.store.calls({ from: started - 60_000, to: Date.now() + 60_000 });
    expect(calls).toHaveLength(1);
    const cdr = calls[0]!;
    expect(cdr).toMatchObject({ queue: 'sales', agentId: '1001', handled: true, caller: '15550001', recordings: 1 });
    const events = (await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000)).filter(
      (e) => e.contactId === cdr.contactId,
    );
    const at = (t: string): number => {
      const e = events.find((x) => x.type === t);
      expect(e, `event ${t}`).toBeDefined();
      return e!.ts;
    };
    const order = [
      'contact.arrived',
      'ivr.end',
      'queue.enter',
      'queue.offer',
      'queue.connect',
      'recording.started',
      'call.end',
      'wrapup.start',
      'wrapup.end',
    ].map(at);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const end = events.find((e) => e.type === 'call.end');
    expect(end).toMatchObject({ endedBy: 'caller' });

    // The same call as rows a DBA would query: the contact, its legs, the queue log.
    const pool = tc.centre.store.pool;
    const contact = (await pool.query('SELECT * FROM contacts WHERE contact_id = $1', [cdr.contactId])).rows[0] as Record<string, unknown>;
    expect(contact).toMatchObject({ caller: '15550001', trunk: 'local', ended_by: 'caller' });
    expect((contact.arrived_at as Date).getTime()).toBeLessThan((contact.ended_at as Date).getTime());
    const legs = (await pool.query('SELECT party_kind, party, queue FROM legs WHERE contact_id = $1 ORDER BY seq', [cdr.contactId])).rows;
    expect(legs).toEqual(expect.arrayContaining([expect.objectContaining({ party_kind: 'agent', party: '1001', queue: 'sales' })]));
    const qlog = (await pool.query('SELECT event, agent_id FROM queue_events WHERE contact_id = $1 ORDER BY at, seq', [cdr.contactId]))
      .rows;
    expect(qlog.map((r: { event: string }) => r.event)).toEqual(['ENTER', 'OFFER', 'CONNECT']);

    // The recording: caller (1000 Hz) left, agent (440 Hz) right.
    const rec = events.find((e) => e.type === 'recording.started');
    const wav = readStereoWav(readFileSync((rec as { path: string }).path));
    const mid = (x: Int16Array) => x.subarray(Math.floor(x.length * 0.4), Math.floor(x.length * 0.6));
    expect(dominantFrequency(mid(wav.left), wav.rate, 300, 3000, 10).freq).toBeCloseTo(1000, -1);
    expect(dominantFrequency(mid(wav.right), wav.rate, 300, 3000, 10).freq).toBeCloseTo(440, -1);

    // The same call in the reports API: the supervisor sees it; an agent may not.
    const q = `from=${new Date(started - 60_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&interval=range`;
    const basic = (id: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${pw}`).toString('base64')}` });
    const rep = await fetch(`${tc.httpUrl}api/v1/reports/queues?${q}`, { headers: basic('9001', 'sam9001') });
    expect(rep.status).toBe(200);
    const rows = ((await rep.json()) as { rows: { key: string; offered: number; answered: number }[] }).rows;
    expect(rows.find((r) => r.key === 'sales')).toMatchObject({ offered: 1, answered: 1 });
    expect((await fetch(`${tc.httpUrl}api/v1/reports/queues?${q}`, { headers: basic('1001', 'alice1001') })).status).toBe(403);
    expect((await fetch(`${tc.httpUrl}api/v1/reports/queues?${q}`)).status).toBe(401);
    expect((await fetch(`${tc.httpUrl}api/v1/live`)).status).toBe(401);
    expect((await fetch(`${tc.httpUrl}api/v1/live`, { headers: basic('1001', 'alice1001') })).status).toBe(403);
    const live = (await (await fetch(`${tc.httpUrl}api/v1/live`, { headers: basic('9001', 'sam9001') })).json()) as { calls: unknown[] };
    expect(live.calls).toEqual([]);
    const audio = await fetch(`${tc.httpUrl}api/v1/recordings/${(rec as { recordingId: string }).recordingId}/audio`, {
      headers: basic('9001', 'sam9001'),
    });
    expect(audio.status).toBe(200);
    expect(
      Buffer.from(await audio.arrayBuffer())
        .subarray(0, 4)
        .toString(),
    ).toBe('RIFF');
    await page.close();
  });
});
