/**
 * HTTP Digest for SIP (RFC 3261 §22, RFC 7616 algorithms, RFC 8760 SHA-256 for SIP):
 * challenges and verification on the server side, Authorization computation on the client side.
 * Nonces are stateless: a timestamp signed with a per-process HMAC key, so any request can be
 * checked without a nonce table; staleness is reported so clients retry silently.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../lib/clock.ts';

/** A user name and password to answer challenges with (agents' phones, carrier trunks). */
export interface Credentials {
  username: string;
  password: string;
}

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

export interface Challenge {
  scheme: string;
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: DigestAlgorithm;
  qop?: string[];
  stale: boolean;
}

/** Parse `Digest a=b, c="d"` into lowercased names. Never throws. */
function parseAuthParams(header: string): { scheme: string; params: Map<string, string> } | undefined {
  const m = /^\s*([A-Za-z0-9-]+)\s+(.*)$/s.exec(header);
  if (!m) return undefined;
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  const body = m[2]!;
  let last = 0;
  for (let mm = re.exec(body); mm; mm = re.exec(body)) {
    params.set(mm[1]!.toLowerCase(), mm[2] !== undefined ? mm[2].replace(/\\(.)/g, '$1') : (mm[3] ?? ''));
    last = re.lastIndex;
    if (last >= body.length) break;
  }
  if (params.size === 0) return undefined;
  return { scheme: m[1]!, params };
}

export function parseChallenge(header: string): Challenge | undefined {
  const p = parseAuthParams(header);
  if (!p || p.scheme.toLowerCase() !== 'digest') return undefined;
  const realm = p.params.get('realm');
  const nonce = p.params.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  const alg = normaliseAlgorithm(p.params.get('algorithm'));
  if (!alg) return undefined;
  const c: Challenge = { scheme: 'Digest', realm, nonce, algorithm: alg, stale: p.params.get('stale')?.toLowerCase() === 'true' };
  const opaque = p.params.get('opaque');
  if (opaque !== undefined) c.opaque = opaque;
  const qop = p.params.get('qop');
  if (qop !== undefined) c.qop = qop.split(',').map((q) => q.trim().toLowerCase());
  return c;
}

function normaliseAlgorithm(a: string | undefined): DigestAlgorithm | undefined {
  if (a === undefined) return 'MD5';
  switch (a.toUpperCase()) {
    case 'MD5':
      return 'MD5';
    case 'MD5-SESS':
      return 'MD5-sess';
    case 'SHA-256':
      return 'SHA-256';
    case 'SHA-256-SESS':
      return 'SHA-256-sess';
    default:
      return undefined;
  }
}

function h(alg: DigestAlgorithm, s: string): string {
  return createHash(alg.startsWith('SHA-256') ? 'sha256' : 'md5')
    .update(s, 'utf8')
    .digest('hex');
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
}

export function digestResponse(d: DigestInput): string {
  return digestResponseFromHa1({ ...d, ha1: h(d.algorithm, `${d.username}:${d.realm}:${d.password}`) });
}

/**
 * The response from a stored H(A1) = H(username:realm:password) instead of the password: what a
 * server keeping only HA1 (RFC 2617 §3.2.2.2, RFC 7616 §3.4.2) computes. The -sess variants
 * derive their session HA1 from it.
 */
export function digestResponseFromHa1(d: Omit<DigestInput, 'password'> & { ha1: string }): string {
  let ha1 = d.ha1.toLowerCase();
  if (d.algorithm.endsWith('-sess')) ha1 = h(d.algorithm, `${ha1}:${d.nonce}:${d.cnonce ?? ''}`);
  const ha2 = h(d.algorithm, `${d.method}:${d.uri}`);
  return d.qop
    ? h(d.algorithm, `${ha1}:${d.nonce}:${d.nc ?? ''}:${d.cnonce ?? ''}:${d.qop}:${ha2}`)
    : h(d.algorithm, `${ha1}:${d.nonce}:${ha2}`);
}

