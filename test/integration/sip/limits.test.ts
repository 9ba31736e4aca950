/**
 * The SIP limits on real loopback sockets with real peers. Each attacker has its own loopback
 * address (127.0.0.2 … 127.0.0.6, all on lo on Linux), so the server sees a different source
 * while the legitimate traffic comes from 127.0.0.1:
 *
 * - a UDP flood of 5,000 OPTIONS/s from 127.0.0.2 (a worker thread, so its pace does not depend
 *   on the server's event loop) is cut to the burst plus 200/s, silently, while sipp places
 *   calls from 127.0.0.1 with none failed;
 * - a TCP flood from 127.0.0.3 gets 503 with Retry-After beyond the burst;
 * - 50 wrong REGISTER digests for agent1 from 127.0.0.4 lock that pair out (the right password
 *   from there is refused too) while agent1 registers from 127.0.0.1;
 * - 20 wrong digests for different users from 127.0.0.5 lock that source for everyone;
 * - connections per source over TCP and WebSocket from 127.0.0.6.
 * Every lockout and episode is logged once with its source and user, and counted in /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { metrics } from '../../../lib/metrics.ts';
import { SipStack, DEFAULT_SIP_LIMITS, type Dialog, type SipResponse } from '../../../server/sip/index.ts';
import { runSipp } from '../../support/sipp.ts';

const PORT = 26160;
const SIPP_PORT = 26161;
const WS_PORT = 26163;
const SDP = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const users: Record<string, string> = { agent1: 'secret1', agent2: 'secret2' };

const lines: Record<string, unknown>[] = [];
const log = pino({ level: 'warn', base: undefined }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });

let srv: SipStack;
const answered: Dialog[] = [];
const clients: SipStack[] = [];

beforeAll(async () => {
  // The defaults, as a centre gets them.
  srv = new SipStack({ realm: 'cc.test', credentials: (u) => users[u], log });
  await srv.listen({
    udp: { host: '127.0.0.1', port: PORT },
    tcp: { host: '127.0.0.1', port: PORT },
    ws: { host: '127.0.0.1', port: WS_PORT, path: '/' },
  });
  srv.on('invite', async (req, res) => {
    answered.push(await srv.createUAS(req, res, { localSdp: SDP }));
  });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await srv.close();
});

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await metrics.getSingleMetric(name)?.get();
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/** A client stack on its own loopback address (its UDP socket is the request's source). */
async function clientOn(host: string, port: number): Promise<SipStack> {
  const c = new SipStack({ realm: 'client', guard: false });
  await c.listen({ udp: { host, port } });
  clients.push(c);
  return c;
}

