/**
 * Digest checked from stored H(A1) instead of a clear password (agents.yaml `sipHa1:`), and from
 * several secrets at once (an agent's desk-phone HA1 plus the browser sessions' SIP passwords).
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { ha1 } from '../../../server/secrets/passwords.ts';
import { DigestServer, authorize, digestResponseFromHa1, parseChallenge, type SipSecret } from '../../../server/sip/digest.ts';

describe('digest from HA1 (RFC 2617 / 7616 vectors)', () => {
  it('RFC 2617 §3.5: MD5 from HA1 939e7578… gives the worked response', () => {
    expect(
      digestResponseFromHa1({
        algorithm: 'MD5',
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        ha1: '939e7578ed9e3c518a452acee763bce9',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('RFC 7616 §3.9.1: SHA-256 from its HA1 gives the worked response (upper-case hex accepted)', () => {
    const h = ha1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(
      digestResponseFromHa1({
        algorithm: 'SHA-256',
        username: 'Mufasa',
        realm: 'http-auth@example.org',
        ha1: h.toUpperCase(),
        method: 'GET',
        uri: '/dir/index.html',
        nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
        qop: 'auth',
        nc: '00000001',
        cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      }),
    ).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });
});

describe('DigestServer.verify with HA1 secrets', () => {
  const realm = 'cc.example';
  const stored: SipSecret = { ha1: { MD5: ha1('MD5', 'dave', realm, 'dave-pw'), 'SHA-256': ha1('SHA-256', 'dave', realm, 'dave-pw') } };

  it('accepts the password behind the HA1 with MD5 and with SHA-256, refuses another', async () => {
    const srv = new DigestServer(realm, new FakeClock(1_000_000));
    const [md5, sha] = srv.challenges().map((c) => parseChallenge(c)!);
    let nc = 1;
    for (const c of [md5!, sha!]) {
      const good = authorize(c, { username: 'dave', password: 'dave-pw' }, 'REGISTER', `sip:${realm}`, nc++);
      expect(await srv.verify(good, 'REGISTER', () => stored)).toEqual({ ok: true, username: 'dave' });
      const bad = authorize(c, { username: 'dave', password: 'dave-px' }, 'REGISTER', `sip:${realm}`, nc++);
      expect(await srv.verify(bad, 'REGISTER', () => stored)).toMatchObject({ ok: false, reason: 'mismatch' });
    }
  });

  it('an HA1 lacking the algorithm the client used is a mismatch (the client is challenged again)', async () => {
    const srv = new DigestServer(realm, new FakeClock(1_000_000));
    const sha = parseChallenge(srv.challenges()[1]!)!;
    expect(sha.algorithm).toBe('SHA-256');
    const h = authorize(sha, { username: 'dave', password: 'dave-pw' }, 'REGISTER', `sip:${realm}`);
    expect(await srv.verify(h, 'REGISTER', () => ({ ha1: { MD5: ha1('MD5', 'dave', realm, 'dave-pw') } }))).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('an HA1 made for another realm does not verify', async () => {
    const srv = new DigestServer(realm, new FakeClock(1_000_000));
    const md5 = parseChallenge(srv.challenges()[0]!)!;
    const h = authorize(md5, { username: 'dave', password: 'dave-pw' }, 'REGISTER', `sip:${realm}`);
    expect(await srv.verify(h, 'REGISTER', () => ({ ha1: { MD5: ha1('MD5', 'dave', 'old.realm', 'dave-pw') } }))).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('MD5-sess derives the session HA1 from the stored one', async () => {
    const srv = new DigestServer(realm, new FakeClock(1_000_000));
    const c = { ...parseChallenge(srv.challenges()[0]!)!, algorithm: 'MD5-sess' as const };
    const h = authorize(c, { username: 'dave', password: 'dave-pw' }, 'REGISTER', `sip:${realm}`);
    expect(await srv.verify(h, 'REGISTER', () => stored)).toEqual({ ok: true, username: 'dave' });
  });

  it('accepts any of several secrets (desk-phone HA1, session passwords), clear ones still work', async () => {
    const srv = new DigestServer(realm, new FakeClock(1_000_000));
    const md5 = parseChallenge(srv.challenges()[0]!)!;
    const secrets = (): SipSecret[] => [stored, 'session-one', 'session-two'];
    let nc = 1;
    for (const pw of ['dave-pw', 'session-one', 'session-two']) {
      const h = authorize(md5, { username: 'dave', password: pw }, 'REGISTER', `sip:${realm}`, nc++);
      expect(await srv.verify(h, 'REGISTER', secrets)).toEqual({ ok: true, username: 'dave' });
    }
    const h = authorize(md5, { username: 'dave', password: 'session-three' }, 'REGISTER', `sip:${realm}`, nc++);
    expect(await srv.verify(h, 'REGISTER', secrets)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(await srv.verify(h, 'REGISTER', () => [])).toMatchObject({ ok: false, reason: 'unknown-user' });
  });
});
