import { describe, expect, it } from 'vitest';
import { buckets, parseInterval } from '../../../server/kpi/intervals.ts';
import { computeReport } from '../../../server/kpi/report.ts';
import type { CcEvent } from '../../../server/kpi/events.ts';

const iso = (b: { start: number; end: number }) => `${new Date(b.start).toISOString()}..${new Date(b.end).toISOString()}`;

describe('week, month and quarter intervals', () => {
  it('month and quarter edges at local midnight, across daylight saving (London)', () => {
    // 1 Mar 2026 00:00 GMT to 1 May 2026 00:00 BST (23:00 UTC the day before).
    const from = Date.UTC(2026, 2, 1);
    const to = Date.UTC(2026, 3, 30, 23);
    expect(buckets(from, to, 'month', 'Europe/London').map(iso)).toEqual([
      '2026-03-01T00:00:00.000Z..2026-03-31T23:00:00.000Z',
      '2026-03-31T23:00:00.000Z..2026-04-30T23:00:00.000Z',
    ]);
    expect(buckets(Date.UTC(2026, 1, 10), Date.UTC(2026, 6, 2), 'quarter', 0).map(iso)).toEqual([
      '2026-02-10T00:00:00.000Z..2026-04-01T00:00:00.000Z',
      '2026-04-01T00:00:00.000Z..2026-07-01T00:00:00.000Z',
      '2026-07-01T00:00:00.000Z..2026-07-02T00:00:00.000Z',
    ]);
  });

  it('weeks start on Monday in the zone (UTC+8)', () => {
    // Wed 7 Jan 2026 to Wed 21 Jan; Monday 12 Jan 00:00 +08:00 is 11 Jan 16:00 UTC.
    expect(buckets(Date.UTC(2026, 0, 7), Date.UTC(2026, 0, 21), 'week', 480).map(iso)).toEqual([
      '2026-01-07T00:00:00.000Z..2026-01-11T16:00:00.000Z',
      '2026-01-11T16:00:00.000Z..2026-01-18T16:00:00.000Z',
      '2026-01-18T16:00:00.000Z..2026-01-21T00:00:00.000Z',
    ]);
    expect(parseInterval('1w')).toBe('week');
    expect(parseInterval('quarter')).toBe('quarter');
  });

  it('the report engine cuts by month', () => {
    const call = (id: string, t: number): CcEvent[] =>
      [
        { contactId: id, seq: 1, ts: t, type: 'contact.arrived', initiation: 'inbound', caller: `+1${id}`, dialled: '1' },
        { contactId: id, seq: 2, ts: t, type: 'queue.enter', queue: 'sales' },
        { contactId: id, seq: 3, ts: t + 5000, type: 'queue.connect', queue: 'sales', agentId: 'a' },
        { contactId: id, seq: 4, ts: t + 65_000, type: 'call.end', endedBy: 'caller' },
      ] as CcEvent[];
    const ev = [...call('a', Date.UTC(2026, 2, 31, 10)), ...call('b', Date.UTC(2026, 3, 1, 10)), ...call('c', Date.UTC(2026, 3, 2, 10))];
    const r = computeReport(ev, { from: Date.UTC(2026, 2, 1), to: Date.UTC(2026, 4, 1), interval: 'month', dimension: 'queue' });
    expect(r.rows.map((x) => `${x.intervalStart} ${x.offered}`)).toEqual(['2026-03-01T00:00:00.000Z 1', '2026-04-01T00:00:00.000Z 2']);
  });
});
