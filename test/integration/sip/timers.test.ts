/**
 * Dialog-level timers on a FakeClock with real UDP sockets: the UAS retransmits its 2xx at
 * T1, 2T1, 4T1… capped at T2 until the ACK (RFC 3261 §13.3.1.4), gives up at 64*T1 with a BYE,
 * and our BYE is retransmitted by Timer E when the peer stays silent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { FakeClock } from '../../../lib/clock.ts';
import {
  SipStack,
  SipError,
  SipRequest,
  SipResponse,
  makeResponse,
  parseMessage,
  type Dialog,
  type SipMessage,
} from '../../../server/sip/index.ts';

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
const isBye = (m: SipMessage): boolean => m instanceof SipRequest && m.method === 'BYE';

/**
 * Datagrams cross real sockets, so how long they take is not ours to fix: wait for what should
 * arrive (failing with `what` after 3 s) rather than for a fixed time.
 */
async function until(pred: () => boolean, what: string, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Exactly n messages match: wait for the n-th, then give a straggler a moment to show up. */
async function expectCount(pred: (m: SipMessage) => boolean, n: number): Promise<void> {
  await until(() => count(pred) >= n, `${n} matching messages (have ${count(pred)})`);
  await tick(20);
  expect(count(pred)).toBe(n);
}

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
    await expectCount(is200, 1);
    const toTag = got.find(is200)!.toTag!;
    for (const [advance, expected] of [
      [499, 1],
      [1, 2],
      [1000, 3],
      [2000, 4],
    ] as const) {
      clock.advance(advance);
      await expectCount(is200, expected);
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
    await expectCount(is200, 4);
  });

  it('caps the interval at T2 and, with no ACK by 64*T1, rejects with 408 and sends BYE', async () => {
    send(invite('t2'));
    await expectCount(is200, 1);
    const rejected = uas!.then(
      () => undefined,
      (e: unknown) => e,
    );
    // T1=500 doubling to T2=4000: 500, 1500, 3500, 7500, then every 4 s until 64*T1. Each one is
    // checked not to come a millisecond early, then to come on time.
    let n = 1;
    for (const at of [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]) {
      clock.advance(at - 1 - clock.now());
      await expectCount(is200, n);
      clock.advance(1);
      await expectCount(is200, ++n);
    }
    clock.advance(32_000 - clock.now());
    const err = await rejected;
    expect(err).toBeInstanceOf(SipError);
    expect((err as SipError).status).toBe(408);
    await expectCount(isBye, 1);
    expect(count(is200)).toBe(11);
  });
});

describe('BYE retransmission (Timer E) to a silent peer', () => {
  it('retransmits BYE at 500, 1500, 3500 ms and resolves 408 at Timer F', async () => {
    send(invite('t3'));
    await expectCount(is200, 1);
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
    let done = false;
    const p = d.destroy().then(() => (done = true));
    await expectCount(isBye, 1);
    for (const [advance, expected] of [
      [500, 2],
      [1000, 3],
      [2000, 4],
    ] as const) {
      clock.advance(advance);
      await expectCount(isBye, expected);
    }
    expect(done).toBe(false);
    clock.advance(32_000);
    await p;
    expect(done).toBe(true);
  });
});

