import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../server/kpi/events.ts';
import { csvCell, parseCsv, reportToCsv, reportToTable } from '../../../server/kpi/format.ts';
import { buckets, parseInterval } from '../../../server/kpi/intervals.ts';
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
  it('rejects bad input with a readable reason instead of throwing', () => {
    for (const bad of [null, 42, 'x', {}, { type: 'queue.enter', contactId: 'c', seq: 0, ts: 1, queue: 'q' }, { type: 'nope', contactId: 'c', seq: 1, ts: 1 }]) {
      const r = parseEvent(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
    }
  });
});
