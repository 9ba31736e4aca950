/**
 * Hashed secrets end to end: `callcentre passwd` (a child process, password on stdin) rewrites a
 * copy of the demo's agents.yaml; the centre started on it accepts the web login and HTTP Basic
 * against the scrypt hashes and a baresip desk phone's registration against the HA1. The login
 * reply carries a session SIP password (not the agent's), which registers sip.js over WebSocket
 * until logout; the event stream works with the login's cookie, not with a token in the URL; an
 * expired token is refused.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Registerer, RegistererState, UserAgent } from 'sip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';

// sip.js expects the browser's WebSocket global; `ws` provides the same interface in Node.
(globalThis as unknown as { WebSocket: unknown }).WebSocket = WebSocket;

const TTL_MS = 6000;
let cfg: string;
let tc: TestCentre;
let phone: DeskPhone | undefined;

/** `callcentre passwd ARGS --config cfg` with `stdin` piped in. */
function passwd(args: string[], stdin: string): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const child = spawn(resolve('node_modules/.bin/tsx'), ['server/cli.ts', 'passwd', ...args, '--config', cfg], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) => res({ code, out }));
    child.stdin.end(stdin);
  });
}

beforeAll(async () => {
  cfg = join(mkdtempSync(join(tmpdir(), 'cc-passwd-')), 'config');
  cpSync(resolve('config'), cfg, { recursive: true });
  for (const [id, pw] of [
    ['1001', 'alice-hashed-1001'],
    ['1004', 'dave-hashed-1004'],
    ['9001', 'sam-hashed-9001'],
  ] as const) {
    const r = await passwd([id], `${pw}\n`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`for ${id}`);
  }
  tc = await startTestCentre({ sip: 15760, http: 18780, pg: 16133, rtc: 45200 }, { configFrom: cfg, sessionTtlMs: TTL_MS });
});
afterAll(async () => {
  await phone?.stop();
  await tc?.stop();
  if (cfg) rmSync(join(cfg, '..'), { recursive: true, force: true });
});

interface LoginReply {
  token: string;
  sip: { uri: string; username: string; password: string; wsPath: string };
}

async function login(agent: string, password: string): Promise<{ status: number; text: string; cookie: string; body?: LoginReply }> {
  const r = await fetch(`${tc.httpUrl}api/v1/agent/login`, { method: 'POST', body: JSON.stringify({ agent, password }) });
  const text = await r.text();
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  return { status: r.status, text, cookie, ...(r.ok ? { body: JSON.parse(text) as LoginReply } : {}) };
}

async function eventsStatus(headers: Record<string, string>, query = ''): Promise<{ status: number; first?: string }> {
  const ac = new AbortController();
  const r = await fetch(`${tc.httpUrl}api/v1/agent/events${query}`, { headers, signal: ac.signal });
  if (r.status !== 200) {
    await r.body?.cancel();
    return { status: r.status };
  }
  const { value } = await r.body!.getReader().read();
  ac.abort();
  return { status: 200, first: new TextDecoder().decode(value) };
}

/** Registers sip.js over the centre's WebSocket as `user` with `password`; resolves true when registered, false when refused. */
async function registerWs(user: string, password: string): Promise<{ ok: boolean; stop: () => Promise<void> }> {
  const ua = new UserAgent({
    uri: UserAgent.makeURI(`sip:${user}@callcentre.local`),
    transportOptions: { server: `ws://127.0.0.1:18780/sip` },
    authorizationUsername: user,
    authorizationPassword: password,
    logLevel: 'error',
  });
  await ua.start();
  const reg = new Registerer(ua, { expires: 300 });
  let rejected = false;
  await reg.register({ requestDelegate: { onReject: () => (rejected = true) } });
  const ok = await waitFor(() => (reg.state === RegistererState.Registered ? 'yes' : rejected ? 'no' : undefined), {
    timeoutMs: 5000,
    what: 'the REGISTER to be answered',
  });
  return { ok: ok === 'yes', stop: () => ua.stop() };
}

