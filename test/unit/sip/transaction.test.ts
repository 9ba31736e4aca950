import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { log } from '../../../lib/log.ts';
import { SipRequest, SipResponse, makeResponse, type SipMessage, type Source } from '../../../server/sip/message.ts';
import { TransactionLayer, type Sender, type TransactionUser, type ServerTransaction } from '../../../server/sip/transaction.ts';
import type { Destination } from '../../../server/sip/transport.ts';

interface Sent {
  at: number;
  msg: SipMessage;
  data: Buffer;
  dest: Destination;
}

function setup(opts: { failSend?: boolean } = {}) {
  const clock = new FakeClock(0);
  const sent: Sent[] = [];
  const sender: Sender = {
    send: (msg, data, dest) => {
      sent.push({ at: clock.now(), msg, data, dest });
      return opts.failSend ? Promise.reject(new Error('boom')) : Promise.resolve();
    },
  };
  const layer = new TransactionLayer(clock, sender, log);
  const tuEvents: string[] = [];
  const servers: ServerTransaction[] = [];
  const tu: TransactionUser = {
    onRequest: (req, st) => {
      tuEvents.push(`req:${req.method}`);
      if (st) servers.push(st);
    },
    onCancel: (inv) => {
      tuEvents.push('cancel');
      inv.respond(makeResponse(inv.request, 487));
    },
    onStrayResponse: (res) => tuEvents.push(`stray:${res.status}`),
  };
  layer.tu = tu;
  return { clock, sent, layer, tuEvents, servers };
}

const udp: Destination = { transport: 'udp', address: '127.0.0.1', port: 5070 };
const tcp: Destination = { transport: 'tcp', address: '127.0.0.1', port: 5070 };
let n = 0;

function request(method: string, branch = `z9hG4bKtest${++n}`): SipRequest {
  const r = new SipRequest(method, 'sip:bob@127.0.0.1:5070');
  r.set('via', `SIP/2.0/UDP 127.0.0.1:5060;branch=${branch};rport`);
  r.set('from', '<sip:alice@127.0.0.1>;tag=a1');
  r.set('to', '<sip:bob@127.0.0.1>');
  r.set('call-id', `c${n}@test`);
  r.set('cseq', `1 ${method}`);
  r.set('max-forwards', '70');
  return r;
}

function incoming(method: string, transport: 'udp' | 'tcp' = 'udp', branch?: string): SipRequest {
  const r = request(method, branch);
  const src: Source = { transport, address: '127.0.0.1', port: 5070, flowId: 'f1', localAddress: '127.0.0.1', localPort: 5060 };
  r.source = src;
  return r;
}

const times = (s: Sent[], pred: (m: SipMessage) => boolean): number[] => s.filter((x) => pred(x.msg)).map((x) => x.at);
const isReq = (m: string) => (x: SipMessage) => x instanceof SipRequest && x.method === m;
const isRes = (st: number) => (x: SipMessage) => x instanceof SipResponse && x.status === st;

