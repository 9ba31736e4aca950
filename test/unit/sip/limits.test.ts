/**
 * The SIP stack's guard on a fake clock: rate per source, connections per source, digest
 * lockout; the allow-list; one log line per episode or lockout; the /metrics counters.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { FakeClock } from '../../../lib/clock.ts';
import { metrics } from '../../../lib/metrics.ts';
import type { Logger } from '../../../lib/log.ts';
import { SipGuard } from '../../../server/sip/limits.ts';

function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info', base: undefined }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { log, lines };
}

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const m = await metrics.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe('SipGuard', () => {
  it('limits a flooding source to its rate, logs the episode once, leaves other and allowed sources alone', async () => {
    const clock = new FakeClock(0);
    const { log, lines } = capture();
    const g = new SipGuard(clock, log, { rate: 200, burst: 1000, allow: ['192.0.2.0/24'] });
    const before = await counter('sip_rate_limited_total', { transport: 'udp' });
    // 5,000 messages in one second, 25 every 5 ms: the bucket starts with 1000 tokens and 200/s
    // adds exactly one per 5 ms step, so after the first step (t=0) each of the other 199 steps
    // brings one more: 1000 + 199 = 1199 pass, 3801 are dropped.
    let passed = 0;
    let other = 0;
    let trunk = 0;
    for (let i = 0; i < 5000; i++) {
      if (g.admitMessage('10.9.9.9', 'udp').ok) passed++;
      if (i % 50 === 0) {
        if (g.admitMessage('10.1.1.1', 'udp').ok) other++;
        if (g.admitMessage('192.0.2.10', 'udp').ok) trunk++;
      }
      if (i % 25 === 24 && i < 4999) clock.advance(5);
    }
    expect(passed).toBe(1199);
    expect(other).toBe(100);
    expect(trunk).toBe(100);
    expect((await counter('sip_rate_limited_total', { transport: 'udp' })) - before).toBe(3801);
    const warned = lines.filter((l) => l.msg === 'sip source rate-limited');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, source: '10.9.9.9', transport: 'udp' });
    // Reliable transports get the wait for the next token, at least 1 s.
    expect(g.admitMessage('10.9.9.9', 'tcp')).toEqual({ ok: false, retryAfterSec: 1 });
    clock.advance(10_000);
    expect(g.admitMessage('10.9.9.9', 'udp')).toEqual({ ok: true });
    expect(lines.filter((l) => l.msg === 'sip source back under its rate limit')[0]).toMatchObject({ refused: 3802 });
  });

  it('caps open connections per source; closing one makes room; allowed sources are not counted', async () => {
    const { log, lines } = capture();
    const g = new SipGuard(new FakeClock(0), log, { connectionsPerSource: 3, allow: ['127.0.0.1'] });
    const before = await counter('sip_connections_refused_total', { transport: 'tcp', why: 'per-source' });
    const open = [1, 2, 3].map(() => g.openConnection('10.0.0.7', 'tcp'));
    expect(open.every((r) => typeof r === 'function')).toBe(true);
    expect(g.openConnection('10.0.0.7', 'tcp')).toBeUndefined();
    expect(g.openConnection('::ffff:10.0.0.7', 'ws')).toBeUndefined(); // one count over every stream transport
    expect(g.openConnection('10.0.0.8', 'tcp')).toBeTypeOf('function');
    for (let i = 0; i < 10; i++) expect(g.openConnection('127.0.0.1', 'tcp')).toBeTypeOf('function');
    open[0]!();
    open[0]!(); // a second release is ignored
    expect(g.openConnections('10.0.0.7')).toBe(2);
    expect(g.openConnection('10.0.0.7', 'tls')).toBeTypeOf('function');
    expect((await counter('sip_connections_refused_total', { transport: 'tcp', why: 'per-source' })) - before).toBe(1);
    expect(lines.filter((l) => String(l.msg).includes('connection limit'))).toHaveLength(1);
  });

  it('locks (user, source) after 5 failed digests and the source after 20; logs and counts each lockout once', async () => {
    const clock = new FakeClock(0);
    const { log, lines } = capture();
    const g = new SipGuard(clock, log);
    const userBefore = await counter('sip_auth_lockouts_total', { scope: 'user' });
    const sourceBefore = await counter('sip_auth_lockouts_total', { scope: 'source' });
    for (let i = 0; i < 5; i++) g.authFailed('10.6.6.6', 'agent1');
    expect(g.authLocked('10.6.6.6', 'agent1')).toEqual({ scope: 'user', retryAfterSec: 60 });
    expect(g.authLocked('10.6.6.6', undefined)).toBeUndefined();
    expect(g.authLocked('10.0.0.5', 'agent1')).toBeUndefined();
    for (let i = 0; i < 15; i++) g.authFailed('10.6.6.6', `user${i}`);
    expect(g.authLocked('10.6.6.6', undefined)).toEqual({ scope: 'source', retryAfterSec: 60 });
    expect((await counter('sip_auth_lockouts_total', { scope: 'user' })) - userBefore).toBe(1);
    expect((await counter('sip_auth_lockouts_total', { scope: 'source' })) - sourceBefore).toBe(1);
    const warned = lines.filter((l) => String(l.msg).includes('locked out'));
    expect(warned).toHaveLength(2);
    expect(warned[0]).toMatchObject({ level: 40, source: '10.6.6.6', user: 'agent1', scope: 'user', lockSec: 60, strike: 1 });
    expect(warned[1]).toMatchObject({ source: '10.6.6.6', user: 'user14', scope: 'source' });
    clock.advance(60_000);
    expect(g.authLocked('10.6.6.6', 'agent1')).toBeUndefined();
  });

  it('does nothing when disabled, and takes new settings on configure', () => {
    const clock = new FakeClock(0);
    const g = new SipGuard(clock, capture().log, { enabled: false, burst: 1, rate: 1 });
    for (let i = 0; i < 10; i++) expect(g.admitMessage('10.0.0.1', 'udp').ok).toBe(true);
    g.configure({ burst: 1, rate: 1 });
    expect(g.admitMessage('10.0.0.1', 'udp').ok).toBe(true);
    expect(g.admitMessage('10.0.0.1', 'udp').ok).toBe(false);
    g.configure({ burst: 1, rate: 1, allow: ['10.0.0.0/8'] });
    expect(g.admitMessage('10.0.0.1', 'udp').ok).toBe(true);
  });
});
