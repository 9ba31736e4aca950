/**
 * The agent REST API (/api/v1/agent/…) as the integration tests call it: log in for a bearer
 * token, then call an operation and read its status and JSON body.
 *
 *   const { login, api } = agentApi(() => tc.httpUrl);   // tc is set in beforeAll
 *   const token = await login('1001', 'alice1001');
 *   const r = await api(token, 'POST', '/api/v1/agent/call/hold');
 */
import { expect } from 'vitest';

export interface ApiReply {
  status: number;
  json: Record<string, unknown>;
}

export function agentApi(base: () => string | URL): {
  /** Logs in (expects 200) and returns the bearer token. */
  login: (agent: string, password: string) => Promise<string>;
  /** One call with the token; `body` is sent as JSON when given. */
  api: (token: string, method: string, path: string, body?: unknown) => Promise<ApiReply>;
} {
  return {
    login: async (agent, password) => {
      const r = await fetch(new URL('/api/v1/agent/login', base()), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agent, password }),
      });
      expect(r.status).toBe(200);
      return ((await r.json()) as { token: string }).token;
    },
    api: async (token, method, path, body) => {
      const r = await fetch(new URL(path, base()), {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    },
  };
}
