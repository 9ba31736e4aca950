/**
 * Guessing limits on the HTTP edge: the agent login (POST /api/v1/agent/login) and HTTP Basic on
 * reports, recordings, planning and the live view share one AuthLockout (lib/ratelimit.ts): a
 * (user, source) pair and a source are locked separately, with escalating durations, and a locked
 * one gets 429 Too Many Requests with Retry-After (RFC 6585 §4) before any password is checked.
 *
 * The source is the client's address (server.ts clientIp): the TCP peer, or behind a reverse proxy
 * listed in server.http.trustedProxies the address that proxy says it received from — so agents
 * behind one proxy are still locked out one by one. X-Forwarded-For from anyone else is ignored,
 * since any client can write it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter } from 'prom-client';
import { SystemClock, type Clock } from '../../lib/clock.ts';
import { log } from '../../lib/log.ts';
import { metrics } from '../../lib/metrics.ts';
import { AddressList, AuthLockout, plainAddress, type AuthLockoutOptions } from '../../lib/ratelimit.ts';
import { clientIp, HttpError, sendJson, type Handler } from './server.ts';

const hlog = log.child({ mod: 'http-limits' });

const lockouts = new Counter({
  name: 'http_auth_lockouts_total',
  help: 'HTTP lockouts begun after repeated failed logins (agent login, Basic), by scope (user = one user from one source, source = any user)',
  labelNames: ['scope'] as const,
  registers: [metrics],
});
const refused = new Counter({
  name: 'http_auth_refused_total',
  help: 'HTTP requests answered 429 because their source or (user, source) was locked out',
  labelNames: ['scope'] as const,
  registers: [metrics],
});

export interface HttpLimitOptions {
  /** false turns the lockout off. */
  enabled: boolean;
  /** Addresses and CIDR blocks never locked out. */
  allow: string[];
  lockout: AuthLockoutOptions;
}

/** As SIP's: 5 wrong passwords for one user from one address, or 20 for any, in 5 min lock 1 min, doubling to 1 h. */
export const DEFAULT_HTTP_LIMITS: HttpLimitOptions = {
  enabled: true,
  allow: [],
  lockout: { failures: 5, sourceFailures: 20, windowSec: 300, lockSec: 60, maxSec: 3600 },
};

/** What the agent login calls (agentApi.ts): refuse if locked, then report the outcome. */
export interface LoginGuard {
  /** Throws HttpError(429) with Retry-After set on `res` when the source or (agent, source) is locked. */
  check(req: IncomingMessage, res: ServerResponse, user: string): void;
  failed(req: IncomingMessage, user: string): void;
  succeeded(req: IncomingMessage, user: string): void;
}

/** The user id of an `Authorization: Basic` header, or undefined when there is none. */
export function basicUser(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h?.startsWith('Basic ')) return undefined;
  return Buffer.from(h.slice(6), 'base64').toString('utf8').split(':')[0];
}

const sourceOf = (req: IncomingMessage): string => plainAddress(clientIp(req) ?? '');

export class HttpAuthGuard implements LoginGuard {
  private opts: HttpLimitOptions;
  private allow: AddressList;
  private readonly auth: AuthLockout;

  constructor(opts: Partial<HttpLimitOptions> = {}, clock: Clock = new SystemClock()) {
    this.opts = { ...DEFAULT_HTTP_LIMITS, ...opts };
    this.allow = new AddressList(this.opts.allow);
    this.auth = new AuthLockout(clock, this.opts.lockout);
  }

  /** New settings (a config reload); lockouts in progress are kept. */
  configure(opts: Partial<HttpLimitOptions>): void {
    this.opts = { ...DEFAULT_HTTP_LIMITS, ...opts };
    this.allow = new AddressList(this.opts.allow);
    this.auth.configure(this.opts.lockout);
  }

  private exempt(source: string): boolean {
    return !this.opts.enabled || this.allow.has(source);
  }

  /** Seconds left on the source's or (user, source)'s lockout, or undefined. */
  private lockedFor(req: IncomingMessage, user: string | undefined): number | undefined {
    const source = sourceOf(req);
    if (this.exempt(source)) return undefined;
    const l = this.auth.locked(source, user);
    if (!l) return undefined;
    refused.inc({ scope: l.scope });
    return Math.max(1, Math.ceil(l.retryAfterMs / 1000));
  }

  check(req: IncomingMessage, res: ServerResponse, user: string): void {
    const wait = this.lockedFor(req, user);
    if (wait === undefined) return;
    // sendJson's writeHead keeps headers set before it, so the 429 carries Retry-After.
    res.setHeader('retry-after', String(wait));
    throw new HttpError(429, `too many failed logins; try again in ${wait} s`);
  }

  failed(req: IncomingMessage, user: string): void {
    const source = sourceOf(req);
    if (this.exempt(source)) return;
    for (const l of this.auth.fail(source, user)) {
      lockouts.inc({ scope: l.scope });
      hlog.warn(
        { source, user, scope: l.scope, lockSec: l.durationMs / 1000, strike: l.strike, path: req.url },
        l.scope === 'user' ? 'http user locked out from this source after failed logins' : 'http source locked out after failed logins',
      );
    }
  }

  succeeded(req: IncomingMessage, user: string): void {
    const source = sourceOf(req);
    if (!this.exempt(source)) this.auth.succeed(source, user);
  }

  /**
   * Mounted first among the handlers: a request carrying Basic credentials from a locked source
   * or (user, source) gets its 429 here, before any API reads the password.
   */
  readonly gate: Handler = async (req, res) => {
    const user = basicUser(req);
    if (user === undefined) return false;
    const wait = this.lockedFor(req, user);
    if (wait === undefined) return false;
    res.setHeader('retry-after', String(wait));
    sendJson(res, 429, { error: `too many failed logins; try again in ${wait} s` });
    return true;
  };

  /**
   * Wraps an HTTP Basic authorize(): a request with credentials that it turns down counts as a
   * failure for the claimed user and the source, one it accepts clears the pair. A request
   * without credentials (a browser's first try) counts for nothing.
   */
  basic<F extends (req: IncomingMessage) => unknown>(authorize: F): F {
    const settle = (req: IncomingMessage, who: unknown): void => {
      const user = basicUser(req);
      if (user === undefined) return;
      if (who === undefined) this.failed(req, user);
      else this.succeeded(req, user);
    };
    // Sync or async authorize alike (a hashed password check may be either).
    const wrapped = (req: IncomingMessage): unknown => {
      const who = authorize(req);
      if (who instanceof Promise) {
        return who.then((w: unknown) => {
          settle(req, w);
          return w;
        });
      }
      settle(req, who);
      return who;
    };
    return wrapped as F;
  }
}
