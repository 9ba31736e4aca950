/**
 * REST + Server-Sent Events for the agent desktop: login (password checked by the server, which
 * then hands the page its SIP credentials), Ready / Not ready with an aux code, end wrap-up,
 * logout, and a push stream of the agent's state. The state itself lives in the ACD; this file
 * only translates HTTP to the AgentDesk interface that call control implements.
 *
 * Secrets: the login reply carries a session token and a short-lived SIP password minted for this
 * session (server/secrets/sessions.ts), never the agent's own password. Requests carry the token
 * in `Authorization: Bearer`, never in the URL (URLs end up in proxy and access logs, browser
 * history and Referer). The event stream is read with EventSource, which cannot set headers, so
 * login also sets an HttpOnly SameSite=Strict cookie scoped to the stream's path; it is accepted
 * there only (a GET that changes nothing), so the cookie opens no CSRF door on the POSTs. Why a
 * cookie rather than a fetch() stream with the header: EventSource keeps its own reconnects and
 * event parsing, and no script can read an HttpOnly cookie. Tokens expire (AgentSessions' TTL)
 * and logout revokes all of the agent's sessions and clears the cookie.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { SystemClock } from '../../lib/clock.ts';
import { AgentSessions, type AgentSession } from '../secrets/sessions.ts';
import type { Audit } from '../store/audit.ts';
import { clientIp, HttpError, readJson, sendJson, type Handler } from './server.ts';
import type { LoginGuard } from './limits.ts';

export interface AgentStateView {
  state: string;
  reason?: string;
}

export interface AgentDesk {
  /** The agent's display name if the password is right, else undefined (scrypt: asynchronous). */
  authenticate(agentId: string, password: string): Promise<{ id: string; name: string } | undefined>;
  auxCodes(): { code: string; label: string }[];
  /** Domain part of the agents' SIP URIs. */
  sipDomain(): string;
  login(agentId: string): void;
  ready(agentId: string): void;
  notReady(agentId: string, reason: string): void;
  endWrapUp(agentId: string): void;
  logout(agentId: string): void;
  state(agentId: string): AgentStateView;
  /** Subscribe to state changes of all agents; returns the unsubscribe function. */
  onState(listener: (agentId: string, view: AgentStateView) => void): () => void;
}

export const LoginBody = z.object({ agent: z.string().min(1).max(64), password: z.string().min(1).max(256) });
export const StateBody = z.discriminatedUnion('state', [
  z.object({ state: z.literal('ready') }),
  z.object({ state: z.literal('not-ready'), reason: z.string().min(1).max(64) }),
]);

/**
 * The agent API's own routes (call control adds its own, callControlApi.ts): the handler answers
 * these and no others, and the OpenAPI document (openapi.ts) is generated from this table.
 */
const DialBody = z.strictObject({ to: z.string().min(1).max(64).describe('The number to dial: national, international or E.164.') });

export const AGENT_ROUTES: readonly {
  method: 'GET' | 'POST';
  path: string;
  summary: string;
  body?: z.ZodType;
  example?: unknown;
  auth: 'none' | 'bearer' | 'cookie';
}[] = [
  {
    method: 'POST',
    path: '/api/v1/agent/login',
    summary: 'Log in: a session token, the session SIP credentials, the aux codes',
    body: LoginBody,
    example: { agent: '1001', password: 'alice1001' },
    auth: 'none',
  },
  { method: 'GET', path: '/api/v1/agent/me', summary: "The agent's state", auth: 'bearer' },
  {
    method: 'GET',
    path: '/api/v1/agent/events',
    summary:
      "Server-Sent Events of the agent's state (`state`), the transfer directory (`directory`) and the wrap-up countdown (`wrapup`, null when over); cookie or bearer",
    auth: 'cookie',
  },
  {
    method: 'POST',
    path: '/api/v1/agent/state',
    summary: 'Ready, or not ready with an aux code',
    body: StateBody,
    example: { state: 'not-ready', reason: 'break' },
    auth: 'bearer',
  },
  { method: 'POST', path: '/api/v1/agent/wrapup/end', summary: 'End wrap-up (no disposition)', auth: 'bearer' },
  { method: 'POST', path: '/api/v1/agent/logout', summary: 'Log out and revoke every session of the agent', auth: 'bearer' },
  {
    method: 'POST',
    path: '/api/v1/agent/calls',
    summary: 'Click-to-dial: ring the agent, then dial `to` through an outbound trunk (202 with the new contact)',
    body: DialBody,
    example: { to: '020 7946 0999' },
    auth: 'bearer',
  },
];

