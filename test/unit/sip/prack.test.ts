import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { SipRequest, SipResponse, makeResponse } from '../../../server/sip/message.ts';
import { ProvisionalSequence, ReliableProvisionals, parseRAck, parseRSeq } from '../../../server/sip/prack.ts';

function invite(): SipRequest {
  const r = new SipRequest('INVITE', 'sip:bob@127.0.0.1');
  r.set('via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp1');
  r.set('from', '<sip:alice@127.0.0.1>;tag=a1');
  r.set('to', '<sip:bob@127.0.0.1>');
  r.set('call-id', 'c1@test');
  r.set('cseq', '7 INVITE');
  return r;
}

function uas(firstRSeq = 100) {
  const clock = new FakeClock(0);
  const sent: { at: number; status: number; rseq: string | undefined; require: string | undefined }[] = [];
  const gaveUp: number[] = [];
  const rel = new ReliableProvisionals(
    {
      clock,
      T1: 500,
      transmit: (res) => sent.push({ at: clock.now(), status: res.status, rseq: res.get('rseq'), require: res.get('require') }),
      onGiveUp: (res) => gaveUp.push(res.status),
    },
    7,
    firstRSeq,
  );
  return { clock, sent, gaveUp, rel };
}

describe('RFC 3262 UAS: reliable provisional responses', () => {
  it('retransmits at T1, 2T1, 4T1 ... until the PRACK, then stops', () => {
    const { clock, sent, rel } = uas();
    rel.send(makeResponse(invite(), 180, undefined, 'b1'));
    expect(sent[0]).toEqual({ at: 0, status: 180, rseq: '100', require: '100rel' });
    clock.advance(4000);
    // Sent at 0, then 500, 1500, 3500 (intervals 500, 1000, 2000).
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500, 3500]);
    expect(rel.prack({ rseq: 100, cseq: 7, method: 'INVITE' })).toBe(true);
    clock.advance(60_000);
    expect(sent).toHaveLength(4);
    expect(rel.pending).toBe(false);
  });

  it('gives up at 64*T1 without a PRACK (retransmissions 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s)', () => {
    const { clock, sent, gaveUp, rel } = uas();
    rel.send(makeResponse(invite(), 183, undefined, 'b1'));
    clock.advance(31_999);
    expect(gaveUp).toEqual([]);
    clock.advance(1);
    expect(gaveUp).toEqual([183]);
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    clock.advance(100_000);
    expect(sent).toHaveLength(7);
  });

  it('a PRACK with the wrong RSeq, CSeq or method matches nothing (481)', () => {
    const { rel } = uas();
    rel.send(makeResponse(invite(), 180, undefined, 'b1'));
    expect(rel.prack({ rseq: 101, cseq: 7, method: 'INVITE' })).toBe(false);
    expect(rel.prack({ rseq: 100, cseq: 8, method: 'INVITE' })).toBe(false);
    expect(rel.prack({ rseq: 100, cseq: 7, method: 'BYE' })).toBe(false);
    expect(rel.prack(undefined)).toBe(false);
    expect(rel.prack({ rseq: 100, cseq: 7, method: 'INVITE' })).toBe(true);
    // Already acknowledged: a second PRACK for it matches nothing.
    expect(rel.prack({ rseq: 100, cseq: 7, method: 'INVITE' })).toBe(false);
  });

  it('a second 18x waits for the first PRACK, gets RSeq+1; settled() resolves only when both are acknowledged', async () => {
    const { clock, sent, rel } = uas(4000);
    rel.send(makeResponse(invite(), 180, undefined, 'b1'));
    rel.send(makeResponse(invite(), 183, undefined, 'b1'));
    let settled = false;
    void rel.settled().then(() => (settled = true));
    clock.advance(600);
    expect(sent.map((s) => `${s.status}/${s.rseq}@${s.at}`)).toEqual(['180/4000@0', '180/4000@500']);
    expect(rel.prack({ rseq: 4000, cseq: 7, method: 'INVITE' })).toBe(true);
    expect(sent.at(-1)).toEqual({ at: 600, status: 183, rseq: '4001', require: '100rel' });
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(rel.prack({ rseq: 4001, cseq: 7, method: 'INVITE' })).toBe(true);
    await Promise.resolve();
    expect(settled).toBe(true);
  });

  it('stop() (final response or CANCEL) ends retransmissions and releases waiters', async () => {
    const { clock, sent, rel } = uas();
    rel.send(makeResponse(invite(), 180, undefined, 'b1'));
    const done = rel.settled();
    rel.stop();
    await done;
    clock.advance(10_000);
    expect(sent).toHaveLength(1);
  });

  it('first RSeq is random in 1..2^31-1 by default', () => {
    const rel = new ReliableProvisionals({ clock: new FakeClock(0), T1: 500, transmit: () => {}, onGiveUp: () => {} }, 1);
    const res = makeResponse(invite(), 180, undefined, 'b1');
    rel.send(res);
    const n = Number(res.get('rseq'));
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});

describe('RFC 3262 UAC: which 18x get a PRACK', () => {
  const reliable = (status: number, rseq: string | undefined, tag = 'b1'): SipResponse => {
    const res = makeResponse(invite(), status, undefined, tag);
    res.set('require', '100rel');
    if (rseq !== undefined) res.set('rseq', rseq);
    return res;
  };

  it('PRACKs the first and the next in sequence; ignores retransmissions and gaps; per early dialog', () => {
    const seq = new ProvisionalSequence();
    expect(seq.classify(reliable(180, '55'))).toBe('prack');
    expect(seq.classify(reliable(180, '55'))).toBe('ignore'); // retransmission
    expect(seq.classify(reliable(183, '57'))).toBe('ignore'); // out of order
    expect(seq.classify(reliable(183, '56'))).toBe('prack');
    expect(seq.classify(reliable(180, '9', 'fork2'))).toBe('prack'); // another early dialog
    expect(seq.classify(makeResponse(invite(), 180, undefined, 'b1'))).toBe('unreliable');
    expect(seq.classify(reliable(180, undefined))).toBe('unreliable');
    expect(seq.classify(reliable(100, '1'))).toBe('unreliable');
  });

  it('parses RAck and RSeq strictly', () => {
    expect(parseRAck('776656 1 INVITE')).toEqual({ rseq: 776656, cseq: 1, method: 'INVITE' });
    expect(parseRAck(' 5  2 invite ')).toEqual({ rseq: 5, cseq: 2, method: 'INVITE' });
    expect(parseRAck('5 INVITE')).toBeUndefined();
    expect(parseRAck(undefined)).toBeUndefined();
    expect(parseRSeq('0')).toBeUndefined();
    expect(parseRSeq('4294967295')).toBe(4294967295);
    expect(parseRSeq('x1')).toBeUndefined();
  });
});
