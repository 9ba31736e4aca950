/**
 * The HTTP edge: one node http.Server on the configured port serves the agent desktop (static
 * files), the REST API (mounted handlers), /metrics, /healthz, and lets the SIP stack take the
 * WebSocket upgrade on /sip (RFC 7118) on the same port, so an agent's browser needs one origin.
 *
 * What every request gets here, whichever handler answers it: a malformed %-escape in the path is
 * a 400 before any handler sees it; a 401 carries the challenge its API expects (RFC 7235 §3.1);
 * a body over its limit is a 413 after which the connection is closed cleanly; every reply has
 * the security headers, pages a Content-Security-Policy fitted to the softphone.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { metrics } from '../../lib/metrics.ts';
import { log } from '../../lib/log.ts';
import { AddressList, plainAddress } from '../../lib/ratelimit.ts';

/** A mounted API: returns true when it handled the request, false to let the next one try. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wav': 'audio/wav',
};

/** Realm named in the HTTP challenges (what a browser shows in its password prompt). */
export const HTTP_REALM = 'callcentre';

/**
 * The challenge a 401 on this path carries. The agent API authenticates with the bearer token
 * its login hands out (RFC 6750), and must not say Basic: a browser would then pop its own password
 * dialog over the softphone's login form. Everything else (reports, recordings, live, planning,
 * audit) is HTTP Basic, so a browser opening a report URL prompts for the supervisor's password.
 */
export function challengeFor(req: IncomingMessage | undefined): string {
  const path = (req?.url ?? '/').split('?')[0]!;
  if (path.startsWith('/api/v1/agent/')) {
    // A token was presented but is not (or no longer) valid: say so, so the page logs in again.
    const presented = /^Bearer\s/i.test(req?.headers.authorization ?? '') || /[?&]token=/.test(req?.url ?? '');
    return `Bearer realm="${HTTP_REALM}"${presented ? ', error="invalid_token"' : ''}`;
  }
  // Our own pages (QA workspace, work orders) sign in with a form and say so with
  // X-Requested-With: a Basic challenge would make the browser put its own password dialog over
  // the page (and hold the request until it is answered), so they get the same challenge under
  // another scheme name, which browsers do not prompt for.
  if (req?.headers['x-requested-with']) return `FormBasic realm="${HTTP_REALM}", charset="UTF-8"`;
  return `Basic realm="${HTTP_REALM}", charset="UTF-8"`;
}

/**
 * Headers an error status needs whoever raised it: the 401 challenge, and Connection: close
 * after a 413, because the rest of an over-long body may still be on the wire and must not be read
 * as the next request.
 */
function statusHeaders(res: ServerResponse, status: number): Record<string, string> {
  if (status === 401 && !res.hasHeader('www-authenticate')) return { 'www-authenticate': challengeFor(res.req) };
  if (status === 413) return { connection: 'close' };
  return {};
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // An error after a streamed body has started cannot become a JSON reply: cut the connection.
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...statusHeaders(res, status),
    ...headers,
  });
  res.end(text);
}

/** The JSON error reply for an HttpError, with the headers it carries. */
export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: err.message }, err.headers);
}

/**
 * How much of an over-long body is read and thrown away so the 413 can be answered on a drained
 * connection. Closing a socket with unread data makes the kernel send RST, and a client still
 * writing its body then loses the 413 before it reads it; bodies beyond this bound (or trickling
 * for longer than DISCARD_MS) are cut off anyway.
 */
export const DISCARD_LIMIT = 16 * 1024 * 1024;
const DISCARD_MS = 10_000;

/**
 * Reads a request body of at most `limit` bytes. Over the limit it rejects with a 413, but only
 * once the rest of the body has been read and discarded (up to DISCARD_LIMIT), so the 413 reaches
 * the client; the reply then closes the connection (sendJson adds Connection: close to a 413).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HttpError(413, `request body over ${limit} bytes`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > DISCARD_LIMIT) {
      // Too big to drain: answer now; the close may cost the client the reply, not the server.
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > limit;
    let timer: NodeJS.Timeout | undefined;
    const done = (err: HttpError | undefined, body?: Buffer) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      if (err) reject(err);
      else resolve(body ?? Buffer.alloc(0));
    };
    const startDiscarding = () => {
      over = true;
      chunks.length = 0;
      timer ??= setTimeout(() => done(tooLarge()), DISCARD_MS);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > DISCARD_LIMIT) return done(tooLarge());
      if (over || size > limit) return startDiscarding();
      chunks.push(c);
    };
    const onEnd = () => done(over ? tooLarge() : undefined, Buffer.concat(chunks));
    // The client went away before the end: nobody is left to answer.
    const onClose = () => done(new HttpError(400, 'request body incomplete'));
    if (over) startDiscarding();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
  });
}

/** Reads a JSON request body (max 64 KiB); a malformed body is a 400, never a throw upstream. */
export async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const body = await readBody(req, limit);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra reply headers (e.g. a WWW-Authenticate other than the path's default). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The user name in an HTTP Basic Authorization header, whether or not the password is right: what
 * a failed attempt is audited under.
 */
export function basicUser(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h || !/^Basic\s/i.test(h)) return undefined;
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return (i >= 0 ? decoded.slice(0, i) : decoded) || undefined;
}

