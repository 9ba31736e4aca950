/** Headless Debian Chromium for WebRTC tests on 127.0.0.1 (flags from research/spikes.md). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(fakeMicWav: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${fakeMicWav}`,
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
}

/** Open a blank page on an http://127.0.0.1 origin (a secure context, so getUserMedia works). */
export async function openPage(browser: Browser, html = '<!doctype html><meta charset=utf-8><title>t</title>'): Promise<Page> {
  const srv = http.createServer((_q, r) => {
    r.setHeader('content-type', 'text/html');
    r.end(html);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/`);
  srv.close();
  return page;
}

/** Keep only IPv4 loopback candidates: tests send traffic to 127.0.0.1 only. */
export function loopbackOnly(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:') || / 127\.0\.0\.1 \d+ typ host/.test(l))
    .join('\r\n');
}
