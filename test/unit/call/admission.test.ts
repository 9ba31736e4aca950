/**
 * Admission's four steps, in order, each refusing with its own status: trunk by source (403),
 * route by dialled number (404 none; a malformed escape never gets here, the parser 400s it), trunk digest (403 wrong user), call limit
 * (503). The SIP side is the real parser's request; the response only records what was sent.
 */
import { describe, expect, it } from 'vitest';
import type { CentreConfig } from '../../../server/config/load.ts';
import { TrunkTable } from '../../../server/config/trunks.ts';
import { admit, type AdmissionContext } from '../../../server/call/admission.ts';
import { parseMessage, type SipRequest, type SipServerResponse, type SipStack } from '../../../server/sip/index.ts';

const trunks = {
  carrier: { from: ['192.0.2.0/24'], routes: [{ match: '100|200', flow: 'main' }], maxCalls: 2 },
  secure: { from: ['198.51.100.7'], routes: [{ match: '.*', flow: 'vip' }], username: 'acme', password: 'pw' },
} as unknown as CentreConfig['trunks'];

function invite(ruri: string, source: string, from = '"Ann" <sip:15551230000@carrier.example>;tag=1'): SipRequest {
  const text = [
    `INVITE ${ruri} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1',
    `From: ${from}`,
    'To: <sip:100@cc.example>',
    'Call-ID: adm-1',
    'CSeq: 1 INVITE',
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  if (!r.ok) throw new Error(r.error);
  const req = r.message as SipRequest;
  (req as { source?: unknown }).source = { address: source, port: 5060, transport: 'udp' };
  return req;
}

function harness(opts: { active?: number; digestUser?: string | undefined } = {}) {
  const sent: { status: number; reason?: string }[] = [];
  const res = {
    send: (status: number, o: { reason?: string } = {}) => void sent.push({ status, ...(o.reason ? { reason: o.reason } : {}) }),
  } as unknown as SipServerResponse;
  const sip = { authenticate: async () => opts.digestUser } as unknown as SipStack;
  const ctx: AdmissionContext = {
    trunks: new TrunkTable(trunks),
    config: { trunks } as CentreConfig,
    sip,
    activeCalls: () => opts.active ?? 0,
  };
  const warned: string[] = [];
  const log = { warn: (_o: object, m: string) => void warned.push(m) };
  return { sent, res, ctx, log, warned };
}

describe('admission', () => {
  it('admits a call from a trunk to a routed number, with the dialled number decoded once and the caller', async () => {
    const h = harness();
    const a = await admit(h.ctx, invite('sip:%31%30%30@cc.example', '192.0.2.9'), h.res, h.log);
    expect(a).toEqual({ trunk: 'carrier', flow: 'main', dialled: '100', caller: '15551230000' });
    expect(h.sent).toEqual([]);
  });

  it('a source no trunk allows gets 403 and a warning', async () => {
    const h = harness();
    expect(await admit(h.ctx, invite('sip:100@cc.example', '203.0.113.5'), h.res, h.log)).toBeUndefined();
    expect(h.sent).toEqual([{ status: 403, reason: 'Forbidden - not a trunk' }]);
    expect(h.warned).toEqual(['Forbidden - not a trunk']);
  });

  it('an unrouted number is 404, on the trunk the source picked', async () => {
    const h = harness();
    await admit(h.ctx, invite('sip:999@cc.example', '192.0.2.9'), h.res, h.log);
    expect(h.sent).toEqual([{ status: 404, reason: 'Not Found - no route for the dialled number' }]);
    // The same number is routed on the other trunk, whose pattern takes anything.
    expect(await admit(h.ctx, invite('sip:999@cc.example', '198.51.100.7'), h.res, h.log)).toBeUndefined();
    expect(h.sent).toHaveLength(1);
  });

  it('a trunk with credentials: no answer yet (challenged) sends nothing; another user is 403; its own is admitted', async () => {
    const challenged = harness({ digestUser: undefined });
    expect(await admit(challenged.ctx, invite('sip:5@cc.example', '198.51.100.7'), challenged.res, challenged.log)).toBeUndefined();
    expect(challenged.sent).toEqual([]);
    const wrong = harness({ digestUser: 'mallory' });
    await admit(wrong.ctx, invite('sip:5@cc.example', '198.51.100.7'), wrong.res, wrong.log);
    expect(wrong.sent).toEqual([{ status: 403, reason: "Forbidden - not this trunk's credentials" }]);
    const right = harness({ digestUser: 'acme' });
    expect(await admit(right.ctx, invite('sip:5@cc.example', '198.51.100.7'), right.res, right.log)).toMatchObject({
      trunk: 'secure',
      flow: 'vip',
    });
  });

  it('the call limit is checked last: at maxCalls the INVITE gets 503', async () => {
    const h = harness({ active: 2 });
    await admit(h.ctx, invite('sip:200@cc.example', '192.0.2.9'), h.res, h.log);
    expect(h.sent).toEqual([{ status: 503, reason: 'Service Unavailable - trunk at its call limit' }]);
    const below = harness({ active: 1 });
    expect(await admit(below.ctx, invite('sip:200@cc.example', '192.0.2.9'), below.res, below.log)).toBeDefined();
  });

  it('an anonymous From gives the caller "anonymous"', async () => {
    const h = harness();
    const a = await admit(h.ctx, invite('sip:100@cc.example', '192.0.2.9', '<sip:anonymous.invalid>;tag=2'), h.res, h.log);
    expect(a?.caller).toBe('anonymous');
  });
});