describe('client INVITE transaction', () => {
  it('Timer A doubles from T1 and Timer B times out at 64*T1 over UDP', () => {
    const { clock, sent, layer } = setup();
    let timedOut = 0;
    layer.request(request('INVITE'), udp, { onResponse: () => {}, onTimeout: () => timedOut++, onTransportError: () => {} });
    clock.advance(40_000);
    expect(times(sent, isReq('INVITE'))).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(timedOut).toBe(1);
    expect(layer.clientCount).toBe(0);
  });

  it('no retransmissions over TCP; provisional stops Timer A; non-2xx is ACKed in-transaction and re-ACKed', () => {
    const { clock, sent, layer } = setup();
    const got: number[] = [];
    const req = request('INVITE');
    layer.request(req, tcp, { onResponse: (r) => got.push(r.status), onTimeout: () => got.push(408), onTransportError: () => {} });
    clock.advance(10_000);
    expect(times(sent, isReq('INVITE'))).toEqual([0]);
    // Over TCP Timer B still runs (§17.1.1.2): nothing before 64*T1, a timeout at it.
    expect(got).toEqual([]);
    clock.advance(31_999 - clock.now());
    expect(got).toEqual([]);
    clock.advance(1);
    expect(got).toEqual([408]);
    expect(layer.clientCount).toBe(0);

    const { clock: c2, sent: s2, layer: l2 } = setup();
    const got2: number[] = [];
    const req2 = request('INVITE');
    l2.request(req2, udp, { onResponse: (r) => got2.push(r.status), onTimeout: () => got2.push(408), onTransportError: () => {} });
    c2.advance(600);
    l2.receive(makeResponse(req2, 180, undefined, 'b1'));
    c2.advance(10_000);
    expect(times(s2, isReq('INVITE'))).toEqual([0, 500]);
    const busy = makeResponse(req2, 486, undefined, 'b1');
    l2.receive(busy);
    l2.receive(busy);
    const acks = s2.filter((x) => isReq('ACK')(x.msg));
    expect(acks).toHaveLength(2);
    const ack = acks[0]!.msg as SipRequest;
    expect(ack.get('via')).toBe(req2.get('via'));
    expect(ack.cseq).toEqual({ seq: 1, method: 'ACK' });
    expect(ack.toTag).toBe('b1');
    expect(got2).toEqual([180, 486]);
    c2.advance(32_000); // Timer D
    expect(l2.clientCount).toBe(0);
  });

  it('2xx moves to Accepted (RFC 6026): forked 2xx reach the TU until Timer M', () => {
    const { clock, layer, tuEvents } = setup();
    const got: string[] = [];
    const req = request('INVITE');
    layer.request(req, udp, { onResponse: (r) => got.push(`${r.status}/${r.toTag}`), onTimeout: () => {}, onTransportError: () => {} });
    layer.receive(makeResponse(req, 200, undefined, 'x'));
    layer.receive(makeResponse(req, 200, undefined, 'y'));
    expect(got).toEqual(['200/x', '200/y']);
    clock.advance(32_000);
    layer.receive(makeResponse(req, 200, undefined, 'x'));
    expect(tuEvents).toEqual(['stray:200']);
  });

  it('transport error is reported and ends the transaction', async () => {
    const { layer } = setup({ failSend: true });
    const errs: string[] = [];
    layer.request(request('INVITE'), udp, { onResponse: () => {}, onTimeout: () => {}, onTransportError: (e) => errs.push(e.message) });
    await new Promise((r) => setImmediate(r));
    expect(errs).toEqual(['boom']);
    expect(layer.clientCount).toBe(0);
  });
});

describe('client non-INVITE transaction', () => {
  it('Timer E doubles to T2, continues at T2 in Proceeding, Timer F at 64*T1, Timer K = T4', () => {
    const { clock, sent, layer } = setup();
    let to = 0;
    layer.request(request('OPTIONS'), udp, { onResponse: () => {}, onTimeout: () => to++, onTransportError: () => {} });
    clock.advance(33_000);
    expect(times(sent, isReq('OPTIONS'))).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(to).toBe(1);

    const t = setup();
    const req = request('BYE');
    const got: number[] = [];
    t.layer.request(req, udp, { onResponse: (r) => got.push(r.status), onTimeout: () => got.push(408), onTransportError: () => {} });
    t.clock.advance(1000);
    t.layer.receive(makeResponse(req, 100));
    t.clock.advance(9000);
    expect(times(t.sent, isReq('BYE'))).toEqual([0, 500, 1500, 5500, 9500]);
    t.layer.receive(makeResponse(req, 200));
    t.layer.receive(makeResponse(req, 200));
    expect(got).toEqual([100, 200]);
    t.clock.advance(4999);
    expect(t.layer.clientCount).toBe(1);
    t.clock.advance(1);
    expect(t.layer.clientCount).toBe(0);
  });
});

