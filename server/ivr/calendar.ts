/**
 * Business-hours calendars (config/hours.yaml): weekly opening hours in a named IANA time zone,
 * plus holidays (whole days, date ranges, or every year on a month-day) that may carry reduced
 * hours. Evaluation works on the wall-clock time in the calendar's zone, so a DST change moves
 * the opening instant with it, as a person expects.
 */
import { z } from 'zod';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
type Day = (typeof DAYS)[number];

const HHMM = '([01][0-9]|2[0-3]):[0-5][0-9]';
const INTERVAL_RE = new RegExp(`^(${HHMM})-((${HHMM})|24:00)$`);

export const IntervalSchema = z
  .string()
  .regex(INTERVAL_RE, 'an interval "HH:MM-HH:MM" (24-hour clock, end may be 24:00)')
  .refine((s) => toMinutes(s.slice(0, 5)) < toMinutes(s.slice(6)), 'interval must end after it starts');

const DAY_KEY = new RegExp(`^(${DAYS.join('|')})(-(${DAYS.join('|')}))?$`);

export const DateSchema = z
  .string()
  .regex(/^(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/, 'a date "YYYY-MM-DD", or "MM-DD" for every year');

export const HolidaySchema = z
  .strictObject({
    name: z.string().min(1),
    date: DateSchema.optional().describe('One day: "2026-12-25", or "12-25" every year.'),
    from: DateSchema.optional().describe('Or an inclusive range of dates (both "YYYY-MM-DD").'),
    to: DateSchema.optional(),
    open: z.array(IntervalSchema).default([]).describe('Reduced hours that day; without them the centre is closed all day.'),
  })
  .refine((h) => (h.date !== undefined) !== (h.from !== undefined && h.to !== undefined), {
    message: 'a holiday needs either "date" or both "from" and "to"',
  });

export const CalendarSchema = z.strictObject({
  timezone: z.string().min(1).describe('IANA time zone, e.g. "Europe/London".'),
  weekly: z
    .record(z.string().regex(DAY_KEY, 'a day "mon".."sun" or a range like "mon-fri"'), z.array(IntervalSchema))
    .describe('Opening hours by day: keys "mon".."sun" or ranges like "mon-fri".'),
  holidays: z.array(HolidaySchema).default([]),
});

export type Calendar = z.infer<typeof CalendarSchema>;
export type Holiday = z.infer<typeof HolidaySchema>;
export type CalendarState = 'open' | 'closed' | 'holiday';

function toMinutes(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export interface WallTime {
  year: number;
  month: number;
  day: number;
  /** Minutes since local midnight. */
  minute: number;
  weekday: Day;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall-clock time at `at` (epoch ms) in zone `tz`. */
export function wallTime(at: number, tz: string): WallTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(at))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    weekday: (parts.weekday ?? 'Sun').toLowerCase().slice(0, 3) as Day,
  };
}

/**
 * The instant at which the wall clock in `tz` shows the given local time. In a DST gap the time
 * does not exist and the instant after the gap is returned; in an overlap, the earlier one.
 */
export function instantOf(local: { year: number; month: number; day: number; hour: number; minute: number }, tz: string): number {
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  const offsetAt = (t: number): number => {
    const w = wallTime(t, tz);
    const shown = Date.UTC(w.year, w.month - 1, w.day, Math.floor(w.minute / 60), w.minute % 60);
    return shown - Math.floor(t / 60_000) * 60_000;
  };
  // Two passes settle on the right offset either side of a transition.
  let t = asUtc - offsetAt(asUtc);
  t = asUtc - offsetAt(t);
  return t;
}

