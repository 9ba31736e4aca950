/**
 * The harness for agents on another machine (test/support/netns.ts) proves itself: Chromium runs in
 * a network namespace and reaches the centre on a non-loopback address, where the desktop over
 * HTTPS is a secure context (microphone allowed, sip.js registers over WSS) and plain HTTP is not;
 * cut() stops every packet and restore() brings them back; blockUdp() stops UDP only. The tests of
 * the desktop's resilience rely on each of these.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { loginAgent, writeToneWav } from '../../support/browser.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { createAgentNetwork, type AgentNetwork } from '../../support/netns.ts';

let tc: TestCentre;
let net: AgentNetwork;
let browser: Browser;
const HTTP = 30110;

beforeAll(async () => {
  net = await createAgentNetwork('cc-lead-ns', 231);
  tc = await startTestCentre(
    { sip: 30100, http: HTTP, pg: 30120, rtc: 30200 },
    { env: { CC_HTTP_HOST: '0.0.0.0', CC_MEDIA_LISTEN_IP: net.hostAddress, CC_ANNOUNCED_ADDRESS: net.hostAddress } },
  );
  const cert = tc.centre.certificate?.certFile;
  if (!cert) throw new Error('the test centre serves no HTTPS');
  browser = await net.launchBrowser(writeToneWav(tc.dataDir, 440), { trustCertPem: cert });
});
afterAll(async () => {
  await browser?.close();
  await tc?.stop();
  await net?.close();
});

/** Sends one UDP datagram from inside the namespace to the host; true when it arrived within 1.5 s. */
async function udpFromAgent(n: AgentNetwork, seq: number): Promise<boolean> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, n.hostAddress, r));
  const port = sock.address().port;
  const got = new Promise<boolean>((resolve) => {
    sock.on('message', (m) => m.toString() === `probe ${seq}` && resolve(true));
    setTimeout(() => resolve(false), 1500);
  });
  const code = `require('node:dgram').createSocket('udp4').send('probe ${seq}', ${port}, '${n.hostAddress}', (e, _n) => process.exit(e ? 1 : 0))`;
  // With the output chain dropping UDP the send itself fails (EPERM): the datagram never leaves.
  await promisify(execFile)('ip', ['netns', 'exec', n.name, process.execPath, '-e', code], { timeout: 5000 }).catch(() => undefined);
  const arrived = await got;
  sock.close();
  return arrived;
}

/** fetch from inside the page, bounded: 'ok', or the error's name. */
async function reach(page: import('playwright-core').Page, url: string): Promise<string> {
  return page.evaluate(async (u) => {
    try {
      const r = await fetch(u, { signal: AbortSignal.timeout(1500), cache: 'no-store' });
      return r.ok ? 'ok' : `status ${r.status}`;
    } catch (e) {
      return (e as Error).name;
    }
  }, url);
}

describe('an agent machine in a network namespace', () => {
  it('HTTPS on a non-loopback address is a secure context and the desktop registers; plain HTTP is not secure', async () => {
    const https = `https://${net.hostAddress}:${HTTP + 1}/`;
    const page = await loginAgent(browser, https, '1001', 'alice1001');
    expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
    expect(await page.evaluate(() => location.hostname)).toBe(net.hostAddress);
    const plain = await browser.newPage();
    await plain.goto(`http://${net.hostAddress}:${HTTP}/`);
    expect(await plain.evaluate(() => window.isSecureContext)).toBe(false);
    // Without a secure context there is no microphone API at all: why remote agents need HTTPS.
    expect(await plain.evaluate(() => typeof navigator.mediaDevices)).toBe('undefined');
    await plain.close();
    await page.close();
  });

  it('cut() stops every packet, blockUdp() only UDP, restore() brings them back', async () => {
    const page = await browser.newPage();
    const me = `https://${net.hostAddress}:${HTTP + 1}/healthz`;
    await page.goto(`https://${net.hostAddress}:${HTTP + 1}/`);
    expect(await reach(page, me)).toBe('ok');
    await net.cut();
    expect(await reach(page, me)).toBe('TimeoutError');
    await net.restore();
    expect(await reach(page, me)).toBe('ok');
    await net.blockUdp();
    expect(await reach(page, me)).toBe('ok');
    // A UDP datagram from the namespace to the host goes nowhere while TCP still flows.
    expect(await udpFromAgent(net, 2)).toBe(false);
    await net.restore();
    expect(await udpFromAgent(net, 3)).toBe(true);
    await page.close();
  });
});
