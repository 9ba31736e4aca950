/**
 * REST + Server-Sent Events for the agent desktop: login (password checked by the server, which
 * then hands the page its SIP credentials), Ready / Not ready with an aux code, end wrap-up,
 * logout, and a push stream of the agent's state. The state itself lives in the ACD; this file
 * only translates HTTP to the AgentDesk interface that call control implements.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { HttpError, readJson, sendJson, type Handler } from './server.ts';
import type { LoginGuard } from './limits.ts';

export interface AgentStateView {
  state: string;
  reason?: string;
}

export interface AgentDesk {
  /** The agent's display name if the password is right, else undefined. */
  authenticate(agentId: string, password: string): { id: string; name: string } | undefined;
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

const LoginBody = z.object({ agent: z.string().min(1).max(64), password: z.string().min(1).max(256) });
const StateBody = z.discriminatedUnion('state', [
  z.object({ state: z.literal('ready') }),
  z.object({ state: z.literal('not-ready'), reason: z.string().min(1).max(64) }),
]);

export function createAgentApi(desk: AgentDesk, opts: { wsPath: string; guard?: LoginGuard }): Handler {
  /** token -> agent id. Tokens die with the process; agents log in again after a restart. */
  const sessions = new Map<string, string>();

  function agentOf(req: IncomingMessage, url: URL): string {
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (url.searchParams.get('token') ?? '');
    const id = sessions.get(token);
    if (!id) throw new HttpError(401, 'not logged in');
    return id;
  }

  function parse<T>(schema: z.ZodType<T>, body: unknown): T {
    const r = schema.safeParse(body);
    if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    return r.data;
  }

  function events(res: ServerResponse, agentId: string, req: IncomingMessage): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (view: AgentStateView): void => {
      res.write(`event: state\ndata: ${JSON.stringify(view)}\n\n`);
    };
    send(desk.state(agentId));
    const off = desk.onState((id, view) => {
      if (id === agentId) send(view);
    });
    // A comment line every 15 s keeps proxies from closing an idle stream.
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      off();
      clearInterval(ping);
    });
  }

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/api/v1/agent/')) return false;
    const what = url.pathname.slice('/api/v1/agent/'.length);
    if (req.method === 'GET' && what === 'events') {
      events(res, agentOf(req, url), req);
      return true;
    }
    if (req.method === 'GET' && what === 'me') {
      const id = agentOf(req, url);
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
        const who = desk.authenticate(agent, password);
        if (!who) opts.guard?.failed(req, agent);
        else opts.guard?.succeeded(req, agent);
        if (!who) throw new HttpError(401, 'wrong agent or password');
        const token = randomBytes(18).toString('base64url');
        sessions.set(token, who.id);
        desk.login(who.id);
        sendJson(res, 200, {
          token,
          agent: who,
          sip: { uri: `sip:${who.id}@${desk.sipDomain()}`, username: who.id, password, wsPath: opts.wsPath },
          auxCodes: desk.auxCodes(),
        });
        return true;
      }
      case 'state': {
        const id = agentOf(req, url);
        const s = parse(StateBody, body);
        if (s.state === 'ready') desk.ready(id);
        else desk.notReady(id, s.reason);
        sendJson(res, 200, desk.state(id));
        return true;
      }
      case 'wrapup/end': {
        const id = agentOf(req, url);
        desk.endWrapUp(id);
        sendJson(res, 200, desk.state(id));
        return true;
      }
      case 'logout': {
        const id = agentOf(req, url);
        desk.logout(id);
        for (const [t, a] of sessions) if (a === id) sessions.delete(t);
        sendJson(res, 200, { ok: true });
        return true;
      }
      default:
        throw new HttpError(404, 'not found');
    }
  };
}
