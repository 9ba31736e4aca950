/**
 * The HTTP login lockout on a real HTTP server: the agent login API and an HTTP Basic API wired
 * as the centre wires them (HttpAuthGuard's gate first, its login hook, its Basic wrapper).
 * Guessers come from 127.0.0.2 … 127.0.0.4, the real users from 127.0.0.1; 127.0.0.5 is a trusted
 * reverse proxy (its X-Forwarded-For names the client), 127.0.0.6 a client forging that header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http, { type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metrics } from '../../../lib/metrics.ts';
import { createAgentApi, type AgentDesk } from '../../../server/http/agentApi.ts';
import { AddressList } from '../../../lib/ratelimit.ts';
import { HttpAuthGuard } from '../../../server/http/limits.ts';
import { HttpError, sendJson, startHttp, type Handler } from '../../../server/http/server.ts';

const PORT = 26180;
const passwords: Record<string, { password: string; role: string }> = {
  sup1: { password: 'supersecret', role: 'supervisor' },
  agent1: { password: 'secret1', role: 'agent' },
};

const desk: AgentDesk = {
  authenticate: async (id, pw) => Promise.resolve(passwords[id]?.password === pw ? { id, name: id } : undefined),
  auxCodes: () => [],
  sipDomain: () => 'cc.test',
  login: () => undefined,
  ready: () => undefined,
  notReady: () => undefined,
  endWrapUp: () => undefined,
  logout: () => undefined,
  state: () => ({ state: 'logged-out' }),
  onState: () => () => undefined,
};

let server: Server;
const proxies = new AddressList(['127.0.0.5']);
const staticDir = mkdtempSync(join(tmpdir(), 'cc-http-limits-'));

beforeAll(async () => {
  const guard = new HttpAuthGuard();
  // The Basic check the centre uses (centre.ts authorize), wrapped as the centre wraps it.
  const basic = guard.basic((req: http.IncomingMessage) => {
    const h = req.headers.authorization;
    if (!h?.startsWith('Basic ')) return undefined;
    const [id, ...rest] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
    const a = passwords[id ?? ''];
    return a && a.password === rest.join(':') ? { role: a.role } : undefined;
  });
  const reports: Handler = async (req, res) => {
    if (!req.url?.startsWith('/api/v1/reports')) return false;
    const who = basic(req);
    if (!who) throw new HttpError(401, 'authentication required');
    sendJson(res, 200, { role: who.role });
    return true;
  };
  server = await startHttp({
    host: '127.0.0.1',
    port: PORT,
    staticDir,
    handlers: [guard.gate, createAgentApi(desk, { wsPath: '/sip', guard }), reports],
    trustedProxies: () => proxies,
  });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(staticDir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

function request(
  from: string,
  method: string,
  path: string,
  opts: { body?: unknown; basic?: [string, string]; forwardedFor?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    const data = opts.body !== undefined ? JSON.stringify(opts.body) : undefined;
    if (data !== undefined) headers['content-type'] = 'application/json';
    if (opts.forwardedFor) headers['x-forwarded-for'] = opts.forwardedFor;
    if (opts.basic) headers.authorization = `Basic ${Buffer.from(opts.basic.join(':')).toString('base64')}`;
    // agent: false: a new connection per request, so each one really comes from `from`.
    const req = http.request({ host: '127.0.0.1', port: PORT, method, path, headers, localAddress: from, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const login = (from: string, agent: string, password: string): Promise<Reply> =>
  request(from, 'POST', '/api/v1/agent/login', { body: { agent, password } });

async function lockouts(scope: string): Promise<number> {
  const m = await metrics.getSingleMetric('http_auth_lockouts_total')?.get();
  return m?.values.find((v) => v.labels.scope === scope)?.value ?? 0;
}

describe('HTTP login lockout', () => {
  it('50 wrong agent logins from 127.0.0.2: 5 checked (401), then 429 with Retry-After; the real supervisor logs in from 127.0.0.1', async () => {
    const before = await lockouts('user');
    const replies: Reply[] = [];
    for (let i = 0; i < 50; i++) replies.push(await login('127.0.0.2', 'sup1', `guess${i}`));
    expect(replies.slice(0, 5).map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(replies.slice(5).map((r) => r.status))).toEqual(new Set([429]));
    expect(Number(replies[5]!.retryAfter)).toBeGreaterThan(50);
    expect(Number(replies[5]!.retryAfter)).toBeLessThanOrEqual(60);
    expect(JSON.parse(replies[5]!.body)).toMatchObject({ error: expect.stringMatching(/too many failed logins/) });
    // The right password from the guessing address is refused too; from the real one it works.
    expect((await login('127.0.0.2', 'sup1', 'supersecret')).status).toBe(429);
    expect((await login('127.0.0.1', 'sup1', 'supersecret')).status).toBe(200);
    expect((await lockouts('user')) - before).toBe(1);
  });

  it('50 wrong Basic logins from 127.0.0.3: 5 checked (401), then 429 before the API; the real supervisor reads reports from 127.0.0.1', async () => {
    const before = await lockouts('user');
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++)
      statuses.push((await request('127.0.0.3', 'GET', '/api/v1/reports/centre', { basic: ['sup1', `x${i}`] })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    const right = await request('127.0.0.3', 'GET', '/api/v1/reports/centre', { basic: ['sup1', 'supersecret'] });
    expect(right.status).toBe(429);
    expect(Number(right.retryAfter)).toBeGreaterThan(0);
    const real = await request('127.0.0.1', 'GET', '/api/v1/reports/centre', { basic: ['sup1', 'supersecret'] });
    expect(real.status).toBe(200);
    // A browser's first request carries no credentials: a plain 401, never counted.
    for (let i = 0; i < 10; i++) expect((await request('127.0.0.1', 'GET', '/api/v1/reports/centre')).status).toBe(401);
    expect((await lockouts('user')) - before).toBe(1);
  });

  it('20 failures for different users from 127.0.0.4 lock the source: login and Basic alike', async () => {
    const before = await lockouts('source');
    for (let i = 0; i < 20; i++) expect((await login('127.0.0.4', `user${i}`, 'password')).status).toBe(401);
    expect((await login('127.0.0.4', 'agent1', 'secret1')).status).toBe(429);
    expect((await request('127.0.0.4', 'GET', '/api/v1/reports/centre', { basic: ['sup1', 'supersecret'] })).status).toBe(429);
    expect((await login('127.0.0.1', 'agent1', 'secret1')).status).toBe(200);
    expect((await lockouts('source')) - before).toBe(1);
  });

  it('behind a trusted proxy each client is locked out on its own; a forged X-Forwarded-For from anyone else is ignored', async () => {
    const viaProxy = (client: string, agent: string, password: string): Promise<Reply> =>
      request('127.0.0.5', 'POST', '/api/v1/agent/login', { body: { agent, password }, forwardedFor: client });
    const guesses: number[] = [];
    for (let i = 0; i < 6; i++) guesses.push((await viaProxy('203.0.113.7', 'sup1', `guess${i}`)).status);
    expect(guesses).toEqual([401, 401, 401, 401, 401, 429]);
    // Another agent behind the same proxy is not the guesser: without the header both were 127.0.0.5.
    expect((await viaProxy('203.0.113.8', 'sup1', 'supersecret')).status).toBe(200);
    // A client that writes the header itself is judged by its own address.
    const forged: number[] = [];
    for (let i = 0; i < 6; i++)
      forged.push(
        (
          await request('127.0.0.6', 'POST', '/api/v1/agent/login', {
            body: { agent: 'agent1', password: `x${i}` },
            forwardedFor: '203.0.113.9',
          })
        ).status,
      );
    expect(forged).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await viaProxy('203.0.113.9', 'agent1', 'secret1')).status).toBe(200);
    // What a client prepends before the proxy's own entry does not move the lock onto someone else.
    expect((await viaProxy('203.0.113.8, 203.0.113.7', 'sup1', 'supersecret')).status).toBe(429);
  });
});
