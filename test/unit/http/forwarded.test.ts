/** Which address a request comes from behind reverse proxies (server/http/server.ts forwardedClient). */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AddressList } from '../../../lib/ratelimit.ts';
import { forwardedClient } from '../../../server/http/server.ts';

const req = (peer: string, xff?: string | string[]): IncomingMessage =>
  ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

describe('forwardedClient', () => {
  const trusted = new AddressList(['10.0.0.1', '10.1.0.0/16']);

  it('is the TCP peer when the peer is not a trusted proxy, whatever the header says', () => {
    expect(forwardedClient(req('198.51.100.4', '203.0.113.9'), trusted)).toBe('198.51.100.4');
    expect(forwardedClient(req('::ffff:198.51.100.4'), trusted)).toBe('198.51.100.4');
  });

  it('behind a trusted proxy: the right-most address that is not a trusted proxy', () => {
    expect(forwardedClient(req('10.0.0.1', '203.0.113.9'), trusted)).toBe('203.0.113.9');
    // The client wrote "1.2.3.4" itself; the proxy appended the address it really saw.
    expect(forwardedClient(req('10.0.0.1', '1.2.3.4, 203.0.113.9'), trusted)).toBe('203.0.113.9');
    // Two of our proxies in a row (a load balancer in 10.1/16, then 10.0.0.1).
    expect(forwardedClient(req('10.0.0.1', '203.0.113.9, 10.1.4.4'), trusted)).toBe('203.0.113.9');
    // Several header lines are one list, in order.
    expect(forwardedClient(req('10.0.0.1', ['203.0.113.9', '10.1.4.4']), trusted)).toBe('203.0.113.9');
  });

  it('stops at what is not an address, and falls back to the proxy with no header', () => {
    expect(forwardedClient(req('10.0.0.1', 'unknown, 203.0.113.9'), trusted)).toBe('203.0.113.9');
    expect(forwardedClient(req('10.0.0.1', '203.0.113.9, garbage'), trusted)).toBe('10.0.0.1');
    expect(forwardedClient(req('10.0.0.1'), trusted)).toBe('10.0.0.1');
    // Every hop trusted: the left-most is the best we know.
    expect(forwardedClient(req('10.0.0.1', '10.1.0.7'), trusted)).toBe('10.1.0.7');
  });

  it('trusts nobody with an empty list', () => {
    expect(forwardedClient(req('10.0.0.1', '203.0.113.9'), new AddressList([]))).toBe('10.0.0.1');
  });
});