describe('server INVITE transaction', () => {
  it('sends 100 after 200 ms, absorbs retransmissions, Timer G/H for non-2xx, ACK -> Confirmed, Timer I', () => {
    const { clock, sent, layer, servers } = setup();
    const inv = incoming('INVITE');
    layer.receive(inv);
    expect(servers).toHaveLength(1);
    clock.advance(200);
    expect(times(sent, isRes(100))).toEqual([200]);
    layer.receive(inv); // retransmission -> resend 100
    expect(times(sent, isRes(100))).toEqual([200, 200]);
    const st = servers[0]!;
    let ackTimeouts = 0;
    st.onAckTimeout = () => ackTimeouts++;
    st.respond(makeResponse(inv, 486, undefined, 't'));
    clock.advance(40_000);
    expect(times(sent, isRes(486))).toEqual([200, 700, 1700, 3700, 7700, 11700, 15700, 19700, 23700, 27700, 31700]);
    expect(ackTimeouts).toBe(1);
    expect(layer.serverCount).toBe(0);

    const t = setup();
    const inv2 = incoming('INVITE');
    t.layer.receive(inv2);
    t.servers[0]!.respond(makeResponse(inv2, 404, undefined, 't'));
    t.clock.advance(600);
    const ack = incoming('ACK', 'udp', inv2.topVia!.params.get('branch')!);
    t.layer.receive(ack);
    t.clock.advance(10_000);
    expect(times(t.sent, isRes(404))).toEqual([0, 500]);
    expect(t.tuEvents).toEqual(['req:INVITE']);
    expect(t.layer.serverCount).toBe(0);
  });

  it('2xx -> Accepted; INVITE retransmissions absorbed; separate-branch ACK goes to the TU', () => {
    const { clock, sent, layer, servers, tuEvents } = setup();
    const inv = incoming('INVITE');
    layer.receive(inv);
    servers[0]!.respond(makeResponse(inv, 200, undefined, 't'));
    layer.receive(inv);
    expect(times(sent, isRes(200))).toEqual([0]);
    layer.receive(incoming('ACK'));
    expect(tuEvents).toEqual(['req:INVITE', 'req:ACK']);
    clock.advance(32_000);
    expect(layer.serverCount).toBe(0);
  });

  it('CANCEL: 200 to the CANCEL, 487 to the INVITE; CANCEL for unknown gets 481', () => {
    const { sent, layer, tuEvents } = setup();
    const inv = incoming('INVITE');
    layer.receive(inv);
    const cancel = incoming('CANCEL', 'udp', inv.topVia!.params.get('branch')!);
    layer.receive(cancel);
    expect(tuEvents).toEqual(['req:INVITE', 'cancel']);
    expect(sent.map((s) => `${(s.msg as SipResponse).status} ${s.msg.cseq.method}`)).toEqual(['200 CANCEL', '487 INVITE']);
    layer.receive(incoming('CANCEL'));
    expect((sent.at(-1)!.msg as SipResponse).status).toBe(481);
  });
});

describe('server non-INVITE transaction', () => {
  it('answers 408 itself when the application never responds (no leaked transaction)', () => {
    const { clock, sent, layer } = setup();
    layer.receive(incoming('OPTIONS'));
    clock.advance(31_999);
    expect(sent).toHaveLength(0);
    clock.advance(1);
    expect((sent[0]!.msg as SipResponse).status).toBe(408);
    clock.advance(32_000);
    expect(layer.serverCount).toBe(0);
  });

  it('absorbs retransmissions by resending the final; Timer J = 64*T1 on UDP, 0 on TCP', () => {
    const { clock, sent, layer, servers } = setup();
    const bye = incoming('BYE');
    layer.receive(bye);
    servers[0]!.respond(makeResponse(bye, 200));
    layer.receive(bye);
    layer.receive(bye);
    expect(times(sent, isRes(200))).toEqual([0, 0, 0]);
    clock.advance(31_999);
    expect(layer.serverCount).toBe(1);
    clock.advance(1);
    expect(layer.serverCount).toBe(0);

    const t = setup();
    const b2 = incoming('BYE', 'tcp');
    t.layer.receive(b2);
    t.servers[0]!.respond(makeResponse(b2, 200));
    expect(t.layer.serverCount).toBe(0);
  });
});

