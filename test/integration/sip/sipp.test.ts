/**
 * The stack against sipp (a real, independent SIP implementation) over UDP and TCP: sipp's
 * built-in uac and uas scenarios, the same with 20 % packet loss, and CANCEL both ways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SipStack, SipError, type SipServerResponse, type Dialog, type SipRequest } from '../../../server/sip/index.ts';
import { runSipp, startSipp } from '../../support/sipp.ts';
import { metrics } from '../../../lib/metrics.ts';

const PORT = 25060;
const SDP = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const scenario = (f: string): string => fileURLToPath(new URL(`./scenarios/${f}`, import.meta.url));

let sip: SipStack;
let mode: 'answer' | 'ring' = 'answer';
const answered: Dialog[] = [];
const ended: string[] = [];
const cancels: string[] = [];

beforeAll(async () => {
  sip = new SipStack({ realm: 'test' });
  await sip.listen({ udp: { host: '127.0.0.1', port: PORT }, tcp: { host: '127.0.0.1', port: PORT } });
  sip.on('invite', async (req: SipRequest, res: SipServerResponse) => {
    if (mode === 'ring') {
      res.send(180);
      res.on('cancel', () => cancels.push(req.callId));
      return;
    }
    const d = await sip.createUAS(req, res, { localSdp: SDP });
    answered.push(d);
    d.on('destroy', () => ended.push(d.callId));
  });
});

afterAll(async () => {
  await sip.close();
});

async function ourRetransmissions(): Promise<number> {
  const m = await metrics.getSingleMetric('sip_retransmissions_total')?.get();
  return (m?.values ?? []).reduce((a, v) => a + v.value, 0);
}

/**
 * Readiness of a background sipp: its socket is bound (UDP) or listening (TCP) on 127.0.0.1:port,
 * read from /proc/net (CI and this suite run on Linux). A fixed sleep passed or failed depending
 * on machine load; sending a probe would count as a failed call in sipp's scenario.
 */
