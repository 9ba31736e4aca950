/**
 * A process that stops while Postgres is down keeps the undelivered events in its spool; the next
 * start (same spool directory) replays them before anything else, and nothing is lost or doubled.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../server/store/store.ts';
import { SETTINGS, scriptedDay } from '../../unit/kpi/scriptedDay.ts';

const PORT = 55435;
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cc-restart-it-'));
  chmodSync(root, 0o755);
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('spool replay across a restart', () => {
  it('delivers events spooled during an outage after the process restarts', async () => {
    const opts = {
      embedded: { dataDir: join(root, 'pg'), port: PORT },
      spoolDir: join(root, 'spool'),
      kpi: SETTINGS,
      writer: { flushDelayMs: 5, retryMinMs: 50, retryMaxMs: 200 },
    };
    const day = scriptedDay();
    const first = await openStore(opts);
    const half = Math.floor(day.length / 2);
    for (const e of day.slice(0, half)) first.emit(e);
    await first.flush(20_000);
    await first.postgres.stop();
    for (const e of day.slice(half)) first.emit(e);
    await first.close(); // gives up waiting after 2 s; the rest stays in the spool
    expect(first.stats()!.pendingBytes).toBeGreaterThan(0);

    const second = await openStore(opts);
    try {
      await second.flush(30_000);
      const r = await second.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM cc_events');
      expect(r.rows[0]!.n).toBe(day.length);
      expect(second.stats()!.inserted).toBe(day.length - half);
    } finally {
      await second.close();
    }
  });
});
