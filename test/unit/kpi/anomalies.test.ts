/**
 * Events out of order (issue #14): call control used to log call.end one event before
 * queue.abandon. The engine's fallback still closes the queue call on call.end, so counts stay
 * right; an abandon now carries no exit reason (it used to read "system" in the drill-down), and
 * every event the engine set aside or read through the fallback is counted in the report's
 * metadata, listed in the contact drill-down, and shown in the CSV and the table.
 */
import { describe, expect, it } from 'vitest';
import { deriveFacts } from '../../../server/kpi/facts.ts';
import { parseCsv, reportToCsv, reportToTable } from '../../../server/kpi/format.ts';
import { callDetails, computeReport, contactChain } from '../../../server/kpi/report.ts';
import type { CcEvent } from '../../../server/kpi/events.ts';

const T0 = Date.UTC(2026, 6, 1, 8, 0); // 2026-07-01 08:00Z
const HOUR = 3_600_000;
const seqs = new Map<string, number>();
/** One event of stream `id` at T0 + sec seconds, numbered in the order written here. */
const ev = (id: string, sec: number, f: Record<string, unknown>): CcEvent => {
  const seq = (seqs.get(id) ?? 0) + 1;
  seqs.set(id, seq);
  return { contactId: id, seq, ts: T0 + sec * 1000, ...f } as CcEvent;
};
const arrived = (id: string, sec: number) =>
  ev(id, sec, { type: 'contact.arrived', initiation: 'inbound', caller: `+44${id}`, dialled: '100' });

const log: CcEvent[] = [
  // A: the old order. Enters sales at +2 s, hangs up at +32 s: call.end first, queue.abandon after.
  arrived('A', 0),
  ev('A', 2, { type: 'queue.enter', queue: 'sales' }),
  ev('A', 32, { type: 'call.end', endedBy: 'caller' }),
  ev('A', 32, { type: 'queue.abandon', queue: 'sales' }),
  // B: the fixed order. Enters support at +1 s, abandons at +11 s, then the call ends.
  arrived('B', 0),
  ev('B', 1, { type: 'queue.enter', queue: 'support' }),
  ev('B', 11, { type: 'queue.abandon', queue: 'support' }),
  ev('B', 11, { type: 'call.end', endedBy: 'caller' }),
  // C: answered after 10 s, 30 s on hold, ends at +130 s, 20 s of wrap-up.
  arrived('C', 0),
  ev('C', 0, { type: 'queue.enter', queue: 'sales' }),
  ev('C', 10, { type: 'queue.connect', queue: 'sales', agentId: 'a1' }),
  ev('C', 40, { type: 'hold.start', agentId: 'a1' }),
  ev('C', 70, { type: 'hold.end', agentId: 'a1' }),
  ev('C', 130, { type: 'call.end', endedBy: 'caller' }),
  ev('C', 130, { type: 'wrapup.start', agentId: 'a1', queue: 'sales' }),
  ev('C', 150, { type: 'wrapup.end', agentId: 'a1', extended: false }),
  // E: the system ends a queued call (shutdown) with no queue.exit first: exited, reason system.
  arrived('E', 300),
  ev('E', 300, { type: 'queue.enter', queue: 'support' }),
  ev('E', 320, { type: 'call.end', endedBy: 'system', cause: 'shutdown' }),
  // D: the old order again, but two hours later: not this report's call.
  arrived('D', 7_200),
  ev('D', 7_201, { type: 'queue.enter', queue: 'sales' }),
  ev('D', 7_210, { type: 'call.end', endedBy: 'caller' }),
  ev('D', 7_210, { type: 'queue.abandon', queue: 'sales' }),
  // An agent stream with a contact event in it, inside the hour.
  ev('agent:a1#boot', -10, { type: 'agent.state', agentId: 'a1', state: 'ready' }),
  ev('agent:a1#boot', 100, { type: 'hold.start', agentId: 'a1' }),
];
const hour = { from: T0, to: T0 + HOUR };

