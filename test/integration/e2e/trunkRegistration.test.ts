/**
 * Outbound trunk registration started from centre.yaml (`outbound.trunks.<name>.register`), against
 * sipp registrars on 127.0.0.1:
 *
 * - "carrier" registers with a registrar that challenges (401) and checks the digest (sipp
 *   verifyauth: a wrong answer gets 403 and fails the scenario), then grants 2 s, so the centre
 *   refreshes within the test (a second challenged, verified round); GET /api/v1/live shows it
 *   registered with the granted expiry, and /metrics has sip_trunk_registration_status 1;
 * - "rejecting" registers with a registrar that answers 403: the live view shows it failed with
 *   "403 Forbidden" and when it will try again, and the gauge is -1.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { startSipp, type SippHandle } from '../../support/sipp.ts';
import { waitFor } from '../../support/waitFor.ts';

const PORTS = { sip: 24860, http: 24880, pg: 24833, rtc: 24600 };
const REGISTRAR = 24560;
const REJECTING = 24570;

let tc: TestCentre;
const sipps: SippHandle[] = [];

const RESPONSE = (status: string, extra: string) => `
  <send>
    <![CDATA[
      SIP/2.0 ${status}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]reg[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      ${extra}
      Content-Length: 0
    ]]>
  </send>`;

/** One challenged round: 401, then the digest checked; a wrong one is answered 403 and fails the run. */
const ROUND = (n: number) => `
  <recv request="REGISTER"/>
${RESPONSE('401 Unauthorized', 'WWW-Authenticate: Digest realm="carrier.test", nonce="n0nce' + n + 'abcdef", algorithm=MD5')}
  <recv request="REGISTER">
    <action><verifyauth assign_to="valid${n}" username="centre" password="s3cret"/></action>
  </recv>
  <nop test="valid${n}" next="ok${n}"/>
${RESPONSE('403 Forbidden', '')}
  <recv request="NEVER" timeout="500"/>
  <label id="ok${n}"/>
${RESPONSE('200 OK', 'Expires: 2')}`;

const registrarXml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier registrar">
${ROUND(1)}
${ROUND(2)}
</scenario>`;

const rejectingXml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="registrar that refuses">
  <recv request="REGISTER"/>
${RESPONSE('403 Forbidden', '')}
</scenario>`;

interface TrunkView {
  trunk: string;
  status: string;
  lastError?: string;
  expires?: number;
  failures: number;
  nextAttemptAt?: number;
  registrar: string;
  aor: string;
}

const SUP = { authorization: `Basic ${Buffer.from('9001:sam9001').toString('base64')}` };
const live = async (): Promise<TrunkView[]> => {
  const r = await fetch(new URL('/api/v1/live', tc.httpUrl), { headers: SUP });
  expect(r.status).toBe(200);
  return ((await r.json()) as { trunks: TrunkView[] }).trunks;
};
const gauge = async (trunk: string): Promise<number | undefined> => {
  const text = await (await fetch(new URL('/metrics', tc.httpUrl))).text();
  const m = new RegExp(`^sip_trunk_registration_status\\{trunk="${trunk}"\\} (-?\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

beforeAll(async () => {
  // The registrars listen first: the centre registers as it starts.
  const dir = mkdtempSync(join(tmpdir(), 'cc-trunkreg-'));
  writeFileSync(join(dir, 'registrar.xml'), registrarXml);
  writeFileSync(join(dir, 'rejecting.xml'), rejectingXml);
  sipps.push(startSipp({ scenario: join(dir, 'registrar.xml'), localPort: REGISTRAR, calls: 1, timeoutSec: 90 }));
  sipps.push(startSipp({ scenario: join(dir, 'rejecting.xml'), localPort: REJECTING, calls: 1, timeoutSec: 90 }));
  tc = await startTestCentre(PORTS, {
    env: { CC_RTP_MIN_PORT: '24900', CC_RTP_MAX_PORT: '24949' },
    edits: {
      'centre.yaml': [
        [
          "      # username: centre       # digest credentials for the carrier's 401/407\n      # password: secret\n",
          `      username: centre\n      password: s3cret\n      register: { expiresSec: 60, registrar: "127.0.0.1:${REGISTRAR}" }\n`,
        ],
        [
          '  routes:\n    - prefix: "+"',
          `    rejecting:\n      host: 127.0.0.1\n      port: ${REJECTING}\n      username: other\n      password: nope\n      register: {}\n      callerId: { centre: "+442079460000" }\n  routes:\n    - prefix: "+"`,
        ],
      ],
    },
  });
});
afterAll(async () => {
  for (const s of sipps) await s.stop();
  await tc?.stop();
});

describe('outbound trunk registration from centre.yaml', () => {
  it('registers with digest, refreshes before expiry, and shows a refusal with its reason', async () => {
    expect((await live()).map((t) => t.trunk).sort()).toEqual(['carrier', 'rejecting']);
    const [registrar, rejecting] = sipps as [SippHandle, SippHandle];
    const carrier = await waitFor(async () => (await live()).find((t) => t.trunk === 'carrier' && t.status === 'registered'), {
      timeoutMs: 20_000,
      what: 'the carrier trunk registered',
      detail: () => JSON.stringify(tc.centre.config.outbound?.trunks),
    });
    expect(carrier).toMatchObject({ expires: 2, failures: 0, registrar: `sip:127.0.0.1:${REGISTRAR}`, aor: 'sip:centre@127.0.0.1' });
    expect(await gauge('carrier')).toBe(1);

    // The registrar's second round: the refresh, again challenged and checked (exit 0).
    const r = await registrar.done;
    expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
    expect(r.successful).toBe(1);

    const refused = await waitFor(
      async () => (await live()).find((t) => t.trunk === 'rejecting' && t.status === 'failed' && t.lastError === '403 Forbidden'),
      {
        timeoutMs: 20_000,
        what: 'the rejecting trunk failed with 403',
      },
    );
    expect(refused.nextAttemptAt).toBeGreaterThan(Date.now());
    expect(await gauge('rejecting')).toBe(-1);
    expect((await rejecting.done).exitCode).toBe(0);
  }, 90_000);
});
