import { describe, expect, it } from 'vitest';
import { SipError, SipResponse } from '../../../server/sip/message.ts';
import { failsOver, orderSrv, resolveTargets, type LocateResolver, type SrvRecord } from '../../../server/sip/locate.ts';

const zone = (srv: Record<string, SrvRecord[]>, a: Record<string, string>): LocateResolver & { asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    resolveSrv: (name) => {
      asked.push(`SRV ${name}`);
      return srv[name] ? Promise.resolve(srv[name]) : Promise.reject(new Error('ENOTFOUND'));
    },
    lookup: (host) => {
      asked.push(`A ${host}`);
      return a[host] ? Promise.resolve(a[host]) : Promise.reject(new Error('ENOTFOUND'));
    },
  };
};

/** A "random" that returns the given values in turn. */
const seq = (...v: number[]) => {
  let i = 0;
  return () => v[i++ % v.length]!;
};

describe('orderSrv (RFC 2782)', () => {
  it('lower priority first; within one priority the weighted draw decides', () => {
    const rr: SrvRecord[] = [
      { name: 'c', port: 3, priority: 20, weight: 0 },
      { name: 'a', port: 1, priority: 10, weight: 60 },
      { name: 'b', port: 2, priority: 10, weight: 40 },
    ];
    // sum 100: draw 0.7 -> floor(0.7*101)=70 > 60 -> b; then a alone.
    expect(orderSrv(rr, seq(0.7, 0)).map((r) => r.name)).toEqual(['b', 'a', 'c']);
    // draw 0.5 -> 50 <= 60 -> a first.
    expect(orderSrv(rr, seq(0.5, 0)).map((r) => r.name)).toEqual(['a', 'b', 'c']);
  });

  it('over many draws a 3:1 weight split comes first about 3 times in 4', () => {
    const rr: SrvRecord[] = [
      { name: 'heavy', port: 1, priority: 1, weight: 75 },
      { name: 'light', port: 2, priority: 1, weight: 25 },
    ];
    let heavy = 0;
    for (let i = 0; i < 4000; i++) if (orderSrv(rr)[0]!.name === 'heavy') heavy++;
    expect(heavy / 4000).toBeGreaterThan(0.7);
    expect(heavy / 4000).toBeLessThan(0.8);
  });
});

describe('resolveTargets', () => {
  it('a domain goes through SRV _sip._udp, in priority order, each host resolved; "." skipped', async () => {
    const r = zone(
      {
        '_sip._udp.carrier.example': [
          { name: 'sbc2.carrier.example', port: 5080, priority: 20, weight: 10 },
          { name: 'sbc1.carrier.example', port: 5060, priority: 10, weight: 10 },
          { name: '.', port: 0, priority: 30, weight: 0 },
        ],
      },
      { 'sbc1.carrier.example': '192.0.2.1', 'sbc2.carrier.example': '192.0.2.2' },
    );
    expect(await resolveTargets('carrier.example', { resolver: r })).toEqual([
      { transport: 'udp', address: '192.0.2.1', port: 5060 },
      { transport: 'udp', address: '192.0.2.2', port: 5080 },
    ]);
    expect(r.asked[0]).toBe('SRV _sip._udp.carrier.example');
  });

  it('transport=tcp asks _sip._tcp; sips asks _sips._tcp; no SRV falls back to the domain A at the default port', async () => {
    const r = zone(
      { '_sip._tcp.c.example': [{ name: 'x.c.example', port: 5070, priority: 1, weight: 1 }] },
      { 'x.c.example': '192.0.2.9', 'd.example': '192.0.2.7' },
    );
    expect(await resolveTargets('c.example;transport=tcp', { resolver: r })).toEqual([
      { transport: 'tcp', address: '192.0.2.9', port: 5070 },
    ]);
    expect(await resolveTargets('d.example', { resolver: r })).toEqual([{ transport: 'udp', address: '192.0.2.7', port: 5060 }]);
    expect(await resolveTargets('sips:d.example', { resolver: r })).toEqual([{ transport: 'tls', address: '192.0.2.7', port: 5061 }]);
    expect(r.asked).toContain('SRV _sips._tcp.d.example');
  });

  it('a list is kept in its order, without SRV; unresolvable names are left out', async () => {
    const r = zone({}, { 'sbc.example': '192.0.2.5' });
    expect(await resolveTargets('127.0.0.1:31201;transport=tcp, sbc.example:5080 nowhere.example [::1]:5062', { resolver: r })).toEqual([
      { transport: 'tcp', address: '127.0.0.1', port: 31201 },
      { transport: 'udp', address: '192.0.2.5', port: 5080 },
      { transport: 'udp', address: '::1', port: 5062 },
    ]);
    expect(r.asked.some((q) => q.startsWith('SRV'))).toBe(false);
  });

  it('refuses bad entries', async () => {
    await expect(resolveTargets('a.example:99999')).rejects.toThrow(/bad target/);
    await expect(resolveTargets('a.example;transport=sctp')).rejects.toThrow(/unsupported transport/);
    await expect(resolveTargets([])).rejects.toThrow(/empty/);
  });
});

describe('failsOver (RFC 3263 §4.3)', () => {
  it('transport errors, no response, Timer B and a 503 response move on; final answers and No Answer stop', () => {
    const res503 = new SipResponse(503, 'Service Unavailable');
    expect(failsOver(new SipError(503, 'Service Unavailable (ECONNREFUSED)'))).toBe(true);
    expect(failsOver(new SipError(503, 'Service Unavailable', res503))).toBe(true);
    expect(failsOver(new SipError(408, 'No Response'))).toBe(true);
    expect(failsOver(new SipError(408, 'Request Timeout'))).toBe(true);
    expect(failsOver(new SipError(408, 'No Answer'))).toBe(false);
    expect(failsOver(new SipError(408, 'Request Timeout', new SipResponse(408, 'Request Timeout')))).toBe(false);
    expect(failsOver(new SipError(486, 'Busy Here', new SipResponse(486, 'Busy Here')))).toBe(false);
    expect(failsOver(new SipError(487, 'Request Terminated'))).toBe(false);
    expect(failsOver(new Error('x'))).toBe(false);
  });
});
