import { describe, expect, it } from 'vitest';
import {
  calendarState,
  checkCalendar,
  CalendarSchema,
  instantOf,
  isValidTimeZone,
  parseWhen,
  wallTime,
} from '../../../server/ivr/calendar.ts';

describe('wall time and instants in a zone', () => {
  it('converts local times to instants on both sides of DST', () => {
    expect(new Date(instantOf({ year: 2026, month: 1, day: 15, hour: 9, minute: 0 }, 'Europe/London')).toISOString()).toBe(
      '2026-01-15T09:00:00.000Z',
    );
    expect(new Date(instantOf({ year: 2026, month: 7, day: 15, hour: 9, minute: 0 }, 'Europe/London')).toISOString()).toBe(
      '2026-07-15T08:00:00.000Z',
    );
    expect(new Date(instantOf({ year: 2026, month: 7, day: 15, hour: 9, minute: 30 }, 'America/New_York')).toISOString()).toBe(
      '2026-07-15T13:30:00.000Z',
    );
    // 01:30 on 29 March 2026 does not exist in London: the instant after the gap.
    expect(new Date(instantOf({ year: 2026, month: 3, day: 29, hour: 1, minute: 30 }, 'Europe/London')).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
  });

  it('parses CLI times in the centre zone, or with an explicit offset', () => {
    expect(parseWhen('2026-12-25T10:00', 'Europe/London')).toBe(Date.parse('2026-12-25T10:00:00Z'));
    expect(parseWhen('2026-06-25T10:00', 'Europe/London')).toBe(Date.parse('2026-06-25T09:00:00Z'));
    expect(parseWhen('2026-06-25T10:00:00+02:00', 'Europe/London')).toBe(Date.parse('2026-06-25T08:00:00Z'));
    expect(parseWhen('next tuesday', 'UTC')).toBeUndefined();
  });

  it('reads the weekday in the zone, not in UTC', () => {
    // 23:30 UTC Sunday is 09:30 Monday in Sydney.
    expect(wallTime(Date.parse('2026-01-04T23:30:00Z'), 'Australia/Sydney')).toMatchObject({ weekday: 'mon', minute: 10 * 60 + 30 });
  });

  it('knows IANA zone names', () => {
    expect(isValidTimeZone('Europe/London')).toBe(true);
    expect(isValidTimeZone('Europe/Lundon')).toBe(false);
  });
});

describe('calendar state', () => {
  const cal = CalendarSchema.parse({
    timezone: 'America/New_York',
    weekly: { 'fri-mon': ['09:00-12:00', '13:00-17:00'], wed: ['00:00-24:00'] },
    holidays: [
      { name: 'Independence Day', date: '07-04' },
      { name: 'Shutdown', from: '2026-08-10', to: '2026-08-12' },
    ],
  });
  const at = (iso: string): string => calendarState(cal, Date.parse(iso));
  it('handles day ranges that wrap the week, split shifts and whole days', () => {
    expect(at('2026-07-10T14:00:00Z')).toBe('open'); // Fri 10:00 EDT
    expect(at('2026-07-10T16:30:00Z')).toBe('closed'); // Fri 12:30 lunch
    expect(at('2026-07-12T20:59:00Z')).toBe('open'); // Sun 16:59
    expect(at('2026-07-12T21:00:00Z')).toBe('closed'); // Sun 17:00
    expect(at('2026-07-14T15:00:00Z')).toBe('closed'); // Tue
    expect(at('2026-07-15T04:00:00Z')).toBe('open'); // Wed 00:00
  });
  it('reports holidays: yearly dates and ranges', () => {
    expect(at('2026-07-04T14:00:00Z')).toBe('holiday'); // a Saturday, open otherwise
    expect(at('2026-08-11T14:00:00Z')).toBe('holiday');
    expect(at('2026-08-13T14:00:00Z')).toBe('closed'); // Thursday, normal day
  });
  it('finds overlapping and inverted holiday rules', () => {
    const bad = CalendarSchema.parse({
      timezone: 'UTC',
      weekly: {},
      holidays: [
        { name: 'A', from: '2026-12-20', to: '2026-12-27' },
        { name: 'B', date: '2026-12-27' },
        { name: 'C', from: '2026-05-02', to: '2026-05-01' },
      ],
    });
    expect(checkCalendar(bad).map((p) => p.message)).toEqual([
      'holiday "B" overlaps holiday "A" (rule 1) on 2026-12-27',
      'holiday range ends (2026-05-01) before it starts (2026-05-02)',
    ]);
  });
  it('rejects malformed intervals and holidays in the schema', () => {
    expect(CalendarSchema.safeParse({ timezone: 'UTC', weekly: { mon: ['18:00-08:00'] } }).success).toBe(false);
    expect(CalendarSchema.safeParse({ timezone: 'UTC', weekly: { monday: ['08:00-18:00'] } }).success).toBe(false);
    expect(CalendarSchema.safeParse({ timezone: 'UTC', weekly: {}, holidays: [{ name: 'x' }] }).success).toBe(false);
  });
});
