/**
 * Digest authentication in SIP (RFC 3261 §22): as a server we challenge and check requests
 * (REGISTER with 401/WWW-Authenticate, others with 407/Proxy-Authenticate); as a client we retry a
 * challenged request once with credentials.
 */
import { SipRequest, type SipResponse } from './message.ts';
import { authorize, digestUsername, parseChallenge, type Credentials, type DigestServer, type SecretLookup } from './digest.ts';
import type { SipServerResponse } from './server-response.ts';

/** The guessing limits the authenticator consults and feeds (SipGuard in limits.ts). */
export interface AuthGuard {
  authLocked(address: string, user: string | undefined): { scope: 'user' | 'source'; retryAfterSec: number } | undefined;
  authFailed(address: string, user: string): void;
  authSucceeded(address: string, user: string): void;
}

/**
 * Secret lookup for digest (agents, trunks): a clear password, stored HA1s (`{ ha1: { MD5,
 * 'SHA-256' } }`), or several of these, any of which is accepted.
 */
export type CredentialLookup = SecretLookup;

/**
 * §22.2/§22.3: the retry of `req` answering the 401/407 `res` — a copy with CSeq+1, no Via, and an
 * Authorization (or Proxy-Authorization) for its first usable challenge; undefined when none.
 */
export function withCredentials(req: SipRequest, res: SipResponse, auth: Credentials): SipRequest | undefined {
  const proxy = res.status === 407;
  const values = res.getAll(proxy ? 'proxy-authenticate' : 'www-authenticate');
  const chal = values.map(parseChallenge).find((c) => c !== undefined);
  if (!chal) return undefined;
  const retry = new SipRequest(req.method, req.uri);
  for (const [k, v] of req.headers) if (k !== 'via') retry.headers.set(k, [...v]);
  retry.body = req.body;
  const seq = req.cseq.seq + 1;
  retry.set('cseq', `${seq} ${req.method}`);
  retry.set(proxy ? 'proxy-authorization' : 'authorization', authorize(chal, auth, req.method, req.uri));
  return retry;
}

/** The server side: challenges requests and checks their credentials against a password lookup. */
export class Authenticator {
  constructor(
    readonly digest: DigestServer,
    private readonly credentials: CredentialLookup | undefined,
    /** User-Agents that get a single MD5 challenge (see SipStackOptions.md5OnlyUserAgents). */
    private readonly md5OnlyUserAgents: RegExp[],
    /** Guessing limits; the stack's guard, or none. */
    private readonly guard?: AuthGuard,
  ) {}

  /**
   * Digest-authenticate a request (REGISTER: 401/WWW-Authenticate; others with proxy=true:
   * 407/Proxy-Authenticate). Resolves with the user name, or undefined after sending the challenge
   * or 403.
   */
  async authenticate(req: SipRequest, res: SipServerResponse, proxy = false): Promise<string | undefined> {
    if (!this.credentials) {
      res.send(403, { reason: 'Forbidden - no credentials configured' });
      return undefined;
    }
    const header =
      req.getAll(proxy ? 'proxy-authorization' : 'authorization').find((h) => h.includes(`realm="${this.digest.realm}"`)) ??
      req.get(proxy ? 'proxy-authorization' : 'authorization');
    const guard = this.guard;
    const source = req.source?.address;
    const claimed = header !== undefined ? digestUsername(header) : undefined;
    if (guard && source !== undefined) {
      // Refused before any password is looked up or hashed: a locked guesser learns nothing and
      // costs nothing. A request without credentials is checked against its source only.
      const locked = guard.authLocked(source, claimed);
      if (locked) {
        res.send(403, {
          reason: 'Forbidden - too many failed attempts',
          headers: { 'Retry-After': String(locked.retryAfterSec) },
        });
        return undefined;
      }
    }
    const r = await this.digest.verify(header, req.method, this.credentials);
    if (r.ok) {
      if (guard && source !== undefined) guard.authSucceeded(source, r.username);
      return r.username;
    }
    // A wrong response or an unknown user is a guess; a missing, stale or foreign nonce is not.
    if (guard && source !== undefined && claimed !== undefined && (r.reason === 'mismatch' || r.reason === 'unknown-user')) {
      guard.authFailed(source, claimed);
    }
    if (
      r.reason === 'unknown-user' ||
      r.reason === 'mismatch' ||
      r.reason === 'bad-nonce' ||
      r.reason === 'missing' ||
      r.reason === 'stale' ||
      r.reason === 'realm' ||
      r.reason === 'malformed'
    ) {
      if (r.reason === 'malformed') {
        res.send(400, { reason: 'Bad Request - malformed credentials' });
        return undefined;
      }
      const stale = r.reason === 'stale';
      const ua = req.get('user-agent') ?? '';
      const algs = this.md5OnlyUserAgents.some((re) => re.test(ua)) ? (['MD5'] as const) : undefined;
      res.send(proxy ? 407 : 401, {
        headers: { [proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate']: this.digest.challenges(stale, algs) },
      });
    }
    return undefined;
  }
}
