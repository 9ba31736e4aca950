/**
 * HTTPS, WSS and SIP over TLS with the certificate the centre makes for itself on first start
 * (the demo config turns HTTPS on without naming a certificate). Clients here trust exactly that
 * certificate (its PEM as the only CA), so a handshake that succeeds proves the centre serves it
 * and that it names 127.0.0.1; plain HTTP keeps working beside it.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';

const SIP = 15960;
const HTTP = 18880;
const SIP_TLS = 15961;
let tc: TestCentre;
beforeAll(async () => {
  tc = await startTestCentre(
    { sip: SIP, http: HTTP, pg: 16233, rtc: 46400 },
    { edits: { 'centre.yaml': [['    tcpPort: 5060\n', `    tcpPort: 5060\n    tls: { port: ${SIP_TLS} }\n`]] } },
  );
});
afterAll(async () => {
  await tc?.stop();
});

const get = (path: string, ca: string): Promise<{ status: number; body: string; peer: string }> =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: HTTP + 1, path, ca, agent: false }, (res) => {
      // The certificate the server presented, read while the socket is still the response's.
      const peer = (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peer }));
    });
    req.on('error', reject);
    req.end();
  });

describe('TLS: HTTPS, WSS and SIP over TLS', () => {
  it('makes a self-signed certificate for its addresses, keeps the key private, and serves it on HTTPS', async () => {
    const cert = tc.centre.certificate!;
    expect(cert.source).toBe('self-signed');
    const x = new X509Certificate(readFileSync(cert.certFile));
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.fingerprint256).toBe(cert.fingerprint);
    expect(statSync(join(cert.certFile, '..', 'centre.key')).mode & 0o077).toBe(0);
    expect(tc.centre.urls.https).toBe(`https://127.0.0.1:${HTTP + 1}/`);

    const page = await get('/', cert.cert);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html');
    expect(page.peer).toBe(cert.fingerprint);
    const health = await get('/healthz', cert.cert);
    expect(JSON.parse(health.body)).toEqual({ ok: true });
    // A client that does not trust it is refused, as a browser warns: the certificate is not a CA's.
    await expect(get('/healthz', '')).rejects.toThrow(/self-signed|unable to verify|certificate/i);
    // Plain HTTP on loopback stays (the local desktop and every existing client).
    const plain = await fetch(`http://127.0.0.1:${HTTP}/healthz`);
    expect(plain.status).toBe(200);
  });

  it('takes SIP over WSS on the HTTPS port and over TLS on its own port', async () => {
    const ca = tc.centre.certificate!.cert;
    const options = (transport: string, via: string): string =>
      [
        `OPTIONS sip:${SIP}@127.0.0.1 SIP/2.0`,
        `Via: SIP/2.0/${transport} ${via};branch=z9hG4bK-tls-${transport}-${Date.now()}`,
        'Max-Forwards: 70',
        'From: <sip:probe@127.0.0.1>;tag=t1',
        'To: <sip:centre@127.0.0.1>',
        `Call-ID: tls-${transport}-${Date.now()}@127.0.0.1`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');

    const ws = new WebSocket(`wss://127.0.0.1:${HTTP + 1}/sip`, 'sip', { ca });
    const wsReply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send(options('WSS', 'probe.invalid')));
      ws.on('message', (d: Buffer) => resolve(d.toString('utf8')));
      ws.on('error', reject);
    });
    ws.close();
    expect(wsReply).toMatch(/^SIP\/2\.0 200 /);

    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: SIP_TLS, ca, servername: 'localhost' }, () => s.write(options('TLS', '127.0.0.1:5999')));
      let got = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        got += d;
        if (got.includes('\r\n\r\n')) {
          s.end();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    expect(reply).toMatch(/^SIP\/2\.0 200 /);
  });
});
