/**
 * Flood and guessing limits, the engines only (in the spirit of Kamailio's pike and fail2ban):
 * a token bucket per key, an escalating lockout per key, the two lockouts an authenticating edge
 * needs (per (user, source) pair and per source), and an address allow-list. Pure and driven by an
 * injected Clock, no timers: state is updated when a key is touched, so a test on a FakeClock can
 * compute every verdict by hand. The SIP stack (server/sip/limits.ts) and the HTTP edge
 * (server/http/limits.ts) add their transports' semantics, metrics and logs on top.
 *
 * Every table is bounded (maxKeys): a flood from many (spoofed) addresses must not turn the
 * limiter itself into the memory leak that takes the server down.
 */
import { BlockList, isIP } from 'node:net';
import type { Clock } from './clock.ts';

const DEFAULT_MAX_KEYS = 100_000;

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, how a dual-stack socket reports IPv4) as IPv4. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Parses "10.0.0.1", "10.0.0.0/8" or "2001:db8::/32"; undefined when malformed. */
export function parseCidr(rule: string): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [addr, bits, extra] = rule.split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  const v = isIP(addr);
  if (v === 0) return undefined;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) return { address: addr, family };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (v === 4 ? 32 : 128)) return undefined;
  return { address: addr, prefix: Number(bits), family };
}

/** A set of addresses and CIDR blocks (trunks, offices) that the limits never touch. */
export class AddressList {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  /** Malformed rules are skipped: the config schema rejects them, with their position, first. */
  constructor(rules: readonly string[]) {
    let n = 0;
    for (const rule of rules) {
      const r = parseCidr(rule);
      if (!r) continue;
      n++;
      if (r.prefix === undefined) this.list.addAddress(r.address, r.family);
      else this.list.addSubnet(r.address, r.prefix, r.family);
    }
    this.empty = n === 0;
  }

  has(address: string): boolean {
    if (this.empty) return false;
    const a = plainAddress(address);
    const v = isIP(a);
    if (v === 0) return false;
    return this.list.check(a, v === 4 ? 'ipv4' : 'ipv6');
  }
}

export interface RateOptions {
  /** Sustained rate allowed per key, per second. */
  ratePerSec: number;
  /** Bucket size: how many may arrive at once after a quiet spell. */
  burst: number;
  maxKeys?: number;
}

/**
 * A limiting episode starts with a key's first refusal and ends when a message finds its bucket
 * full again, i.e. once the key has stayed under the rate for burst/rate seconds. A source
 * flooding at any rate above the limit is one episode however long it lasts, so it is logged
 * once, not once per token that lets a message through.
 */
export type RateVerdict =
  /** Passed; `after` is how many were refused in the episode this pass ends (0 when none). */
  | { ok: true; after: number }
  /** Refused; `first` marks the first refusal of an episode (log it once). */
  | { ok: false; retryAfterMs: number; first: boolean };

interface Bucket {
  tokens: number;
  at: number;
  /** Refused in the current episode: > 0 means the key is inside one. */
  refused: number;
}

/**
 * Token bucket per key: `burst` tokens, refilled at `ratePerSec`; each message takes one. Over
 * the rate a source gets exactly ratePerSec through (smoothed), not zero: a legitimate but
 * bursty peer (a NAT'ed office after a restart) slows down instead of being cut off, and a flood
 * is reduced to a rate the server handles anyway.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private opts: Required<RateOptions>;

  constructor(
    private readonly clock: Clock,
    opts: RateOptions,
  ) {
    this.opts = { maxKeys: DEFAULT_MAX_KEYS, ...opts };
  }

  configure(opts: RateOptions): void {
    this.opts = { maxKeys: DEFAULT_MAX_KEYS, ...opts };
  }

  get size(): number {
    return this.buckets.size;
  }

  take(key: string, cost = 1): RateVerdict {
    const now = this.clock.now();
    const { ratePerSec, burst } = this.opts;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.opts.maxKeys) this.prune(now);
      b = { tokens: burst, at: now, refused: 0 };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * ratePerSec) / 1000);
      b.at = now;
    }
    let after = 0;
    if (b.refused > 0 && b.tokens >= burst) {
      after = b.refused;
      b.refused = 0;
    }
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true, after };
    }
    b.refused++;
    return { ok: false, retryAfterMs: Math.ceil(((cost - b.tokens) * 1000) / ratePerSec), first: b.refused === 1 };
  }

  /** Drop buckets that have refilled (idle keys carry no state worth keeping), then the oldest. */
  private prune(now: number): void {
    const { ratePerSec, burst, maxKeys } = this.opts;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * ratePerSec) / 1000 >= burst) this.buckets.delete(k);
    }
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < maxKeys * 0.9) break;
      this.buckets.delete(k);
    }
  }
}

