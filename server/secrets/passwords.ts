/**
 * Agents' stored secrets. agents.yaml holds, per agent, either a clear `password:` (accepted for
 * compatibility and the demo, with a warning) or `passwordHash:` for web login and HTTP Basic plus
 * `sipHa1:` for SIP digest.
 *
 * The web hash is scrypt from node:crypto (`scrypt$N$r$p$salt$hash`, base64url): memory-hard, in
 * Node itself, so no native dependency (argon2/bcrypt packages need a compiler or a prebuilt
 * binary, which this project's CI cannot download). SIP digest cannot use it: the server must
 * compute H(A1) = H(user:realm:password) (RFC 2617 §3.2.2.2, RFC 7616 §3.4.2, RFC 8760), so the
 * digest side stores that HA1 per algorithm for one realm. An HA1 is password-equivalent only in
 * that realm; it is what Asterisk's md5secret and Kamailio's ha1 columns keep.
 */
import { createHash, createHmac, randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost: N = 2^14, r = 8, p = 1 (the RFC 7914 interactive-login figure, ~16 MiB, ~50 ms). */
export const SCRYPT_DEFAULT = { N: 16_384, r: 8, p: 1 } as const;
const KEY_LEN = 32;
const PREFIX = 'scrypt';

/** What an agent's entry may carry (the shape of AgentSchema's secret fields). */
export interface AgentSecrets {
  password?: string | undefined;
  passwordHash?: string | undefined;
  sipHa1?: SipHa1 | undefined;
}

/** HA1 values of one agent for one realm, lower-case hex. */
export interface SipHa1 {
  realm: string;
  md5?: string | undefined;
  sha256?: string | undefined;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

export const PASSWORD_HASH_RE = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{32,}$/;

function parseHash(s: string): ParsedHash | undefined {
  const parts = s.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Bounds keep a hand-edited hash from asking for gigabytes (128·N·r bytes).
  if (!Number.isInteger(Math.log2(N)) || N < 1024 || N > 1_048_576 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  // scrypt's output for a shorter length is a prefix of the longer one, so a truncated hash would
  // still verify with fewer bits to guess: only the full length counts.
  if (salt.length < 16 || hash.length !== KEY_LEN) return undefined;
  return { N, r, p, salt, hash };
}

function options(h: { N: number; r: number; p: number }): ScryptOptions {
  return { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r };
}

export function isPasswordHash(s: string): boolean {
  return PASSWORD_HASH_RE.test(s) && parseHash(s) !== undefined;
}

/** `scrypt$N$r$p$salt$hash` for a new password (random 16-byte salt). */
export function hashPassword(password: string, cost: { N: number; r: number; p: number } = SCRYPT_DEFAULT): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password.normalize('NFC'), salt, KEY_LEN, options(cost));
  return [PREFIX, cost.N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/**
 * Successful verifications, keyed by a keyed hash of (stored hash, password): HTTP Basic sends the
 * password with every report request, and 50 ms of scrypt each time would be a CPU gift to anyone
 * who can send requests. Only successes are kept, so a guess still costs a full scrypt; the key
 * is per process, so the map is no offline dictionary.
 */
const memoKey = randomBytes(32);
const verified = new Map<string, true>();
const memoId = (stored: string, password: string): string =>
  createHmac('sha256', memoKey).update(stored).update('\0').update(password).digest('base64url');
function remember(id: string): void {
  verified.set(id, true);
  if (verified.size > 1000) {
    const oldest = verified.keys().next().value;
    if (oldest !== undefined) verified.delete(oldest);
  }
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Timing-safe check of a password against a stored scrypt hash (synchronous: HTTP Basic). */
export function verifyPasswordSync(stored: string, password: string): boolean {
  const h = parseHash(stored);
  if (!h) return false;
  const id = memoId(stored, password);
  if (verified.has(id)) return true;
  const ok = equal(scryptSync(password.normalize('NFC'), h.salt, KEY_LEN, options(h)), h.hash);
  if (ok) remember(id);
  return ok;
}

/** The same off the event loop (scrypt runs in libuv's pool): web login. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return false;
  const id = memoId(stored, password);
  if (verified.has(id)) return true;
  const got = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFC'), h.salt, KEY_LEN, options(h), (e, k) => (e ? reject(e) : resolve(k))),
  );
  const ok = equal(got, h.hash);
  if (ok) remember(id);
  return ok;
}

/** A clear password compared in constant time (for entries still holding `password:`). */
export function clearEquals(stored: string, given: string): boolean {
  // Hash both first so the comparison takes the same time whatever the lengths.
  const d = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(d(stored), d(given));
}

/** Checked when the agent id is unknown, so a wrong id costs the same scrypt as a wrong password. */
let decoy: string | undefined;
const decoyHash = (): string => (decoy ??= hashPassword(randomBytes(16).toString('hex')));

/** Web login / HTTP Basic: the agent's hash or (legacy) clear password; no agent, no match. */
export async function checkAgentPassword(a: AgentSecrets | undefined, given: string): Promise<boolean> {
  if (!a) return verifyPassword(decoyHash(), given).then(() => false);
  if (a.passwordHash !== undefined) return verifyPassword(a.passwordHash, given);
  return a.password !== undefined && clearEquals(a.password, given);
}

export function checkAgentPasswordSync(a: AgentSecrets | undefined, given: string): boolean {
  if (!a) return verifyPasswordSync(decoyHash(), given) && false;
  if (a.passwordHash !== undefined) return verifyPasswordSync(a.passwordHash, given);
  return a.password !== undefined && clearEquals(a.password, given);
}

/** H(user:realm:password) in hex, for 'MD5' or 'SHA-256'. */
export function ha1(algorithm: 'MD5' | 'SHA-256', user: string, realm: string, password: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(`${user}:${realm}:${password}`, 'utf8')
    .digest('hex');
}

/** The secret the SIP stack verifies digest against (see server/sip/digest.ts SipSecret). */
export type AgentSipSecret = string | { ha1: { MD5?: string; 'SHA-256'?: string } };

/**
 * What SIP digest can check this agent against in `realm`: the clear password, or the stored HA1s
 * when they were made for this realm; undefined when neither (e.g. hashed for another realm).
 */
export function sipSecretOf(a: AgentSecrets, realm: string): AgentSipSecret | undefined {
  if (a.password !== undefined) return a.password;
  if (!a.sipHa1 || a.sipHa1.realm !== realm) return undefined;
  const h: { MD5?: string; 'SHA-256'?: string } = {};
  if (a.sipHa1.md5) h.MD5 = a.sipHa1.md5.toLowerCase();
  if (a.sipHa1.sha256) h['SHA-256'] = a.sipHa1.sha256.toLowerCase();
  return h.MD5 || h['SHA-256'] ? { ha1: h } : undefined;
}

/** The stored form of a new password: what `callcentre passwd` writes. */
export function secretsFor(user: string, realm: string, password: string): { passwordHash: string; sipHa1: SipHa1 } {
  return {
    passwordHash: hashPassword(password),
    sipHa1: { realm, md5: ha1('MD5', user, realm, password), sha256: ha1('SHA-256', user, realm, password) },
  };
}

/**
 * What the centre warns about at load: clear passwords (they still work, for compatibility and the
 * demo), and HA1s made for another realm than server.sipRealm (desk phones cannot register).
 */
export function secretWarnings(agents: readonly (AgentSecrets & { id: string })[], realm: string): { agent: string; message: string }[] {
  const out: { agent: string; message: string }[] = [];
  for (const a of agents) {
    if (a.password !== undefined) out.push({ agent: a.id, message: `clear password for agent ${a.id}: run \`callcentre passwd ${a.id}\`` });
    else if (a.sipHa1 && a.sipHa1.realm !== realm)
      out.push({
        agent: a.id,
        message: `agent ${a.id}'s sipHa1 is for realm ${a.sipHa1.realm}, not ${realm}: desk phones cannot register; run \`callcentre passwd ${a.id}\``,
      });
  }
  return out;
}