const FLOOD = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { host, port, local, rate, total } = workerData;
const s = dgram.createSocket('udp4');
let answers = 0;
s.on('message', () => answers++);
s.bind(0, local, () => {
  const lp = s.address().port;
  const msg = (i) => Buffer.from(
    'OPTIONS sip:flood@' + host + ':' + port + ' SIP/2.0\\r\\n' +
    'Via: SIP/2.0/UDP ' + local + ':' + lp + ';branch=z9hG4bK-flood-' + i + '\\r\\n' +
    'Max-Forwards: 70\\r\\nFrom: <sip:flood@' + local + '>;tag=f' + i + '\\r\\nTo: <sip:flood@' + host + '>\\r\\n' +
    'Call-ID: flood-' + i + '\\r\\nCSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n');
  let sent = 0;
  const t0 = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
  // Keep to the schedule: every tick sends what the elapsed time says is due (bounded by total).
  const tick = () => {
    const due = Math.min(total, Math.floor(elapsed() * rate));
    while (sent < due) s.send(msg(sent++), port, host);
    if (sent < total) return setTimeout(tick, 1);
    const seconds = elapsed();
    // Late answers (to the last messages let through) have a second to arrive.
    setTimeout(() => { parentPort.postMessage({ sent, seconds, answers }); s.close(); }, 1000);
  };
  tick();
});
`;

function flood(local: string, rate: number, total: number): Promise<{ sent: number; seconds: number; answers: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(FLOOD, { eval: true, workerData: { host: '127.0.0.1', port: PORT, local, rate, total } });
    w.once('message', (m: { sent: number; seconds: number; answers: number }) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

describe('per-source message rate', () => {
  it('a 5,000/s UDP flood from 127.0.0.2 is cut to burst + 200/s, silently; sipp calls from 127.0.0.1 all complete', async () => {
    const droppedBefore = await counter('sip_rate_limited_total', { transport: 'udp' });
    const before = answered.length;
    const [f, calls] = await Promise.all([
      flood('127.0.0.2', 5000, 10_000),
      runSipp({ scenario: 'uac', remote: `127.0.0.1:${PORT}`, localPort: SIPP_PORT, calls: 40, rate: 20, transport: 'u1' }),
    ]);
    const dropped = (await counter('sip_rate_limited_total', { transport: 'udp' })) - droppedBefore;
    const offered = f.sent / f.seconds;
    // Figures for the report.
    console.log(
      JSON.stringify({
        flood: { sent: f.sent, seconds: +f.seconds.toFixed(2), offeredPerSec: Math.round(offered), answered: f.answers, dropped },
        sipp: { successful: calls.successful, failed: calls.failed },
      }),
    );
    expect(f.sent).toBe(10_000);
    expect(offered).toBeGreaterThan(4000);
    // Through: the burst (1000) plus 200/s for the flood's duration; nothing answered beyond it.
    const ceiling = DEFAULT_SIP_LIMITS.burst + DEFAULT_SIP_LIMITS.rate * (f.seconds + 0.5);
    expect(f.answers).toBeGreaterThanOrEqual(DEFAULT_SIP_LIMITS.burst);
    expect(f.answers).toBeLessThanOrEqual(ceiling);
    expect(dropped).toBeGreaterThanOrEqual(f.sent - ceiling);
    expect(dropped + f.answers).toBeLessThanOrEqual(f.sent);
    // The other source's calls: all of them.
    expect(calls.failed).toBe(0);
    expect(calls.successful).toBe(40);
    expect(answered.length - before).toBe(40);
    // One warning for the whole episode, naming the source.
    const warned = lines.filter((l) => l.msg === 'sip source rate-limited');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ source: '127.0.0.2', transport: 'udp' });
  });

  it('a TCP flood from 127.0.0.3 gets 503 with Retry-After beyond the burst, down its own connection', async () => {
    const before = await counter('sip_rate_limited_total', { transport: 'tcp' });
    const sock = net.connect({ host: '127.0.0.1', port: PORT, localAddress: '127.0.0.3' });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const lp = sock.localPort!;
    const N = 1500;
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const msgs: string[] = [];
    for (let i = 0; i < N; i++) {
      msgs.push(
        `OPTIONS sip:x@127.0.0.1:${PORT};transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.3:${lp};branch=z9hG4bK-t${i}\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.3>;tag=t${i}\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: tcp-flood-${i}\r\n` +
          `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      );
    }
    sock.write(msgs.join(''));
    const count = (re: RegExp): number => text.match(re)?.length ?? 0;
    for (let i = 0; i < 200 && count(/^SIP\/2\.0 \d{3}/gm) < N; i++) await new Promise((r) => setTimeout(r, 25));
    sock.destroy();
    const ok = count(/^SIP\/2\.0 200/gm);
    const refused = count(/^SIP\/2\.0 503 Service Unavailable - rate limit/gm);
    console.log(JSON.stringify({ tcpFlood: { sent: N, ok, refused503: refused } }));
    expect(ok + refused).toBe(N);
    expect(ok).toBeGreaterThanOrEqual(DEFAULT_SIP_LIMITS.burst);
    expect(ok).toBeLessThan(DEFAULT_SIP_LIMITS.burst + 200);
    expect(text).toMatch(/^Retry-After: \d+\r$/m);
    expect((await counter('sip_rate_limited_total', { transport: 'tcp' })) - before).toBe(refused);
  });
});