export interface LockoutOptions {
  /** Failures within windowMs that lock the key. */
  threshold: number;
  windowMs: number;
  /** First lockout; each further one doubles, up to maxMs. */
  baseMs: number;
  maxMs: number;
  /** A key with no failure for this long starts again at baseMs. Default 24 h. */
  forgetMs?: number;
  maxKeys?: number;
}

interface Strikes {
  /** Failures counted in the current window. */
  failures: number;
  windowStart: number;
  /** Lockouts so far: the next one lasts baseMs * 2^strikes. */
  strikes: number;
  lockedUntil: number;
  lastFailure: number;
}

/** A lockout that has just begun. */
export interface Locked {
  durationMs: number;
  /** 1 for the first lockout of the key, 2 for the second (twice as long), … */
  strike: number;
}

/**
 * fail2ban for one kind of key: `threshold` failures within `windowMs` lock the key for
 * baseMs, then 2×, 4×, … up to maxMs for each further lockout. A success clears the key
 * (escalation included). While locked, failures are not counted: the caller refuses before
 * checking the password, so there is nothing to count.
 */
export class Lockout {
  private readonly keys = new Map<string, Strikes>();
  private opts: Required<LockoutOptions>;

  constructor(
    private readonly clock: Clock,
    opts: LockoutOptions,
  ) {
    this.opts = { forgetMs: 86_400_000, maxKeys: DEFAULT_MAX_KEYS, ...opts };
  }

  configure(opts: LockoutOptions): void {
    this.opts = { forgetMs: 86_400_000, maxKeys: DEFAULT_MAX_KEYS, ...opts };
  }

  get size(): number {
    return this.keys.size;
  }

  /** Milliseconds the key stays locked, or 0. */
  lockedFor(key: string): number {
    const e = this.keys.get(key);
    return e ? Math.max(0, e.lockedUntil - this.clock.now()) : 0;
  }

  /** Count a failure; returns the lockout when this failure starts one. */
  fail(key: string): Locked | undefined {
    const now = this.clock.now();
    const o = this.opts;
    let e = this.keys.get(key);
    if (!e) {
      if (this.keys.size >= o.maxKeys) this.prune(now);
      e = { failures: 0, windowStart: now, strikes: 0, lockedUntil: 0, lastFailure: now };
      this.keys.set(key, e);
    }
    if (e.lockedUntil > now) return undefined;
    if (now - e.lastFailure >= o.forgetMs) e.strikes = 0;
    if (now - e.windowStart >= o.windowMs) {
      e.failures = 0;
      e.windowStart = now;
    }
    e.lastFailure = now;
    e.failures++;
    if (e.failures < o.threshold) return undefined;
    e.strikes++;
    const durationMs = Math.min(o.maxMs, o.baseMs * 2 ** (e.strikes - 1));
    e.lockedUntil = now + durationMs;
    e.failures = 0;
    e.windowStart = e.lockedUntil;
    return { durationMs, strike: e.strikes };
  }

  succeed(key: string): void {
    this.keys.delete(key);
  }