/** Client addresses resolved through trusted reverse proxies, per request (see startHttp). */
const forwardedFor = new WeakMap<IncomingMessage, string>();

/**
 * The client a request comes from. The TCP peer, unless that peer is a reverse proxy the config
 * trusts (server.http.trustedProxies): then the nearest address in X-Forwarded-For that is not itself
 * a trusted proxy, read from the right — each proxy appends the address it received from, so only
 * the part our own proxies wrote can be believed; what a client wrote itself sits further left.
 */
export function forwardedClient(req: IncomingMessage, trusted: AddressList): string {
  const peer = plainAddress(req.socket.remoteAddress ?? '');
  if (!trusted.has(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i]!);
    if (isIP(hop) === 0) break; // garbage (or "unknown"): trust nothing left of it
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

/** The client's address: the socket's, or through trusted proxies as forwardedClient says. */
export function clientIp(req: IncomingMessage): string | undefined {
  return forwardedFor.get(req) ?? req.socket.remoteAddress;
}

/** decodeURIComponent for a path segment: a malformed %-escape is the client's 400, not a URIError. */
export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'malformed %-escape in the path');
  }
}

/**
 * The page policy. The softphone is one bundled script and one stylesheet from this origin (no
 * inline script or style, no eval: checked in softphone/index.html and the esbuild bundle); sip.js
 * talks to /sip over WebSocket on the same host, the page's fetch and EventSource go to /api;
 * remote audio is a MediaStream set as srcObject (no URL, so media-src is not involved). 'self'
 * covers ws:/wss: on the same host only in CSP 3 browsers, hence the explicit ws(s)://host.
 */
export function pageCsp(host: string | undefined): string {
  const sameHostWs = host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob: mediastream:",
    `connect-src 'self'${sameHostWs}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** API replies are data, never documents: nothing in them may load or run, nor be framed. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** Set on every reply before a handler runs; a handler's own writeHead headers add to these. */
function securityHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  // Tokens travel in EventSource URLs (?token=): never hand a URL to another site.
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('content-security-policy', API_CSP);
}

export interface HttpOptions {
  host: string;
  port: number;
  staticDir: string;
  handlers: Handler[];
  /** Serve HTTPS with this certificate (PEM) instead of plain HTTP. */
  tls?: { cert: string; key: string };
  /** Reverse proxies whose X-Forwarded-For is believed (read per request, so a reload applies). */
  trustedProxies?: () => AddressList;
}

export async function startHttp(opts: HttpOptions): Promise<Server> {
  const hlog = log.child({ mod: 'http' });
  const root = normalize(opts.staticDir) + sep;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    securityHeaders(res);
    const trusted = opts.trustedProxies?.();
    if (trusted) forwardedFor.set(req, forwardedClient(req, trusted));
    void route(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendError(res, e);
      hlog.error({ err: e, url: req.url }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
  // An https.Server is an http.Server to everyone after this line (same events and methods).
  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handle) : createServer(handle);
  // Expect: 100-continue with a body no API takes: refuse before the client sends it, which is
  // the one case where a 413 can be answered at once and the connection closed without a reset.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > DISCARD_LIMIT) {
      securityHeaders(res);
      sendJson(res, 413, { error: `request body over ${DISCARD_LIMIT} bytes` });
      return;
    }
    res.writeContinue();
    handle(req, res);
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://x');
    } catch {
      throw new HttpError(400, 'malformed request target');
    }
    // Handlers decode path segments (ids, report names); an escape that cannot decode is the
    // client's error, answered here once instead of as a URIError deep inside a handler.
    decodeSegment(url.pathname);
    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    if (url.pathname === '/metrics') {
      const body = await metrics.metrics();
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(body);
      return;
    }
    for (const h of opts.handlers) if (await h(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 404, { error: 'not found' });
    const rel = url.pathname === '/' ? 'index.html' : decodeSegment(url.pathname.slice(1));
    const file = normalize(join(root, rel));
    if (!file.startsWith(root)) return sendJson(res, 404, { error: 'not found' });
    try {
      const body = await readFile(file);
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      res.writeHead(200, {
        'content-type': type,
        'cache-control': 'no-cache',
        ...(type.startsWith('text/html')
          ? {
              'content-security-policy': pageCsp(req.headers.host),
              // The softphone needs the microphone, and nothing else a page could ask for.
              'permissions-policy': 'microphone=(self), camera=(), geolocation=(), payment=(), usb=()',
            }
          : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      sendJson(res, 404, { error: 'not found' });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