describe('failed digests', () => {
  const register = (c: SipStack, user: string, password: string, callId: string, contactPort: number): Promise<SipResponse> =>
    c.request(`sip:127.0.0.1:${PORT}`, {
      method: 'REGISTER',
      from: `<sip:${user}@cc.test>`,
      to: `<sip:${user}@cc.test>`,
      callId,
      headers: { Contact: `<sip:${user}@127.0.0.1:${contactPort}>`, Expires: '120' },
      auth: { username: user, password },
    });

  it('50 wrong passwords for agent1 from 127.0.0.4 lock that pair; the right one from there is refused; agent1 registers from 127.0.0.1', async () => {
    const lockBefore = await counter('sip_auth_lockouts_total', { scope: 'user' });
    const attacker = await clientOn('127.0.0.4', 26164);
    const phone = await clientOn('127.0.0.1', 26165);
    const statuses: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) statuses.push((await register(attacker, 'agent1', `guess${i}`, `brute-${i}`, 26164)).status);
    const ms = Date.now() - t0;
    // Five guesses are checked (401); from then on the pair is refused before any check (403).
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([403]));
    const right = await register(attacker, 'agent1', 'secret1', 'brute-right', 26164);
    expect(right.status).toBe(403);
    expect(right.reason).toMatch(/too many failed attempts/);
    const wait = Number(right.get('retry-after'));
    expect(wait).toBeGreaterThan(50);
    expect(wait).toBeLessThanOrEqual(60);
    // The real agent, from the address it always uses.
    const real = await register(phone, 'agent1', 'secret1', 'real-1', 26165);
    expect(real.status).toBe(200);
    expect(await srv.lookup('agent1')).toHaveLength(1);
    console.log(JSON.stringify({ bruteForce: { attempts: 50, checked: 5, refused: 45, ms, retryAfter: wait, realAgent: real.status } }));
    expect((await counter('sip_auth_lockouts_total', { scope: 'user' })) - lockBefore).toBe(1);
    const warned = lines.filter((l) => l.msg === 'sip user locked out from this source after failed digests');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ source: '127.0.0.4', user: 'agent1', lockSec: 60, strike: 1 });
  });

  it('20 failures for different users from 127.0.0.5 lock the source for every user; agent2 still registers from 127.0.0.1', async () => {
    const lockBefore = await counter('sip_auth_lockouts_total', { scope: 'source' });
    const sprayer = await clientOn('127.0.0.5', 26166);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await register(sprayer, `user${i}`, 'password', `spray-${i}`, 26166)).status);
    expect(new Set(statuses)).toEqual(new Set([401]));
    // Now even a right password for another user, and even without credentials, from that source.
    expect((await register(sprayer, 'agent2', 'secret2', 'spray-right', 26166)).status).toBe(403);
    const phone = clients[1]!;
    expect((await register(phone, 'agent2', 'secret2', 'real-2', 26165)).status).toBe(200);
    expect((await counter('sip_auth_lockouts_total', { scope: 'source' })) - lockBefore).toBe(1);
    expect(lines.filter((l) => l.msg === 'sip source locked out after failed digests')[0]).toMatchObject({ source: '127.0.0.5' });
  });
});

describe('connections per source', () => {
  it('beyond the limit, TCP connections from 127.0.0.6 are closed at once and its WebSocket upgrade gets 503; others connect', async () => {
    srv.guard!.configure({ ...DEFAULT_SIP_LIMITS, connectionsPerSource: 5 });
    const before = await counter('sip_connections_refused_total');
    const socks = Array.from({ length: 8 }, () => net.connect({ host: '127.0.0.1', port: PORT, localAddress: '127.0.0.6' }));
    const closed = new Set<net.Socket>();
    for (const s of socks) {
      s.on('close', () => closed.add(s));
      s.on('error', () => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(closed.size).toBe(3);
    expect(srv.guard!.openConnections('127.0.0.6')).toBe(5);
    // An open one is served.
    const open = socks.find((s) => !closed.has(s))!;
    let reply = '';
    open.on('data', (d: Buffer) => (reply += d.toString()));
    open.write(
      `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.6:${open.localPort};branch=z9hG4bK-c1\r\nMax-Forwards: 70\r\n` +
        `From: <sip:c@127.0.0.6>;tag=c1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: conn-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    );
    for (let i = 0; i < 100 && !reply.includes('SIP/2.0 200'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(reply).toMatch(/^SIP\/2\.0 200/);
    // WebSocket counts with TCP: 127.0.0.6 is at its limit; 127.0.0.1 is not.
    const wsStatus = (localAddress: string): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${WS_PORT}/`, 'sip', { localAddress });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
      });
    expect(await wsStatus('127.0.0.6')).toBe(503);
    expect(await wsStatus('127.0.0.1')).toBe(101);
    // Closing connections makes room again.
    for (const s of socks) s.destroy();
    for (let i = 0; i < 100 && srv.guard!.openConnections('127.0.0.6') > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(srv.guard!.openConnections('127.0.0.6')).toBe(0);
    expect(await wsStatus('127.0.0.6')).toBe(101);
    expect((await counter('sip_connections_refused_total')) - before).toBe(4);
    expect(lines.filter((l) => String(l.msg).includes('connection limit'))).toHaveLength(1);
    srv.guard!.configure(DEFAULT_SIP_LIMITS);
  });
});