describe('hashed agent secrets', () => {
  it('passwd rewrote only the chosen agents, keeping the clear ones and the comments', async () => {
    const text = readFileSync(join(cfg, 'agents.yaml'), 'utf8');
    expect(text).not.toMatch(/password: (alice1001|dave1004|sam9001)/);
    expect(text.match(/passwordHash: scrypt\$16384\$8\$1\$/g)).toHaveLength(3);
    expect(text.match(/realm: "callcentre.local"/g)).toHaveLength(3);
    expect(text).toContain('    password: bob1002\n');
    expect(text).toContain('role: supervisor      # reads reports and recordings');
    // Too short a password is refused and the file is left alone.
    const short = await passwd(['1002'], 'short\n');
    expect(short.code).toBe(1);
    expect(short.out).toMatch(/at least 8 characters/);
    expect(readFileSync(join(cfg, 'agents.yaml'), 'utf8')).toBe(text);
  });

  it('web login checks the hash; the reply holds a session SIP password, never the agent password', async () => {
    expect((await login('1001', 'alice1001')).status).toBe(401);
    const r = await login('1001', 'alice-hashed-1001');
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('alice-hashed-1001');
    expect(r.text).not.toContain('alice1001');
    expect(r.body!.sip.username).toBe('1001');
    expect(r.body!.sip.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // A clear-password agent still logs in (with a warning in the log).
    expect((await login('1002', 'bob1002')).status).toBe(200);
  });

  it("the session's SIP password registers sip.js over WebSocket until logout; the agent's password does too", async () => {
    const r = await login('1001', 'alice-hashed-1001');
    const session = await registerWs('1001', r.body!.sip.password);
    expect(session.ok).toBe(true);
    await session.stop();
    const own = await registerWs('1001', 'alice-hashed-1001');
    expect(own.ok).toBe(true);
    await own.stop();
    const out = await fetch(`${tc.httpUrl}api/v1/agent/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${r.body!.token}` },
      body: '{}',
    });
    expect(out.status).toBe(200);
    const after = await registerWs('1001', r.body!.sip.password);
    expect(after.ok).toBe(false);
    await after.stop();
  });

  it('HTTP Basic (supervisor) checks the hash', async () => {
    const basic = (pw: string) => ({ authorization: `Basic ${Buffer.from(`9001:${pw}`).toString('base64')}` });
    expect((await fetch(`${tc.httpUrl}api/v1/live`, { headers: basic('sam-hashed-9001') })).status).toBe(200);
    expect((await fetch(`${tc.httpUrl}api/v1/live`, { headers: basic('sam9001') })).status).toBe(401);
  });

  it('a baresip desk phone registers against the stored HA1 and logs its agent in', async () => {
    phone = await startDeskPhone({
      dir: join(tc.dataDir, 'baresip'),
      user: '1004',
      password: 'dave-hashed-1004',
      registrar: `127.0.0.1:${tc.sipPort}`,
      listenPort: 15790,
      rtpPorts: [32100, 32200],
      toneHz: 600,
    });
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: '1004 ready' });
    expect(await tc.centre.sip.lookup('1004')).toHaveLength(1);
  });

  it('the event stream takes the login cookie, refuses a token in the URL and no credentials', async () => {
    const r = await login('1001', 'alice-hashed-1001');
    expect(r.cookie).toMatch(/^cc_agent_events=/);
    const ok = await eventsStatus({ cookie: r.cookie });
    expect(ok.status).toBe(200);
    expect(ok.first).toMatch(/^event: state\ndata: \{"state":"not-ready"/);
    expect((await eventsStatus({}, `?token=${r.body!.token}`)).status).toBe(401);
    expect((await eventsStatus({})).status).toBe(401);
  });

  it('an expired token is refused (API, stream and SIP password)', async () => {
    const r = await login('1002', 'bob1002');
    const me = () => fetch(`${tc.httpUrl}api/v1/agent/me`, { headers: { authorization: `Bearer ${r.body!.token}` } }).then((x) => x.status);
    expect(await me()).toBe(200);
    await new Promise((res) => setTimeout(res, TTL_MS + 200));
    expect(await me()).toBe(401);
    expect((await eventsStatus({ cookie: r.cookie })).status).toBe(401);
    const reg = await registerWs('1002', r.body!.sip.password);
    expect(reg.ok).toBe(false);
    await reg.stop();
  });
});
