/**
 * KPI rollups (#17) on a real embedded Postgres: events written through the real store (writer,
 * spool, marking sink), records computed by backfill and by the dirty-interval refresh, and every
 * report read through the rollups compared with the engine run on the raw log for the same range,
 * including partial edge intervals, late events that change earlier intervals (a repeat call
 * flipping FCR, a late survey) and two nodes refreshing and marking the same intervals at once.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CcEventSchema, type CcEvent } from '../../../server/kpi/events.ts';
import { outboundReport } from '../../../server/kpi/outbound.ts';
import { surveyReport } from '../../../server/kpi/surveys.ts';
import type { Interval } from '../../../server/kpi/intervals.ts';
import { callDetails, computeReport, type Dimension, type ReportRequest } from '../../../server/kpi/report.ts';
import { KpiSettingsSchema } from '../../../server/kpi/settings.ts';
import { agentStateTimes } from '../../../server/kpi/stateTimes.ts';
import { newRollupStats, rollupReport, type RollupReportStats } from '../../../server/store/rollupReport.ts';
import { backfill, markDirty, refreshBuckets, refreshDirty } from '../../../server/store/rollups.ts';
import { openStore, type Store } from '../../../server/store/store.ts';
import { HOUR, SETTINGS, T0, scriptedDay } from '../../unit/kpi/scriptedDay.ts';
import { syntheticDay } from '../../unit/kpi/syntheticDay.ts';

const PORT = 26400;
const DAY = 86_400_000;
const D1 = Date.UTC(2026, 0, 6); // the synthetic day follows the scripted hour (2026-01-05 09:00)
let root: string;
let store: Store;
const S = KpiSettingsSchema.parse(SETTINGS);

async function emitAll(events: readonly CcEvent[]): Promise<void> {
  for (const e of events) expect(store.emit(e)).toBe(true);
  await store.flush(30_000);
}

/** The raw report exactly as the store computed it before rollups: engine over the loaded log. */
async function raw(req: ReportRequest) {
  const asOf = Math.min(req.asOf ?? req.to, Date.now());
  return computeReport(await store.events(req.from, req.to, S), { ...req, asOf }, S);
}

async function viaRollups(req: ReportRequest, stats?: RollupReportStats) {
  const asOf = Math.min(req.asOf ?? req.to, Date.now());
  return rollupReport(store.pool, { ...req, asOf }, S, { now: Date.now() }, stats);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cc-rollups-it-'));
  chmodSync(root, 0o755);
  store = await openStore({
    embedded: { dataDir: join(root, 'pg'), port: PORT },
    spoolDir: join(root, 'spool'),
    recordingsDir: join(root, 'rec'),
    kpi: SETTINGS,
    writer: { batchSize: 200, flushDelayMs: 5, retryMinMs: 50, retryMaxMs: 500 },
    rollupRefreshMs: 0, // the test computes intervals itself, to see them dirty first
  });
  await emitAll([...scriptedDay(), ...syntheticDay({ calls: 1200, agents: 30, day: D1, seed: 5 })]);
}, 120_000);

