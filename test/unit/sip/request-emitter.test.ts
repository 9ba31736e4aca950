import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Logger } from '../../../lib/log.ts';
import { SipRequest, type SipResponse } from '../../../server/sip/message.ts';
import { RequestEmitter, SipServerResponse } from '../../../server/sip/server-response.ts';
import type { ServerTransaction } from '../../../server/sip/transaction.ts';

const quiet = pino({ level: 'silent' });

type Events = { invite: [req: SipRequest, res: SipServerResponse]; note: [n: number] };

class Emits extends RequestEmitter<Events> {
  protected get eventLog(): Logger {
    return quiet;
  }
}

function request(): { req: SipRequest; res: SipServerResponse; sent: SipResponse[] } {
  const req = new SipRequest('INVITE', 'sip:a@127.0.0.1');
  req.set('via', 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx');
  req.set('from', '<sip:b@127.0.0.1>;tag=1');
  req.set('to', '<sip:a@127.0.0.1>');
  req.set('call-id', 'c1');
  req.set('cseq', '1 INVITE');
  const sent: SipResponse[] = [];
  // Only respond() and reliable are used by SipServerResponse.send.
  const st = { respond: (r: SipResponse) => void sent.push(r), reliable: true } as unknown as ServerTransaction;
  const res = new SipServerResponse({ userAgent: 'test', contactFor: () => '<sip:cc@127.0.0.1>' }, req, st);
  return { req, res, sent };
}

describe('RequestEmitter', () => {
  it('answers 500 when a request listener throws, and still runs the others', () => {
    const e = new Emits();
    const { req, res, sent } = request();
    let second = false;
    e.on('invite', () => {
      throw new Error('buggy handler');
    });
    e.on('invite', () => void (second = true));
    e.emit('invite', req, res);
    expect(sent.map((r) => r.status)).toEqual([500]);
    expect(second).toBe(true);
  });

  it('answers 500 when an async request listener rejects before answering', async () => {
    const e = new Emits();
    const { req, res, sent } = request();
    e.on('invite', async () => Promise.reject(new Error('async failure')));
    e.emit('invite', req, res);
    await new Promise((r) => setImmediate(r));
    expect(sent.map((r) => r.status)).toEqual([500]);
  });

  it('leaves a request alone when the listener answered before failing', () => {
    const e = new Emits();
    const { req, res, sent } = request();
    e.on('invite', (_q, r) => {
      r.send(486);
      throw new Error('after answering');
    });
    e.emit('invite', req, res);
    expect(sent.map((r) => r.status)).toEqual([486]);
  });

  it('once fires once, and off removes on and once listeners by the original function', async () => {
    const e = new Emits();
    const seen: string[] = [];
    const a = (n: number): void => void seen.push(`a${n}`);
    const b = (n: number): void => void seen.push(`b${n}`);
    e.once('note', a);
    e.on('note', b);
    e.emit('note', 1);
    e.emit('note', 2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
    e.off('note', b);
    e.once('note', a);
    e.off('note', a);
    expect(e.listenerCount('note')).toBe(0);
    const next = e.next('note');
    e.emit('note', 3);
    expect(await next).toEqual([3]);
    expect(e.listenerCount('note')).toBe(0);
  });
});
