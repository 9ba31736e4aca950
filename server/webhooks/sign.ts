/**
 * Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the hook's secret, sent as
 * `X-CC-Signature: t=<epoch ms>,v1=<hex>` (the scheme Stripe uses), so a receiver checks both the
 * body and its freshness: verify() refuses a signature older than the tolerance (replay).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-cc-signature';

export function signature(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; error: string };

/** For receivers (and the tests): the header must carry a fresh timestamp and a matching v1. */
export function verify(secret: string, header: string | undefined, body: string, now: number, toleranceMs = 5 * 60_000): VerifyResult {
  if (!header) return { ok: false, error: 'no signature' };
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isSafeInteger(t) || !v1 || !/^[0-9a-f]{64}$/.test(v1)) return { ok: false, error: 'malformed signature' };
  if (Math.abs(now - t) > toleranceMs) return { ok: false, error: 'stale signature' };
  const want = Buffer.from(signature(secret, t, body).slice(`t=${t},v1=`.length), 'hex');
  if (!timingSafeEqual(want, Buffer.from(v1, 'hex'))) return { ok: false, error: 'bad signature' };
  return { ok: true, timestamp: t };
}

/** Delay before the next attempt after `failures` failed ones: 1 s, 2 s, 4 s … capped at maxMs. */
export function backoffMs(failures: number, baseMs = 1000, maxMs = 300_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(30, failures - 1)));
}
