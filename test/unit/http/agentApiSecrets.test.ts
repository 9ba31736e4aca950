/**
 * The agent API's secrets on a fake desk and a fake clock: the login reply carries a session SIP
 * password (not the agent's), an HttpOnly SameSite=Strict cookie for the event stream; the stream
 * takes that cookie or a Bearer header, never a token in the URL; the cookie opens nothing else;
 * tokens expire and logout revokes them.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { createAgentApi, EVENTS_COOKIE, type AgentDesk, type AgentStateView } from '../../../server/http/agentApi.ts';
import { startHttp } from '../../../server/http/server.ts';
import { AgentSessions } from '../../../server/secrets/sessions.ts';

const clock = new FakeClock();
const sessions = new AgentSessions(clock, { ttlMs: 3600_000 });
const states = new Map<string, AgentStateView>();
const desk: AgentDesk = {
  authenticate: async (id, pw) => (id === '1001' && pw === 'alice1001' ? { id, name: 'Alice' } : undefined),
  auxCodes: () => [{ code: 'break', label: 'Break' }],
  sipDomain: () => 'cc.test',
  login: (id) => void states.set(id, { state: 'not-ready' }),
  ready: (id) => void states.set(id, { state: 'available' }),
  notReady: (id, reason) => void states.set(id, { state: 'not-ready', reason }),
  endWrapUp: () => undefined,
  logout: (id) => void states.set(id, { state: 'logged-out' }),
  state: (id) => states.get(id) ?? { state: 'logged-out' },
  onState: () => () => undefined,
};

let server: Server;
let base: string;
beforeAll(async () => {
  server = await startHttp({
    host: '127.0.0.1',
    port: 0,
    staticDir: mkdtempSync(join(tmpdir(), 'cc-static-')),
    handlers: [createAgentApi(desk, { wsPath: '/sip', sessions })],
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/agent/`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

interface Login {
  token: string;
  expiresAt: string;
  sip: { username: string; password: string };
}

async function login(): Promise<{ body: Login; cookie: string; setCookie: string }> {
  const r = await fetch(`${base}login`, { method: 'POST', body: JSON.stringify({ agent: '1001', password: 'alice1001' }) });
  expect(r.status).toBe(200);
  const setCookie = r.headers.get('set-cookie') ?? '';
  return { body: (await r.json()) as Login, cookie: setCookie.split(';')[0]!, setCookie };
}

/** Status of GET events, and the first event when it streams. */
async function events(headers: Record<string, string>, query = ''): Promise<{ status: number; first?: string }> {
  const ac = new AbortController();
  const r = await fetch(`${base}events${query}`, { headers, signal: ac.signal });
  if (r.status !== 200) {
    await r.body?.cancel();
    return { status: r.status };
  }
  expect(r.headers.get('content-type')).toBe('text/event-stream');
  const reader = r.body!.getReader();
  const { value } = await reader.read();
  ac.abort();
  return { status: 200, first: new TextDecoder().decode(value) };
}

describe('agent API secrets', () => {
  it("the login reply holds a session SIP password, not the agent's, and sets the stream's cookie", async () => {
    const { body, setCookie } = await login();
    expect(JSON.stringify(body)).not.toContain('alice1001');
    expect(body.sip.username).toBe('1001');
    expect(body.sip.password).toHaveLength(24);
    expect(sessions.sipPasswords('1001')).toContain(body.sip.password);
    expect(Date.parse(body.expiresAt)).toBe(clock.now() + 3600_000);
    expect(setCookie).toBe(`${EVENTS_COOKIE}=${body.token}; Path=/api/v1/agent/events; Max-Age=3600; HttpOnly; SameSite=Strict`);
    // A second login is a second session with its own SIP password.
    const again = await login();
    expect(again.body.sip.password).not.toBe(body.sip.password);
  });

  it('the event stream takes the cookie or a Bearer header, never ?token=', async () => {
    const { body, cookie } = await login();
    expect(await events({ cookie })).toEqual({ status: 200, first: 'event: state\ndata: {"state":"not-ready"}\n\n' });
    expect((await events({ authorization: `Bearer ${body.token}` })).status).toBe(200);
    expect((await events({}, `?token=${body.token}`)).status).toBe(401);
    expect((await events({})).status).toBe(401);
    expect((await events({ cookie: `${EVENTS_COOKIE}=nonsense` })).status).toBe(401);
  });

  it('the cookie authenticates only the stream: state changes need the header', async () => {
    const { body, cookie } = await login();
    const post = (what: string, headers: Record<string, string>, payload: unknown = {}) =>
      fetch(`${base}${what}`, { method: 'POST', headers, body: JSON.stringify(payload) }).then((r) => r.status);
    expect(await post('state', { cookie }, { state: 'ready' })).toBe(401);
    expect(await post('logout', { cookie })).toBe(401);
    expect(await post('state', { authorization: `Bearer ${body.token}` }, { state: 'ready' })).toBe(200);
  });

  it('a token expires with its SIP password; a wrong password gets no session', async () => {
    const { body, cookie } = await login();
    const me = () => fetch(`${base}me`, { headers: { authorization: `Bearer ${body.token}` } }).then((r) => r.status);
    expect(await me()).toBe(200);
    clock.advance(3600_000);
    expect(await me()).toBe(401);
    expect((await events({ cookie })).status).toBe(401);
    expect(sessions.sipPasswords('1001')).not.toContain(body.sip.password);
    const bad = await fetch(`${base}login`, { method: 'POST', body: JSON.stringify({ agent: '1001', password: 'wrong-pw' }) });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
  });

  it('logout revokes every session of the agent and clears the cookie', async () => {
    const a = await login();
    const b = await login();
    const r = await fetch(`${base}logout`, { method: 'POST', headers: { authorization: `Bearer ${a.body.token}` }, body: '{}' });
    expect(r.status).toBe(200);
    expect(r.headers.get('set-cookie')).toMatch(
      new RegExp(`^${EVENTS_COOKIE}=; Path=/api/v1/agent/events; Max-Age=0; HttpOnly; SameSite=Strict`),
    );
    expect((await events({ authorization: `Bearer ${b.body.token}` })).status).toBe(401);
    expect(sessions.sipPasswords('1001')).toEqual([]);
  });
});