/**
 * A named event on the agent's stream besides `state`: sent when the stream opens (if `initial`
 * has something for this agent) and on every change for this agent (`agentId` undefined: for all).
 */
export interface AgentPush {
  event: string;
  initial(agentId: string): unknown;
  subscribe(fn: (agentId: string | undefined, data: unknown) => void): () => void;
}

/** The event stream's cookie: HttpOnly, SameSite=Strict, sent to the stream's path only. */
export const EVENTS_COOKIE = 'cc_agent_events';
const EVENTS_PATH = '/api/v1/agent/events';

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Secure only over TLS (directly or behind a proxy saying so): browsers drop Secure cookies on plain http. */
function eventsCookie(req: IncomingMessage, value: string, maxAgeSec: number): string {
  const tls = (req.socket as Partial<TLSSocket>).encrypted === true || req.headers['x-forwarded-proto'] === 'https';
  return `${EVENTS_COOKIE}=${value}; Path=${EVENTS_PATH}; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Strict${tls ? '; Secure' : ''}`;
}

/** The login reply's echo test: the URI to dial, or nothing when the centre does not answer one. */
function echoTestOf(e: { enabled: boolean; extension: string } | undefined, domain: string): { echoTest?: { uri: string } } {
  return e?.enabled ? { echoTest: { uri: `sip:${e.extension}@${domain}` } } : {};
}

