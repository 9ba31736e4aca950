/**
 * Failover across a carrier's addresses for our outbound INVITE (server/sip/locate.ts, RFC 3263)
 * against real peers on loopback: a closed TCP port (connection refused), a silent UDP port (no
 * response within the attempt timeout), a sipp answering 503, and a sipp UAS that answers 200.
 * The SRV case uses an injected resolver (no DNS) whose priorities put the 503 first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  SipStack,
  SipError,
  inviteWithFailover,
  resolveTargets,
  type Destination,
  type LocateResolver,
} from '../../../server/sip/index.ts';
import { startSipp, type SippHandle } from '../../support/sipp.ts';

const PORT = 31200;
const SDP = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const scenario = (f: string): string => fileURLToPath(new URL(`./scenarios/${f}`, import.meta.url));

let sip: SipStack;
const peers: SippHandle[] = [];

beforeAll(async () => {
  sip = new SipStack({ realm: 'test', guard: false });
  await sip.listen({ udp: { host: '127.0.0.1', port: PORT }, tcp: { host: '127.0.0.1', port: PORT } });
});

afterAll(async () => {
  for (const p of peers) await p.stop();
  await sip.close();
});

async function bound(port: number, ms = 10_000): Promise<void> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const t0 = Date.now();
  for (;;) {
    const lines = readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1);
    if (lines.some((l) => l.trim().split(/\s+/)[1] === local)) return;
    if (Date.now() - t0 > ms) throw new Error(`sipp is not bound on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function peer(port: number, kind: 'answer' | 503 | 486 | 'late'): Promise<SippHandle> {
  const h =
    kind === 'answer'
      ? startSipp({ scenario: 'uas', localPort: port, calls: 1, transport: 'u1', timeoutSec: 30 })
      : startSipp({ scenario: scenario(`uas-${kind}.xml`), localPort: port, calls: 1, transport: 'u1', timeoutSec: 30 });
  peers.push(h);
  await bound(port);
  return h;
}

describe('outbound INVITE failover (RFC 3263)', () => {
  it('refused TCP, silent UDP, 503: each skipped in list order; the call is set up through the fourth address', async () => {
    const busy = await peer(31203, 503);
    const good = await peer(31204, 'answer');
    const attempts: string[] = [];
    const failures: string[] = [];
    const t0 = Date.now();
    const d = await inviteWithFailover(
      sip,
      'sip:+441234567@carrier.test',
      { localSdp: SDP, timeoutMs: 20_000 },
      {
        targets: ['127.0.0.1:31201;transport=tcp', '127.0.0.1:31202', '127.0.0.1:31203', '127.0.0.1:31204'],
        attemptTimeoutMs: 1000,
        onAttempt: (dest) => attempts.push(`${dest.transport}:${dest.port}`),
        onFailover: (dest, err) => failures.push(`${dest.port}:${err.status}:${err.response ? 'response' : 'local'}`),
      },
    );
    const elapsed = Date.now() - t0;
    expect(attempts).toEqual(['tcp:31201', 'udp:31202', 'udp:31203', 'udp:31204']);
    expect(failures).toEqual(['31201:503:local', '31202:408:local', '31203:503:response']);
    // The silent address cost one attempt timeout, not Timer B (32 s).
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(5000);
    expect(d.state).toBe('confirmed');
    expect(d.remoteSdp).toContain('m=audio');
    await d.destroy();
    expect((await good.done).successful).toBe(1);
    expect((await busy.done).exitCode).toBe(0);
  });

  it('SRV order from an injected resolver: priority 10 (a 503) before priority 20 (answers)', async () => {
    await peer(31205, 503);
    const good = await peer(31206, 'answer');
    const resolver: LocateResolver = {
      resolveSrv: (name) =>
        name === '_sip._udp.carrier.test'
          ? Promise.resolve([
              { name: 'b.carrier.test', port: 31206, priority: 20, weight: 0 },
              { name: 'a.carrier.test', port: 31205, priority: 10, weight: 0 },
            ])
          : Promise.resolve([]),
      lookup: () => Promise.resolve('127.0.0.1'),
    };
    const targets = await resolveTargets('carrier.test', { resolver });
    expect(targets.map((t: Destination) => t.port)).toEqual([31205, 31206]);
    const attempts: number[] = [];
    const d = await inviteWithFailover(
      sip,
      'sip:+441234567@carrier.test',
      { localSdp: SDP, timeoutMs: 20_000 },
      { targets: 'carrier.test', resolver, attemptTimeoutMs: 2000, onAttempt: (dest) => attempts.push(dest.port) },
    );
    expect(attempts).toEqual([31205, 31206]);
    await d.destroy();
    expect((await good.done).successful).toBe(1);
  });

  it('a final refusal other than 503 stops there: 486 from the first address, the second is never tried', async () => {
    await peer(31207, 486);
    const attempts: number[] = [];
    const err = await inviteWithFailover(
      sip,
      'sip:+441234567@carrier.test',
      { localSdp: SDP, timeoutMs: 20_000 },
      { targets: ['127.0.0.1:31207', '127.0.0.1:31208'], attemptTimeoutMs: 1000, onAttempt: (dest) => attempts.push(dest.port) },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SipError);
    expect((err as SipError).status).toBe(486);
    expect(attempts).toEqual([31207]);
  });

  it('an address that answers after the attempt timeout is CANCELled once the call has moved on (no ghost call)', async () => {
    const late = await peer(31211, 'late');
    const good = await peer(31212, 'answer');
    const attempts: number[] = [];
    const d = await inviteWithFailover(
      sip,
      'sip:+441234567@carrier.test',
      { localSdp: SDP, timeoutMs: 20_000 },
      { targets: ['127.0.0.1:31211', '127.0.0.1:31212'], attemptTimeoutMs: 1000, onAttempt: (dest) => attempts.push(dest.port) },
    );
    expect(attempts).toEqual([31211, 31212]);
    // sipp's scenario completes only if our CANCEL came for its late 180 (then 487 and our ACK).
    const r = await late.done;
    expect(r.exitCode, r.errors.slice(-2000)).toBe(0);
    expect(r.successful).toBe(1);
    await d.destroy();
    expect((await good.done).successful).toBe(1);
  });

  it('every address failing rejects with the last failure', async () => {
    const err = await inviteWithFailover(
      sip,
      'sip:+441234567@carrier.test',
      { localSdp: SDP },
      { targets: '127.0.0.1:31209;transport=tcp 127.0.0.1:31210', attemptTimeoutMs: 500 },
    ).catch((e: unknown) => e);
    expect((err as SipError).status).toBe(408);
    expect((err as SipError).reason).toBe('No Response');
  });
});