describe('after the call: what an ended dialog still answers', () => {
  const bye = (
    callId: string,
    toTag: string,
    branch: string,
    method = 'BYE',
    seq = 2,
  ): string => `${method} sip:cc@127.0.0.1:${PORT} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${PEER};branch=z9hG4bK${branch}
From: <sip:caller@127.0.0.1>;tag=peer
To: <sip:agent@127.0.0.1>;tag=${toTag}
Call-ID: ${callId}
CSeq: ${seq} ${method}
Content-Length: 0

`;
  const status = (code: number, method: string) => (m: SipMessage) =>
    m instanceof SipResponse && m.status === code && m.cseq.method === method;

  it('a retransmitted BYE gets its 200 again until Timer J (64*T1), a new request 481; then 481', async () => {
    send(invite('t5'));
    await expectCount(is200, 1);
    const toTag = got.find(is200)!.toTag!;
    send(bye('t5', toTag, 'ack5', 'ACK', 1));
    const d = await uas!;
    const ended = new Promise<string>((r) => d.once('destroy', (_b, reason) => r(reason)));
    send(bye('t5', toTag, 'bye5'));
    expect(await ended).toBe('remote-bye');
    await expectCount(status(200, 'BYE'), 1);
    send(bye('t5', toTag, 'bye5')); // a retransmission (same branch): absorbed, the 200 resent
    await expectCount(status(200, 'BYE'), 2);
    send(bye('t5', toTag, 'info5', 'INFO', 3)); // a new request in the ended dialog
    await expectCount(status(481, 'INFO'), 1);
    clock.advance(31_999);
    send(bye('t5', toTag, 'bye5'));
    await expectCount(status(200, 'BYE'), 3);
    clock.advance(1); // Timer J: the transaction is gone, and with it the 200
    send(bye('t5', toTag, 'bye5'));
    await expectCount(status(481, 'BYE'), 1);
    expect(count(status(200, 'BYE'))).toBe(3);
  });

  it('our ended call: a retransmitted 2xx is ACKed again (no new dialog, no BYE) for 64*T1, then ignored', async () => {
    const placed = sip.createUAC(`sip:peer@127.0.0.1:${PEER}`, { localSdp: 'v=0\r\n' });
    const isInvite = (m: SipMessage) => m instanceof SipRequest && m.method === 'INVITE';
    const isAck = (m: SipMessage) => m instanceof SipRequest && m.method === 'ACK';
    await until(() => count(isInvite) > 0, 'our INVITE');
    const inv = got.find(isInvite)!;
    const ok = makeResponse(inv, 200, undefined, 'callee');
    ok.set('contact', `<sip:peer@127.0.0.1:${PEER}>`);
    ok.setBody('v=0\r\n', 'application/sdp');
    const okData = ok.serialize();
    peer.send(okData, PORT, '127.0.0.1');
    const d = await placed;
    await expectCount(isAck, 1);
    const byeDone = d.destroy();
    await expectCount(isBye, 1);
    const byeReq = got.find(isBye)!;
    peer.send(makeResponse(byeReq, 200).serialize(), PORT, '127.0.0.1');
    await byeDone;
    peer.send(okData, PORT, '127.0.0.1'); // the 2xx again, after our dialog ended
    await expectCount(isAck, 2);
    clock.advance(32_000); // Timer M and the dialog's tombstone are gone
    peer.send(okData, PORT, '127.0.0.1');
    await tick(100);
    expect(count(isAck)).toBe(2);
    expect(count(isBye)).toBe(1);
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
    const is422 = (m: SipMessage): boolean => m instanceof SipResponse && m.status === 422;
    await expectCount(is422, 1);
    const r = got.find(is422) as SipResponse;
    expect(r.reason).toBe('Session Interval Too Small');
    expect(r.get('min-se')).toBe('90');
    expect(count(is200)).toBe(0);
  });

  it('lets a timer-capable caller refresh, and ends the call with BYE when it does not', async () => {
    send(invite('st2', '\nSession-Expires: 90\nSupported: timer'));
    await expectCount(is200, 1);
    const ok = got.find(is200) as SipResponse;
    expect(ok.get('session-expires')).toBe('90;refresher=uac');
    expect(ok.getAll('require')).toContain('timer');
    send(ack('st2', ok.toTag!));
    const d = await uas!;
    const reason = new Promise<string>((r) => d.once('destroy', (_b: unknown, why: string) => r(why)));
    clock.advance(59_000);
    await expectCount(isBye, 0);
    clock.advance(2_000); // watchdog: 90 - min(32, 90/3) = 60 s
    await expectCount(isBye, 1);
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
      const seq0 = d.localSeq;
      for (let t = 0; t < 300; t += 5) {
        clock.advance(5_000);
        // A refresh started by this step must finish before the clock moves on.
        await tick(5);
        await until(() => !d.reinviteInProgress, 'the refresh re-INVITE to complete');
      }
      // Refreshing at half the interval: at 45, 90, ... 270 s — six re-INVITEs in 300 s.
      expect(d.localSeq - seq0).toBe(6);
      expect(d.state).toBe('confirmed');
      expect(ad.state).toBe('confirmed');
      await d.destroy();
    } finally {
      await b.close();
    }
  });
});
