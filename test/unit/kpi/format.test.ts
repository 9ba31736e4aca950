import { describe, expect, it } from 'vitest';
import { agentStreamId, EventSequencer, parseEvent } from '../../../server/kpi/events.ts';
import { csvCell, parseCsv, reportToCsv, reportToTable } from '../../../server/kpi/format.ts';
import { buckets, offsetAt, parseInterval, parseTime } from '../../../server/kpi/intervals.ts';
import { computeReport } from '../../../server/kpi/report.ts';
import { callVerdict } from '../../../server/kpi/serviceLevel.ts';
import { HOUR, SETTINGS, T0, scriptedDay } from './scriptedDay.ts';

describe('report formats', () => {
  const report = computeReport(scriptedDay(), { from: T0, to: T0 + HOUR, interval: '30m', dimension: 'queue' }, SETTINGS);

  it('CSV carries the JSON figures digit for digit, with the SL mode on every row', () => {
    const rows = parseCsv(reportToCsv(report));
    expect(rows).toHaveLength(report.rows.length);
    report.rows.forEach((r, i) => {
      const c = rows[i]!;
      expect(c.key).toBe(r.key);
      expect(c.offered).toBe(String(r.offered));
      expect(c.ahtSec).toBe(r.ahtSec === null ? '' : String(r.ahtSec));
      expect(c.sl_20s).toBe(String(r.serviceLevels![0]!.value ?? ''));
      expect(c.sl_mode).toBe('abandons-ignored');
    });
  });

  it('quotes and defuses spreadsheet formulas', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell(null)).toBe('');
  });

  it('table states the definitions in its header', () => {
    const t = reportToTable(report);
    expect(t).toContain('SL mode abandons-ignored, thresholds 20/30 s, short abandon < 5 s');
    expect(t.split('\n')[2]).toContain('sales');
  });
});

describe('intervals and SL verdicts', () => {
  it('parses interval spellings and rejects others', () => {
    expect(parseInterval('1h')).toBe('60m');
    expect(parseInterval('15m')).toBe('15m');
    expect(() => parseInterval('7m')).toThrow(/interval must be/);
  });
  it('clips the first and last buckets to the range', () => {
    const b = buckets(T0 + 10 * 60_000, T0 + 50 * 60_000, '15m');
    expect(b.map((x) => (x.end - x.start) / 60_000)).toEqual([5, 15, 15, 5]);
    expect(buckets(T0, T0, '15m')).toEqual([]);
  });
  it('cuts days at local midnight in an IANA zone, across daylight-saving changes', () => {
    expect(offsetAt('Asia/Shanghai', T0)).toBe(480);
    expect(offsetAt('Europe/Paris', T0)).toBe(60);
    const spring = buckets(Date.UTC(2026, 2, 28, 23), Date.UTC(2026, 2, 30, 22), 'day', 'Europe/Paris');
    expect(spring.map((b) => [new Date(b.start).toISOString(), (b.end - b.start) / 3_600_000])).toEqual([
      ['2026-03-28T23:00:00.000Z', 23],
      ['2026-03-29T22:00:00.000Z', 24],
    ]);
    const autumn = buckets(Date.UTC(2026, 9, 24, 22), Date.UTC(2026, 9, 26, 23), 'day', 'Europe/Paris');
    expect(autumn.map((b) => (b.end - b.start) / 3_600_000)).toEqual([25, 24]);
    expect(new Date(parseTime('2026-03-29 12:00', 'Europe/Paris')).toISOString()).toBe('2026-03-29T10:00:00.000Z');
    expect(new Date(parseTime('2026-01-05', 480)).toISOString()).toBe('2026-01-04T16:00:00.000Z');
    expect(parseTime('2026-01-05T09:00:00+08:00')).toBe(Date.UTC(2026, 0, 5, 1));
    expect(() => parseTime('2026-13-45')).toThrow(/not a time/);
    const now = Date.UTC(2026, 0, 5, 20, 30); // 04:30 on Jan 6 in Shanghai
    expect(new Date(parseTime('today', 'Asia/Shanghai', now)).toISOString()).toBe('2026-01-05T16:00:00.000Z');
    expect(new Date(parseTime('yesterday', 'Asia/Shanghai', now)).toISOString()).toBe('2026-01-04T16:00:00.000Z');
    expect(new Date(parseTime('tomorrow', 0, now)).toISOString()).toBe('2026-01-06T00:00:00.000Z');
  });
  it('a wait of exactly T is inside T; short abandons are never counted', () => {
    expect(callVerdict('answered', 20_000, false, 'abandons-missed', 20)).toBe(true);
    expect(callVerdict('answered', 20_001, false, 'abandons-missed', 20)).toBe(false);
    expect(callVerdict('abandoned', 3_000, true, 'abandons-met', 20)).toBeNull();
    expect(callVerdict('abandoned', 10_000, false, 'abandons-met', 20)).toBe(true);
    expect(callVerdict('abandoned', 10_000, false, 'abandons-missed', 20)).toBe(false);
    expect(callVerdict('abandoned', 10_000, false, 'abandons-ignored', 20)).toBeNull();
    expect(callVerdict('abandoned', 30_000, false, 'abandons-ignored', 20)).toBe(false);
    expect(callVerdict('exited', 1_000, false, 'abandons-met', 20)).toBe(false);
  });
});

describe('event validation', () => {
  it('accepts a well-formed event and fills defaults', () => {
    const r = parseEvent({ type: 'contact.arrived', contactId: 'c', seq: 1, ts: T0, caller: '+1', dialled: '2' });
    expect(r.ok && r.event.type === 'contact.arrived' && r.event.initiation).toBe('inbound');
  });
  it('numbers a stream densely for producers', () => {
    const s = new EventSequencer('call-1');
    const a = s.stamp({ type: 'queue.enter', ts: T0, queue: 'sales' });
    const b = s.stamp({ type: 'queue.abandon', ts: T0 + 1, queue: 'sales' });
    expect([a.seq, b.seq, a.contactId, s.nextSeq]).toEqual([1, 2, 'call-1', 3]);
    expect(parseEvent(b).ok).toBe(true);
    expect(new EventSequencer(agentStreamId('alice'), 7).stamp({ type: 'agent.state', ts: T0, agentId: 'alice', state: 'ready' }).seq).toBe(
      7,
    );
  });
  it('rejects bad input with a readable reason instead of throwing', () => {
    // Each reason names what is wrong and where, not just "invalid".
    const cases: [unknown, RegExp][] = [
      [null, /expected object, received null/],
      [42, /expected object, received number/],
      ['x', /expected object, received string/],
      [{}, /Invalid discriminator value[\s\S]*at type/],
      [{ type: 'queue.enter', contactId: 'c', seq: 0, ts: 1, queue: 'q' }, /expected number to be >=1[\s\S]*at seq/],
      [{ type: 'nope', contactId: 'c', seq: 1, ts: 1 }, /Invalid discriminator value. Expected 'contact.arrived'[\s\S]*at type/],
    ];
    for (const [bad, reason] of cases) {
      const r = parseEvent(bad);
      expect(r).toEqual({ ok: false, error: expect.stringMatching(reason) });
    }
  });
});
