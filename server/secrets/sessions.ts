/**
 * Agent desktop sessions: the login token and, bound to it, a short-lived SIP password for the
 * browser. The browser never learns the agent's own password beyond the login form: sip.js
 * registers with the session's random SIP password, which the SIP stack accepts for that agent
 * only while the session lives. Logout or expiry ends both; the browser's next re-REGISTER is
 * then refused, its binding lapses and the agent is logged out of the ACD.
 *
 * The lifetime is absolute (default 12 h, a long shift), not sliding: a token that stays alive
 * as long as it is used would let a stolen one live forever. Sessions die with the process, as
 * before; agents log in again after a restart.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../lib/clock.ts';

export const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

export interface AgentSession {
  readonly token: string;
  readonly agentId: string;
  /** Random SIP digest password for this session's browser registration. */
  readonly sipPassword: string;
  readonly expiresAt: number;
}

export class AgentSessions {
  private readonly byToken = new Map<string, AgentSession>();
  readonly ttlMs: number;

  constructor(
    private readonly clock: Clock,
    opts: { ttlMs?: number } = {},
  ) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_SESSION_TTL_MS;
  }

  open(agentId: string): AgentSession {
    this.prune();
    const s: AgentSession = {
      token: randomBytes(24).toString('base64url'),
      agentId,
      sipPassword: randomBytes(18).toString('base64url'),
      expiresAt: this.clock.now() + this.ttlMs,
    };
    this.byToken.set(s.token, s);
    return s;
  }

  /** The live session of a token; an expired one is forgotten here. */
  get(token: string | undefined): AgentSession | undefined {
    if (!token) return undefined;
    const s = this.byToken.get(token);
    if (!s) return undefined;
    if (this.clock.now() >= s.expiresAt) {
      this.byToken.delete(token);
      return undefined;
    }
    return s;
  }

  /** SIP passwords of the agent's live sessions (the stack accepts any of them for that user). */
  sipPasswords(agentId: string): string[] {
    const now = this.clock.now();
    const out: string[] = [];
    for (const s of this.byToken.values()) if (s.agentId === agentId && now < s.expiresAt) out.push(s.sipPassword);
    return out;
  }

  close(token: string): void {
    this.byToken.delete(token);
  }

  /** Logout: every session of the agent ends (all tabs; their SIP passwords stop working). */
  closeAgent(agentId: string): void {
    for (const [t, s] of this.byToken) if (s.agentId === agentId) this.byToken.delete(t);
  }

  get size(): number {
    return this.byToken.size;
  }

  /** Expired sessions go at each login, so the map stays as large as the logged-in staff. */
  private prune(): void {
    const now = this.clock.now();
    for (const [t, s] of this.byToken) if (now >= s.expiresAt) this.byToken.delete(t);
  }
}
