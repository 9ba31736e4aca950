import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../../lib/ratelimit.ts';
import { TrunkTable } from '../../../server/config/trunks.ts';

describe('trunk routing', () => {
  const table = new TrunkTable({
    carrier: {
      from: ['192.0.2.0/24', '2001:db8::/32'],
      routes: [
        { match: '\\+?44800.*', flow: 'freephone' },
        { match: '.*', flow: 'main' },
      ],
    },
    local: { from: ['127.0.0.1'], routes: [{ match: '1\\d{3}', flow: 'internal' }] },
  });
  it('finds the trunk by source address or block, IPv4-mapped IPv6 included', () => {
    expect(table.trunkFor('192.0.2.77')).toBe('carrier');
    expect(table.trunkFor('2001:db8::5')).toBe('carrier');
    expect(table.trunkFor('::ffff:127.0.0.1')).toBe('local');
    expect(table.trunkFor('198.51.100.1')).toBeUndefined();
    expect(table.trunkFor('not-an-ip')).toBeUndefined();
  });
  it('routes the dialled number with the first matching, anchored route', () => {
    expect(table.route('192.0.2.1', '+448001234')).toEqual({ trunk: 'carrier', flow: 'freephone' });
    expect(table.route('192.0.2.1', '02071234')).toEqual({ trunk: 'carrier', flow: 'main' });
    expect(table.route('127.0.0.1', '1001')).toEqual({ trunk: 'local', flow: 'internal' });
    expect(table.route('127.0.0.1', '10011')).toBeUndefined();
    expect(table.route('203.0.113.9', '1001')).toBeUndefined();
  });
  it('parses address rules strictly', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'localhost', '10.0.0.1/8/1', '::1/129']) expect(parseCidr(bad), bad).toBeUndefined();
  });
});
