/**
 * The agent on another machine (a network namespace, test/support/netns.ts), over HTTPS/WSS on a
 * non-loopback address, as remote agents are (issue #15):
 *
 * 1. Every packet of the agent's machine is dropped for 5 s mid-call. The call is kept; whichever
 *    way the WebSocket went (it may survive a 5 s drop on TCP retransmissions, or be replaced by
 *    a new one), audio returns both ways: the caller's 1000 Hz at the agent, the agent's 440 Hz at
 *    the caller. The figures (time to audio back, WebSocket kept or replaced, ICE restarts) are
 *    printed.
 * 2. ICE-TCP: the agent's network carries no UDP at all; the call still talks both ways, over
 *    the mediasoup transport's TCP candidate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { readPcapUdp } from '../../../media/audio/pcap.ts';
import { parseRtp } from '../../../media/rtp/rtp.ts';
import { WebRtcLeg } from '../../../media/index.ts';
import { captureRemoteAudio, loginAgent, waitForCallState, waitForAgentState, writeToneWav } from '../../support/browser.ts';
import { decodeG711, dominantFrequency } from '../../support/audio.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { createAgentNetwork, type AgentNetwork } from '../../support/netns.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { waitFor } from '../../support/waitFor.ts';

const HTTP = 22280;
let tc: TestCentre;
let net: AgentNetwork;
let browser: Browser;

beforeAll(async () => {
  net = await createAgentNetwork('cc-surv-ns', 152);
  tc = await startTestCentre(
    { sip: 22260, http: HTTP, pg: 22233, rtc: 22600 },
    {
      env: {
        CC_HTTP_HOST: '0.0.0.0',
        CC_MEDIA_LISTEN_IP: net.hostAddress,
        CC_ANNOUNCED_ADDRESS: net.hostAddress,
        CC_RTP_MIN_PORT: '22800',
        CC_RTP_MAX_PORT: '22999',
      },
    },
  );
  const cert = tc.centre.certificate?.certFile;
  if (!cert) throw new Error('the test centre serves no HTTPS');
  browser = await net.launchBrowser(writeToneWav(tc.dataDir, 440), { trustCertPem: cert });
}, 60_000);
afterAll(async () => {
  await net?.restore().catch(() => undefined);
  await browser?.close();
  await tc?.stop();
  await net?.close();
});

interface IceRestart {
  reason: string;
  outcome: string;
  ms: number;
  at: number;
}

async function toneAtAgent(page: Page, hz: number, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const h = await captureRemoteAudio(page, 1000);
      return Math.abs(dominantFrequency(h.samples, h.rate, 300, 3000, 10).freq - hz) <= 10 ? true : undefined;
    },
    { timeoutMs, what: `the caller's ${hz} Hz tone at the agent` },
  );
}

/** The first time (ms) after `from` at which the caller hears `hz` in a 0.5 s window, if ever. */
function toneAtCallerFrom(pcap: Buffer, port: number, from: number, hz: number): number | undefined {
  const pkts = readPcapUdp(pcap)
    .filter((d) => d.dstPort === port && d.at > from)
    .map((d) => ({ at: d.at, p: parseRtp(d.payload) }))
    .filter((x) => x.p?.payloadType === 0);
  for (let i = 0; i + 25 <= pkts.length; i += 5) {
    const pcm = decodeG711('PCMU', Buffer.concat(pkts.slice(i, i + 25).map((x) => x.p!.payload)));
    if (Math.abs(dominantFrequency(pcm, 8000, 300, 3000, 10).freq - hz) <= 10) return pkts[i]!.at;
  }
  return undefined;
}

