/**
 * Reliable provisional responses (RFC 3262) against sipp, both directions:
 * - sipp calls us with `Require: 100rel` (a carrier that insists): we must not answer 420; our 180
 *   carries Require: 100rel + RSeq and Allow: PRACK; sipp's PRACK gets 200 and only then the 200
 *   to the INVITE goes out (the scenario fails on any other order).
 * - we call a sipp that sends 180/183 reliably: we PRACK each with the right RAck and CSeq, ignore
 *   the retransmitted 180 (no second PRACK, not shown to the application), and the dialog's BYE
 *   continues the CSeq after the PRACKs (the scenario checks every value).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SipStack, type SipError, type SipServerResponse, type Dialog, type SipRequest } from '../../../server/sip/index.ts';
import { metrics } from '../../../lib/metrics.ts';
import { runSipp, startSipp } from '../../support/sipp.ts';

const PORT = 31100;
const SDP = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const scenario = (f: string): string => fileURLToPath(new URL(`./scenarios/${f}`, import.meta.url));

let sip: SipStack;
const answered: Dialog[] = [];
const reliableAtInvite: boolean[] = [];

beforeAll(async () => {
  sip = new SipStack({ realm: 'test', guard: false });
  await sip.listen({ udp: { host: '127.0.0.1', port: PORT }, tcp: { host: '127.0.0.1', port: PORT } });
  sip.on('invite', async (req: SipRequest, res: SipServerResponse) => {
    reliableAtInvite.push(res.reliable !== undefined);
    res.send(180);
    // Asked at once: the stack holds the 2xx until the 180's PRACK.
    const d = await sip.createUAS(req, res, { localSdp: SDP });
    answered.push(d);
  });
});

afterAll(async () => {
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

function explain(r: { exitCode: number; failed: number; successful: number; errors: string; stderr: string }): string {
  return `exit=${r.exitCode} ok=${r.successful} failed=${r.failed}\n${r.stderr.slice(-1500)}\n${r.errors.slice(-2500)}`;
}

describe('RFC 3262 with sipp', () => {
  it('sipp requires 100rel: reliable 180, PRACK answered 200, the 2xx held until the PRACK (UDP, 10 calls)', async () => {
    const before = answered.length;
    reliableAtInvite.length = 0;
    const r = await runSipp({
      scenario: scenario('uac-100rel.xml'),
      remote: `127.0.0.1:${PORT}`,
      localPort: 31101,
      calls: 10,
      rate: 10,
      transport: 'u1',
      durationMs: 200,
      timeoutSec: 30,
    });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.successful).toBe(10);
    expect(r.failed).toBe(0);
    expect(answered.length - before).toBe(10);
    expect(reliableAtInvite).toEqual(Array(10).fill(true));
  });

  it('sipp requires 100rel over TCP', async () => {
    const r = await runSipp({
      scenario: scenario('uac-100rel.xml'),
      remote: `127.0.0.1:${PORT}`,
      localPort: 31102,
      calls: 5,
      rate: 5,
      transport: 't1',
      durationMs: 200,
      timeoutSec: 30,
    });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.successful).toBe(5);
  });

  it('we call a carrier that sends reliable 18x: PRACK each once (RAck, CSeq checked by sipp), ignore the retransmission', async () => {
    const uas = startSipp({ scenario: scenario('uas-100rel.xml'), localPort: 31103, calls: 1, transport: 'u1', timeoutSec: 30 });
    await bound(31103);
    const seen: string[] = [];
    const d = await sip.createUAC('sip:carrier@127.0.0.1:31103', {
      localSdp: SDP,
      timeoutMs: 10_000,
      onProvisional: (res) => seen.push(`${res.status}/${res.get('rseq') ?? '-'}`),
    });
    expect(seen).toEqual(['180/1', '183/2']);
    expect(d.remoteSdp).toContain('m=audio');
    await d.destroy();
    const r = await uas.done;
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.successful).toBe(1);
  });

  it('no PRACK: the 180 is retransmitted, and after 64*T1 the INVITE is rejected 504 and createUAS rejects', async () => {
    // T1 = 50 ms, so 64*T1 = 3.2 s.
    const quick = new SipStack({ realm: 'test', guard: false, timers: { T1: 50 } });
    await quick.listen({ udp: { host: '127.0.0.1', port: 31104 } });
    const outcome: string[] = [];
    let t0 = 0;
    quick.on('invite', async (req: SipRequest, res: SipServerResponse) => {
      t0 = Date.now();
      res.send(180);
      await quick.createUAS(req, res, { localSdp: SDP }).then(
        () => outcome.push('answered'),
        (err: unknown) => outcome.push(`${(err as SipError).status}@${Date.now() - t0}`),
      );
    });
    const sent1xx = async (): Promise<number> =>
      (await metrics.getSingleMetric('sip_messages_sent_total')?.get())?.values.find(
        (v) => v.labels.kind === '1xx' && v.labels.transport === 'udp',
      )?.value ?? 0;
    const before = await sent1xx();
    try {
      const r = await runSipp({
        scenario: scenario('uac-100rel-noprack.xml'),
        remote: '127.0.0.1:31104',
        localPort: 31105,
        calls: 1,
        transport: 'u1',
        timeoutSec: 30,
      });
      expect(r.exitCode, explain(r)).toBe(0);
      expect(outcome).toHaveLength(1);
      const [status, at] = outcome[0]!.split('@');
      expect(status).toBe('504');
      expect(Number(at)).toBeGreaterThanOrEqual(3200);
      expect(Number(at)).toBeLessThan(4500);
      // The 180 at 0, 50, 150, 350, 750, 1550, 3150 ms: 7 sends (the transaction's own re-sends on sipp's INVITE retransmissions may add some).
      expect((await sent1xx()) - before).toBeGreaterThanOrEqual(7);
    } finally {
      await quick.close();
    }
  });
});