async function bound(port: number, proto: 'udp' | 'tcp', ms = 10_000): Promise<void> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const t0 = Date.now();
  for (;;) {
    const lines = readFileSync(`/proc/net/${proto}`, 'utf8').split('\n').slice(1);
    // Columns: sl local_address rem_address st ...; TCP LISTEN is state 0A.
    if (
      lines.some((l) => {
        const c = l.trim().split(/\s+/);
        return c[1] === local && (proto === 'udp' || c[3] === '0A');
      })
    )
      return;
    if (Date.now() - t0 > ms) throw new Error(`sipp is not ${proto === 'udp' ? 'bound' : 'listening'} on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function explain(r: { exitCode: number; failed: number; successful: number; errors: string; stderr: string }): string {
  return `exit=${r.exitCode} ok=${r.successful} failed=${r.failed}\n${r.stderr.slice(-1500)}\n${r.errors.slice(-2500)}`;
}

describe('sipp uac -> stack (UAS)', () => {
  it('completes 30 calls over UDP', async () => {
    mode = 'answer';
    const before = answered.length;
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${PORT}`, localPort: 25061, calls: 30, rate: 30, transport: 'u1' });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.successful).toBe(30);
    expect(r.failed).toBe(0);
    expect(answered.length - before).toBe(30);
    // Every answered dialog saw the caller's BYE.
    const mine = answered.slice(before);
    await until(() => mine.every((d) => d.state === 'terminated'), 'every dialog to end with the BYE');
    expect(mine.filter((d) => ended.includes(d.callId))).toHaveLength(30);
  });

  it('completes 30 calls over TCP', async () => {
    mode = 'answer';
    const r = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${PORT}`, localPort: 25062, calls: 30, rate: 30, transport: 't1' });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.successful).toBe(30);
    expect(r.failed).toBe(0);
  });

  it('completes 30 calls over UDP with 20 % packet loss (retransmissions on both sides)', async () => {
    mode = 'answer';
    const r = await runSipp({
      scenario: 'uac',
      remote: `127.0.0.1:${PORT}`,
      localPort: 25063,
      calls: 30,
      rate: 10,
      limit: 30,
      lost: 20,
      transport: 'u1',
      timeoutSec: 100,
    });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.successful).toBe(30);
    expect(r.failed).toBe(0);
    expect(r.retransmissions).toBeGreaterThan(0);
  });

  it('CANCEL while ringing: 200 to CANCEL, 487 to INVITE, the app sees the cancel', async () => {
    mode = 'ring';
    cancels.length = 0;
    const r = await runSipp({
      scenario: scenario('uac-cancel.xml'),
      remote: `127.0.0.1:${PORT}`,
      localPort: 25064,
      calls: 5,
      rate: 5,
      transport: 'u1',
      service: 'queue',
    });
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.successful).toBe(5);
    expect(r.failed).toBe(0);
    expect(cancels).toHaveLength(5);
  });
});

describe('stack (UAC) -> sipp uas', () => {
  async function callsTo(port: number, n: number, transport: 'udp' | 'tcp'): Promise<number> {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const d = await sip.createUAC(`sip:service@127.0.0.1:${port}${transport === 'tcp' ? ';transport=tcp' : ''}`, { localSdp: SDP });
      expect(d.state).toBe('confirmed');
      expect(d.remoteSdp).toContain('m=audio');
      await d.destroy();
      ok++;
    }
    return ok;
  }

  it('places 10 calls over UDP and 10 over TCP to sipp uas', async () => {
    const udp = startSipp({ scenario: 'uas', localPort: 25070, calls: 10, transport: 'u1' });
    await bound(25070, 'udp');
    expect(await callsTo(25070, 10, 'udp')).toBe(10);
    const ru = await udp.done;
    expect(ru.exitCode, explain(ru)).toBe(0);
    expect(ru.successful).toBe(10);

    const tcp = startSipp({ scenario: 'uas', localPort: 25071, calls: 10, transport: 't1' });
    await bound(25071, 'tcp');
    expect(await callsTo(25071, 10, 'tcp')).toBe(10);
    const rt = await tcp.done;
    expect(rt.exitCode, explain(rt)).toBe(0);
    expect(rt.successful).toBe(10);
  });

  it('places 30 calls over UDP to sipp uas with 20 % loss', async () => {
    // uas-lossy.xml is the built-in uas with sipp's own sends exempt from -lost (see the file), so
    // the loss falls on our ACKs and BYEs: lost BYEs must be recovered by our Timer E.
    const retransBefore = await ourRetransmissions();
    const uas = startSipp({ scenario: scenario('uas-lossy.xml'), localPort: 25072, calls: 30, transport: 'u1', lost: 20, timeoutSec: 100 });
    await bound(25072, 'udp');
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, async (_v, i) => {
        await new Promise((r) => setTimeout(r, i * 50));
        const d = await sip.createUAC('sip:service@127.0.0.1:25072', { localSdp: SDP });
        await new Promise((r) => setTimeout(r, 200));
        await d.destroy();
      }),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.map((f) => String(f.reason))).toEqual([]);
    const r = await uas.done;
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.successful).toBe(30);
    expect(await ourRetransmissions()).toBeGreaterThan(retransBefore);
  });

  it('CANCELs a ringing call when the signal aborts', async () => {
    const uas = startSipp({ scenario: scenario('uas-ring-cancel.xml'), localPort: 25073, calls: 3, transport: 'u1' });
    await bound(25073, 'udp');
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      let rang = false;
      const p = sip.createUAC('sip:service@127.0.0.1:25073', {
        localSdp: SDP,
        signal: ac.signal,
        onProvisional: (res) => {
          if (res.status === 180) {
            rang = true;
            ac.abort();
          }
        },
      });
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SipError);
      expect((err as SipError).status).toBe(487);
      expect(rang).toBe(true);
    }
    const r = await uas.done;
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.successful).toBe(3);
  });

  it('rejects with the final status when the callee refuses, and 408 when nobody answers', async () => {
    // Nobody listens on 25079: ICMP port unreachable is invisible to UDP sends, so Timer B fires.
    const fast = new SipStack({ timers: { T1: 20 } });
    await fast.listen({ udp: { host: '127.0.0.1', port: 25078 } });
    try {
      await expect(fast.createUAC('sip:nobody@127.0.0.1:25079', { localSdp: SDP })).rejects.toMatchObject({ status: 408 });
      // Our own stack answers 480 when the app has no invite listener.
      await expect(fast.createUAC(`sip:x@127.0.0.1:25078`, { localSdp: SDP })).rejects.toMatchObject({ status: 480 });
    } finally {
      await fast.close();
    }
  });
});
