/**
 * The real HTTP lookup behind the IVR's `lookup` node: fetch with a hard timeout, a size cap and
 * a JSON body. Any failure (network, status, timeout, not JSON) rejects with a short reason that
 * ends up in the call's IVR path; the session then takes the node's failure branch.
 */
import type { LookupFn } from './actions.ts';

export interface HttpLookupOptions {
  /** Largest reply accepted, bytes. */
  maxBytes?: number;
  /** Sent as User-Agent, so CRM logs show who asked. */
  userAgent?: string;
}

export function httpLookup(opts: HttpLookupOptions = {}): LookupFn {
  const maxBytes = opts.maxBytes ?? 256 * 1024;
  return async ({ url, method, timeoutMs, body }) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`bad URL "${url}"`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported URL scheme ${u.protocol}`);
    let res: Response;
    try {
      res = await fetch(u, {
        method,
        headers: {
          accept: 'application/json',
          'user-agent': opts.userAgent ?? 'callcentre-ivr',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'follow',
      });
    } catch (e) {
      const name = (e as Error).name;
      throw new Error(
        name === 'TimeoutError' || name === 'AbortError'
          ? 'timeout'
          : `network: ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > maxBytes) {
      await res.body?.cancel();
      throw new Error(`reply too large (${declared} bytes)`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new Error((e as Error).name === 'TimeoutError' ? 'timeout' : `read: ${(e as Error).message}`);
    }
    if (text.length > maxBytes) throw new Error(`reply too large (${text.length} bytes)`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error('reply is not JSON');
    }
  };
}
