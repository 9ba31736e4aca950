/**
 * Reports over long ranges (#17): a generated centre (default 1,000,000 contacts, 1,000 agents, 30
 * days, 3 queues) written with generate_series into a fresh embedded Postgres, rollups computed
 * by the backfill, then a 30-day centre, per-queue and per-agent report through the rollups
 * (median of 5) against the engine on the raw log (a 1-day range with partial edges, median of
 * 2; the whole range only with BENCH_RAW_FULL=1: it holds every event in memory),
 * checking that both give the same report, and today's board late in a day (four reports at once).
 * Prints one JSON line.
 *   npm run bench -- reports [contacts] [days] [agents]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { computeReport, type Dimension, type ReportRequest } from '../server/kpi/report.ts';
import type { Interval } from '../server/kpi/intervals.ts';
import { newRollupStats, rollupReport, type RollupReportStats } from '../server/store/rollupReport.ts';
import { backfill } from '../server/store/rollups.ts';
import { loadEvents, reportWindow } from '../server/store/eventLog.ts';
import { openStore } from '../server/store/store.ts';

const contacts = Math.min(Number(process.argv[2] ?? 1_000_000), 2_000_000);
const days = Math.min(Number(process.argv[3] ?? 30), 60);
const agents = Math.min(Number(process.argv[4] ?? 1000), 5000);
const PORT = 26410;
const DAY = 86_400_000;
const day0 = Date.UTC(2026, 5, 1);
const t = () => performance.now();
const ms = (a: number) => Math.round(t() - a);

const root = mkdtempSync(join(tmpdir(), 'cc-bench-reports-'));
chmodSync(root, 0o755);
const store = await openStore({ embedded: { dataDir: join(root, 'pg'), port: PORT }, readOnly: true, kpi: {} });
/** Figures so far; each stage also goes to stderr, so a run cut short by its time bound still says what it measured. */
const out = new Proxy<Record<string, unknown>>(
  { bench: 'reports', contacts, agents, days },
  {
    set(o, k, v) {
      o[k as string] = v;
      process.stderr.write(`reports: ${String(k)}=${JSON.stringify(v)}\n`);
      return true;
    },
  },
);
try {
  const pool = store.pool;
  const s = store.settings;
  // --- Generate: answered calls 6 events, abandoned (1 in 8) 4; agents ready 07:55-20:35 daily.
  let g = t();
  await pool.query('ALTER TABLE cc_events DISABLE TRIGGER cc_events_project'); // projections are not what is measured
  // Bulk load: secondary indexes built once afterwards (same definitions as the migrations).
  await pool.query('DROP INDEX cc_events_ts, cc_events_type_ts, cc_events_agent_ts');
  const chunk = Math.ceil(contacts / days);
  for (let d = 0; d < days; d++) {
    const lo = d * chunk;
    const hi = Math.min(contacts, lo + chunk);
    if (lo >= hi) break;
    await pool.query(
      `INSERT INTO cc_events (contact_id, seq, ts_ms, type, body)
       SELECT c.id, e.seq, e.ts, e.type,
         jsonb_build_object('type', e.type, 'contactId', c.id, 'seq', e.seq, 'ts', e.ts) || e.extra
       FROM (
         SELECT 'b' || i AS id, i, (i % 8 = 0) AS abandoned,
           $1::bigint + $2::bigint * 86400000 + 28800000 + (hashint4(i)::bigint & 2147483647) % 43200000 AS t0,
           (ARRAY['sales', 'support', 'billing'])[1 + i % 3] AS queue,
           'agent' || ((hashint4(i * 5)::bigint & 2147483647) % $5) AS agent,
           (hashint4(i * 3)::bigint & 2147483647) % 60000 AS wait, 30000 + (hashint4(i * 7)::bigint & 2147483647) % 300000 AS talk,
           5000 + (hashint4(i * 11)::bigint & 2147483647) % 60000 AS acw, '+1555' || ((hashint4(i * 13)::bigint & 2147483647) % ($6::int * 7 / 10)) AS caller
         FROM generate_series($3::int, $4::int - 1) AS i
       ) c,
       LATERAL (VALUES
         (1, c.t0, 'contact.arrived', jsonb_build_object('initiation', 'inbound', 'caller', c.caller, 'dialled', '8000')),
         (2, c.t0 + 2000, 'queue.enter', jsonb_build_object('queue', c.queue)),
         (3, c.t0 + 2000 + c.wait, CASE WHEN c.abandoned THEN 'queue.abandon' ELSE 'queue.connect' END,
           CASE WHEN c.abandoned THEN jsonb_build_object('queue', c.queue) ELSE jsonb_build_object('queue', c.queue, 'agentId', c.agent) END),
         (4, c.t0 + 2000 + c.wait + CASE WHEN c.abandoned THEN 0 ELSE c.talk END, 'call.end', jsonb_build_object('endedBy', 'caller')),
         (5, c.t0 + 2000 + c.wait + c.talk, 'wrapup.start', jsonb_build_object('agentId', c.agent, 'queue', c.queue)),
         (6, c.t0 + 2000 + c.wait + c.talk + c.acw, 'wrapup.end',
           jsonb_build_object('agentId', c.agent, 'extended', false, 'disposition', (ARRAY['sale', 'info', 'complaint'])[1 + c.i % 3]))
       ) AS e(seq, ts, type, extra)
       WHERE e.seq <= 4 OR NOT c.abandoned`,
      [day0, d, lo, hi, agents, contacts],
    );
    await pool.query(
      `INSERT INTO cc_events (contact_id, seq, ts_ms, type, body)
       SELECT 'agent:agent' || a || '#d' || $2, x.seq, x.ts, 'agent.state',
         jsonb_build_object('type', 'agent.state', 'contactId', 'agent:agent' || a || '#d' || $2, 'seq', x.seq, 'ts', x.ts,
           'agentId', 'agent' || a, 'state', x.state)
       FROM generate_series(0, $3::int - 1) AS a,
       LATERAL (VALUES (1, $1::bigint + $2::bigint * 86400000 + 28500000, 'ready'), (2, $1::bigint + $2::bigint * 86400000 + 74100000, 'logged-out')) AS x(seq, ts, state)`,
      [day0, d, agents],
    );
  }
  await pool.query('ALTER TABLE cc_events ENABLE TRIGGER cc_events_project');
  await pool.query('CREATE INDEX cc_events_ts ON cc_events (ts_ms)');
  await pool.query('CREATE INDEX cc_events_type_ts ON cc_events (type, ts_ms)');
  await pool.query("CREATE INDEX cc_events_agent_ts ON cc_events (ts_ms) WHERE contact_id LIKE 'agent:%'");
  await pool.query('ANALYZE cc_events');
  const events = Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM cc_events')).rows[0]!.n);
  out.events = events;
  out.generate_s = Math.round((t() - g) / 100) / 10;
  // --- Backfill the rollups (what `callcentre rollup` runs).
  g = t();
  const now = Date.now();
  const b = await backfill(pool, day0, day0 + days * DAY, s, now);
  await pool.query('ANALYZE kpi_rollup; ANALYZE kpi_rollup_buckets; ANALYZE kpi_contact_spans');
  out.backfill_s = Math.round((t() - g) / 100) / 10;
  out.rollup_records = b.records;

  const median = async (runs: number, fn: () => Promise<unknown>) => {
    const l: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = t();
      await fn();
      l.push(t() - a);
    }
    l.sort((x, y) => x - y);
    return Math.round(l[Math.floor(l.length / 2)]!);
  };
  const viaRollup = (req: ReportRequest, st?: RollupReportStats) =>
    rollupReport(pool, { ...req, asOf: Math.min(req.asOf ?? req.to, req.to) }, s, { now }, st);
  const viaRaw = async (req: ReportRequest) =>
    computeReport(
      await loadEvents(pool, reportWindow(req.from, req.to, s.fcrWindowSec)),
      { ...req, asOf: Math.min(req.asOf ?? req.to, req.to) },
      s,
    );
  const reqs: [string, Dimension, Interval][] = [
    ['centre', 'centre', 'day'],
    ['queue', 'queue', 'day'],
    ['agent', 'agent', 'range'],
  ];
  const full = { from: day0, to: day0 + days * DAY };
  for (const [name, dimension, interval] of reqs) {
    const st = newRollupStats();
    await viaRollup({ ...full, dimension, interval }, st);
    out[`rollup_${days}d_${name}_ms`] = await median(5, () => viaRollup({ ...full, dimension, interval }));
    out[`rollup_${days}d_${name}_raw_pieces`] = st.rawPieces;
  }
  // Raw on one day (and the rollup agreement there, with partial edges on both sides).
  const oneDay = { from: day0 + 10 * DAY + 3_723_000, to: day0 + 11 * DAY + 5_000_000 };
  let agree = true;
  for (const [name, dimension, interval] of reqs) {
    const req = { ...oneDay, dimension, interval: interval === 'range' ? 'range' : ('60m' as Interval) };
    let last: unknown;
    out[`raw_1d_${name}_ms`] = await median(2, async () => (last = await viaRaw(req)));
    out[`rollup_1d_${name}_ms`] = await median(3, () => viaRollup(req));
    const same = isDeepStrictEqual(JSON.parse(JSON.stringify(await viaRollup(req))), JSON.parse(JSON.stringify(last)));
    out[`agree_1d_${name}`] = same;
    agree &&= same;
  }
  // Today's board late in a day (server/http/wallboard.ts): [midnight, 20:50:27) of the last day by
  // queue, centre and agent plus the 30-minute chart, at once; the rollups for the day so far, the
  // last minutes raw. Late in the generated day, because a live log has nothing after now: at 17:00
  // the chart's raw piece up to midnight would load the rest of the day's generated calls.
  const today = { from: day0 + (days - 1) * DAY, to: day0 + (days - 1) * DAY + 75_027_000 };
  const board = () =>
    Promise.all([
      viaRollup({ ...today, interval: 'range', dimension: 'queue' }),
      viaRollup({ ...today, interval: 'range', dimension: 'centre' }),
      viaRollup({ ...today, interval: 'range', dimension: 'agent' }),
      viaRollup({ from: today.from, to: today.from + DAY, asOf: today.to, interval: '30m', dimension: 'centre' }),
    ]);
  out.rollup_today_board_ms = await median(3, board);
  const edge = newRollupStats();
  await viaRollup({ ...today, interval: 'range', dimension: 'centre' }, edge);
  out.rollup_today_raw_events = edge.rawEvents;
  out.rollup_today_centre_split_ms = {
    stored: Math.round(edge.storedMs),
    dispositions: Math.round(edge.dispositionsMs),
    raw: Math.round(edge.rawMs),
  };
  for (const dimension of ['queue', 'agent'] as const) {
    const st = newRollupStats();
    await viaRollup({ ...today, interval: 'range', dimension }, st);
    out[`rollup_today_${dimension}_split_ms`] = {
      stored: Math.round(st.storedMs),
      dispositions: Math.round(st.dispositionsMs),
      raw: Math.round(st.rawMs),
    };
  }
  const chart = newRollupStats();
  await viaRollup({ from: today.from, to: today.from + DAY, asOf: today.to, interval: '30m', dimension: 'centre' }, chart);
  out.rollup_today_chart_split_ms = {
    stored: Math.round(chart.storedMs),
    dispositions: Math.round(chart.dispositionsMs),
    raw: Math.round(chart.rawMs),
  };
  const todayRaw = await viaRaw({ ...today, interval: 'range', dimension: 'centre' });
  const todayRollup = await viaRollup({ ...today, interval: 'range', dimension: 'centre' });
  out.agree_today = isDeepStrictEqual(JSON.parse(JSON.stringify(todayRollup)), JSON.parse(JSON.stringify(todayRaw)));
  agree &&= out.agree_today === true;
  // Raw over the whole range, if asked (memory: every event of the range in one process).
  if (process.env.BENCH_RAW_FULL === '1') {
    for (const [name, dimension, interval] of reqs) {
      const req = { ...full, dimension, interval };
      const a = t();
      const raw = await viaRaw(req);
      out[`raw_${days}d_${name}_ms`] = ms(a);
      const same = isDeepStrictEqual(JSON.parse(JSON.stringify(await viaRollup(req))), JSON.parse(JSON.stringify(raw)));
      out[`agree_${days}d_${name}`] = same;
      agree &&= same;
    }
  }
  out.agree = agree;
  out.offered = (await viaRollup({ ...full, dimension: 'centre', interval: 'range' })).rows[0]?.offered;
} finally {
  await store.close();
  rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
