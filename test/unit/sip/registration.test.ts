import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { log } from '../../../lib/log.ts';
import { metrics } from '../../../lib/metrics.ts';
import { SipResponse } from '../../../server/sip/message.ts';
import type { OutOfDialogRequest } from '../../../server/sip/uac.ts';
import { register, type RegistrationState } from '../../../server/sip/registration.ts';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A registrar that answers from a script: each entry is a status and optional headers. */
function setup(script: { status: number; reason?: string; headers?: Record<string, string | string[]> }[]) {
  const clock = new FakeClock(0);
  const sent: { at: number; expires: string | undefined; cseq: number | undefined }[] = [];
  const host = {
    clock,
    log,
    contactFor: () => '<sip:cc@192.0.2.10:5060>',
    request: (_target: string, o: OutOfDialogRequest): Promise<SipResponse> => {
      const h = o.headers as Record<string, string>;
      sent.push({ at: clock.now(), expires: h.Expires, cseq: o.cseq });
      const next = script.shift() ?? { status: 200 };
      const res = new SipResponse(next.status, next.reason ?? 'X');
      res.set('cseq', `${o.cseq ?? 1} REGISTER`);
      for (const [k, v] of Object.entries(next.headers ?? {})) res.headers.set(k.toLowerCase(), Array.isArray(v) ? v : [v]);
      return Promise.resolve(res);
    },
  };
  return { clock, sent, host };
}

async function gauge(trunk: string): Promise<number | undefined> {
  const m = await metrics.getSingleMetric('sip_trunk_registration_status')?.get();
  return m?.values.find((v) => v.labels.trunk === trunk)?.value;
}

describe('outbound trunk registration', () => {
  it('registers, takes the expiry granted to our Contact, refreshes at 80 % of it; gauge 1', async () => {
    const { clock, sent, host } = setup([
      { status: 200, headers: { Contact: ['<sip:other@192.0.2.99>;expires=30', '<sip:cc@192.0.2.10:5060>;expires=100'], Expires: '3600' } },
      { status: 200, headers: { Expires: '50' } },
    ]);
    const states: RegistrationState[] = [];
    const reg = register(host, { trunk: 'unit-a', registrar: 'sip:reg.example', aor: 'sip:t@example', expires: 600 });
    reg.on('state', (s) => states.push(s));
    await flush();
    expect(reg.registered).toBe(true);
    expect(reg.state).toMatchObject({ status: 'registered', expires: 100, expiresAt: 100_000, failures: 0, nextAttemptAt: 80_000 });
    expect(await gauge('unit-a')).toBe(1);
    clock.advance(79_999);
    await flush();
    expect(sent).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(sent.map((s) => s.at)).toEqual([0, 80_000]);
    expect(sent[1]!.cseq).toBe(2);
    expect(reg.state).toMatchObject({ expires: 50, expiresAt: 130_000 });
    expect(states.map((s) => s.status)).toEqual(['registered', 'registered']);
    await reg.stop();
  });

  it('failures back off 30 s, 60 s, 120 s … capped; Retry-After wins; a success resets; gauge -1 then 1', async () => {
    const { clock, sent, host } = setup([
      { status: 503, reason: 'Service Unavailable' },
      { status: 408, reason: 'Request Timeout' },
      { status: 403, reason: 'Forbidden' },
      { status: 401, reason: 'Unauthorized' },
      { status: 503, reason: 'Service Unavailable', headers: { 'Retry-After': '7 (maintenance)' } },
      { status: 200, headers: { Expires: '300' } },
      { status: 500, reason: 'Server Internal Error' },
    ]);
    const failed: string[] = [];
    const reg = register(host, {
      trunk: 'unit-b',
      registrar: 'sip:reg.example',
      aor: 'sip:t@example',
      retry: { initialMs: 30_000, maxMs: 200_000 },
    });
    reg.on('failed', (s) => failed.push(`${s.lastError}#${s.failures}`));
    await flush();
    expect(reg.state).toMatchObject({
      status: 'failed',
      lastStatus: 503,
      lastError: '503 Service Unavailable',
      failures: 1,
      nextAttemptAt: 30_000,
    });
    expect(await gauge('unit-b')).toBe(-1);
    // Step time so each REGISTER's (async) answer is handled before the next timer is due.
    for (let i = 0; i < 700; i++) {
      clock.advance(1000);
      await flush();
    }
    // 0, +30 s, +60 s, +120 s, +200 s (cap), +7 s (Retry-After) -> 200 -> refresh 240 s later fails 500
    // -> the back-off starts again at 30 s.
    expect(sent.map((s) => s.at)).toEqual([0, 30_000, 90_000, 210_000, 410_000, 417_000, 657_000, 687_000]);
    expect(failed).toEqual([
      '503 Service Unavailable#1',
      '408 Request Timeout#2',
      '403 Forbidden#3',
      '401 Unauthorized#4',
      '503 Service Unavailable#5',
      '500 Server Internal Error#1',
    ]);
    await reg.stop();
  });

  it('423 Interval Too Brief: asks again at once with Min-Expires', async () => {
    const { sent, host } = setup([{ status: 423, reason: 'Interval Too Brief', headers: { 'Min-Expires': '1800' } }, { status: 200 }]);
    const reg = register(host, { registrar: 'sip:reg.example', aor: 'sip:t@example', expires: 60 });
    await flush();
    await flush();
    expect(sent.map((s) => s.expires)).toEqual(['60', '1800']);
    expect(reg.state).toMatchObject({ status: 'registered', expires: 1800, trunk: 'sip:t@example' });
    await reg.stop();
  });

  it('stop() un-registers with Expires: 0 and ends unregistered (gauge 0), no more REGISTERs', async () => {
    const { clock, sent, host } = setup([{ status: 200, headers: { Expires: '60' } }, { status: 200 }]);
    const reg = register(host, { trunk: 'unit-c', registrar: 'sip:reg.example', aor: 'sip:t@example' });
    const seen: string[] = [];
    reg.on('unregistered', (s) => seen.push(s.status));
    await flush();
    await reg.stop();
    expect(sent.map((s) => s.expires)).toEqual(['3600', '0']);
    expect(seen).toEqual(['unregistered']);
    expect(await gauge('unit-c')).toBe(0);
    clock.advance(1_000_000);
    await flush();
    expect(sent).toHaveLength(2);
  });
});
