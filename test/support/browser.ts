/**
 * Headless Chromium driving the real agent desktop: launch with the flags proven on this machine
 * (see shared research spikes.md), log an agent in, and capture what the agent hears as raw
 * samples so tests check tones with Goertzel rather than "a packet arrived".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { encodeWav } from '../../media/audio/wav.ts';
import { tone } from './audio.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A 48 kHz mono 16-bit sine WAV: Chromium's fake microphone reads it (and loops it). */
export function writeToneWav(dir: string, freq: number, seconds = 5): string {
  mkdirSync(dir, { recursive: true });
  const rate = 48_000;
  const path = join(dir, `tone-${freq}.wav`);
  writeFileSync(path, encodeWav(rate, 1, tone(freq, seconds * 1000, { rate, amp: 8000 })));
  return path;
}

/** The flags proven on this machine: fake microphone from a WAV, loopback ICE, no background traffic. */
export function chromiumArgs(micWav: string): string[] {
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${micWav}`,
    '--allow-loopback-in-peer-connection',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ];
}

export async function launchBrowser(micWav: string): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs(micWav) });
}

/** Opens the desktop, logs in and waits until sip.js is registered. */
export async function loginAgent(browser: Browser, baseUrl: string, agent: string, password: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`[page ${agent}]`, e.message));
  await page.goto(baseUrl);
  await page.fill('#agent', agent);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => (window as unknown as { cc: { registered: boolean } }).cc.registered, null, {
    timeout: 15_000,
  });
  return page;
}

export async function agentState(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as { cc: { state: string } }).cc.state);
}

export async function waitForAgentState(page: Page, state: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction((s) => (window as unknown as { cc: { state: string } }).cc.state === s, state, { timeout });
}

export async function waitForCallState(page: Page, state: 'ringing' | 'connected' | 'idle', timeout = 20_000): Promise<void> {
  await page.waitForFunction((s) => (window as unknown as { cc: { callState: string } }).cc.callState === s, state, {
    timeout,
  });
}

/**
 * Records `ms` of the remote stream inside the page (ScriptProcessor on the WebAudio graph; the
 * stream is also attached to the muted-by-default <audio> element, which Chromium needs before
 * remote audio flows into WebAudio) and returns the samples and their rate.
 */
export async function captureRemoteAudio(page: Page, ms: number): Promise<{ rate: number; samples: Float32Array }> {
  const r = await page.evaluate(async (dur) => {
    const cc = (window as unknown as { cc: { remoteStream?: MediaStream } }).cc;
    if (!cc.remoteStream) throw new Error('no remote stream');
    const ctx = new AudioContext();
    const src = ctx.createMediaStreamSource(cc.remoteStream);
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
