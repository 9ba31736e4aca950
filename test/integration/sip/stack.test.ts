/**
 * Two stacks talking to each other (and a raw UDP socket playing a misbehaving or forking peer)
 * over real loopback sockets: malformed input, registrar rules, trunk-style digest on INVITE with
 * the UAC's 401/407 retry, outbound registration, re-INVITE/INFO/REFER/NOTIFY in dialog,
 * forked 2xx handling, and TLS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { WebSocket } from 'ws';
import { metrics } from '../../../lib/metrics.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipStack, SipError, SipRequest, SipResponse, makeResponse, parseMessage, type Dialog } from '../../../server/sip/index.ts';

const A = 25100;
const B = 25110;
const SDP = (o: string): string =>
  `v=0\r\no=${o} 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n`;
const users: Record<string, string> = { agent1: 'secret1', trunk1: 'trunkpw' };

let a: SipStack;
let b: SipStack;
const aDialogs: Dialog[] = [];

beforeAll(async () => {
  a = new SipStack({ realm: 'cc.test', credentials: (u) => users[u], registrar: { minExpires: 30, maxExpires: 600 } });
  b = new SipStack({ realm: 'b.test' });
  await a.listen({ udp: { host: '127.0.0.1', port: A }, tcp: { host: '127.0.0.1', port: A } });
  await b.listen({ udp: { host: '127.0.0.1', port: B }, tcp: { host: '127.0.0.1', port: B } });
  a.on('invite', async (req, res) => {
    const user = req.to?.uri.user;
    if (user === 'secure') {
      // A carrier trunk that must authenticate: proxy-style challenge (407).
      const who = await a.authenticate(req, res, true);
      if (who === undefined) return;
    }
    if (user === 'busy') {
      res.send(486);
      return;
    }
    if (user === 'crash') throw new Error('application bug');
    if (user === 'ringing') {
      res.send(180);
      return;
    }
    res.send(180);
    const d = await a.createUAS(req, res, { localSdp: SDP('a') });
    aDialogs.push(d);
  });
});

afterAll(async () => {
  await a.close();
  await b.close();
});

function udpClient(): { send(s: string): void; next(ms?: number): Promise<string>; close(): void; port: number; ready: Promise<void> } {
  const sock = dgram.createSocket('udp4');
  const queue: string[] = [];
  const waiters: ((s: string) => void)[] = [];
  sock.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m.toString());
    else queue.push(m.toString());
  });
  const ready = new Promise<void>((r) => sock.once('listening', () => r()));
  sock.bind(0, '127.0.0.1');
  return {
    ready,
    get port() {
      return sock.address().port;
    },
    send: (s) => sock.send(Buffer.from(s.replace(/\r?\n/g, '\r\n')), A, '127.0.0.1'),
    next: (ms = 2000) =>
      new Promise((resolve, reject) => {
        const q = queue.shift();
        if (q !== undefined) return resolve(q);
        const t = setTimeout(() => reject(new Error('no datagram')), ms);
        waiters.push((s) => {
          clearTimeout(t);
          resolve(s);
        });
      }),
    close: () => sock.close(),
  };
}

describe('robustness', () => {
  it('answers a malformed but addressable request with 400 and a reason, ignores garbage, keeps running', async () => {
    const c = udpClient();
    await c.ready;
    c.send(`OPTIONS sip:a@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bKbad1
From: <sip:x@127.0.0.1>;tag=1
To: <sip:a@127.0.0.1>
Call-ID: bad1
CSeq: 1 INVITE
Content-Length: 0

`);
    const res = await c.next();
    expect(res).toMatch(/^SIP\/2.0 400 Bad Request - CSeq method does not match/);
    const malformedBefore = (await metrics.getSingleMetricAsString('sip_malformed_total')).match(/sip_malformed_total (\d+)/)?.[1];
    c.send('\r\n\r\n'); // NAT keep-alive: silently dropped, not counted as malformed
    // Datagrams from one socket are handled in order, so once this OPTIONS is answered the
    // keep-alive before it has been handled too.
    c.send(`OPTIONS sip:a@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bKafterka
From: <sip:x@127.0.0.1>;tag=1
To: <sip:a@127.0.0.1>
Call-ID: afterka
CSeq: 1 OPTIONS
Content-Length: 0

`);
    expect(await c.next()).toMatch(/^SIP\/2.0 200 OK\r\n/);
    expect((await metrics.getSingleMetricAsString('sip_malformed_total')).match(/sip_malformed_total (\d+)/)?.[1]).toBe(malformedBefore);
    c.send('\u0000\u0001garbage\r\n\r\n');
    c.send('INVITE sip:x SIP/2.0\r\n\r\n');
    await expect(c.next(300)).rejects.toThrow();
    // Still alive and answering.
    const ok = await b.request(`sip:a@127.0.0.1:${A}`, { method: 'OPTIONS' });
    expect(ok.status).toBe(200);
    expect(ok.get('allow')).toContain('INVITE');
    c.close();
  });

  it('481 for a BYE outside any dialog; 405/501 for unhandled methods', async () => {
    const bye = await b.request(`sip:a@127.0.0.1:${A}`, { method: 'BYE', to: `<sip:a@127.0.0.1>;tag=nosuch` });
    expect(bye.status).toBe(481);
    expect((await b.request(`sip:a@127.0.0.1:${A}`, { method: 'SUBSCRIBE' })).status).toBe(405);
    expect((await b.request(`sip:a@127.0.0.1:${A}`, { method: 'FROBNICATE' })).status).toBe(501);
  });
});

describe('registrar', () => {
  const reg = (opts: { expires?: number; contact?: string; password?: string; user?: string; cseq?: number; callId?: string }) =>
    b.request(`sip:127.0.0.1:${A}`, {
      method: 'REGISTER',
      from: `<sip:${opts.user ?? 'agent1'}@cc.test>`,
      to: `<sip:${opts.user ?? 'agent1'}@cc.test>`,
      callId: opts.callId ?? 'reg-1',
      cseq: opts.cseq ?? 1,
      headers: { Contact: opts.contact ?? `<sip:agent1@127.0.0.1:${B}>`, Expires: String(opts.expires ?? 120) },
      auth: { username: opts.user ?? 'agent1', password: opts.password ?? 'secret1' },
    });

  it('challenges, binds with the granted expiry, lists contacts, caps at maxExpires, 423 below minExpires', async () => {
    const seen: [string, boolean][] = [];
    const onRegistered = (b: { contact: string }, refresh: boolean) => seen.push([b.contact, refresh]);
    a.on('registered', onRegistered);
    const r1 = await reg({ expires: 120, cseq: 1 });
    expect(r1.status).toBe(200);
    expect(r1.get('contact')).toMatch(/expires=120/);
    const bindings = await a.lookup('sip:agent1@cc.test');
    expect(bindings).toHaveLength(1);
    expect(bindings[0]!.source.transport).toBe('udp');

    const r2 = await reg({ expires: 5000, cseq: 3, contact: `<sip:agent1@127.0.0.1:${B};transport=tcp>` });
    expect(r2.status).toBe(200);
    expect(r2.getAll('contact')).toHaveLength(2);
    expect(r2.getAll('contact').join()).toMatch(/expires=600/);

    const r3 = await reg({ expires: 10, cseq: 5 });
    expect(r3.status).toBe(423);
    expect(r3.get('min-expires')).toBe('30');
    // A refresh (same contact, same Call-ID) is told apart from a new registration (the desk
    // logs a desk phone's agent in on a new one only).
    expect((await reg({ expires: 120, cseq: 6 })).status).toBe(200);
    a.off('registered', onRegistered);
    expect(seen).toEqual([
      [`sip:agent1@127.0.0.1:${B}`, false],
      [`sip:agent1@127.0.0.1:${B};transport=tcp`, false],
      [`sip:agent1@127.0.0.1:${B}`, true],
    ]);
  });

  it('rejects a wrong password and a To/user mismatch', async () => {
    expect((await reg({ password: 'bad', cseq: 7 })).status).toBe(401);
    const mismatch = await b.request(`sip:127.0.0.1:${A}`, {
      method: 'REGISTER',
      from: '<sip:agent1@cc.test>',
      to: '<sip:trunk1@cc.test>',
      callId: 'reg-2',
      headers: { Contact: `<sip:x@127.0.0.1:${B}>` },
      auth: { username: 'agent1', password: 'secret1' },
    });
    expect(mismatch.status).toBe(403);
  });

  it('un-registers one contact with expires=0 and all with *', async () => {
    const r = await reg({ expires: 0, cseq: 9 });
    expect(r.status).toBe(200);
    expect(await a.lookup('agent1')).toHaveLength(1);
    const all = await b.request(`sip:127.0.0.1:${A}`, {
      method: 'REGISTER',
      from: '<sip:agent1@cc.test>',
      to: '<sip:agent1@cc.test>',
      callId: 'reg-1',
      cseq: 11,
      headers: { Contact: '*', Expires: '0' },
      auth: { username: 'agent1', password: 'secret1' },
    });
    expect(all.status).toBe(200);
    expect(await a.lookup('agent1')).toHaveLength(0);
  });

  it('outbound registration: registers, refreshes state, un-registers on stop', async () => {
    const states: string[] = [];
    const r = b.register({
      registrar: `sip:127.0.0.1:${A}`,
      aor: 'sip:trunk1@cc.test',
      auth: { username: 'trunk1', password: 'trunkpw' },
      expires: 60,
      onState: (s, st) => states.push(`${s}:${st}`),
    });
    for (let i = 0; i < 100 && !r.registered; i++) await new Promise((res) => setTimeout(res, 20));
    expect(states).toEqual(['registered:200']);
    expect(await a.lookup('trunk1')).toHaveLength(1);
    await r.stop();
    expect(await a.lookup('trunk1')).toHaveLength(0);
  });
});

describe('calls between two stacks', () => {
  it('trunk digest: INVITE challenged with 407 is retried with credentials and answered', async () => {
    const d = await b.createUAC(`sip:secure@127.0.0.1:${A}`, { localSdp: SDP('b'), auth: { username: 'trunk1', password: 'trunkpw' } });
    expect(d.remoteSdp).toContain('o=a');
    await d.destroy();
    await expect(
      b.createUAC(`sip:secure@127.0.0.1:${A}`, { localSdp: SDP('b'), auth: { username: 'trunk1', password: 'wrong' } }),
    ).rejects.toMatchObject({ status: 407 });
    await expect(b.createUAC(`sip:busy@127.0.0.1:${A}`, { localSdp: SDP('b') })).rejects.toMatchObject({ status: 486 });
  });

  it('an application handler that throws yields 500, not a crash; timeoutMs CANCELs a ringing call', async () => {
    await expect(b.createUAC(`sip:crash@127.0.0.1:${A}`, { localSdp: SDP('b') })).rejects.toMatchObject({ status: 500 });
    const cancelled = new Promise<void>((r) => a.once('invite', (_req, res) => res.once('cancel', () => r())));
    await expect(b.createUAC(`sip:ringing@127.0.0.1:${A}`, { localSdp: SDP('b'), timeoutMs: 300 })).rejects.toMatchObject({ status: 408 });
    await cancelled;
  });

  it('hold/resume re-INVITE both ways, INFO, REFER + NOTIFY, BYE (UDP and TCP)', async () => {
    for (const transport of ['udp', 'tcp']) {
      const provisional: number[] = [];
      const d = await b.createUAC(`sip:agent@127.0.0.1:${A};transport=${transport}`, {
        localSdp: SDP('b'),
        onProvisional: (r) => provisional.push(r.status),
      });
      expect(provisional).toContain(180);
      // a's dialog resolves on the ACK, just after b's resolved on the 200.
      for (let i = 0; i < 50 && !aDialogs.some((x) => x.callId === d.callId); i++) await new Promise((r) => setTimeout(r, 10));
      const ad = aDialogs.find((x) => x.callId === d.callId)!;
      expect(ad).toBeDefined();

      // b puts a on hold; a's default answer is its current SDP.
      const answer = await d.modify(SDP('b').replace('m=audio', 'a=sendonly\r\nm=audio'));
      expect(answer).toContain('o=a');
      expect(ad.remoteSdp).toContain('a=sendonly');

      // a re-INVITEs b with an explicit handler on b's side.
      d.once('modify', (req: SipRequest, res) => {
        expect(req.bodyText).toContain('a=recvonly');
        res.send(200, { body: SDP('b2'), contentType: 'application/sdp' });
      });
      expect(await ad.modify(SDP('a').replace('m=audio', 'a=recvonly\r\nm=audio'))).toContain('o=b2');

      const infos: string[] = [];
      ad.on('info', (req: SipRequest, res) => {
        infos.push(req.bodyText);
        res.send(200);
      });
      expect((await d.request('INFO', { body: 'Signal=7\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' })).status).toBe(200);
      expect(infos).toEqual(['Signal=7\r\nDuration=160\r\n']);

      // Transfer from the phone side: REFER, 202, NOTIFY sipfrag back.
      const notified: string[] = [];
      d.on('notify', (req: SipRequest, res) => {
        notified.push(req.bodyText.trim());
        res.send(200);
      });
      ad.once('refer', (req: SipRequest, res) => {
        expect(req.get('refer-to')).toContain('sip:1002@');
        res.send(202);
        void ad.notifyRefer(200, 'OK');
      });
      expect((await d.request('REFER', { headers: { 'Refer-To': '<sip:1002@127.0.0.1>' } })).status).toBe(202);
      for (let i = 0; i < 50 && notified.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(notified).toEqual(['SIP/2.0 200 OK']);

      const destroyed = new Promise<string>((r) => ad.once('destroy', (_b: unknown, reason: string) => r(reason)));
      await d.destroy();
      expect(await destroyed).toBe('remote-bye');
      expect(d.state).toBe('terminated');
    }
  });

  it('forked 2xx: the first one makes the dialog, the extra one is ACKed and released with BYE', async () => {
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(25120, '127.0.0.1', r));
    const seen: string[] = [];
    peer.on('message', (m, rinfo) => {
      const r = parseMessage(m);
      if (!r.ok || !(r.message instanceof SipRequest)) return;
      const req = r.message;
      seen.push(`${req.method} ${req.toTag ?? ''}`);
      const send = (res: SipResponse): void => void peer.send(res.serialize(), rinfo.port, rinfo.address);
      if (req.method === 'INVITE') {
        for (const tag of ['fork1', 'fork2']) {
          const ok = makeResponse(req, 200, undefined, tag);
          ok.set('contact', `<sip:${tag}@127.0.0.1:25120>`);
          ok.setBody(SDP(tag), 'application/sdp');
          send(ok);
        }
      } else if (req.method === 'BYE') send(makeResponse(req, 200));
    });
    try {
      const d = await b.createUAC('sip:fork@127.0.0.1:25120', { localSdp: SDP('b') });
      expect(d.remoteTag).toBe('fork1');
      for (let i = 0; i < 50 && !seen.includes('BYE fork2'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual(expect.arrayContaining(['INVITE ', 'ACK fork1', 'ACK fork2', 'BYE fork2']));
      expect(seen).not.toContain('BYE fork1');
      await d.destroy();
      expect(seen).toContain('BYE fork1');
    } finally {
      peer.close();
    }
  });
});

function selfSigned(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'siptls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'k.pem'),
      '-out',
      join(dir, 'c.pem'),
    ],
    { stdio: 'ignore' },
  );
  const pair = { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) };
  rmSync(dir, { recursive: true, force: true });
  return pair;
}

describe('TLS and secure WebSocket', () => {
  it('answers OPTIONS over WSS (subprotocol sip) and refuses a WebSocket without it', async () => {
    const { key, cert } = selfSigned();
    const s = new SipStack({});
    await s.listen({ wss: { host: '127.0.0.1', port: 25133, key, cert } });
    try {
      const opts = { ca: cert };
      const ws = new WebSocket('wss://127.0.0.1:25133/', 'sip', opts);
      await new Promise<void>((r, j) => {
        ws.once('open', () => r());
        ws.once('error', j);
      });
      const reply = new Promise<string>((r) => ws.once('message', (d: Buffer) => r(d.toString())));
      ws.send(
        [
          'OPTIONS sip:cc@127.0.0.1 SIP/2.0',
          'Via: SIP/2.0/WSS abc.invalid;branch=z9hG4bKwss1',
          'From: <sip:x@abc.invalid>;tag=1',
          'To: <sip:cc@127.0.0.1>',
          'Call-ID: wss1',
          'CSeq: 1 OPTIONS',
          'Max-Forwards: 70',
          '',
          '',
        ].join('\r\n'),
      );
      const text = await reply;
      expect(text).toMatch(/^SIP\/2.0 200 OK/);
      expect(text).toMatch(/Via: SIP\/2.0\/WSS abc.invalid;branch=z9hG4bKwss1;received=127.0.0.1/);
      ws.close();
      const bad = new WebSocket('wss://127.0.0.1:25133/', 'chat', opts);
      const failed = await new Promise<boolean>((r) => {
        bad.once('open', () => r(false));
        bad.once('error', () => r(true));
      });
      expect(failed).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('completes a call over TLS with a self-signed certificate', async () => {
    const { key, cert } = selfSigned();
    const s = new SipStack({});
    const c = new SipStack({});
    await s.listen({ tls: { host: '127.0.0.1', port: 25131, key, cert } });
    await c.listen({ tls: { host: '127.0.0.1', port: 25132, key, cert, ca: cert } });
    s.on('invite', async (req, res) => {
      const d = await s.createUAS(req, res, { localSdp: SDP('tls') });
      d.on('destroy', () => undefined);
    });
    try {
      const d = await c.createUAC('sips:x@127.0.0.1:25131', { localSdp: SDP('c') });
      expect(d.remoteSdp).toContain('o=tls');
      expect(s.transport.flows.size).toBeGreaterThan(0);
      await d.destroy();
    } finally {
      await s.close();
      await c.close();
    }
  });
});

describe('metrics', () => {
  it('exposes the sip_ counter set with traffic counted', async () => {
    const text = await metrics.metrics();
    expect(text).toMatch(/sip_messages_received_total\{kind="INVITE",transport="udp"\} [1-9]/);
    expect(text).toMatch(/sip_messages_sent_total\{kind="2xx",transport="tcp"\} [1-9]/);
    expect(text).toMatch(/sip_malformed_total [1-9]/);
    expect(text).toContain('sip_dialogs');
  });
});

void SipError;