afterAll(async () => {
  await store?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('rollups in Postgres == the engine on the raw log', () => {
  it('marks the intervals of stored events dirty as they arrive (nothing computed yet)', async () => {
    const r = await store.pool.query<{ n: string; dirty: string }>(
      'SELECT count(*)::text AS n, count(*) FILTER (WHERE dirty)::text AS dirty FROM kpi_rollup_buckets',
    );
    expect(Number(r.rows[0]!.n)).toBeGreaterThan(40);
    expect(r.rows[0]!.dirty).toBe(r.rows[0]!.n);
  });

  it('backfill computes every interval; reports read whole days and 15-minute records, raw only at the edges', async () => {
    const b = await backfill(store.pool, T0 - HOUR, D1 + DAY, S, Date.now());
    expect(b.buckets).toBe((D1 + DAY - (T0 - HOUR)) / 900_000);
    expect(b.records).toBeGreaterThan(1000);
    const intervals: Interval[] = ['15m', '60m', 'day', 'range'];
    const dims: Dimension[] = ['centre', 'queue', 'skillGroup', 'agent'];
    // Partial edges on both sides (09:07:13 the first day, 17:52:30 the second), a whole day, the scripted hour.
    const ranges: [number, number][] = [
      [T0 + 7 * 60_000 + 13_000, D1 + 17 * HOUR + 52 * 60_000 + 30_000],
      [D1, D1 + DAY],
      [T0, T0 + HOUR],
      [T0 - 3 * HOUR, D1 + DAY + HOUR],
    ];
    let compared = 0;
    const stats = newRollupStats();
    for (const [from, to] of ranges)
      for (const interval of intervals)
        for (const dimension of dims) {
          const req = { from, to, interval, dimension };
          expect(await viaRollups(req, stats), JSON.stringify(req)).toEqual(await raw(req));
          compared++;
        }
    expect(compared).toBe(64);
    expect(stats.dayPieces).toBeGreaterThan(0);
    expect(stats.grainPieces).toBeGreaterThan(0);
    // Key filters and a queue's own SL objective.
    for (const req of [
      { from: T0, to: D1 + DAY, interval: 'range' as const, dimension: 'queue' as const, keys: ['sales'] },
      { from: T0, to: D1 + DAY, interval: '60m' as const, dimension: 'agent' as const, keys: ['agent3', 'alice'] },
    ])
      expect(await viaRollups(req)).toEqual(await raw(req));
  }, 120_000);

  it('a whole-day report touches no raw events; an edge-only report is all raw', async () => {
    const whole = newRollupStats();
    await viaRollups({ from: D1, to: D1 + DAY, interval: 'range', dimension: 'queue' }, whole);
    expect(whole).toMatchObject({ dayPieces: 1, grainPieces: 0, rawPieces: 0 });
    const edge = newRollupStats();
    await viaRollups({ from: D1 + 60_000, to: D1 + 120_000, interval: 'range', dimension: 'queue' }, edge);
    expect(edge).toMatchObject({ dayPieces: 0, grainPieces: 0, rawPieces: 1 });
  });

  it('a report asking other thresholds the records carry (any order, a subset) reads them, equal to raw', async () => {
    // S has 20 and 30 s; 45, 15 and 120 come from the stored ladder. 25 is carried by nothing.
    for (const thresholds of [[45, 20], [120], [30, 15, 20]]) {
      const asked = KpiSettingsSchema.parse({ ...SETTINGS, serviceLevelThresholdsSec: thresholds });
      for (const req of [
        { from: D1, to: D1 + DAY, interval: '60m' as const, dimension: 'queue' as const },
        { from: T0 + 7 * 60_000, to: D1 + 13 * HOUR + 1_000, interval: 'range' as const, dimension: 'agent' as const },
      ]) {
        const asOf = Math.min(req.to, Date.now());
        const stats = newRollupStats();
        const want = computeReport(await store.events(req.from, req.to, asked), { ...req, asOf }, asked);
        const got = await rollupReport(store.pool, { ...req, asOf }, asked, { now: Date.now(), centre: S }, stats);
        expect(got, JSON.stringify({ thresholds, req })).toEqual(want);
        expect(stats.dayPieces + stats.grainPieces).toBeGreaterThan(0);
        // And through the store, as the reports API asks it.
        expect(await store.report({ ...req, asOf }, { serviceLevelThresholdsSec: thresholds })).toEqual(want);
      }
    }
    // Not vacuous: 45 s and 20 s give different service levels over the day.
    const req = { from: D1, to: D1 + DAY, interval: 'range' as const, dimension: 'centre' as const };
    const sl = (await store.report(req, { serviceLevelThresholdsSec: [45, 20] })).rows[0]!.serviceLevels!;
    expect(sl.map((x) => x.thresholdSec)).toEqual([45, 20]);
    expect(sl[0]!.met).toBeGreaterThan(sl[1]!.met);
    // A threshold no record carries: refused by rollupReport, answered raw by the store.
    const odd = KpiSettingsSchema.parse({ ...SETTINGS, serviceLevelThresholdsSec: [25] });
    await expect(rollupReport(store.pool, { ...req, asOf: req.to }, odd, { centre: S })).rejects.toThrow(/do not carry/);
    expect(await store.report(req, { serviceLevelThresholdsSec: [25] })).toEqual(
      computeReport(await store.events(req.from, req.to, odd), { ...req, asOf: req.to }, odd),
    );
  }, 60_000);

  it('short ranges and off-grid edges load only the contacts overlapping them, and equal raw', async () => {
    // What today's board and an agent's day ask: minutes to hours, edges anywhere.
    const ranges: [number, number][] = [
      [D1 + 9 * HOUR + 61_000, D1 + 9 * HOUR + 121_000],
      [D1 + 11 * HOUR + 7 * 60_000 + 500, D1 + 13 * HOUR + 44 * 60_000 + 1],
      [D1 + 14 * HOUR + 59 * 60_000, D1 + 15 * HOUR + 16 * 60_000],
      [T0 + 7 * 60_000 + 13_000, T0 + 38 * 60_000],
      // C6 up to the moment it is transferred (C6b, its final handler, starts after the piece: its chain).
      [T0 + 600_000, T0 + 740_000],
      [D1, D1 + 17 * HOUR + 3_000],
    ];
    for (const [from, to] of ranges)
      for (const dimension of ['centre', 'queue', 'agent'] as const)
        for (const interval of ['range', '15m'] as const) {
          const req = { from, to, interval, dimension };
          expect(await viaRollups(req), JSON.stringify(req)).toEqual(await raw(req));
        }
    // A one-minute piece: the raw report loads a day either side (the whole synthetic day); the
    // piece loads the calls overlapping its minute.
    const minute = newRollupStats();
    const [from, to] = ranges[0]!;
    await viaRollups({ from, to, interval: 'range', dimension: 'centre' }, minute);
    expect(minute.rawPieces).toBe(1);
    const wide = (await store.events(from, to)).length;
    expect(minute.rawEvents).toBeGreaterThan(0);
    expect(minute.rawEvents * 20).toBeLessThan(wide);
  }, 120_000);

  it('a contact whose span lags its events (marking failed or not yet run) is still read from the log', async () => {
    const from = D1 + 10 * HOUR + 3_000;
    const to = D1 + 10 * HOUR + 20 * 60_000 + 7_000;
    const inside = await store.pool.query<{ contact_id: string }>(
      `SELECT DISTINCT contact_id FROM cc_events WHERE ts_ms >= $1 AND ts_ms < $2 AND contact_id NOT LIKE 'agent:%'`,
      [from, to],
    );
    const ids = inside.rows.map((r) => r.contact_id);
    expect(ids.length).toBeGreaterThan(5);
    const saved = await store.pool.query('SELECT * FROM kpi_contact_spans WHERE contact_id = ANY($1::text[])', [ids]);
    await store.pool.query('DELETE FROM kpi_contact_spans WHERE contact_id = ANY($1::text[])', [ids]);
    try {
      for (const dimension of ['centre', 'agent'] as const) {
        const req = { from, to, interval: 'range' as const, dimension };
        expect(await viaRollups(req)).toEqual(await raw(req));
      }
    } finally {
      await store.pool.query(`INSERT INTO kpi_contact_spans SELECT * FROM json_populate_recordset(null::kpi_contact_spans, $1::json)`, [
        JSON.stringify(saved.rows),
      ]);
    }
  });

  it("an agent's state times from its own streams equal those from the whole log (My day reads only the agent's)", async () => {
    const ranges: [number, number][] = [
      [T0 + 7 * 60_000, T0 + 50 * 60_000],
      [D1, D1 + 13 * HOUR + 17_000],
    ];
    let agents = 0;
    for (const [from, to] of ranges) {
      const all = await store.events(from, to);
      const ids = [...new Set(all.flatMap((e) => (e.type === 'agent.state' ? [e.agentId] : [])))];
      expect(ids.length).toBeGreaterThan(1);
      for (const agentId of ids) {
        const q = { agentId, from, to, asOf: to };
        const own = await store.agentEvents(agentId, from, to);
        expect(own.every((e) => e.contactId === `agent:${agentId}` || e.contactId.startsWith(`agent:${agentId}#`))).toBe(true);
        const times = agentStateTimes(own, q);
        expect(times, agentId).toEqual(agentStateTimes(all, q));
        if (times.readySec > 0) agents++;
      }
    }
    expect(agents).toBeGreaterThan(10);
  });

  it('call details read the contacts overlapping the range, one contact its own chain: the same as from the raw window', async () => {
    const now = Date.now();
    const ranges: [number, number][] = [
      [T0, T0 + HOUR],
      [D1 + 9 * HOUR + 61_000, D1 + 11 * HOUR + 7 * 60_000],
      [D1, D1 + DAY],
    ];
    let compared = 0;
    for (const [from, to] of ranges) {
      const want = callDetails(await store.events(from, to), { from, to, asOf: Math.min(to, now) }, S);
      expect(want.length).toBeGreaterThan(3);
      expect(await store.calls({ from, to })).toEqual(want);
      compared += want.length;
    }
    // One contact, as the QA page asks (a day either side of the call): transferred, repeat caller, plain.
    const all = callDetails(await store.events(T0, D1 + DAY), { from: T0, to: D1 + DAY, asOf: D1 + DAY }, S);
    const picks = [all.find((c) => c.transferred), all.find((c) => c.fcrResolved === false), all.find((c) => c.previousContactId), all[0]];
    for (const c of picks.filter((x) => x !== undefined)) {
      const t = Date.parse(c.enteredAt);
      const q = { from: t - DAY, to: t + DAY, contactId: c.contactId };
      const want = callDetails(await store.events(q.from, q.to), { ...q, asOf: Math.min(q.to, now) }, S);
      expect(want.length).toBeGreaterThan(0);
      expect(await store.calls(q), c.contactId).toEqual(want);
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('late events change earlier intervals: marked dirty, recomputed, still equal to raw', async () => {
    // A caller whose call in the scripted hour counts as resolved calls again 20 h later (within
    // the 1-day FCR window): that call's interval loses an FCR resolution.
    const resolved = (await store.calls({ from: T0, to: T0 + HOUR })).find((d) => d.fcrResolved === true && d.caller)!;
    const q = { from: T0, to: T0 + HOUR, interval: 'range' as const, dimension: 'queue' as const, keys: [resolved.queue] };
    const before = await viaRollups(q);
    const late: CcEvent[] = [
      {
        type: 'contact.arrived',
        contactId: 'LATE1',
        seq: 1,
        ts: T0 + 20 * HOUR,
        initiation: 'inbound',
        caller: resolved.caller!,
        dialled: '8000',
      },
      { type: 'call.end', contactId: 'LATE1', seq: 2, ts: T0 + 20 * HOUR + 30_000, endedBy: 'caller' },
    ];
    await emitAll(late);
    const dirty = await store.pool.query<{ b: string }>('SELECT bucket_start::text AS b FROM kpi_rollup_buckets WHERE dirty ORDER BY 1');
    const marked = dirty.rows.map((r) => Number(r.b));
    expect(marked).toContain(Math.floor(Date.parse(resolved.enteredAt) / 900_000) * 900_000); // 20 h before the repeat call
    expect(marked).toContain(T0 + 20 * HOUR);
    const after = await viaRollups(q);
    expect(after.rows[0]!.fcrResolved).toBe(before.rows[0]!.fcrResolved - 1);
    for (const dimension of ['centre', 'queue', 'agent'] as const) {
      const req = { from: T0, to: D1 + DAY, interval: '60m' as const, dimension };
      expect(await viaRollups(req)).toEqual(await raw(req));
    }
    // The refresh on read left them clean.
    const left = await store.pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM kpi_rollup_buckets WHERE dirty AND bucket_start >= $1 AND bucket_start < $2`,
      [T0, D1 + DAY],
    );
    expect(Number(left.rows[0]!.n)).toBe(0);
  }, 120_000);

  it('two nodes refreshing and marking the same intervals at once end with the engine figures', async () => {
    const other = new pg.Pool({ connectionString: store.url, max: 4 });
    try {
      // New calls in intervals that are computed: node B stores them while A and B recompute the day.
      const centreDay = async () =>
        (await viaRollups({ from: D1, to: D1 + DAY, interval: 'range', dimension: 'centre' })).rows[0]!.contactsOffered!;
      const offeredBefore = await centreDay();
      const extra = syntheticDay({ calls: 150, agents: 30, day: D1, seed: 99 }).map((e) => ({
        ...e,
        contactId: e.contactId.startsWith('agent:') ? `${e.contactId}#x` : `X-${e.contactId}`,
      }));
      const ingest = (async () => {
        for (let i = 0; i < extra.length; i += 100) {
          const batch = extra.slice(i, i + 100);
          await other.query(
            `INSERT INTO cc_events (contact_id, seq, ts_ms, type, body)
             SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::jsonb[]) ON CONFLICT DO NOTHING`,
            [
              batch.map((e) => e.contactId),
              batch.map((e) => e.seq),
              batch.map((e) => e.ts),
              batch.map((e) => e.type),
              batch.map((e) => JSON.stringify(e)),
            ],
          );
          await markDirty(other, batch, S, Date.now());
        }
      })();
      const now = Date.now();
      await Promise.all([
        refreshBuckets(store.pool, D1, D1 + DAY, S, now),
        refreshBuckets(other, D1 + 6 * HOUR, D1 + 18 * HOUR, S, now),
        refreshBuckets(other, D1, D1 + DAY, S, now),
        ingest,
        // The same marks twice at once (ON CONFLICT on the same rows).
        markDirty(store.pool, extra.slice(0, 300), S, now),
        markDirty(other, extra.slice(0, 300), S, now),
      ]);
      // Whatever interleaving happened, an interval is either dirty or includes every event.
      for (let i = 0; i < 20 && (await refreshDirty(store.pool, S, Date.now(), 64)) > 0; i++);
      const clean = newRollupStats();
      for (const dimension of ['centre', 'queue', 'agent'] as const) {
        const req = { from: D1, to: D1 + DAY, interval: '15m' as const, dimension };
        expect(await viaRollups(req, clean)).toEqual(await raw(req));
      }
      expect(clean.rawPieces).toBe(0);
      expect((await centreDay()) - offeredBefore).toBe(150);
    } finally {
      await other.end();
    }
  }, 120_000);

  it('backfill is idempotent: a second run leaves every record as it was', async () => {
    const snap = async () =>
      (
        await store.pool.query<{ h: string }>(
          // Intervals with a call still waiting (open) grow their longest wait with time: left out.
          `SELECT md5(string_agg(r::text, '|' ORDER BY grain, bucket_start, dimension, key)) AS h FROM kpi_rollup r
           WHERE NOT EXISTS (SELECT 1 FROM kpi_rollup_buckets b WHERE (b.dirty OR b.open)
             AND b.bucket_start >= r.bucket_start AND b.bucket_start < r.bucket_start + CASE r.grain WHEN 'day' THEN ${DAY} ELSE 900000 END)`,
        )
      ).rows[0]!.h;
    const a = await snap();
    await backfill(store.pool, T0 - HOUR, D1 + DAY, S, Date.now());
    expect(await snap()).toBe(a);
  }, 120_000);

  it('intervals computed with other settings (an upgrade, a threshold change) heal in the background, newest first', async () => {
    for (let i = 0; i < 20 && (await refreshDirty(store.pool, S, Date.now(), 64)) > 0; i++);
    await store.pool.query(`UPDATE kpi_rollup_buckets SET fp = 'older settings' WHERE bucket_start >= $1 AND bucket_start < $2`, [
      D1,
      D1 + DAY,
    ]);
    const req = { from: D1, to: D1 + DAY, interval: '60m' as const, dimension: 'queue' as const };
    const before = newRollupStats();
    expect(await viaRollups(req, before)).toEqual(await raw(req));
    expect(before).toMatchObject({ dayPieces: 0, grainPieces: 0 });
    expect(await refreshDirty(store.pool, S, Date.now(), 8)).toBe(8);
    const stale = await store.pool.query<{ b: string }>(
      `SELECT max(bucket_start)::text AS b FROM kpi_rollup_buckets WHERE fp = 'older settings'`,
    );
    expect(Number(stale.rows[0]!.b)).toBe(D1 + DAY - 9 * 900_000); // the day's last two hours went first
    for (let i = 0; i < 20 && (await refreshDirty(store.pool, S, Date.now(), 64)) > 0; i++);
    const after = newRollupStats();
    expect(await viaRollups(req, after)).toEqual(await raw(req));
    expect(after).toMatchObject({ dayPieces: 0, grainPieces: 24, rawPieces: 0 });
  });

  it('the store answers reports through the rollups (and raw for settings the records were not made with)', async () => {
    const req = { from: T0 + 5 * 60_000, to: D1 + DAY, interval: 'day' as const, dimension: 'queue' as const };
    expect(await store.report(req)).toEqual(await raw(req));
    const other = await store.report(req, { shortAbandonSec: 2 });
    expect(other).toEqual(computeReport(await store.events(req.from, req.to), { ...req, asOf: req.to }, { ...S, shortAbandonSec: 2 }));
  });
});

describe('the outbound report reads only the calls the centre placed', () => {
  it('equals the raw window and the hand count: placed in range, whole talk past the end, no inbound calls', async () => {
    const D3 = D1 + 3 * DAY;
    const ev = (contactId: string, seq: number, ts: number, body: Record<string, unknown>) =>
      CcEventSchema.parse({ contactId, seq, ts, ...body });
    const dial = { caller: '8000', dialled: '+441632960001', trunk: 'carrier' };
    const result = (outcome: string) => ({
      type: 'outbound.result',
      agentId: 'alice',
      number: '+441632960001',
      trunk: 'carrier',
      outcome,
      queue: 'sales',
    });
    await emitAll([
      // O1 answered after 10 s, talks 120 s.
      ev('O1', 1, D3 + 10 * HOUR, { type: 'contact.arrived', initiation: 'outbound', ...dial }),
      ev('O1', 2, D3 + 10 * HOUR + 10_000, result('answered')),
      ev('O1', 3, D3 + 10 * HOUR + 130_000, { type: 'call.end', endedBy: 'agent' }),
      // O2, a callback: busy.
      ev('O2', 1, D3 + 11 * HOUR, { type: 'contact.arrived', initiation: 'callback', ...dial }),
      ev('O2', 2, D3 + 11 * HOUR + 3_000, result('busy')),
      ev('O2', 3, D3 + 11 * HOUR + 3_500, { type: 'call.end', endedBy: 'system' }),
      // O3 placed at 23:59:50, answered 5 s later, ends 00:10 the next day: 605 s of talk.
      ev('O3', 1, D3 + DAY - 10_000, { type: 'contact.arrived', initiation: 'outbound', ...dial }),
      ev('O3', 2, D3 + DAY - 5_000, result('answered')),
      ev('O3', 3, D3 + DAY + 600_000, { type: 'call.end', endedBy: 'caller' }),
      // O4 placed a minute before the range: not counted.
      ev('O4', 1, D3 - 60_000, { type: 'contact.arrived', initiation: 'outbound', ...dial }),
      ev('O4', 2, D3 - 50_000, result('answered')),
      ev('O4', 3, D3 + 60_000, { type: 'call.end', endedBy: 'agent' }),
      // An inbound call inside the range: not the outbound report's.
      ev('I1', 1, D3 + 12 * HOUR, { type: 'contact.arrived', initiation: 'inbound', caller: '+441632960002', dialled: '8000' }),
      ev('I1', 2, D3 + 12 * HOUR + 1_000, { type: 'call.end', endedBy: 'caller' }),
    ]);
    const req = { from: D3, to: D3 + DAY, dimension: 'centre' as const, asOf: D3 + DAY + 6 * HOUR };
    const placed = await store.placedEvents(req.from, req.to);
    expect(new Set(placed.map((e) => e.contactId))).toEqual(new Set(['O1', 'O2', 'O3']));
    const got = outboundReport(placed, req);
    expect(got).toEqual(outboundReport(await store.events(req.from, req.asOf), req));
    expect(got.rows).toEqual([
      expect.objectContaining({ key: 'centre', attempts: 3, dialled: 3, answered: 2, busy: 1, talkSec: 725, avgTalkSec: 362.5 }),
    ]);
    for (const by of ['agent', 'queue', 'initiation'] as const)
      expect(outboundReport(placed, { ...req, dimension: by })).toEqual(
        outboundReport(await store.events(req.from, req.asOf), { ...req, dimension: by }),
      );
  });
});

describe('the survey report reads only the contacts that answered and their chains', () => {
  it('equals the raw window; an answer on a transferred leg counts for the queue that answered the chain', async () => {
    const D4 = D1 + 5 * DAY;
    const ev = (contactId: string, seq: number, ts: number, body: Record<string, unknown>) =>
      CcEventSchema.parse({ contactId, seq, ts, ...body });
    const t0 = D4 + 9 * HOUR;
    await emitAll([
      // S1 answered by sales and transferred out; the survey is answered on its transferred leg S1b.
      ev('S1', 1, t0, { type: 'contact.arrived', caller: '+441632960009', dialled: '8000' }),
      ev('S1', 2, t0 + 1_000, { type: 'queue.enter', queue: 'sales' }),
      ev('S1', 3, t0 + 10_000, { type: 'queue.connect', queue: 'sales', agentId: 'alice' }),
      ev('S1', 4, t0 + 100_000, {
        type: 'queue.transfer',
        queue: 'sales',
        agentId: 'alice',
        targetKind: 'external',
        target: '+441632960010',
        toContactId: 'S1b',
      }),
      ev('S1', 5, t0 + 100_000, { type: 'call.end', endedBy: 'agent' }),
      ev('S1b', 1, t0 + 100_000, {
        type: 'contact.arrived',
        initiation: 'transfer',
        previousContactId: 'S1',
        caller: '+441632960009',
        dialled: '+441632960010',
      }),
      ev('S1b', 2, t0 + 200_000, { type: 'call.end', endedBy: 'caller' }),
      ev('S1b', 3, t0 + 210_000, { type: 'survey.answer', question: 'csat', value: 4, scale: 5 }),
    ]);
    for (const [from, to] of [
      [D4, D4 + DAY],
      [D1, D1 + DAY],
      [T0, D1 + 13 * HOUR],
    ] as const) {
      const range = { from, to };
      expect(surveyReport(await store.surveyedEvents(from, to), range), JSON.stringify(range)).toEqual(
        surveyReport(await store.events(from, to), range),
      );
    }
    const d4 = surveyReport(await store.surveyedEvents(D4, D4 + DAY), { from: D4, to: D4 + DAY });
    expect(d4.csat).toMatchObject({ answers: 1, average: 4 });
    expect(Object.keys(d4.byQueue)).toEqual(['sales']);
    // Not vacuous on the synthetic day: hundreds of answers across queues.
    const d1 = surveyReport(await store.surveyedEvents(D1, D1 + DAY), { from: D1, to: D1 + DAY });
    expect(d1.csat.answers).toBeGreaterThan(100);
    expect(Object.keys(d1.byQueue).length).toBeGreaterThan(1);
  });
});