describe('after the TU is done: what a server transaction keeps (a Linger)', () => {
  it('Accepted: retransmitted INVITEs absorbed (nothing resent) until exactly Timer L; a CANCEL gets 200 and never reaches the TU', () => {
    const { clock, sent, layer, servers, tuEvents } = setup();
    const inv = incoming('INVITE');
    const branch = inv.topVia!.params.get('branch')!;
    layer.receive(inv);
    servers[0]!.respond(makeResponse(inv, 200, undefined, 't'));
    clock.advance(31_999);
    layer.receive(inv);
    layer.receive(incoming('CANCEL', 'udp', branch));
    expect(tuEvents).toEqual(['req:INVITE']);
    expect(sent.map((s) => `${(s.msg as SipResponse).status} ${s.msg.cseq.method}`)).toEqual(['200 INVITE', '200 CANCEL']);
    expect(layer.serverCount).toBe(2); // the INVITE's and the CANCEL's
    clock.advance(1); // Timer L: the INVITE is forgotten; the CANCEL's own Timer J runs on
    expect(layer.serverCount).toBe(1);
    layer.receive(incoming('CANCEL', 'udp', branch)); // a retransmitted CANCEL: its 200 again
    expect(times(sent, isRes(200))).toEqual([0, 31_999, 32_000]);
    clock.advanceTo(31_999 + 32_000);
    expect(layer.serverCount).toBe(0);
    expect(tuEvents).toEqual(['req:INVITE']);
  });

  it('CANCEL after a non-2xx final: 200 to the CANCEL, the TU is not told, the 486 still retransmits until the ACK', () => {
    const { clock, sent, layer, servers, tuEvents } = setup();
    const inv = incoming('INVITE');
    const branch = inv.topVia!.params.get('branch')!;
    layer.receive(inv);
    servers[0]!.respond(makeResponse(inv, 486, undefined, 't'));
    layer.receive(incoming('CANCEL', 'udp', branch));
    expect(tuEvents).toEqual(['req:INVITE']);
    clock.advance(600);
    layer.receive(incoming('ACK', 'udp', branch));
    clock.advance(10_000);
    expect(times(sent, isRes(486))).toEqual([0, 500]);
    expect(times(sent, isRes(200))).toEqual([0]);
  });

  it('Completed non-INVITE: each retransmission gets the same bytes at the same place until exactly Timer J, then it is a new request', () => {
    const { clock, sent, layer, servers, tuEvents } = setup();
    const bye = incoming('BYE');
    layer.receive(bye);
    servers[0]!.respond(makeResponse(bye, 200));
    clock.advance(31_999);
    layer.receive(bye);
    const [first, again] = sent;
    expect(again!.at).toBe(31_999);
    expect(again!.data.equals(first!.data)).toBe(true);
    expect(again!.dest).toEqual(first!.dest);
    expect(tuEvents).toEqual(['req:BYE']);
    clock.advance(1);
    expect(layer.serverCount).toBe(0);
    layer.receive(bye);
    expect(tuEvents).toEqual(['req:BYE', 'req:BYE']);
    expect(sent).toHaveLength(2);
  });

  it('Confirmed: ACK retransmissions absorbed silently until exactly Timer I (T4)', () => {
    const { clock, sent, layer, servers, tuEvents } = setup();
    const inv = incoming('INVITE');
    const ack = incoming('ACK', 'udp', inv.topVia!.params.get('branch')!);
    layer.receive(inv);
    servers[0]!.respond(makeResponse(inv, 404, undefined, 't'));
    layer.receive(ack);
    clock.advance(4_999);
    layer.receive(ack);
    expect(layer.serverCount).toBe(1);
    clock.advance(1);
    expect(layer.serverCount).toBe(0);
    expect(tuEvents).toEqual(['req:INVITE']);
    expect(sent).toHaveLength(1);
  });

  it('is bounded by time with one timer per duration: 3,000 BYEs over 30 s each leave 64*T1 after their answer', () => {
    const { clock, layer, servers } = setup();
    for (let i = 0; i < 3000; i++) {
      const bye = incoming('BYE');
      layer.receive(bye);
      servers[i]!.respond(makeResponse(bye, 200));
      clock.advance(10);
    }
    // t = 30,000: every one is lingering, on one timer (not 3,000).
    expect(layer.serverCount).toBe(3000);
    expect(clock.pendingCount).toBe(1);
    clock.advanceTo(32_000 + 14_999); // BYE i was answered at 10*i: 0..1499 have reached Timer J
    expect(layer.serverCount).toBe(1500);
    clock.advanceTo(32_000 + 29_989);
    expect(layer.serverCount).toBe(1);
    clock.advance(1);
    expect(layer.serverCount).toBe(0);
    expect(clock.pendingCount).toBe(0);
  });
});
