/**
 * Floor alerts reach a webhook receiver (issue 16): a real HTTP receiver on 127.0.0.1 subscribed to
 * alert.raised and alert.cleared (config/aftercall.yaml); one sipp caller waits in sales with no agent
 * logged in, so the rule "sales-waiting, yellow at 1 caller, held 0.5 s" is raised; the caller hangs up
 * and it clears. Both events arrive once each, in order, signed with the webhook's secret (HMAC).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { verify } from '../../../server/webhooks/sign.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';

const SECRET = 'alert-secret-0123456789abcdef';
const RECEIVER_PORT = 40440;
const FLOOR = `floor:
  sampleSec: 0.25
  alerts:
    - name: sales-waiting
      metric: waiting
      scope: { queue: sales }
      levels: { yellow: 1 }
      minDurationSec: 0.5

trunks:
`;

interface Received {
  type: string;
  data: Record<string, unknown>;
  ok: boolean;
  body: string;
  signature: string;
  at: number;
}
const received: Received[] = [];
let receiver: Server;
let tc: TestCentre;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers['x-cc-signature'] ?? '');
      const v = verify(SECRET, signature, body, Date.now());
      const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      received.push({ type: parsed.type, data: parsed.data, ok: v.ok, body, signature, at: Date.now() });
      res.writeHead(v.ok ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(RECEIVER_PORT, '127.0.0.1', () => resolve()));
  tc = await startTestCentre(
    { sip: 40410, http: 40420, pg: 40430, rtc: 40500 },
    {
      env: { CC_RTP_MIN_PORT: '40700', CC_RTP_MAX_PORT: '40799' },
      edits: {
        'centre.yaml': [['\ntrunks:\n', `\n${FLOOR}`]],
        'aftercall.yaml': [
          [
            'webhooks: []',
            `webhooks:\n  - { name: noc, url: "http://127.0.0.1:${RECEIVER_PORT}/alerts", secret: ${SECRET}, events: [alert.raised, alert.cleared] }`,
          ],
          ['webhookRetry: { baseSec: 1, maxSec: 300 }', 'webhookRetry: { baseSec: 0.5, maxSec: 2 }'],
        ],
      },
    },
  );
});
afterAll(async () => {
  await tc?.stop();
  await new Promise((r) => receiver?.close(r));
});

describe('floor alerts to a webhook', () => {
  it('a raised and then cleared alert reach the receiver, signed', async () => {
    expect(tc.centre.acd.snapshot().queues.find((q) => q.queue === 'sales')?.agentsLoggedIn).toBe(0);
    const t0 = Date.now();
    const caller = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      holdMs: 6_000,
      sipPort: 40450,
      mediaPort: 40460,
      caller: '15550501',
    });
    await waitFor(() => received.some((r) => r.type === 'alert.raised'), {
      timeoutMs: 20_000,
      what: 'alert.raised at the receiver',
    });
    const raisedAt = Date.now();
    expect(tc.centre.acd.snapshot().queues.find((q) => q.queue === 'sales')?.waiting).toBe(1); // raised while the caller waits
    await caller.done;
    const hungUp = Date.now();
    await waitFor(() => received.some((r) => r.type === 'alert.cleared'), { timeoutMs: 15_000, what: 'alert.cleared at the receiver' });
    console.log(
      `[alert webhook] raised arrived ${raisedAt - t0} ms after the call was placed; cleared ${received.find((r) => r.type === 'alert.cleared')!.at - hungUp} ms after the caller hung up`,
    );

    expect(received.map((r) => r.type)).toEqual(['alert.raised', 'alert.cleared']);
    expect(received.every((r) => r.ok)).toBe(true);
    expect(received[0]!.data).toMatchObject({
      kind: 'raised',
      rule: 'sales-waiting',
      metric: 'waiting',
      scope: 'queue:sales',
      level: 'yellow',
      value: 1,
    });
    expect(received[1]!.data).toMatchObject({ kind: 'cleared', rule: 'sales-waiting', level: null, previous: 'yellow', value: 0 });
    // The check bites: another secret, or a changed body, does not verify.
    const r0 = received[0]!;
    expect(verify('not-the-secret-0123456789abcdef', r0.signature, r0.body, Date.now()).ok).toBe(false);
    expect(verify(SECRET, r0.signature, r0.body.replace('yellow', 'red'), Date.now()).ok).toBe(false);
  });
});