/** Parse "2026-12-25T10:00" (wall time in tz) or any ISO string with an offset/Z. */
export function parseWhen(s: string, tz: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?$/.exec(s.trim());
  if (m) {
    return instantOf(
      { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Number(m[4] ?? 0), minute: Number(m[5] ?? 0) },
      tz,
    );
  }
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function expandDays(key: string): Day[] {
  const [a, b] = key.split('-') as [Day, Day | undefined];
  if (!b) return [a];
  const out: Day[] = [];
  let i = DAYS.indexOf(a);
  const end = DAYS.indexOf(b);
  for (;;) {
    out.push(DAYS[i]!);
    if (i === end) break;
    i = (i + 1) % 7;
  }
  return out;
}

/** Days covered by a holiday rule, as "YYYY-MM-DD" or "MM-DD" (yearly) keys. */
export function holidayDays(h: Holiday): string[] {
  if (h.date) return [h.date];
  if (!h.from || !h.to) return [];
  const out: string[] = [];
  const start = Date.parse(`${h.from}T00:00:00Z`);
  const end = Date.parse(`${h.to}T00:00:00Z`);
  // Bounded: a range longer than a year is surely a typo and is rejected by validation.
  for (let t = start; t <= end && out.length <= 366; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

function inIntervals(intervals: readonly string[], minute: number): boolean {
  return intervals.some((iv) => minute >= toMinutes(iv.slice(0, 5)) && minute < toMinutes(iv.slice(6)));
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The holiday rule that covers the local date, if any. */
export function holidayOn(cal: Calendar, w: Pick<WallTime, 'year' | 'month' | 'day'>): Holiday | undefined {
  const full = `${w.year}-${pad(w.month)}-${pad(w.day)}`;
  const md = `${pad(w.month)}-${pad(w.day)}`;
  return cal.holidays.find((h) => holidayDays(h).some((d) => d === full || d === md));
}

/** Open, closed or holiday at instant `at` (epoch ms). */
export function calendarState(cal: Calendar, at: number): CalendarState {
  const w = wallTime(at, cal.timezone);
  const hol = holidayOn(cal, w);
  if (hol) return inIntervals(hol.open, w.minute) ? 'open' : 'holiday';
  const today: string[] = [];
  for (const [key, ivs] of Object.entries(cal.weekly)) if (expandDays(key).includes(w.weekday)) today.push(...ivs);
  return inIntervals(today, w.minute) ? 'open' : 'closed';
}

export interface CalendarProblem {
  /** Path inside the calendar object. */
  path: (string | number)[];
  message: string;
}

/** Checks a schema-valid calendar for what zod cannot see: zone names and overlapping holidays. */
export function checkCalendar(cal: Calendar): CalendarProblem[] {
  const problems: CalendarProblem[] = [];
  if (!isValidTimeZone(cal.timezone)) {
    problems.push({ path: ['timezone'], message: `unknown time zone "${cal.timezone}" (expected an IANA name such as "Europe/London")` });
  }
  const seen = new Map<string, number>();
  cal.holidays.forEach((h, i) => {
    if (h.from && h.to) {
      if (h.from.length !== 10 || h.to.length !== 10) {
        problems.push({ path: ['holidays', i, 'from'], message: 'a holiday range needs full dates "YYYY-MM-DD"' });
        return;
      }
      if (h.from > h.to)
        problems.push({ path: ['holidays', i, 'to'], message: `holiday range ends (${h.to}) before it starts (${h.from})` });
      if (Date.parse(h.to) - Date.parse(h.from) > 366 * 86_400_000) {
        problems.push({ path: ['holidays', i, 'to'], message: 'holiday range longer than a year' });
      }
    }
    for (const d of holidayDays(h)) {
      const md = d.length === 10 ? d.slice(5) : d;
      for (const [other, j] of seen) {
        const omd = other.length === 10 ? other.slice(5) : other;
        const clash = other === d || ((other.length === 5 || d.length === 5) && omd === md);
        if (clash && j !== i) {
          const oh = cal.holidays[j];
          problems.push({
            path: ['holidays', i],
            message: `holiday "${h.name}" overlaps holiday "${oh?.name ?? j}" (rule ${j + 1}) on ${d.length === 10 ? d : `every ${d}`}`,
          });
          return;
        }
      }
      seen.set(d, i);
    }
  });
  return problems;
}
