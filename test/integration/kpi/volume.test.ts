/**
 * A synthetic day of 1 500 calls (about 13 000 events) through the real writer into embedded
 * Postgres, with the database killed and restarted twice while events keep coming; the KPIs read
 * back from the database must equal the engine's on the in-memory log, for every dimension.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeReport } from '../../../server/kpi/report.ts';
import { openStore, type Store } from '../../../server/store/store.ts';
import { syntheticDay } from '../../unit/kpi/syntheticDay.ts';

const PORT = 55438;
const day0 = Date.UTC(2026, 0, 5);
let root: string;
let store: Store;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cc-volume-it-'));
  chmodSync(root, 0o755);
  store = await openStore({
    embedded: { dataDir: join(root, 'pg'), port: PORT },
    spoolDir: join(root, 'spool'),
    writer: { flushDelayMs: 2, retryMinMs: 50, retryMaxMs: 300 },
  });
});
afterAll(async () => {
  await store?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a day of traffic through two database outages', () => {
  it('stores every event once and reports what the engine computes', async () => {
    const events = syntheticDay({ calls: 1_500, agents: 30, day: day0 });
    const cuts = [Math.floor(events.length * 0.3), Math.floor(events.length * 0.6)];
    let i = 0;
    for (const cut of cuts) {
      for (; i < cut; i++) store.emit(events[i]!);
      await new Promise((r) => setTimeout(r, 20)); // let some of it reach the database
      await store.postgres.stop();
      for (let j = 0; j < 1_000 && i < events.length; j++, i++) store.emit(events[i]!);
      await new Promise((r) => setTimeout(r, 200));
      expect(store.stats()!.dbUp).toBe(false);
      await store.postgres.restart();
    }
    for (; i < events.length; i++) store.emit(events[i]!);
    await store.flush(60_000);
    const n = await store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM cc_events');
    expect(n.rows[0]!.n).toBe(events.length);
    expect(store.stats()!.inserted).toBe(events.length);

    for (const dimension of ['centre', 'queue', 'skillGroup', 'agent'] as const) {
      const req = { from: day0, to: day0 + 86_400_000, interval: '30m' as const, dimension };
      expect(await store.report(req), dimension).toEqual(computeReport(events, req, store.settings));
    }
  });
});
