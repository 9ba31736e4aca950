import { describe, expect, it } from 'vitest';
import { routeFlow, trunkMatcher } from '../../../server/call/trunk.ts';
import type { Trunk } from '../../../server/config/schema.ts';

const carrier: Trunk = {
  from: ['192.0.2.0/24', '127.0.0.1', '2001:db8::/32'],
  routes: [
    { match: '\\+?1800.*', flow: 'tollfree' },
    { match: '.*', flow: 'main' },
  ],
};

describe('trunk matching', () => {
  const m = trunkMatcher({ carrier, other: { from: ['198.51.100.7'], routes: [{ match: '.*', flow: 'x' }] } });
  it('matches addresses and CIDR blocks, v4, v4-mapped and v6', () => {
    expect(m.bySource('192.0.2.77')?.name).toBe('carrier');
    expect(m.bySource('127.0.0.1')?.name).toBe('carrier');
    expect(m.bySource('::ffff:127.0.0.1')?.name).toBe('carrier');
    expect(m.bySource('2001:db8:1::5')?.name).toBe('carrier');
    expect(m.bySource('198.51.100.7')?.name).toBe('other');
  });
  it('rejects unknown and malformed sources', () => {
    expect(m.bySource('192.0.3.1')).toBeUndefined();
    expect(m.bySource('127.0.0.2')).toBeUndefined();
    expect(m.bySource('not-an-ip')).toBeUndefined();
    expect(m.bySource('')).toBeUndefined();
  });
  it('routes the dialled number by the first anchored pattern', () => {
    expect(routeFlow(carrier, '18005551234')).toBe('tollfree');
    expect(routeFlow(carrier, '+18005551234')).toBe('tollfree');
    expect(routeFlow(carrier, '5551800')).toBe('main');
    expect(routeFlow({ from: ['127.0.0.1'], routes: [{ match: '100', flow: 'a' }] }, '1000')).toBeUndefined();
  });
});
