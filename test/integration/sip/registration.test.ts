/**
 * Outbound trunk registration (server/sip/registration.ts) against sipp as the carrier's
 * registrar (scenarios/registrar-digest.xml): a 503 first (retried after the back-off), then a
 * 401 digest challenge answered with the trunk's credentials (sipp verifies them), 200 with a
 * 3 s expiry, a refresh before it lapses, and the un-REGISTER on stop. Wrong credentials end
 * 'failed' with 403. The state is read from the typed events and the prom-client gauge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SipStack, type RegistrationState } from '../../../server/sip/index.ts';
import { startSipp } from '../../support/sipp.ts';
import { metrics } from '../../../lib/metrics.ts';

const PORT = 31300;
const scenario = (f: string): string => fileURLToPath(new URL(`./scenarios/${f}`, import.meta.url));

let sip: SipStack;

beforeAll(async () => {
  sip = new SipStack({ realm: 'test', guard: false });
  await sip.listen({ udp: { host: '127.0.0.1', port: PORT } });
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

async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function gauge(trunk: string): Promise<number | undefined> {
  const m = await metrics.getSingleMetric('sip_trunk_registration_status')?.get();
  return m?.values.find((v) => v.labels.trunk === trunk)?.value;
}

describe('trunk registration with sipp as the registrar', () => {
  it('503 then retry after the back-off, digest 401 -> 200, refresh before expiry, un-REGISTER on stop', async () => {
    const registrar = startSipp({
      scenario: scenario('registrar-digest.xml'),
      localPort: 31301,
      calls: 1,
      transport: 'u1',
      timeoutSec: 30,
    });
    await bound(31301);
    const states: (RegistrationState & { at: number })[] = [];
    const t0 = Date.now();
    const reg = sip.register({
      trunk: 'carrier-a',
      registrar: 'sip:127.0.0.1:31301',
      aor: 'sip:trunk1@carrier.test',
      auth: { username: 'trunk1', password: 's3cret' },
      expires: 60,
      retry: { initialMs: 1000, maxMs: 5000 },
    });
    reg.on('state', (s) => states.push({ ...s, at: Date.now() - t0 }));
    await until(() => states.length >= 1, 'the first answer');
    expect(states[0]).toMatchObject({ status: 'failed', lastStatus: 503, lastError: '503 Service Unavailable', failures: 1 });
    expect(await gauge('carrier-a')).toBe(-1);
    await until(() => states.filter((s) => s.status === 'registered').length >= 2, 'register and one refresh');
    const [first, refresh] = states.filter((s) => s.status === 'registered');
    expect(first).toMatchObject({ expires: 3, failures: 0 });
    expect(first!.lastError).toBeUndefined();
    // Retried after the 1 s back-off; refreshed at 80 % of the 3 s granted (2.4 s), before it lapsed.
    expect(first!.at).toBeGreaterThanOrEqual(1000);
    expect(first!.at).toBeLessThan(2500);
    expect(refresh!.at - first!.at).toBeGreaterThanOrEqual(2300);
    expect(refresh!.at - first!.at).toBeLessThan(3000);
    expect(await gauge('carrier-a')).toBe(1);
    await reg.stop();
    expect(reg.state.status).toBe('unregistered');
    expect(await gauge('carrier-a')).toBe(0);
    const r = await registrar.done;
    // sipp verified both digests and saw Expires: 0 on the un-REGISTER (check_it in the scenario).
    expect(r.exitCode, `${r.stderr.slice(-1000)}\n${r.errors.slice(-2000)}`).toBe(0);
    expect(r.successful).toBe(1);
  });

  it('wrong password: 403 after the challenge, the trunk reports failed with the error', async () => {
    const registrar = startSipp({
      scenario: scenario('registrar-digest.xml'),
      localPort: 31302,
      calls: 1,
      transport: 'u1',
      timeoutSec: 30,
    });
    await bound(31302);
    const failed: RegistrationState[] = [];
    const reg = sip.register({
      trunk: 'carrier-b',
      registrar: 'sip:127.0.0.1:31302',
      aor: 'sip:trunk1@carrier.test',
      auth: { username: 'trunk1', password: 'wrong' },
      retry: { initialMs: 500, maxMs: 60_000 },
    });
    reg.on('failed', (s) => failed.push(s));
    await until(() => failed.length >= 2, 'two failures');
    expect(failed.map((s) => s.lastError)).toEqual(['503 Service Unavailable', '403 Forbidden']);
    expect(failed[1]).toMatchObject({ failures: 2, status: 'failed' });
    // Back-off doubled: the next attempt is 1 s after the second failure.
    expect(failed[1]!.nextAttemptAt! - Date.now()).toBeGreaterThan(500);
    expect(await gauge('carrier-b')).toBe(-1);
    await reg.stop();
    await registrar.stop();
  });
});
