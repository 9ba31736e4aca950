import { afterEach, describe, expect, it } from 'vitest';
import { lookup, resolveSrv } from 'node:dns/promises';
import { setResolver, uriDestination, responseDestination } from '../../../server/sip/transport.ts';
import { parseUri } from '../../../server/sip/uri.ts';
import { SipRequest } from '../../../server/sip/message.ts';

const zone: Record<string, { name: string; port: number; priority: number; weight: number }[]> = {
  '_sip._udp.carrier.test': [
    { name: 'backup.carrier.test', port: 5080, priority: 20, weight: 100 },
    { name: 'sbc1.carrier.test', port: 5070, priority: 10, weight: 10 },
    { name: 'sbc2.carrier.test', port: 5072, priority: 10, weight: 60 },
  ],
  '_sips._tcp.secure.test': [{ name: 'tls.secure.test', port: 5091, priority: 1, weight: 1 }],
};
const hosts: Record<string, string> = { 'sbc2.carrier.test': '192.0.2.2', 'tls.secure.test': '192.0.2.9', 'plain.test': '192.0.2.7' };

afterEach(() => setResolver({ lookup: async (h) => (await lookup(h)).address, resolveSrv: (n) => resolveSrv(n) }));

describe('next-hop resolution (RFC 3263 without NAPTR)', () => {
  it('uses SRV for a name without a port, else A with the default port; honours transport and sips', async () => {
    setResolver({
      lookup: async (h) => {
        const a = hosts[h];
        if (!a) throw new Error('NXDOMAIN');
        return a;
      },
      resolveSrv: async (n) => zone[n] ?? [],
    });
    const d = async (u: string) => uriDestination(parseUri(u)!);
    expect(await d('sip:+4420@carrier.test')).toEqual({ transport: 'udp', address: '192.0.2.2', port: 5072 });
    expect(await d('sips:x@secure.test')).toEqual({ transport: 'tls', address: '192.0.2.9', port: 5091 });
    expect(await d('sip:x@plain.test;transport=tcp')).toEqual({ transport: 'tcp', address: '192.0.2.7', port: 5060 });
    expect(await d('sip:x@plain.test:5099')).toEqual({ transport: 'udp', address: '192.0.2.7', port: 5099 });
    expect(await d('sip:x@10.1.2.3')).toEqual({ transport: 'udp', address: '10.1.2.3', port: 5060 });
    expect(await d('sip:x@[2001:db8::1]:5062;transport=tls')).toEqual({ transport: 'tls', address: '2001:db8::1', port: 5062 });
    await expect(d('sip:x@nowhere.test')).rejects.toThrow(/cannot resolve/);
  });

  it('routes UDP responses to received/rport (RFC 3581) and reliable ones down their flow', () => {
    const req = new SipRequest('OPTIONS', 'sip:a@b');
    req.set('via', 'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40000;received=203.0.113.9');
    req.source = { transport: 'udp', address: '203.0.113.9', port: 40000, flowId: 'udp#1', localAddress: '0.0.0.0', localPort: 5060 };
    expect(responseDestination(req)).toEqual({ transport: 'udp', address: '203.0.113.9', port: 40000, flowId: 'udp#1' });
    req.set('via', 'SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1');
    // No received/rport: the sent-by address and port, still leaving by the socket it came in on.
    expect(responseDestination(req)).toEqual({ transport: 'udp', address: '10.0.0.5', port: 5062, flowId: 'udp#1' });
    req.set('via', 'SIP/2.0/WSS abc.invalid;branch=z9hG4bK1;received=198.51.100.1');
    req.source = { transport: 'wss', address: '198.51.100.1', port: 51000, flowId: 'wss#3', localAddress: '0.0.0.0', localPort: 8443 };
    expect(responseDestination(req)).toEqual({ transport: 'wss', address: '198.51.100.1', port: 51000, flowId: 'wss#3' });
  });
});