async function agentOnCall(
  caller: string,
  sipPort: number,
  mediaPort: number,
  holdMs: number,
): Promise<{ page: Page; call: ReturnType<typeof placeDemoCall> }> {
  const page = await loginAgent(browser, `https://${net.hostAddress}:${HTTP + 1}/`, '1001', 'alice1001');
  await page.evaluate(() => {
    const w = window as unknown as { restarts: unknown[] };
    w.restarts = [];
    window.addEventListener('cc-ice-restart', (e) => w.restarts.push({ ...(e as CustomEvent<object>).detail, at: Date.now() }));
  });
  await page.click('#ready');
  await waitForAgentState(page, 'available');
  const call = placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, digits: '1', toneHz: 1000, holdMs, sipPort, mediaPort, caller });
  await waitForCallState(page, 'ringing', 20_000);
  await page.keyboard.press('Alt+A');
  await waitForCallState(page, 'connected');
  return { page, call };
}

describe('a remote agent’s call across their network', () => {
  it('survives 5 s of every packet dropped: audio returns both ways', async () => {
    const cap = await captureUdp(22300);
    const { page, call } = await agentOnCall('15550301', 22270, 22300, 40_000);
    try {
      await toneAtAgent(page, 1000, 10_000);
      const contact = [...tc.centre.calls.values()].find((c) => c.caller === '15550301')!;
      const flowBefore = contact.agent?.dialog?.flowId;
      const reconnectsBefore = await page.evaluate(() => (window as unknown as { cc: { reconnects: number } }).cc.reconnects);

      await net.cut();
      await new Promise((r) => setTimeout(r, 5000));
      expect(contact.phase).toBe('connected');
      await net.restore();
      const restoredAt = Date.now();

      await toneAtAgent(page, 1000, 30_000);
      const agentBackMs = Date.now() - restoredAt;
      await page.waitForFunction(() => (window as unknown as { cc: { phone: string } }).cc.phone === 'online', null, { timeout: 30_000 });
      const flowAfter = contact.agent?.dialog?.flowId;
      const reconnects =
        (await page.evaluate(() => (window as unknown as { cc: { reconnects: number } }).cc.reconnects)) - reconnectsBefore;
      const restarts = await page.evaluate(() => (window as unknown as { restarts: IceRestart[] }).restarts);
      expect(contact.phase).toBe('connected');
      expect(contact.agent?.party).toBe('1001');

      const done = await call.done;
      expect(done.code, done.stderr.slice(-1500)).toBe(0);
      const callerBackAt = toneAtCallerFrom(await cap.stop(), 22300, restoredAt, 440);
      expect(callerBackAt, "the agent's 440 Hz at the caller after the cut").toBeDefined();
      console.log(
        `[callSurvivalNetwork] 5 s drop: WebSocket ${flowAfter === flowBefore ? `kept (${flowBefore})` : `replaced (${flowBefore} -> ${flowAfter})`}, page reconnects ${reconnects}; ` +
          `ICE restarts ${JSON.stringify(restarts.map((r) => ({ reason: r.reason, outcome: r.outcome, afterRestoreMs: r.at - restoredAt })))}; ` +
          `caller's tone at the agent ${agentBackMs} ms after the restore (1 s listening windows), agent's tone at the caller ${Math.round(callerBackAt! - restoredAt)} ms after`,
      );
      await waitForCallState(page, 'idle');
    } finally {
      await net.restore();
      call.stop();
      await page.close();
    }
  });

  it('talks over ICE-TCP when the agent’s network blocks UDP', async () => {
    await net.blockUdp();
    const cap = await captureUdp(22310);
    const { page, call } = await agentOnCall('15550302', 22271, 22310, 12_000);
    try {
      await toneAtAgent(page, 1000, 15_000);
      const contact = [...tc.centre.calls.values()].find((c) => c.caller === '15550302')!;
      const media = contact.agent?.media;
      expect(media).toBeInstanceOf(WebRtcLeg);
      expect((media as WebRtcLeg).transport.iceSelectedTuple?.protocol).toBe('tcp');
      const done = await call.done;
      expect(done.code, done.stderr.slice(-1500)).toBe(0);
      expect(toneAtCallerFrom(await cap.stop(), 22310, 0, 440), "the agent's 440 Hz at the caller").toBeDefined();
      await waitForCallState(page, 'idle');
    } finally {
      await net.restore();
      call.stop();
      await page.close();
    }
  });
});
