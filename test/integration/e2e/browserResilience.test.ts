/**
 * The desktop's phone after its WebSocket drops (a network blip, a proxy closing the socket, the
 * centre restarting its listener): the page shows "reconnecting" at once, the centre sets the
 * agent Not ready ('disconnected') instead of logging them out, the page reconnects on its own and
 * registers again on the new connection, the agent is Ready again, so the next call rings — with the ring-no-answer
 * countdown on screen — and talks (the caller's tone heard by the agent). Without the reconnect
 * the page stays offline and the call never rings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { captureRemoteAudio, launchBrowser, loginAgent, waitForAgentState, waitForCallState, writeToneWav } from '../../support/browser.ts';
import { dominantFrequency } from '../../support/audio.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';

let tc: TestCentre;
let browser: Browser;

beforeAll(async () => {
  tc = await startTestCentre({ sip: 16360, http: 19180, pg: 16333, rtc: 46600 });
  browser = await launchBrowser(writeToneWav(tc.dataDir, 440));
});
afterAll(async () => {
  await browser?.close();
  await tc?.stop();
});

interface PageCc {
  phone: string;
  reconnects: number;
}
// Runs inside the page (no closures from here reach it).
const phoneIs = (status: string): boolean => (window as unknown as { cc: PageCc }).cc.phone === status;

describe('the desktop phone after its connection drops', () => {
  it('shows reconnecting, registers again on its own, and the next call rings and talks', async () => {
    const page = await loginAgent(browser, tc.httpUrl, '1001', 'alice1001');
    await page.click('#ready');
    await waitForAgentState(page, 'available');
    expect(await page.textContent('#conn')).toBe('online');

    // Drop every SIP WebSocket the centre holds, as a network cut or a proxy would.
    const wsFlows = () => [...tc.centre.sip.transport.flows.values()].filter((f) => f.transport === 'ws');
    expect(wsFlows()).toHaveLength(1);
    const before = wsFlows()[0]!.id;
    for (const f of wsFlows()) f.close();

    await page.waitForFunction(phoneIs, 'reconnecting', { timeout: 5000 });
    expect(await page.textContent('#conn')).toMatch(/^reconnecting/);
    // Meanwhile no offer goes to a phone that is not there: Not ready, 'disconnected' (pushed over
    // the event stream, which is not the WebSocket), not logged out.
    await waitFor(async () => (tc.centre.acd.agentView('1001')?.reason === 'disconnected' ? true : undefined), {
      timeoutMs: 5000,
      what: 'agent 1001 not ready (disconnected)',
    });
    await page.waitForFunction(phoneIs, 'online', { timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { cc: PageCc }).cc.reconnects)).toBe(1);
    // Ready again as before the drop, without the agent doing anything.
    await waitForAgentState(page, 'available', 5000);
    // Registered again on a new flow: the centre's binding points at it.
    await waitFor(
      async () => {
        const b = await tc.centre.sip.lookup('1001');
        return b.length > 0 && b.every((x) => x.source.flowId !== before) && wsFlows().length === 1 ? b : undefined;
      },
      { timeoutMs: 5000, what: 'a binding on the new WebSocket' },
    );

    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      toneHz: 1000,
      holdMs: 12_000,
      sipPort: 16370,
      mediaPort: 16380,
      caller: '15550077',
    });
    await waitForCallState(page, 'ringing', 20_000);
    // The ring-no-answer countdown from the offer (queues.yaml offerTimeout, 15 s by default).
    const countdown = (await page.textContent('#call-timer')) ?? '';
    const left = Number(/rings (\d+) s more/.exec(countdown)?.[1]);
    expect(left).toBeGreaterThan(5);
    expect(left).toBeLessThanOrEqual(15);
    await page.keyboard.press('Alt+A');
    await waitForCallState(page, 'connected');
    await waitForAgentState(page, 'on-call');
    await waitFor(
      async () => {
        const h = await captureRemoteAudio(page, 1000);
        return Math.abs(dominantFrequency(h.samples, h.rate, 300, 3000, 10).freq - 1000) <= 10 ? h : undefined;
      },
      { timeoutMs: 10_000, what: "the caller's tone at the agent after the reconnect" },
    );
    expect(await page.textContent('#call-timer')).toMatch(/^0:\d\d$/);
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    await waitForCallState(page, 'idle');
  });
});
