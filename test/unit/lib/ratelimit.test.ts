/**
 * The limiter engines on a fake clock, every figure computed by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { AddressList, AuthLockout, Lockout, parseCidr, plainAddress, RateLimiter } from '../../../lib/ratelimit.ts';

describe('RateLimiter (token bucket per key)', () => {
  it('passes the burst at once, then refuses with the wait until the next token', () => {
    const c = new FakeClock(0);
    const r = new RateLimiter(c, { ratePerSec: 10, burst: 5 });
    for (let i = 0; i < 5; i++) expect(r.take('a')).toEqual({ ok: true, after: 0 });
    // Empty bucket, 10/s: the next token is 100 ms away.
    expect(r.take('a')).toEqual({ ok: false, retryAfterMs: 100, first: true });
    expect(r.take('a')).toEqual({ ok: false, retryAfterMs: 100, first: false });
    // Another key has its own bucket.
    expect(r.take('b')).toEqual({ ok: true, after: 0 });
    c.advance(50); // half a token
    expect(r.take('a')).toEqual({ ok: false, retryAfterMs: 50, first: false });
    c.advance(50); // one token: a pass, but the episode goes on (the bucket is not full)
    expect(r.take('a')).toEqual({ ok: true, after: 0 });
    expect(r.take('a')).toMatchObject({ ok: false, first: false });
    c.advance(500); // 5 tokens: full, so this pass ends the episode of 4 refusals
    expect(r.take('a')).toEqual({ ok: true, after: 4 });
    for (let i = 0; i < 4; i++) r.take('a');
    expect(r.take('a')).toMatchObject({ ok: false, first: true });
  });

  it('lets exactly the rate through a sustained flood', () => {
    // 20 messages/s (one every 50 ms) for 10 s against 10/s, burst 5. Tokens before each take:
    // t=0: 5, 50: 4.5, 100: 4, … 400: 1 (9 passes, the bucket now empty); then +0.5 per 50 ms,
    // so 450 refuses and 500 passes, and so on: every 100 ms from 500 to 9900 (95 passes).
    const c = new FakeClock(0);
    const r = new RateLimiter(c, { ratePerSec: 10, burst: 5 });
    let passed = 0;
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      if (r.take('flood').ok) passed++;
      else refused++;
      c.advance(50);
    }
    expect(passed).toBe(104);
    expect(refused).toBe(96);
  });

  it('stays bounded: idle keys are dropped first when the table is full', () => {
    const c = new FakeClock(0);
    const r = new RateLimiter(c, { ratePerSec: 1, burst: 2, maxKeys: 100 });
    r.take('busy');
    r.take('busy');
    for (let i = 0; i < 99; i++) r.take(`spoofed-${i}`);
    c.advance(2000); // 2 s at 1/s: every bucket is full again
    r.take('busy'); // 'busy' back to 1 token, the 99 others idle and full
    r.take('new'); // table full (100): the 99 idle keys go, 'busy' stays
    expect(r.size).toBe(2);
    expect(r.take('busy')).toEqual({ ok: true, after: 0 }); // 'busy' kept its state: its last token
    expect(r.take('busy')).toMatchObject({ ok: false });
  });
});

describe('Lockout (fail2ban for one kind of key)', () => {
  const opts = { threshold: 5, windowMs: 300_000, baseMs: 60_000, maxMs: 240_000 };

  it('locks after the threshold, doubles each time up to the cap, ignores failures while locked', () => {
    const c = new FakeClock(0);
    const l = new Lockout(c, opts);
    const five = (): unknown[] => Array.from({ length: 5 }, () => l.fail('k'));
    expect(five()).toEqual([undefined, undefined, undefined, undefined, { durationMs: 60_000, strike: 1 }]);
    expect(l.lockedFor('k')).toBe(60_000);
    c.advance(59_999);
    expect(l.lockedFor('k')).toBe(1);
    expect(l.fail('k')).toBeUndefined(); // not counted while locked
    c.advance(1);
    expect(l.lockedFor('k')).toBe(0);
    expect(five().at(-1)).toEqual({ durationMs: 120_000, strike: 2 });
    c.advance(120_000);
    expect(five().at(-1)).toEqual({ durationMs: 240_000, strike: 3 });
    c.advance(240_000);
    expect(five().at(-1)).toEqual({ durationMs: 240_000, strike: 4 }); // capped
    expect(l.lockedFor('other')).toBe(0);
  });

  it('forgets failures older than the window; a success clears the escalation', () => {
    const c = new FakeClock(0);
    const l = new Lockout(c, opts);
    for (let i = 0; i < 4; i++) expect(l.fail('k')).toBeUndefined();
    c.advance(300_000); // window over: the four are forgotten
    for (let i = 0; i < 4; i++) expect(l.fail('k')).toBeUndefined();
    expect(l.fail('k')).toEqual({ durationMs: 60_000, strike: 1 });
    c.advance(60_000);
    l.succeed('k');
    for (let i = 0; i < 4; i++) l.fail('k');
    expect(l.fail('k')).toEqual({ durationMs: 60_000, strike: 1 }); // back to the first step
  });

  it('starts again at the first step after a day without failures', () => {
    const c = new FakeClock(0);
    const l = new Lockout(c, opts);
    for (let i = 0; i < 5; i++) l.fail('k');
    c.advance(86_400_000);
    for (let i = 0; i < 4; i++) l.fail('k');
    expect(l.fail('k')).toEqual({ durationMs: 60_000, strike: 1 });
  });
});

describe('AuthLockout (per (user, source) and per source, never per user alone)', () => {
  const opts = { failures: 3, sourceFailures: 5, windowSec: 300, lockSec: 60, maxSec: 3600 };

  it('locks the guessing pair, not the user elsewhere; a spraying source as a whole', () => {
    const c = new FakeClock(0);
    const a = new AuthLockout(c, opts);
    expect(a.fail('10.0.0.66', 'alice')).toEqual([]);
    expect(a.fail('10.0.0.66', 'alice')).toEqual([]);
    expect(a.fail('10.0.0.66', 'alice')).toEqual([{ scope: 'user', durationMs: 60_000, strike: 1 }]);
    expect(a.locked('10.0.0.66', 'alice')).toEqual({ scope: 'user', retryAfterMs: 60_000 });
    // The real alice from her own address, and the attacker for another user: not locked.
    expect(a.locked('10.0.0.5', 'alice')).toBeUndefined();
    expect(a.locked('10.0.0.66', 'bob')).toBeUndefined();
    expect(a.locked('10.0.0.66')).toBeUndefined();
    // Two more failures from the source (bob, carol): 5 for the source, which locks it for all.
    expect(a.fail('10.0.0.66', 'bob')).toEqual([]);
    expect(a.fail('10.0.0.66', 'carol')).toEqual([{ scope: 'source', durationMs: 60_000, strike: 1 }]);
    c.advance(10_000);
    expect(a.locked('10.0.0.66')).toEqual({ scope: 'source', retryAfterMs: 50_000 });
    expect(a.locked('10.0.0.66', 'dave')).toEqual({ scope: 'source', retryAfterMs: 50_000 });
    expect(a.locked('10.0.0.5', 'alice')).toBeUndefined();
  });

  it("a success clears the pair but not the source's count", () => {
    const c = new FakeClock(0);
    const a = new AuthLockout(c, opts);
    a.fail('192.0.2.1', 'alice');
    a.fail('192.0.2.1', 'alice');
    a.succeed('192.0.2.1', 'alice');
    expect(a.fail('192.0.2.1', 'alice')).toEqual([]); // pair count restarted at 1
    expect(a.fail('192.0.2.1', 'alice')).toEqual([]);
    // Source: 2 + 2 = 4 so far; the fifth locks it, and the pair reaches 3 on the same failure.
    expect(a.fail('192.0.2.1', 'alice')).toEqual([
      { scope: 'user', durationMs: 60_000, strike: 1 },
      { scope: 'source', durationMs: 60_000, strike: 1 },
    ]);
  });
});

describe('addresses', () => {
  it('parses addresses and CIDR blocks, and matches IPv4-mapped IPv6 as IPv4', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    expect(parseCidr('192.0.2.7')).toEqual({ address: '192.0.2.7', family: 'ipv4' });
    for (const bad of ['10.0.0.0/33', 'carrier.example', '10.0.0.0/8/1', '', '::/129']) expect(parseCidr(bad)).toBeUndefined();
    expect(plainAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    const allow = new AddressList(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', 'junk']);
    expect(['10.1.2.3', '::ffff:10.1.2.3', '192.0.2.7', '2001:db8::1'].map((a) => allow.has(a))).toEqual([true, true, true, true]);
    expect(['11.0.0.1', '192.0.2.8', '2001:db9::1', 'garbage', ''].map((a) => allow.has(a))).toEqual([false, false, false, false, false]);
    expect(new AddressList([]).has('10.0.0.1')).toBe(false);
  });
});