export function createAgentApi(
  desk: AgentDesk,
  opts: {
    wsPath: string;
    sessions?: AgentSessions;
    guard?: LoginGuard;
    /** Who logged in and out (audit_log). */
    audit?: Audit;
    /** Click-to-dial (server/call/outboundCall.ts); errors with a 4xx/5xx `status` are answered with it. */
    calls?: { dial(agentId: string, to: string): Promise<object> };
    /** More named events on the agent's stream (the directory, the wrap-up countdown): see AgentPush. */
    pushes?: readonly AgentPush[];
    /** Every not-ready reason's label, the centre's own included (disconnected, internal call), for the desk's state bar. */
    reasonLabels?: () => readonly { code: string; label: string }[];
    /** The echo test (server.echoTest): the desk dials sip:<extension>@<sipDomain> for "Test audio". */
    echoTest?: () => { enabled: boolean; extension: string };
  },
): Handler {
  /** Tokens and browsers' SIP passwords; centre.ts shares it with the SIP stack's credentials. */
  const sessions = opts.sessions ?? new AgentSessions(new SystemClock());

  /** The caller's session: Bearer header; the cookie only where allowed (the event stream). */
  function sessionOf(req: IncomingMessage, cookie = false): AgentSession {
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : cookie ? cookieOf(req, EVENTS_COOKIE) : undefined;
    const s = sessions.get(token);
    if (!s) throw new HttpError(401, 'not logged in');
    return s;
  }
  const agentOf = (req: IncomingMessage): string => sessionOf(req).agentId;

  function parse<T>(schema: z.ZodType<T>, body: unknown): T {
    const r = schema.safeParse(body);
    if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    return r.data;
  }

  function events(res: ServerResponse, session: AgentSession, req: IncomingMessage): void {
    const agentId = session.agentId;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (view: AgentStateView): void => {
      res.write(`event: state\ndata: ${JSON.stringify(view)}\n\n`);
    };
    send(desk.state(agentId));
    const off = desk.onState((id, view) => {
      if (id === agentId) send(view);
    });
    const offs = (opts.pushes ?? []).map((p) => {
      const first = p.initial(agentId);
      if (first !== undefined) res.write(`event: ${p.event}\ndata: ${JSON.stringify(first)}\n\n`);
      return p.subscribe((id, data) => {
        if (id === undefined || id === agentId) res.write(`event: ${p.event}\ndata: ${JSON.stringify(data)}\n\n`);
      });
    });
    // A comment line every 15 s keeps proxies from closing an idle stream.
    // The stream ends with its session (logout, expiry); EventSource's reconnect then gets 401.
    const ping = setInterval(() => {
      if (sessions.get(session.token)) res.write(': ping\n\n');
      else res.end();
    }, 15_000);
    req.on('close', () => {
      off();
      for (const o of offs) o();
      clearInterval(ping);
    });
  }

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/api/v1/agent/')) return false;
    const what = url.pathname.slice('/api/v1/agent/'.length);
    // Only the routes in the table (and so in the OpenAPI document) are answered.
    const routes = AGENT_ROUTES.filter((r) => r.path === url.pathname);
    if (routes.length === 0) throw new HttpError(404, 'not found');
    if (!routes.some((r) => r.method === req.method)) throw new HttpError(405, 'method not allowed');
    if (req.method === 'GET' && what === 'events') {
      events(res, sessionOf(req, true), req);
      return true;
    }
    if (req.method === 'GET' && what === 'me') {
      const id = agentOf(req);
      sendJson(res, 200, { agent: id, ...desk.state(id) });
      return true;
    }
    if (req.method !== 'POST') throw new HttpError(405, 'method not allowed');
    const body = await readJson(req);
    switch (what) {
      case 'login': {
        const { agent, password } = parse(LoginBody, body);
        // Guessing limits (limits.ts): a locked source or (agent, source) gets 429 before the check.
        opts.guard?.check(req, res, agent);
        const who = await desk.authenticate(agent, password);
        if (!who) opts.guard?.failed(req, agent);
        else opts.guard?.succeeded(req, agent);
        opts.audit?.({ actor: agent.slice(0, 64), action: who ? 'agent.login' : 'agent.login.failed', ip: clientIp(req) });
        if (!who) throw new HttpError(401, 'wrong agent or password');
        desk.login(who.id);
        const s = sessions.open(who.id);
        res.setHeader('set-cookie', eventsCookie(req, s.token, Math.floor(sessions.ttlMs / 1000)));
        sendJson(res, 200, {
          token: s.token,
          expiresAt: new Date(s.expiresAt).toISOString(),
          agent: who,
          // The session's own SIP password, valid until logout or expiresAt: not the agent's.
          sip: { uri: `sip:${who.id}@${desk.sipDomain()}`, username: who.id, password: s.sipPassword, wsPath: opts.wsPath },
          auxCodes: desk.auxCodes(),
          ...(opts.reasonLabels ? { reasonLabels: opts.reasonLabels().map((a) => ({ code: a.code, label: a.label })) } : {}),
          // What the desk's "Test audio" dials (server.echoTest); absent when the centre has it off.
          ...echoTestOf(opts.echoTest?.(), desk.sipDomain()),
        });
        return true;
      }
      case 'state': {
        const id = agentOf(req);
        const s = parse(StateBody, body);
        if (s.state === 'ready') desk.ready(id);
        else desk.notReady(id, s.reason);
        sendJson(res, 200, desk.state(id));
        return true;
      }
      case 'wrapup/end': {
        const id = agentOf(req);
        desk.endWrapUp(id);
        sendJson(res, 200, desk.state(id));
        return true;
      }
      case 'logout': {
        const id = agentOf(req);
        desk.logout(id);
        sessions.closeAgent(id);
        opts.audit?.({ actor: id, action: 'agent.logout', ip: clientIp(req) });
        res.setHeader('set-cookie', eventsCookie(req, '', 0));
        sendJson(res, 200, { ok: true });
        return true;
      }
      // --- Outbound calls: POST /api/v1/agent/calls {to} rings the agent, then dials `to` (202). ---
      case 'calls': {
        const id = agentOf(req);
        const { to } = parse(DialBody, body);
        if (!opts.calls) throw new HttpError(501, 'outbound calls are not available');
        try {
          sendJson(res, 202, await opts.calls.dial(id, to));
        } catch (e) {
          const status = (e as { status?: unknown }).status;
          if (typeof status === 'number' && status >= 400 && status < 600) throw new HttpError(status, (e as Error).message);
          throw e;
        }
        return true;
      }
      default:
        throw new HttpError(404, 'not found');
    }
  };
}
