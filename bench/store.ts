/**
 * Store throughput on an embedded Postgres in a temporary directory: emit() latency on the call
 * path, events/s until everything is committed, and the time to answer a day's queue report from
 * the database. Prints one JSON line.
 *   npm run bench -- store [calls]      (default 5 000 calls, about 45 000 events; max 50 000 calls)
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../server/store/store.ts';
import { syntheticDay } from '../test/unit/kpi/syntheticDay.ts';

const calls = Math.min(Number(process.argv[2] ?? 5_000), 50_000);
const root = mkdtempSync(join(tmpdir(), 'cc-bench-store-'));
chmodSync(root, 0o755);
const day0 = Date.UTC(2026, 0, 5);
const events = syntheticDay({ calls, agents: 50, day: day0 });
const store = await openStore({ embedded: { dataDir: join(root, 'pg'), port: 55436 }, spoolDir: join(root, 'spool') });
try {
  const lat: number[] = [];
  const t0 = performance.now();
  for (const e of events) {
    const a = performance.now();
    store.emit(e);
    lat.push(performance.now() - a);
  }
  const emitMs = performance.now() - t0;
  await store.flush(300_000);
  const totalMs = performance.now() - t0;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => Math.round((lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0) * 1000);
  const r0 = performance.now();
  const report = await store.report({ from: day0, to: day0 + 86_400_000, interval: '30m', dimension: 'queue' });
  const reportMs = performance.now() - r0;
  console.log(
    JSON.stringify({
      bench: 'store',
      calls,
      events: events.length,
      emit_p50_us: pct(0.5),
      emit_p99_us: pct(0.99),
      emit_max_us: pct(1),
      emit_all_ms: Math.round(emitMs),
      committed_events_per_s: Math.round(events.length / (totalMs / 1000)),
      day_report_from_db_ms: Math.round(reportMs),
      report_rows: report.rows.length,
      inserted: store.stats()?.inserted,
    }),
  );
} finally {
  await store.close();
  rmSync(root, { recursive: true, force: true });
}
