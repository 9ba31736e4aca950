import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { DigestServer, authorize, digestResponse, parseChallenge } from '../../../server/sip/digest.ts';

const lookup = (u: string): string | undefined => (u === 'alice' ? 'secret' : undefined);

describe('digest (RFC 2617 / 7616 / 8760)', () => {
  it('matches the RFC 2617 §3.5 worked example (MD5, qop=auth)', () => {
    expect(
      digestResponse({
        algorithm: 'MD5',
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        password: 'Circle Of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('matches the RFC 7616 §3.9.1 SHA-256 example', () => {
    expect(
      digestResponse({
        algorithm: 'SHA-256',
        username: 'Mufasa',
        realm: 'http-auth@example.org',
        password: 'Circle of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
        qop: 'auth',
        nc: '00000001',
        cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      }),
    ).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('challenges MD5, SHA-256, MD5 (first- and last-reading clients get MD5) and verifies both', async () => {
    const clock = new FakeClock(1_000_000);
    const srv = new DigestServer('cc', clock);
    const ch = srv.challenges();
    expect(ch.map((c) => parseChallenge(c)!.algorithm)).toEqual(['MD5', 'SHA-256', 'MD5']);
    expect(new DigestServer('cc', clock, ['SHA-256']).challenges().map((c) => parseChallenge(c)!.algorithm)).toEqual(['SHA-256']);
    const [md5, sha] = ch.map((c) => parseChallenge(c)!);
    expect(sha!.algorithm).toBe('SHA-256');
    expect(md5!.algorithm).toBe('MD5');
    // Both challenges share one nonce, so the second answer must use the next nonce-count.
    for (const [c, nc] of [
      [sha!, 1],
      [md5!, 2],
    ] as const) {
      const h = authorize(c, { username: 'alice', password: 'secret' }, 'REGISTER', 'sip:cc.example', nc);
      expect(await srv.verify(h, 'REGISTER', lookup)).toEqual({ ok: true, username: 'alice' });
      const bad = authorize(c, { username: 'alice', password: 'nope' }, 'REGISTER', 'sip:cc.example');
      expect(await srv.verify(bad, 'REGISTER', lookup)).toMatchObject({ ok: false, reason: 'mismatch' });
      // Same credentials replayed for another method do not verify.
      expect(await srv.verify(h, 'INVITE', lookup)).toMatchObject({ ok: false, reason: 'mismatch' });
    }
    const ghost = authorize(md5!, { username: 'bob', password: 'x' }, 'REGISTER', 'sip:cc.example');
    expect(await srv.verify(ghost, 'REGISTER', lookup)).toMatchObject({ ok: false, reason: 'unknown-user' });
    const other = authorize({ ...md5!, realm: 'elsewhere' }, { username: 'alice', password: 'secret' }, 'REGISTER', 'sip:x');
    expect(await srv.verify(other, 'REGISTER', lookup)).toMatchObject({ ok: false, reason: 'realm' });
  });

  it('reports stale nonces after the TTL and rejects forged nonces', async () => {
    const clock = new FakeClock(1_000_000);
    const srv = new DigestServer('cc', clock);
    const c = parseChallenge(srv.challenges()[1]!)!;
    const h = authorize(c, { username: 'alice', password: 'secret' }, 'REGISTER', 'sip:cc');
    clock.advance(301_000);
    expect(await srv.verify(h, 'REGISTER', lookup)).toMatchObject({ ok: false, reason: 'stale' });
    const forged = authorize(
      { ...c, nonce: 'deadbeef.AAAAAAAAAAAAAAAAAAAAAA' },
      { username: 'alice', password: 'secret' },
      'REGISTER',
      'sip:cc',
    );
    expect(await srv.verify(forged, 'REGISTER', lookup)).toMatchObject({ ok: false, reason: 'bad-nonce' });
  });

  it('rejects a replayed nonce-count as stale, accepts a growing one', async () => {
    const clock = new FakeClock(1_000_000);
    const srv = new DigestServer('cc', clock);
    const c = parseChallenge(srv.challenges()[0]!)!;
    const first = authorize(c, { username: 'alice', password: 'secret' }, 'REGISTER', 'sip:cc', 1);
    expect(await srv.verify(first, 'REGISTER', lookup)).toEqual({ ok: true, username: 'alice' });
    expect(await srv.verify(first, 'REGISTER', lookup)).toMatchObject({ ok: false, reason: 'stale' });
    const second = authorize(c, { username: 'alice', password: 'secret' }, 'REGISTER', 'sip:cc', 2);
    expect(await srv.verify(second, 'REGISTER', lookup)).toEqual({ ok: true, username: 'alice' });
  });

  it('never throws on garbage headers', async () => {
    const srv = new DigestServer('cc', new FakeClock());
    for (const h of ['', 'Digest', 'Basic abc', 'Digest ,,,,', 'Digest username="a', 'Digest a=b, c', '\u0000\u0001']) {
      const r = await srv.verify(h, 'REGISTER', lookup);
      expect(r.ok).toBe(false);
      expect(parseChallenge(h)).toBeUndefined();
    }
  });
});
