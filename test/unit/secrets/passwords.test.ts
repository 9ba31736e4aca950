import { describe, expect, it } from 'vitest';
import { AgentSchema } from '../../../server/acd/config.ts';
import {
  checkAgentPassword,
  checkAgentPasswordSync,
  clearEquals,
  ha1,
  hashPassword,
  isPasswordHash,
  secretsFor,
  secretWarnings,
  sipSecretOf,
  verifyPassword,
  verifyPasswordSync,
} from '../../../server/secrets/passwords.ts';

// A cheap cost keeps the suite fast; the format and the check are the same at any cost.
const FAST = { N: 1024, r: 8, p: 1 };

describe('scrypt password hashes', () => {
  it('verifies the right password and refuses others, synchronously and not', async () => {
    const h = hashPassword('correct horse', FAST);
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(isPasswordHash(h)).toBe(true);
    expect(await verifyPassword(h, 'correct horse')).toBe(true);
    expect(verifyPasswordSync(h, 'correct horse')).toBe(true);
    expect(await verifyPassword(h, 'correct horsE')).toBe(false);
    expect(verifyPasswordSync(h, '')).toBe(false);
  });

  it('salts: the same password hashes differently each time, both verify', async () => {
    const a = hashPassword('pw-12345', FAST);
    const b = hashPassword('pw-12345', FAST);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 'pw-12345')).toBe(true);
    expect(await verifyPassword(b, 'pw-12345')).toBe(true);
  });

  it('defaults to N=16384, r=8, p=1 and reads the cost from the hash', async () => {
    const h = hashPassword('default-cost');
    expect(h.startsWith('scrypt$16384$8$1$')).toBe(true);
    expect(await verifyPassword(h, 'default-cost')).toBe(true);
  });

  it('refuses tampered, truncated and absurd-cost hashes without throwing', async () => {
    const h = hashPassword('secret-1', FAST);
    const parts = h.split('$');
    const flipped = [...parts.slice(0, 5), (parts[5]!.startsWith('A') ? 'B' : 'A') + parts[5]!.slice(1)].join('$');
    expect(await verifyPassword(flipped, 'secret-1')).toBe(false);
    expect(await verifyPassword(h.slice(0, -4), 'secret-1')).toBe(false);
    expect(await verifyPassword(['scrypt', 1 << 30, 8, 1, parts[4], parts[5]].join('$'), 'secret-1')).toBe(false);
    expect(await verifyPassword(['scrypt', 1000, 8, 1, parts[4], parts[5]].join('$'), 'secret-1')).toBe(false);
    expect(verifyPasswordSync('plain text', 'plain text')).toBe(false);
    expect(isPasswordHash('scrypt$1$2$3$x$y')).toBe(false);
  });

  it('clear passwords compare by value whatever their lengths', () => {
    expect(clearEquals('alice1001', 'alice1001')).toBe(true);
    expect(clearEquals('alice1001', 'alice100')).toBe(false);
    expect(clearEquals('alice1001', 'alice10011')).toBe(false);
  });

  it("checks an agent's hash, or its legacy clear password", async () => {
    const hashed = { passwordHash: hashPassword('hashed-pw', FAST) };
    expect(await checkAgentPassword(hashed, 'hashed-pw')).toBe(true);
    expect(checkAgentPasswordSync(hashed, 'hashed-pw')).toBe(true);
    expect(await checkAgentPassword(hashed, 'nope')).toBe(false);
    expect(await checkAgentPassword({ password: 'clear-pw' }, 'clear-pw')).toBe(true);
    expect(checkAgentPasswordSync({ password: 'clear-pw' }, 'x')).toBe(false);
    expect(await checkAgentPassword({}, '')).toBe(false);
    expect(await checkAgentPassword(undefined, 'anything')).toBe(false);
    expect(checkAgentPasswordSync(undefined, 'anything')).toBe(false);
  });
});

describe('SIP HA1', () => {
  it('is H(user:realm:password): the RFC 2617 §3.5 HA1 and its SHA-256 counterpart', () => {
    expect(ha1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life')).toBe('939e7578ed9e3c518a452acee763bce9');
    expect(ha1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life')).toBe(
      '7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232',
    );
  });

  it('is used only for the realm it was made for; a clear password works in any', () => {
    const s = secretsFor('1004', 'cc.example', 'dave-pw-1');
    expect(s.sipHa1).toEqual({
      realm: 'cc.example',
      md5: ha1('MD5', '1004', 'cc.example', 'dave-pw-1'),
      sha256: ha1('SHA-256', '1004', 'cc.example', 'dave-pw-1'),
    });
    expect(sipSecretOf(s, 'cc.example')).toEqual({ ha1: { MD5: s.sipHa1.md5, 'SHA-256': s.sipHa1.sha256 } });
    expect(sipSecretOf(s, 'other.realm')).toBeUndefined();
    expect(sipSecretOf({ password: 'clear' }, 'any')).toBe('clear');
    expect(sipSecretOf({ passwordHash: s.passwordHash }, 'cc.example')).toBeUndefined();
    expect(sipSecretOf({ passwordHash: 'x', sipHa1: { realm: 'r', md5: 'ABCDEF' } }, 'r')).toEqual({ ha1: { MD5: 'abcdef' } });
  });
});

describe('agents.yaml entries', () => {
  const base = { id: '1001', name: 'Alice' };
  it('take either password or passwordHash (+ sipHa1), not both, not neither', () => {
    const s = secretsFor('1001', 'cc', 'alice-pw-1');
    expect(AgentSchema.safeParse({ ...base, password: 'alice1001' }).success).toBe(true);
    expect(AgentSchema.safeParse({ ...base, ...s }).success).toBe(true);
    expect(AgentSchema.safeParse({ ...base, passwordHash: s.passwordHash }).success).toBe(true);
    expect(AgentSchema.safeParse(base).success).toBe(false);
    expect(AgentSchema.safeParse({ ...base, password: 'alice1001', passwordHash: s.passwordHash }).success).toBe(false);
    expect(AgentSchema.safeParse({ ...base, passwordHash: 'alice1001' }).success).toBe(false);
    expect(AgentSchema.safeParse({ ...base, passwordHash: s.passwordHash, sipHa1: { realm: 'cc' } }).success).toBe(false);
    expect(AgentSchema.safeParse({ ...base, passwordHash: s.passwordHash, sipHa1: { realm: 'cc', md5: 'xyz' } }).success).toBe(false);
  });
});

describe('warnings at load', () => {
  it('flag clear passwords and HA1s made for another realm', () => {
    const s = secretsFor('1002', 'old.realm', 'x-password');
    const t = secretsFor('1003', 'cc', 'y-password');
    expect(
      secretWarnings(
        [
          { id: '1001', password: 'alice1001' },
          { id: '1002', ...s },
          { id: '1003', ...t },
        ],
        'cc',
      ),
    ).toEqual([
      { agent: '1001', message: 'clear password for agent 1001: run `callcentre passwd 1001`' },
      {
        agent: '1002',
        message: "agent 1002's sipHa1 is for realm old.realm, not cc: desk phones cannot register; run `callcentre passwd 1002`",
      },
    ]);
  });
});