describe('events out of order at call end', () => {
  it('the drill-down shows an abandon as abandoned with no exit reason, whichever order the events came in', () => {
    const d = callDetails(log, hour);
    expect(d.map((x) => [x.contactId, x.queue, x.outcome, x.exitReason, x.waitSec])).toEqual([
      ['C', 'sales', 'answered', null, 10],
      ['B', 'support', 'abandoned', null, 10],
      ['A', 'sales', 'abandoned', null, 30],
      ['E', 'support', 'exited', 'system', 20],
    ]);
  });

  it('counts stay right: the fallback closed A exactly as queue.abandon would have', () => {
    const r = computeReport(log, { ...hour, interval: 'range', dimension: 'queue' });
    const sales = r.rows.find((x) => x.key === 'sales')!;
    const support = r.rows.find((x) => x.key === 'support')!;
    // sales: A abandoned after 30 s, C answered after 10 s with 90 s talk, 30 s hold, 20 s ACW.
    expect(sales).toMatchObject({ offered: 2, answered: 1, abandoned: 1, shortAbandoned: 0, exited: 0, asaSec: 10, avgAbandonSec: 30 });
    expect(sales).toMatchObject({ handled: 1, talkSec: 90, holdSec: 30, acwSec: 20, ahtSec: 140 });
    // support: B abandoned after 10 s, E exited (system) after 20 s.
    expect(support).toMatchObject({ offered: 2, answered: 0, abandoned: 1, exited: 1, avgAbandonSec: 10 });
  });

  it('the report counts the anomalies of its own calls: A twice (fallback, late abandon), E once, the agent stream once; not D', () => {
    const r = computeReport(log, { ...hour, interval: 'range', dimension: 'queue' });
    expect(r.anomalies.count).toBe(4);
    // In time order: A at +32 s, the agent stream at +100 s, E at +320 s.
    expect(r.anomalies.examples).toEqual([
      'A#3 call.end: the call ended while still queued in sales (no queue.abandon or queue.exit before it); closed as abandoned',
      'A#4 queue.abandon: not waiting in a queue; set aside',
      'agent:a1#boot#2 hold.start: not an agent state, in an agent stream; ignored',
      'E#3 call.end: the call ended while still queued in support (no queue.abandon or queue.exit before it); closed as exited (system)',
    ]);
    // Every dimension and key filter reports the same range-wide count.
    for (const dimension of ['centre', 'agent', 'skillGroup'] as const) {
      expect(computeReport(log, { ...hour, interval: '30m', dimension, keys: ['nobody'] }).anomalies.count).toBe(4);
    }
    // The hour of D: its two events, nothing else.
    const later = computeReport(log, { from: T0 + 2 * HOUR, to: T0 + 3 * HOUR, interval: 'range', dimension: 'queue' });
    expect(later.anomalies).toEqual({
      count: 2,
      examples: [
        'D#3 call.end: the call ended while still queued in sales (no queue.abandon or queue.exit before it); closed as abandoned',
        'D#4 queue.abandon: not waiting in a queue; set aside',
      ],
    });
  });

  it('a log in the fixed order has none', () => {
    const clean = log.filter((e) => e.contactId === 'B' || e.contactId === 'C');
    expect(computeReport(clean, { ...hour, interval: 'range', dimension: 'queue' }).anomalies).toEqual({ count: 0, examples: [] });
    expect(deriveFacts(clean, T0 + HOUR).anomalies).toEqual([]);
  });

  it('the CSV carries the count on every row (report_anomalies) and the table says it in its heading', () => {
    const r = computeReport(log, { ...hour, interval: 'range', dimension: 'queue' });
    const csv = parseCsv(reportToCsv(r));
    expect(csv.map((x) => [x.key, x.report_anomalies])).toEqual([
      ['sales', '4'],
      ['support', '4'],
    ]);
    expect(reportToTable(r).split('\n')[0]).toMatch(/; 4 events out of order, read through fallbacks/);
    const clean = computeReport(
      log.filter((e) => e.contactId === 'C'),
      { ...hour, interval: 'range', dimension: 'queue' },
    );
    expect(parseCsv(reportToCsv(clean))[0]!.report_anomalies).toBe('0');
    expect(reportToTable(clean).split('\n')[0]).not.toMatch(/out of order/);
  });

  it("the contact drill-down lists its own chain's anomalies", () => {
    expect(contactChain(log, 'A', T0 + HOUR)!.anomalies).toEqual([
      'A#3 call.end: the call ended while still queued in sales (no queue.abandon or queue.exit before it); closed as abandoned',
      'A#4 queue.abandon: not waiting in a queue; set aside',
    ]);
    expect(contactChain(log, 'C', T0 + HOUR)!.anomalies).toEqual([]);
  });
});
