/**
 * The webhook outbox survives a restart: contact events written to the event log are copied to the
 * outbox by the database trigger; a dispatcher that cannot reach its receiver records the failed
 * attempts and is stopped (the centre going down); the store is closed and opened again on the same
 * Postgres data directory, a new dispatcher starts, the receiver comes up, and every event arrives
 * once, signed. A replayed event (same contact and seq) is not owed twice.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../lib/clock.ts';
import { WebhookSchema } from '../../../server/customers/config.ts';
import { PgWebhookStore } from '../../../server/store/webhooks.ts';
import { openStore, type Store } from '../../../server/store/store.ts';
import { WebhookDispatcher } from '../../../server/webhooks/dispatcher.ts';
import { verify } from '../../../server/webhooks/sign.ts';
import { waitFor } from '../../support/waitFor.ts';

const PG_PORT = 38434;
const RECEIVER_PORT = 38051;
const SECRET = 'outbox-secret-0123456789';
const root = mkdtempSync(join(tmpdir(), 'cc-outbox-it-'));
chmodSync(root, 0o755);
let store: Store | undefined;
let receiver: Server | undefined;

afterAll(async () => {
  await store?.close();
  await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
  rmSync(root, { recursive: true, force: true });
});

const hook = WebhookSchema.parse({
  name: 'crm',
  url: `http://127.0.0.1:${RECEIVER_PORT}/hook`,
  secret: SECRET,
  events: ['contact.offered', 'contact.answered', 'contact.ended', 'contact.wrapup', 'recording.saved'],
});
const open = () =>
  openStore({ embedded: { dataDir: join(root, 'pg'), port: PG_PORT }, spoolDir: join(root, 'spool'), writer: { flushDelayMs: 5 } });
const dispatcher = (s: Store) =>
  new WebhookDispatcher({
    store: new PgWebhookStore(s.pool),
    clock: new SystemClock(),
    hooks: () => [hook],
    pollMs: 200,
    backoff: () => ({ baseMs: 100, maxMs: 400 }),
  });

describe('webhook outbox', () => {
  it('delivers after a restart what the receiver missed while it was down', async () => {
    store = await open();
    const t = Date.now();
    const emit = (seq: number, f: Record<string, unknown>) => store!.emit({ contactId: 'c-outbox', seq, ts: t + seq, ...f });
    emit(1, { type: 'contact.arrived', caller: '+15550101', dialled: '100' });
    emit(2, { type: 'queue.enter', queue: 'sales' });
    emit(3, { type: 'queue.offer', queue: 'sales', agentId: '1001' });
    emit(4, { type: 'queue.connect', queue: 'sales', agentId: '1001' });
    emit(5, { type: 'call.end', endedBy: 'caller' });
    emit(6, { type: 'wrapup.start', agentId: '1001', queue: 'sales' });
    emit(7, { type: 'wrapup.end', agentId: '1001', disposition: 'sale', note: 'two boxes' });
    await store.flush();
    // The same event again (a spool replay): the log ignores it, so it is not owed twice.
    emit(3, { type: 'queue.offer', queue: 'sales', agentId: '1001' });
    await store.flush();

    const a = dispatcher(store);
    a.start();
    const ws = new PgWebhookStore(store.pool);
    await waitFor(async () => ((await ws.stats()).pending === 4 && (await failedAttempts(store!)) >= 8 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'failed attempts while the receiver is down',
    });
    a.stop();
    await store.close();
    store = undefined;

    // The centre starts again; the receiver is up now.
    const got: { type: string; ok: boolean; data: Record<string, unknown> }[] = [];
    receiver = await new Promise<Server>((resolve) => {
      const srv = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const p = JSON.parse(body) as { type: string; data: Record<string, unknown> };
          got.push({ type: p.type, data: p.data, ok: verify(SECRET, req.headers['x-cc-signature'] as string, body, Date.now()).ok });
          res.writeHead(200).end('ok');
        });
      });
      srv.listen(RECEIVER_PORT, '127.0.0.1', () => resolve(srv));
    });
    store = await open();
    const b = dispatcher(store);
    b.start();
    await waitFor(() => (got.length >= 4 ? true : undefined), { timeoutMs: 15_000, what: 'the owed webhooks' });
    await new Promise((r) => setTimeout(r, 500)); // nothing more may come
    b.stop();
    expect(got.map((g) => g.type)).toEqual(['contact.offered', 'contact.answered', 'contact.ended', 'contact.wrapup']);
    expect(got.every((g) => g.ok)).toBe(true);
    expect(got[3]!.data).toMatchObject({ contactId: 'c-outbox', seq: 7, disposition: 'sale', note: 'two boxes' });
    expect(await new PgWebhookStore(store.pool).stats()).toEqual({ pending: 0, delivered: 4, failed: 0 });
  });
});

async function failedAttempts(s: Store): Promise<number> {
  return Number((await s.pool.query<{ n: string }>('SELECT coalesce(sum(attempts), 0) AS n FROM webhook_deliveries')).rows[0]!.n);
}