const q = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`;

/** Client side: the Authorization / Proxy-Authorization value answering `challenge`. */
export function authorize(challenge: Challenge, creds: Credentials, method: string, uri: string, nc = 1): string {
  const qop = challenge.qop?.includes('auth') ? 'auth' : undefined;
  const cnonce = randomBytes(8).toString('hex');
  const ncs = nc.toString(16).padStart(8, '0');
  const response = digestResponse({
    algorithm: challenge.algorithm,
    username: creds.username,
    realm: challenge.realm,
    password: creds.password,
    method,
    uri,
    nonce: challenge.nonce,
    ...(qop ? { qop, nc: ncs, cnonce } : {}),
  });
  let s = `Digest username=${q(creds.username)}, realm=${q(challenge.realm)}, nonce=${q(challenge.nonce)}, uri=${q(uri)}, response=${q(response)}, algorithm=${challenge.algorithm}`;
  if (challenge.opaque !== undefined) s += `, opaque=${q(challenge.opaque)}`;
  if (qop) s += `, qop=${qop}, nc=${ncs}, cnonce=${q(cnonce)}`;
  return s;
}

/**
 * What the server checks a digest against: the clear password, or the stored H(A1) per algorithm
 * (hex; computed for this server's realm). An HA1 lacking the algorithm the client used fails as
 * a mismatch, so the client is challenged again.
 */
export type SipSecret = string | { ha1: { MD5?: string; 'SHA-256'?: string } };

/**
 * A user's secrets: one, or several that are all accepted (an agent's desk-phone password and the
 * short-lived SIP passwords of the agent's browser sessions).
 */
export type SecretLookup = (
  user: string,
  realm: string,
) => SipSecret | readonly SipSecret[] | undefined | Promise<SipSecret | readonly SipSecret[] | undefined>;

function expectedResponse(secret: SipSecret, d: Omit<DigestInput, 'password'>): string | undefined {
  if (typeof secret === 'string') return digestResponse({ ...d, password: secret });
  const ha1 = secret.ha1[d.algorithm.startsWith('SHA-256') ? 'SHA-256' : 'MD5'];
  return ha1 === undefined ? undefined : digestResponseFromHa1({ ...d, ha1 });
}

/**
 * 'bad-nonce' is a nonce we did not sign (a previous process's, a forgery): no password was
 * tested, so it is not a failed guess. Phones that cache the nonce send one after every restart.
 */
export type VerifyResult =
  | { ok: true; username: string }
  | { ok: false; reason: 'missing' | 'malformed' | 'realm' | 'stale' | 'unknown-user' | 'mismatch' | 'bad-nonce' };

/** The username of a Digest Authorization value, read before verifying (lockouts are per user). */
export function digestUsername(header: string): string | undefined {
  const p = parseAuthParams(header);
  return p && p.scheme.toLowerCase() === 'digest' ? p.params.get('username') : undefined;
}

/** Server side: issues challenges and checks credentials. */
export class DigestServer {
  private readonly key = randomBytes(32);

  constructor(
    readonly realm: string,
    private readonly clock: Clock,
    /**
     * Algorithms offered (RFC 8760). See challenges() for the order on the wire.
     */
    readonly algorithms: readonly ('MD5' | 'SHA-256')[] = ['SHA-256', 'MD5'],
    /** Nonce lifetime (ms). */
    readonly nonceTtlMs = 300_000,
  ) {}

  /** Highest nonce-count seen per nonce; insertion-ordered so the oldest are evicted first. */
  private readonly lastNc = new Map<string, number>();

  private rememberNc(nonce: string, nc: number): void {
    this.lastNc.delete(nonce);
    this.lastNc.set(nonce, nc);
    // Bounded: nonces live nonceTtlMs; 50k entries covers thousands of registrations a minute.
    if (this.lastNc.size > 50_000) {
      const oldest = this.lastNc.keys().next().value;
      if (oldest !== undefined) this.lastNc.delete(oldest);
    }
  }

  nonce(): string {
    const ts = this.clock.now().toString(16);
    const sig = createHmac('sha256', this.key).update(ts).digest('base64url').slice(0, 22);
    return `${ts}.${sig}`;
  }

  private nonceState(nonce: string): 'ok' | 'stale' | 'bad' {
    const dot = nonce.indexOf('.');
    if (dot <= 0) return 'bad';
    const ts = nonce.slice(0, dot);
    const want = createHmac('sha256', this.key).update(ts).digest('base64url').slice(0, 22);
    const got = nonce.slice(dot + 1);
    if (got.length !== want.length || !timingSafeEqual(Buffer.from(got), Buffer.from(want))) return 'bad';
    const age = this.clock.now() - parseInt(ts, 16);
    return age >= 0 && age <= this.nonceTtlMs ? 'ok' : 'stale';
  }

  /**
   * Challenge header values. With both algorithms configured the wire order is MD5, SHA-256, MD5:
   * clients disagree on which challenge they read — sip.js 0.21 (our softphone) keeps only the
   * last and does only MD5, readers of the first get MD5 too, and RFC 8760 clients that choose
   * can take SHA-256. Repeating the MD5 challenge (same nonce) costs nothing. (baresip 1.x fails
   * on any mixed list; the stack gives it a single MD5 challenge, see md5OnlyUserAgents.)
   */
  challenges(stale = false, algorithms: readonly ('MD5' | 'SHA-256')[] = this.algorithms): string[] {
    const nonce = this.nonce();
    const st = stale ? ', stale=true' : '';
    const one = (alg: string): string => `Digest realm=${q(this.realm)}, nonce=${q(nonce)}, algorithm=${alg}, qop="auth"${st}`;
    const algs = new Set(algorithms);
    if (algs.has('MD5') && algs.has('SHA-256')) return [one('MD5'), one('SHA-256'), one('MD5')];
    return [...algs].map(one);
  }

  async verify(header: string | undefined, method: string, lookup: SecretLookup): Promise<VerifyResult> {
    if (header === undefined) return { ok: false, reason: 'missing' };
    const p = parseAuthParams(header);
    if (!p || p.scheme.toLowerCase() !== 'digest') return { ok: false, reason: 'malformed' };
    const g = (k: string): string | undefined => p.params.get(k);
    const username = g('username');
    const realm = g('realm');
    const nonce = g('nonce');
    const uri = g('uri');
    const response = g('response');
    const alg = normaliseAlgorithm(g('algorithm'));
    if (!username || realm === undefined || !nonce || uri === undefined || !response || !alg) {
      return { ok: false, reason: 'malformed' };
    }
    if (realm !== this.realm) return { ok: false, reason: 'realm' };
    const ns = this.nonceState(nonce);
    if (ns === 'bad') return { ok: false, reason: 'bad-nonce' };
    const found = await lookup(username, realm);
    const secrets: readonly SipSecret[] =
      found === undefined ? [] : typeof found === 'string' || !Array.isArray(found) ? [found as SipSecret] : found;
    if (secrets.length === 0) return { ok: false, reason: 'unknown-user' };
    const qop = g('qop');
    const input = {
      algorithm: alg,
      username,
      realm,
      method,
      uri,
      nonce,
      ...(qop ? { qop, nc: g('nc') ?? '', cnonce: g('cnonce') ?? '' } : {}),
    };
    const given = Buffer.from(response.toLowerCase());
    // Every secret is tried (no early exit), so the time taken does not tell which one matched.
    let matched = false;
    for (const secret of secrets) {
      const expected = expectedResponse(secret, input);
      if (expected !== undefined && expected.length === given.length && timingSafeEqual(Buffer.from(expected), given)) matched = true;
    }
    if (!matched) return { ok: false, reason: 'mismatch' };
    if (ns === 'stale') return { ok: false, reason: 'stale' };
    if (qop) {
      // Replay protection (RFC 7616 §3.4): each nonce's nc must grow. A replayed or reordered
      // credential gets a fresh challenge (stale) rather than a hard failure.
      const nc = parseInt(g('nc') ?? '', 16);
      const last = this.lastNc.get(nonce);
      if (!Number.isFinite(nc) || (last !== undefined && nc <= last)) return { ok: false, reason: 'stale' };
      this.rememberNc(nonce, nc);
    }
    return { ok: true, username };
  }
}
