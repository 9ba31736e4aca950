/**
 * Dialog-level timers on a FakeClock with real UDP sockets: the UAS retransmits its 2xx at
 * T1, 2T1, 4T1… capped at T2 until the ACK (RFC 3261 §13.3.1.4), gives up at 64*T1 with a BYE,
 * and our BYE is retransmitted by Timer E when the peer stays silent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { FakeClock } from '../../../lib/clock.ts';
import { SipStack, SipError, SipRequest, SipResponse, parseMessage, type Dialog, type SipMessage } from '../../../server/sip/index.ts';

const PORT = 25160;
const PEER = 25161;
let clock: FakeClock;
let sip: SipStack;
let peer: dgram.Socket;
let got: SipMessage[];
let uas: Promise<Dialog> | undefined;

const tick = (ms = 40): Promise<void> => new Promise((r) => setTimeout(r, ms));
const send = (s: string): void => void peer.send(Buffer.from(s.replace(/\r?\n/g, '\r\n')), PORT, '127.0.0.1');
const count = (pred: (m: SipMessage) => boolean): number => got.filter(pred).length;
const is200 = (m: SipMessage): boolean => m instanceof SipResponse && m.status === 200 && m.cseq.method === 'INVITE';

function invite(callId: string, extra = ''): string {
  return `INVITE sip:agent@127.0.0.1:${PORT} SIP/2.0${extra}
Via: SIP/2.0/UDP 127.0.0.1:${PEER};branch=z9hG4bK${callId};rport
From: <sip:caller@127.0.0.1>;tag=peer
To: <sip:agent@127.0.0.1>
Call-ID: ${callId}
CSeq: 1 INVITE
Contact: <sip:caller@127.0.0.1:${PEER}>
Max-Forwards: 70
Content-Length: 0

`;
}

beforeEach(async () => {
  clock = new FakeClock(0);
  got = [];
  sip = new SipStack({ clock });
  await sip.listen({ udp: { host: '127.0.0.1', port: PORT } });
  sip.on('invite', (req, res) => {
    uas = sip.createUAS(req, res, { localSdp: 'v=0\r\n' });
    uas.catch(() => undefined);
  });
  peer = dgram.createSocket('udp4');
  peer.on('message', (m) => {
    const r = parseMessage(m);
    if (r.ok) got.push(r.message);
  });
  await new Promise<void>((r) => peer.bind(PEER, '127.0.0.1', r));
});

afterEach(async () => {
  peer.close();
  await sip.close();
});

describe('2xx retransmission (§13.3.1.4)', () => {
  it('retransmits the 200 at 500, 1500, 3500 ms and stops on ACK', async () => {
    send(invite('t1'));
    await tick();
    expect(count(is200)).toBe(1);
    const toTag = got.find(is200)!.toTag!;
    for (const [advance, expected] of [[499, 1], [1, 2], [1000, 3], [2000, 4]] as const) {
      clock.advance(advance);
      await tick();
      expect(count(is200)).toBe(expected);
    }
    send(`ACK sip:cc@127.0.0.1:${PORT} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${PEER};branch=z9hG4bKack1
From: <sip:caller@127.0.0.1>;tag=peer
To: <sip:agent@127.0.0.1>;tag=${toTag}
Call-ID: t1
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

`);
    const d = await uas!;
    expect(d.state).toBe('confirmed');
    clock.advance(40_000);
    await tick();
    expect(count(is200)).toBe(4);
  });

  it('caps the interval at T2 and, with no ACK by 64*T1, rejects with 408 and sends BYE', async () => {
    send(invite('t2'));
    await tick();
    let rejected: unknown;
    uas!.catch((e: unknown) => (rejected = e));
    const at: number[] = [];
    let seen = count(is200);
    for (let t = 0; t < 32_000; t += 250) {
      clock.advance(250);
      await tick(5);
      if (count(is200) > seen) {
        seen = count(is200);
        at.push(clock.now());
      }
    }
    await tick();
    // T1=500 doubling to T2=4000: 500, 1500, 3500, 7500, then every 4 s.
    expect(at.slice(0, 6)).toEqual([500, 1500, 3500, 7500, 11500, 15500]);
    expect(rejected).toBeInstanceOf(SipError);
    expect((rejected as SipError).status).toBe(408);
    expect(count((m) => m instanceof SipRequest && m.method === 'BYE')).toBe(1);
  });
});

describe('BYE retransmission (Timer E) to a silent peer', () => {
  it('retransmits BYE at 500, 1500, 3500 ms and resolves 408 at Timer F', async () => {
    send(invite('t3'));
    await tick();
    const toTag = got.find(is200)!.toTag!;
    send(`ACK sip:cc@127.0.0.1:${PORT} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${PEER};branch=z9hG4bKack3
From: <sip:caller@127.0.0.1>;tag=peer
To: <sip:agent@127.0.0.1>;tag=${toTag}
Call-ID: t3
CSeq: 1 ACK
Content-Length: 0

`);
    const d = await uas!;
    const isBye = (m: SipMessage): boolean => m instanceof SipRequest && m.method === 'BYE';
    let done = false;
    const p = d.destroy().then(() => (done = true));
    await tick();
    expect(count(isBye)).toBe(1);
    for (const [advance, expected] of [[500, 2], [1000, 3], [2000, 4]] as const) {
      clock.advance(advance);
      await tick();
      expect(count(isBye)).toBe(expected);
    }
    expect(done).toBe(false);
    clock.advance(32_000);
    await p;
    expect(done).toBe(true);
  });
});

describe('session timers (RFC 4028)', () => {
  const ack = (callId: string, toTag: string): string => `ACK sip:cc@127.0.0.1:${PORT} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${PEER};branch=z9hG4bKack${callId}
From: <sip:caller@127.0.0.1>;tag=peer
To: <sip:agent@127.0.0.1>;tag=${toTag}
Call-ID: ${callId}
CSeq: 1 ACK
Content-Length: 0

`;

  it('422 with Min-SE for an interval below 90 s', async () => {
    send(invite('st1', '\nSession-Expires: 30\nSupported: timer'));
    await tick();
    const r = got.find((m) => m instanceof SipResponse && m.status === 422) as SipResponse | undefined;
    expect(r?.get('min-se')).toBe('90');
  });

  it('lets a timer-capable caller refresh, and ends the call with BYE when it does not', async () => {
    send(invite('st2', '\nSession-Expires: 90\nSupported: timer'));
    await tick();
    const ok = got.find(is200) as SipResponse;
    expect(ok.get('session-expires')).toBe('90;refresher=uac');
    expect(ok.getAll('require')).toContain('timer');
    send(ack('st2', ok.toTag!));
    const d = await uas!;
    const reason = new Promise<string>((r) => d.once('destroy', (_b: unknown, why: string) => r(why)));
    const isBye = (m: SipMessage): boolean => m instanceof SipRequest && m.method === 'BYE';
    clock.advance(59_000);
    await tick();
    expect(count(isBye)).toBe(0);
    clock.advance(2_000); // watchdog: 90 - min(32, 90/3) = 60 s
    await tick();
    expect(count(isBye)).toBe(1);
    expect(await reason).toBe('session-expired');
  });

  it('a call where we are the refresher stays up across several intervals', async () => {
    const b = new SipStack({ clock });
    await b.listen({ udp: { host: '127.0.0.1', port: 25162 } });
    try {
      const d = await b.createUAC(`sip:agent@127.0.0.1:${PORT}`, { localSdp: 'v=0\r\n', headers: { 'Session-Expires': '90' } });
      expect(d.sessionTimer).toEqual({ seconds: 90, weRefresh: true });
      const ad = await uas!;
      expect(ad.sessionTimer).toEqual({ seconds: 90, weRefresh: false });
      for (let t = 0; t < 300; t += 5) {
        clock.advance(5_000);
        await tick(15);
      }
      expect(d.state).toBe('confirmed');
      expect(ad.state).toBe('confirmed');
      await d.destroy();
    } finally {
      await b.close();
    }
  });
});
