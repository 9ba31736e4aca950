/**
 * The HTTP edge: one node http.Server on the configured port serves the agent desktop (static
 * files), the REST API (mounted handlers), /metrics, /healthz, and lets the SIP stack take the
 * WebSocket upgrade on /sip (RFC 7118) on the same port, so an agent's browser needs one origin.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { metrics } from '../../lib/metrics.ts';
import { log } from '../../lib/log.ts';

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

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
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
  });
  res.end(text);
}

/** Reads a JSON request body (max 64 KiB); a malformed body is a 400, never a throw upstream. */
export async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > limit) throw new HttpError(413, 'request body too large');
    chunks.push(b);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpOptions {
  host: string;
  port: number;
  staticDir: string;
  handlers: Handler[];
}

export async function startHttp(opts: HttpOptions): Promise<Server> {
  const hlog = log.child({ mod: 'http' });
  const root = normalize(opts.staticDir) + sep;
  const server = createServer((req, res) => {
    void route(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendJson(res, e.status, { error: e.message });
      hlog.error({ err: e, url: req.url }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    if (url.pathname === '/metrics') {
      const body = await metrics.metrics();
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(body);
      return;
    }
    for (const h of opts.handlers) if (await h(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 404, { error: 'not found' });
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const file = normalize(join(root, rel));
    if (!file.startsWith(root)) return sendJson(res, 404, { error: 'not found' });
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
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
