/**
 * The HTTP edge on its own (startHttp with small handlers, raw sockets where the wire matters): an
 * over-long body gets a 413 that really arrives, with Connection: close, and the server goes on
 * serving; malformed %-escapes are 400s with nothing logged; a 401 carries its challenge; every
 * reply has the security headers and pages the softphone's CSP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { log } from '../../../lib/log.ts';
import { HttpError, readJson, sendJson, startHttp, type Handler } from '../../../server/http/server.ts';

let server: Server;
let port: number;
let dir: string;
/** Every error the HTTP edge's loggers log (the edge takes its child logger when it starts). */
const logged: unknown[][] = [];

/** POST /echo returns the JSON body; /api/v1/agent/* and /api/v1/reports/* are 401 without a header. */
const echo: Handler = async (req, res) => {
  const path = (req.url ?? '').split('?')[0]!;
  if (path === '/echo' && req.method === 'POST') {
    sendJson(res, 200, { got: await readJson(req) });
    return true;
  }
  if (path.startsWith('/api/v1/agent/') || path.startsWith('/api/v1/reports/')) {
    if (!req.headers.authorization) throw new HttpError(401, 'authentication required');
    decodeURIComponent(path); // a handler that decodes on its own must never see a bad escape
    sendJson(res, 200, { ok: true });
    return true;
  }
  return false;
};

beforeAll(async () => {
  const child = log.child.bind(log);
  vi.spyOn(log, 'child').mockImplementation((...a: Parameters<typeof log.child>) => {
    const c = child(...a);
    const original = c.error;
    const error = (...x: unknown[]): void => {
      Reflect.apply(original, c, x);
    };
    c.error = (...args: unknown[]) => {
      logged.push(args);
      error(...args);
    };
    return c;
  });
  dir = mkdtempSync(join(tmpdir(), 'cc-http-edge-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  server = await startHttp({ host: '127.0.0.1', port: 0, staticDir: dir, handlers: [echo] });
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  vi.restoreAllMocks();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** How the connection ended after the reply: 'end' (FIN), 'reset', or 'open' (still open at the deadline). */
  ended: 'end' | 'reset' | 'open';
  /** Everything the socket received (several replies when requests were pipelined). */
  raw: string;
}

/**
 * Writes `head` and `body` on a fresh TCP connection (the body in 64 KiB pieces a millisecond
 * apart, as a client streaming an upload does, so the server sees the start of the body long
 * before its end) and reads until the server closes or `waitMs` passes after the first complete
 * reply.
 */
function raw(head: string, body: Buffer = Buffer.alloc(0), waitMs = 1500): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let ended: RawReply['ended'] = 'open';
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(got).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
      if (!m) return reject(new Error(`no HTTP reply (${ended}): ${JSON.stringify(text.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const line of m[2]!.split('\r\n')) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] ?? m[3]!.length);
      resolve({ status: Number(m[1]), headers, body: m[3]!.slice(0, len), ended, raw: text });
    };
    s.on('data', (d: Buffer) => {
      got.push(d);
      if (/\r\n\r\n/.test(Buffer.concat(got).toString('latin1'))) timer ??= setTimeout(finish, waitMs);
    });
    s.on('end', () => {
      ended = 'end';
      finish();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      ended = e.code === 'ECONNRESET' ? 'reset' : ended;
      if (got.length > 0) finish();
      else reject(e);
    });
    s.write(head);
    void (async () => {
      for (let i = 0; i < body.length && !s.destroyed; i += 65_536) {
        s.write(body.subarray(i, i + 65_536));
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
  });
}

const post = (len: number, connection: string) =>
  `POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${len}\r\nConnection: ${connection}\r\n\r\n`;

describe('request bodies', () => {
  it('a 2 MiB POST on a keep-alive connection gets its 413 with Connection: close, and the server answers the next connection', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const r = await raw(post(body.length, 'keep-alive'), body);
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    expect(JSON.parse(r.body)).toEqual({ error: 'request body over 65536 bytes' });
    expect(r.ended).toBe('end'); // closed with FIN after the reply, not reset
    const next = await raw(post(9, 'close'), Buffer.from('{"a":"b"}'));
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body)).toEqual({ got: { a: 'b' } });
  });

  it('the same with an explicit Connection: close: the 413 arrives (ten times over, no reset)', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 0x20);
    for (let i = 0; i < 10; i++) {
      const r = await raw(post(body.length, 'close'), body, 500);
      expect(r.status).toBe(413);
      expect(r.headers.connection).toBe('close');
      expect(r.ended).toBe('end');
    }
  });

  it('a chunked body over the limit is a 413 too, and a pipelined request behind it is not read as a request', async () => {
    const chunk = Buffer.alloc(100_000, 0x20);
    const chunked = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n0\r\n\r\n')]);
    const behind = Buffer.from(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const r = await raw('POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n', Buffer.concat([chunked, behind]));
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    expect(r.raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });

  it('a body within the limit keeps the connection alive; bad JSON is a 400', async () => {
    const ok = Buffer.from('{"x":1}');
    const bad = Buffer.from('{"x":');
    const r = await raw(post(ok.length, 'keep-alive'), Buffer.concat([ok, Buffer.from(post(bad.length, 'close')), bad]));
    const replies = r.raw.split(/(?=HTTP\/1\.1 )/);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(replies[0]).toMatch(/\r\nConnection: keep-alive\r\n/i);
    expect(replies[1]).toMatch(/^HTTP\/1\.1 400 /);
    expect(replies[1]).toContain('request body is not valid JSON');
  });

  it('Expect: 100-continue with a body no API takes is refused before it is sent', async () => {
    const r = await raw(
      'POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999999\r\nExpect: 100-continue\r\n\r\n',
      Buffer.alloc(0),
      300,
    );
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
  });
});

describe('malformed escapes', () => {
  it('are 400s, and nothing is logged as an error (no URIError)', async () => {
    logged.length = 0;
    for (const path of ['/%', '/api/v1/reports/%ZZ', '/api/v1/recordings/%E0%A4%A/audio', '/api/v1/agent/%C0', '/x%2']) {
      const r = await raw(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic eA==\r\nConnection: close\r\n\r\n`);
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body), path).toEqual({ error: 'malformed %-escape in the path' });
    }
    expect(logged).toEqual([]);
  });
});

describe('401 and security headers', () => {
  it('a 401 on the Basic-auth APIs challenges Basic, on the agent API Bearer', async () => {
    const basic = await fetch(`http://127.0.0.1:${port}/api/v1/reports/queues`);
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toBe('Basic realm="callcentre", charset="UTF-8"');
    const bearer = await fetch(`http://127.0.0.1:${port}/api/v1/agent/me`);
    expect(bearer.status).toBe(401);
    expect(bearer.headers.get('www-authenticate')).toBe('Bearer realm="callcentre"');
  });

  it('pages carry the CSP and the other security headers; API replies a deny-all CSP', async () => {
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${port} wss://127.0.0.1:${port}`);
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const api = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('a Host header that is not a host name is not copied into the CSP', async () => {
    const r = await raw(`GET / HTTP/1.1\r\nHost: evil;script-src *\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toContain("connect-src 'self';");
  });
});
