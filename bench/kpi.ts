/**
 * KPI engine speed: a synthetic day (default 20 000 calls, 100 agents) through computeReport per
 * queue at 30-minute intervals, per agent, and per call. Prints one JSON line.
 *   npm run bench -- kpi [calls] [agents]
 */
import { callDetails, computeReport } from '../server/kpi/report.ts';
import { syntheticDay } from '../test/unit/kpi/syntheticDay.ts';

const calls = Math.min(Number(process.argv[2] ?? 20_000), 200_000);
const agents = Math.min(Number(process.argv[3] ?? 100), 2_000);
const day0 = Date.UTC(2026, 0, 5);
const events = syntheticDay({ calls, agents, day: day0 });
const range = { from: day0, to: day0 + 86_400_000 };

function time(fn: () => unknown, runs = 3): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return Math.round(Math.min(...t));
}

const queueMs = time(() => computeReport(events, { ...range, interval: '30m', dimension: 'queue' }));
const agentMs = time(() => computeReport(events, { ...range, interval: '30m', dimension: 'agent' }));
const centreMs = time(() => computeReport(events, { ...range, interval: 'day', dimension: 'centre' }));
const detailMs = time(() => callDetails(events, range));
const offered = computeReport(events, { ...range, interval: 'range', dimension: 'centre' }).rows[0]?.offered;
console.log(
  JSON.stringify({
    bench: 'kpi',
    calls,
    agents,
    events: events.length,
    offered,
    queue_30m_ms: queueMs,
    agent_30m_ms: agentMs,
    centre_day_ms: centreMs,
    call_detail_ms: detailMs,
    events_per_s_queue_report: Math.round(events.length / (queueMs / 1000)),
  }),
);