  /** Forget keys that are neither locked, counting, nor remembered for escalation; then the oldest. */
  private prune(now: number): void {
    const o = this.opts;
    for (const [k, e] of this.keys) {
      const counting = now - e.windowStart < o.windowMs && e.failures > 0;
      const remembered = e.strikes > 0 && now - e.lastFailure < o.forgetMs;
      if (e.lockedUntil <= now && !counting && !remembered) this.keys.delete(k);
    }
    for (const [k, e] of this.keys) {
      if (this.keys.size < o.maxKeys * 0.9) break;
      if (e.lockedUntil <= now) this.keys.delete(k);
    }
  }
}

/** Settings of an AuthLockout, in the config's units (seconds). */
export interface AuthLockoutOptions {
  /** Failed attempts for one user from one source, within windowSec, that lock that pair. */
  failures: number;
  /** Failed attempts from one source, whatever the user, within windowSec, that lock the source. */
  sourceFailures: number;
  windowSec: number;
  /** First lockout; each further one of the same pair or source doubles, up to maxSec. */
  lockSec: number;
  maxSec: number;
}

export type LockScope = 'user' | 'source';

/**
 * Guessing limits for an authenticating edge: a (user, source) pair and a source are locked
 * separately, never a user everywhere. Locking a user globally would hand any attacker a way to
 * lock the real agent out of their own phone; locking the pair stops a guesser aiming at one
 * user, and the source lock (with a higher threshold, so an office NAT's typos do not trip it)
 * stops one spraying many users. The real agent, from their own address, is never refused.
 */
export class AuthLockout {
  private readonly pairs: Lockout;
  private readonly sources: Lockout;

  constructor(clock: Clock, opts: AuthLockoutOptions) {
    this.pairs = new Lockout(clock, AuthLockout.pairOptions(opts));
    this.sources = new Lockout(clock, AuthLockout.sourceOptions(opts));
  }

  private static pairOptions(o: AuthLockoutOptions): LockoutOptions {
    return { threshold: o.failures, windowMs: o.windowSec * 1000, baseMs: o.lockSec * 1000, maxMs: o.maxSec * 1000 };
  }
  private static sourceOptions(o: AuthLockoutOptions): LockoutOptions {
    return { ...AuthLockout.pairOptions(o), threshold: o.sourceFailures };
  }

  configure(opts: AuthLockoutOptions): void {
    this.pairs.configure(AuthLockout.pairOptions(opts));
    this.sources.configure(AuthLockout.sourceOptions(opts));
  }

  /** The longer of the source's and the pair's remaining lockout, or undefined when neither is locked. */
  locked(source: string, user?: string): { scope: LockScope; retryAfterMs: number } | undefined {
    const s = this.sources.lockedFor(source);
    const u = user !== undefined ? this.pairs.lockedFor(pairKey(source, user)) : 0;
    if (s === 0 && u === 0) return undefined;
    return s >= u ? { scope: 'source', retryAfterMs: s } : { scope: 'user', retryAfterMs: u };
  }

  /** Count a failure for the pair and the source; returns the lockouts it starts (0, 1 or 2). */
  fail(source: string, user: string): { scope: LockScope; durationMs: number; strike: number }[] {
    const out: { scope: LockScope; durationMs: number; strike: number }[] = [];
    const u = this.pairs.fail(pairKey(source, user));
    if (u) out.push({ scope: 'user', ...u });
    const s = this.sources.fail(source);
    if (s) out.push({ scope: 'source', ...s });
    return out;
  }

  /**
   * A success clears the pair only. The source's count runs out with its window instead: another
   * user's success from a shared address must not reset the count of a guesser behind the same NAT.
   */
  succeed(source: string, user: string): void {
    this.pairs.succeed(pairKey(source, user));
  }
}

function pairKey(source: string, user: string): string {
  // NUL cannot appear in an address, so no (user, source) pair collides with another.
  return `${source}\0${user}`;
}
