/**
 * Several nodes on one Postgres: a node closes the streams of a node that died (stale heartbeat,
 * or stopped), never those of a live node; and registrations kept in Postgres come back with their
 * remaining expiry (UDP only: a connection-bound binding died with its connection).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../lib/clock.ts';
import type { Binding } from '../../../server/sip/index.ts';
import { PgLocationStore } from '../../../server/store/locations.ts';
import { openStore, type Store } from '../../../server/store/store.ts';
import { waitFor } from '../../support/waitFor.ts';

const PORT = 55441;
let root: string;
let a: Store;
let b: Store;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cc-recovery-it-'));
  chmodSync(root, 0o755);
  const node = { heartbeatMs: 100, staleMs: 1_000 };
  const writer = { flushDelayMs: 5 };
  a = await openStore({ embedded: { dataDir: join(root, 'pg'), port: PORT }, spoolDir: join(root, 'spool-a'), node, writer });
  b = await openStore({ url: a.url, spoolDir: join(root, 'spool-b'), node, writer });
}, 120_000);
afterAll(async () => {
  await b?.close();
  await a?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const ended = async (id: string) =>
  (
    await a.pool.query<{ ended_by: string | null; end_cause: string | null; ms: string | null }>(
      `SELECT ended_by, end_cause, (extract(epoch FROM ended_at) * 1000)::bigint::text AS ms FROM contacts WHERE contact_id = $1`,
      [id],
    )
  ).rows[0];

describe('recovery with several nodes', () => {
  it('closes a dead node’s streams at its last heartbeat and leaves a live node’s alone', async () => {
    const t = Date.now() - 600_000;
    // A node that died ten minutes ago, elsewhere: one call queued, one agent logged in.
    await a.pool.query(
      `INSERT INTO cc_nodes (node_id, name, started_at, heartbeat_at) VALUES ('dead1', 'elsewhere', to_timestamp($1 / 1000.0), to_timestamp($2 / 1000.0))`,
      [t - 60_000, t + 30_000],
    );
    const emit = (s: Store, e: Record<string, unknown>) => expect(s.emit(e)).toBe(true);
    emit(a, { contactId: 'c-dead', seq: 1, ts: t, type: 'contact.arrived', caller: '1', dialled: '100', node: 'dead1' });
    emit(a, { contactId: 'c-dead', seq: 2, ts: t + 1_000, type: 'queue.enter', queue: 'sales' });
    emit(a, { contactId: 'agent:1001#dead1', seq: 1, ts: t - 30_000, type: 'agent.state', agentId: '1001', state: 'ready' });
    // B is alive: its call in the IVR must stay open.
    emit(b, { contactId: 'c-live', seq: 1, ts: Date.now(), type: 'contact.arrived', caller: '2', dialled: '100', node: b.node!.id });
    await a.flush();
    await b.flush();

    const reports = await a.recover();
    expect(reports.map((r) => [r.nodeId, r.at, r.streams])).toEqual([['dead1', t + 30_000, 2]]);
    await a.flush();
    expect(await ended('c-dead')).toEqual({ ended_by: 'system', end_cause: 'crash', ms: String(t + 30_000) });
    const q = await a.pool.query<{ event: string; reason: string }>(
      `SELECT event, reason FROM queue_events WHERE contact_id = 'c-dead' ORDER BY seq`,
    );
    expect(q.rows).toEqual([
      { event: 'ENTER', reason: null },
      { event: 'EXIT', reason: 'system' },
    ]);
    const st = await a.pool.query<{ state: string; reason: string }>(
      `SELECT state, reason FROM agent_state_changes WHERE stream_id = 'agent:1001#dead1' ORDER BY seq`,
    );
    expect(st.rows.at(-1)).toEqual({ state: 'logged-out', reason: 'crash' });
    expect((await ended('c-live'))?.ms).toBeNull();
    // Recovered once: a second pass finds nothing.
    expect(await a.recover()).toEqual([]);

    // B stops cleanly (its process would have finished the call; here it is left open), cause 'shutdown':
    // A's watch finds B gone and closes what it left.
    await b.close();
    await waitFor(async () => (await ended('c-live'))?.end_cause === 'shutdown', {
      timeoutMs: 10_000,
      what: 'A to recover the stopped node B',
    });
  }, 60_000);
});

describe('registrations in Postgres', () => {
  it('restores this node’s unexpired UDP bindings with their expiry; connection-bound ones are dropped', async () => {
    const clock = new SystemClock();
    const name = a.node!.name;
    const now = Date.now();
    const binding = (user: string, transport: 'udp' | 'ws', expiresAt: number): Binding => ({
      aor: `sip:${user}@cc.test`,
      contact: `sip:${user}@127.0.0.1:5070`,
      expiresAt,
      callId: `reg-${user}`,
      cseq: 1,
      source: { transport, address: '127.0.0.1', port: 5070, flowId: `${transport}-1`, localAddress: '127.0.0.1', localPort: 5060 },
      registeredAt: now - 1_000,
    });
    const first = new PgLocationStore(a.pool, clock, name);
    await first.save(binding('1001', 'udp', now + 1_800_000));
    await first.save(binding('1002', 'ws', now + 1_800_000));
    await first.save(binding('1003', 'udp', now + 60_000));
    await first.remove('sip:1003@cc.test', 'sip:1003@127.0.0.1:5070');
    expect(await first.count()).toBe(2);

    const second = new PgLocationStore(a.pool, clock, name);
    const restored = await second.restore();
    expect(restored.map((x) => [x.aor, x.expiresAt])).toEqual([['sip:1001@cc.test', now + 1_800_000]]);
    expect((await second.lookupUser('1001')).map((x) => x.contact)).toEqual(['sip:1001@127.0.0.1:5070']);
    expect(await second.lookupUser('1002')).toEqual([]);
    const rows = await a.pool.query<{ username: string }>('SELECT username FROM sip_registrations ORDER BY username');
    expect(rows.rows.map((r) => r.username)).toEqual(['1001']);
    // Another node's name restores nothing of ours.
    expect(await new PgLocationStore(a.pool, clock, 'other').restore()).toEqual([]);
  });
});
