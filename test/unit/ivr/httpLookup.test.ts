import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpLookup } from '../../../server/ivr/httpLookup.ts';
import { SystemClock } from '../../../lib/clock.ts';
import { IvrSession } from '../../../server/ivr/session.ts';
import { flowSet } from './helpers.ts';

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/echo' && req.method === 'POST') {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => res.end(JSON.stringify({ got: JSON.parse(b) as unknown, type: req.headers['content-type'] })));
    } else if (u.pathname === '/customer') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ customer: { name: 'Ada', tier: u.searchParams.get('from') === '+15551234' ? 'gold' : 'none' } }));
    } else if (u.pathname === '/slow') {
      setTimeout(() => res.end('{}'), 2000).unref();
    } else if (u.pathname === '/html') {
      res.end('<html>');
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('HTTP lookup provider', () => {
  const lookup = httpLookup();
  it('returns the JSON reply', async () => {
    await expect(lookup({ url: `${base}/customer?from=%2B15551234`, method: 'GET', timeoutMs: 1000 })).resolves.toEqual({
      customer: { name: 'Ada', tier: 'gold' },
    });
  });
  it('rejects with a short reason on status, timeout, non-JSON and bad URLs', async () => {
    await expect(lookup({ url: `${base}/nope`, method: 'GET', timeoutMs: 1000 })).rejects.toThrow('HTTP 404');
    await expect(lookup({ url: `${base}/slow`, method: 'GET', timeoutMs: 100 })).rejects.toThrow('timeout');
    await expect(lookup({ url: `${base}/html`, method: 'GET', timeoutMs: 1000 })).rejects.toThrow('reply is not JSON');
    await expect(lookup({ url: 'file:///etc/passwd', method: 'GET', timeoutMs: 1000 })).rejects.toThrow(/unsupported URL scheme/);
    await expect(lookup({ url: 'http://127.0.0.1:1/', method: 'GET', timeoutMs: 1000 })).rejects.toThrow(/network/);
  });
  it('POSTs a JSON body with caller values escaped', async () => {
    const flows = flowSet({
      p: `
start: set
nodes:
  set: { type: set, vars: { note: 'say "hi"' }, next: l }
  l: { type: lookup, method: POST, url: "${base}/echo", body: '{"phone": "{{callerId}}", "note": "{{note}}"}', assign: { phone: got.phone, note2: got.note }, next: ok, onFailure: ko }
  ok: { type: hangup, reason: "found" }
  ko: { type: hangup, reason: "not-found" }
`,
    });
    const s = await new Promise<IvrSession>((resolve) => {
      const s = new IvrSession(flows, 'p', { clock: new SystemClock(), callerId: '+1555', dialled: '', lookup });
      s.on('end', () => resolve(s));
      s.start();
    });
    expect(s.endReason).toBe('found');
    expect(s.vars).toMatchObject({ phone: '+1555', note2: 'say "hi"' });
  });

  it('drives a lookup node end to end: result into variables, failure to the failure branch', async () => {
    const flows = flowSet({
      l: `
start: l
nodes:
  l: { type: lookup, url: "${base}/customer?from={{callerId}}", assign: { tier: customer.tier }, next: ok, onFailure: ko }
  ok: { type: hangup, reason: "found" }
  ko: { type: hangup, reason: "not-found" }
`,
      bad: `
start: l
nodes:
  l: { type: lookup, url: "${base}/missing", timeout: 1, next: ok, onFailure: ko }
  ok: { type: hangup, reason: "found" }
  ko: { type: hangup, reason: "not-found" }
`,
    });
    const run = (flow: string) =>
      new Promise<IvrSession>((resolve) => {
        const s = new IvrSession(flows, flow, { clock: new SystemClock(), callerId: '+15551234', dialled: '', lookup });
        s.on('end', () => resolve(s));
        s.start();
      });
    const ok = await run('l');
    expect(ok.endReason).toBe('found');
    expect(ok.vars.tier).toBe('gold');
    const ko = await run('bad');
    expect(ko.endReason).toBe('not-found');
    expect(ko.path[0]?.outcome).toBe('failed:HTTP 404');
  });
});
