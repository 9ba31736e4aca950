/**
 * The SIP stack's limits on flooding and guessing (Kamailio's pike and fail2ban, built in):
 *
 * - a message rate per source address, over every transport together (one budget per address, so
 *   switching transport buys nothing). Over it, UDP is dropped silently: answering would let a
 *   spoofed flood bounce our responses at a victim (amplification), and a real UDP peer
 *   retransmits anyway. On TCP/TLS/WS the source is proven by the handshake and a peer gets a
 *   stateless 503 with Retry-After (RFC 3261 §21.5.4), which well-behaved UAs honour.
 * - open connections per source (TCP, TLS, WS together); beyond the limit a connection is accepted
 *   and closed at once (TLS before its handshake, WS before the upgrade with an HTTP 503), and
 *   each accept also spends from the source's message rate, so connection churn is a flood too.
 * - an escalating lockout after failed digests, per (user, source) pair and per source (see
 *   AuthLockout in lib/ratelimit.ts for why never per user alone).
 *
 * Sources on the allow-list (the trunks' `from` plus server.sip.limits.allow) are never limited.
 * Each lockout and each rate-limiting episode is logged once (warn) and counted in /metrics.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { AddressList, AuthLockout, plainAddress, RateLimiter, type AuthLockoutOptions } from '../../lib/ratelimit.ts';
import type { Transport } from './message.ts';
import { sipMetrics } from './metrics.ts';

export interface SipLimitOptions {
  /** false turns every limit off. */
  enabled: boolean;
  /** Addresses and CIDR blocks never limited (trunks, an office NAT). */
  allow: string[];
  /** Messages per second per source address, all transports together. */
  rate: number;
  /** Messages a source may send at once after a quiet spell. */
  burst: number;
  /** Open TCP/TLS/WS connections per source address. */
  connectionsPerSource: number;
  lockout: AuthLockoutOptions;
}

/**
 * Defaults that leave a normal centre alone: a phone sends a few messages a second at most and
 * a whole office of agents behind one NAT stays well under 200/s (put a bigger one on `allow`).
 * Lockout: 5 wrong digests for one user from one address, or 20 from one address for any users,
 * within 5 minutes lock for 1 minute, then 2, 4, … up to an hour.
 */
export const DEFAULT_SIP_LIMITS: SipLimitOptions = {
  enabled: true,
  allow: [],
  rate: 200,
  burst: 1000,
  connectionsPerSource: 100,
  lockout: { failures: 5, sourceFailures: 20, windowSec: 300, lockSec: 60, maxSec: 3600 },
};

export type MessageVerdict = { ok: true } | { ok: false; retryAfterSec: number };

export class SipGuard {
  private opts: SipLimitOptions;
  private allow: AddressList;
  private readonly rate: RateLimiter;
  private readonly auth: AuthLockout;
  /** Open inbound connections per source address. */
  private readonly connections = new Map<string, number>();
  /** Sources whose connection limit has been logged since they last closed one. */
  private readonly atLimit = new Set<string>();

  constructor(
    clock: Clock,
    private readonly log: Logger,
    opts: Partial<SipLimitOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SIP_LIMITS, ...opts };
    this.allow = new AddressList(this.opts.allow);
    this.rate = new RateLimiter(clock, { ratePerSec: this.opts.rate, burst: this.opts.burst });
    this.auth = new AuthLockout(clock, this.opts.lockout);
  }

  /** New settings (a config reload); counts and lockouts in progress are kept. */
  configure(opts: Partial<SipLimitOptions>): void {
    this.opts = { ...DEFAULT_SIP_LIMITS, ...opts };
    this.allow = new AddressList(this.opts.allow);
    this.rate.configure({ ratePerSec: this.opts.rate, burst: this.opts.burst });
    this.auth.configure(this.opts.lockout);
  }

  get options(): Readonly<SipLimitOptions> {
    return this.opts;
  }

  private exempt(address: string): boolean {
    return !this.opts.enabled || this.allow.has(address);
  }

  /** One message (or a new connection) from `address`: within the source's rate or not. */
  admitMessage(address: string, transport: Transport): MessageVerdict {
    if (this.exempt(address)) return { ok: true };
    const src = plainAddress(address);
    const v = this.rate.take(src);
    if (v.ok) {
      if (v.after > 0) this.log.info({ source: src, refused: v.after }, 'sip source back under its rate limit');
      return { ok: true };
    }
    sipMetrics.rateLimited.inc({ transport });
    if (v.first) this.log.warn({ source: src, transport, rate: this.opts.rate, burst: this.opts.burst }, 'sip source rate-limited');
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil(v.retryAfterMs / 1000)) };
  }

  /**
   * An inbound connection from `address`: a release function to call when it closes, or
   * undefined when it must be closed now (too many open from the source, or over its rate).
   */
  openConnection(address: string, transport: Transport): (() => void) | undefined {
    if (this.exempt(address)) return () => undefined;
    const src = plainAddress(address);
    const open = this.connections.get(src) ?? 0;
    if (open >= this.opts.connectionsPerSource) {
      sipMetrics.connectionsRefused.inc({ transport, why: 'per-source' });
      // Logged when the source reaches the limit, not for every connection refused after it.
      if (!this.atLimit.has(src)) {
        this.atLimit.add(src);
        this.log.warn({ source: src, transport, open }, 'sip source at its connection limit; further connections closed');
      }
      return undefined;
    }
    if (!this.admitMessage(src, transport).ok) {
      sipMetrics.connectionsRefused.inc({ transport, why: 'rate' });
      return undefined;
    }
    this.connections.set(src, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.connections.get(src) ?? 1) - 1;
      this.atLimit.delete(src);
      if (n <= 0) this.connections.delete(src);
      else this.connections.set(src, n);
    };
  }

  /** Open inbound connections from `address` (tests, diagnostics). */
  openConnections(address: string): number {
    return this.connections.get(plainAddress(address)) ?? 0;
  }

  /** Seconds the source (or this user from it) stays locked out, or undefined. */
  authLocked(address: string, user: string | undefined): { scope: 'user' | 'source'; retryAfterSec: number } | undefined {
    if (this.exempt(address)) return undefined;
    const l = this.auth.locked(plainAddress(address), user);
    if (!l) return undefined;
    sipMetrics.authRefused.inc({ scope: l.scope });
    return { scope: l.scope, retryAfterSec: Math.max(1, Math.ceil(l.retryAfterMs / 1000)) };
  }

  /** A wrong digest (or an unknown user) from `address`. */
  authFailed(address: string, user: string): void {
    if (this.exempt(address)) return;
    const src = plainAddress(address);
    for (const l of this.auth.fail(src, user)) {
      sipMetrics.authLockouts.inc({ scope: l.scope });
      this.log.warn(
        { source: src, user, scope: l.scope, lockSec: l.durationMs / 1000, strike: l.strike },
        l.scope === 'user' ? 'sip user locked out from this source after failed digests' : 'sip source locked out after failed digests',
      );
    }
  }

  authSucceeded(address: string, user: string): void {
    if (this.exempt(address)) return;
    this.auth.succeed(plainAddress(address), user);
  }
}
