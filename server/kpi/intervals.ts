/**
 * Reporting intervals. A report covers [from, to) and is cut into buckets of 15, 30 or 60 minutes,
 * a day, or one bucket for the whole range. Buckets are aligned to the clock in the centre's time
 * zone: either an IANA zone name (e.g. "Europe/Paris"; days follow daylight-saving changes, so a
 * day bucket can be 23 or 25 hours) or a fixed UTC offset in minutes (e.g. 480 for UTC+8). The
 * first and last buckets are clipped to the range.
 */
import { z } from 'zod';

export const IntervalSchema = z.enum(['15m', '30m', '60m', 'day', 'week', 'month', 'quarter', 'range']);
export type Interval = z.infer<typeof IntervalSchema>;

const MIN = 60_000;
/** Calendar intervals: edges at local midnight on Monday / the 1st of the month / of the quarter. */
type CalendarInterval = 'week' | 'month' | 'quarter';
const CALENDAR: ReadonlySet<string> = new Set(['week', 'month', 'quarter']);

const SIZE: Record<Exclude<Interval, 'range' | CalendarInterval>, number> = {
  '15m': 15 * MIN,
  '30m': 30 * MIN,
  '60m': 60 * MIN,
  day: 24 * 60 * MIN,
};

export interface Bucket {
  start: number;
  end: number;
}

/** Accepts the CLI/REST spellings: 15m, 30m, 60m, 1h, day, 1d, range. */
export function parseInterval(text: string): Interval {
  const t = text.trim().toLowerCase();
  const alias: Record<string, Interval> = { '1h': '60m', '1d': 'day', '24h': 'day', '1w': 'week', custom: 'range' };
  const r = IntervalSchema.safeParse(alias[t] ?? t);
  if (!r.success) throw new Error(`interval must be one of 15m, 30m, 60m, day, week, month, quarter, range (got "${text}")`);
  return r.data;
}

/** A zone: IANA name, or fixed minutes east of UTC. */
export type Zone = string | number;

/** The buckets covering [from, to). */
export function buckets(from: number, to: number, interval: Interval, zone: Zone = 0): Bucket[] {
  if (!(to > from)) return [];
  if (interval === 'range') return [{ start: from, end: to }];
  const out: Bucket[] = [];
  let start = from;
  if (CALENDAR.has(interval)) {
    while (start < to) {
      const end = Math.min(to, nextCalendarEdge(start, interval as CalendarInterval, zone));
      out.push({ start, end });
      start = end;
    }
    return out;
  }
  const fixed = interval as Exclude<Interval, 'range' | CalendarInterval>;
  while (start < to) {
    const off = offsetAt(zone, start);
    let end = alignedFloor(start, fixed, off) + SIZE[fixed];
    // Across a daylight-saving change local midnight moves by the change in offset.
    if (fixed === 'day') end += (off - offsetAt(zone, end)) * MIN;
    if (end <= start) end = start + SIZE[fixed];
    end = Math.min(to, end);
    out.push({ start, end });
    start = end;
  }
  return out;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes east of UTC in the zone at instant t. */
export function offsetAt(zone: Zone, t: number): number {
  if (typeof zone === 'number') return zone;
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  // The formatter above always yields all six; the defaults only keep the types honest.
  const parts = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const p of f.formatToParts(new Date(t))) if (p.type in parts) parts[p.type as keyof typeof parts] = Number(p.value);
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return Math.round((asUtc - Math.floor(t / 1000) * 1000) / MIN);
}

/** Whether the runtime knows this IANA zone. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Index of the bucket holding t, or -1 when t is outside [from, to). */
export function bucketIndex(list: readonly Bucket[], t: number): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const b = list[mid]!;
    if (t < b.start) hi = mid - 1;
    else if (t >= b.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The first local midnight after t that starts a week (Monday), month or quarter, as an instant. */
function nextCalendarEdge(t: number, interval: CalendarInterval, zone: Zone): number {
  const local = new Date(t + offsetAt(zone, t) * MIN);
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth();
  const edgeLocal =
    interval === 'week'
      ? Date.UTC(y, m, local.getUTCDate() + 7 - ((local.getUTCDay() + 6) % 7))
      : interval === 'month'
        ? Date.UTC(y, m + 1, 1)
        : Date.UTC(y, Math.floor(m / 3) * 3 + 3, 1);
  // Wall-clock midnight to an instant: the offset there, corrected once (as parseTime does).
  const guess = edgeLocal - offsetAt(zone, edgeLocal) * MIN;
  return edgeLocal - offsetAt(zone, guess) * MIN;
}

function alignedFloor(t: number, interval: Exclude<Interval, 'range' | CalendarInterval>, offsetMinutes: number): number {
  const size = SIZE[interval];
  const off = offsetMinutes * MIN;
  return Math.floor((t + off) / size) * size - off;
}

/** Overlap of [a0, a1) with [b0, b1) in ms. */
export function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/**
 * A report boundary from the CLI or a query string: epoch milliseconds, ISO 8601 with Z or an
 * offset, a local date / date-time without offset read in the centre's time zone, or one of now,
 * today, yesterday, tomorrow (local midnights).
 */
export function parseTime(text: string, zone: Zone = 0, now = Date.now()): number {
  const t = text.trim();
  if (t === 'now') return now;
  if (t === 'today' || t === 'yesterday' || t === 'tomorrow') {
    // Local midnight in the zone: today's local date read from the offset now, then converted back.
    const local = new Date(now + offsetAt(zone, now) * MIN).toISOString().slice(0, 10);
    const midnight = parseTime(local, zone, now);
    const shift = t === 'yesterday' ? -1 : t === 'tomorrow' ? 1 : 0;
    return shift === 0
      ? midnight
      : parseTime(new Date(Date.parse(`${local}T00:00Z`) + shift * 86_400_000).toISOString().slice(0, 10), zone, now);
  }
  if (/^\d{10,15}$/.test(t)) return Number(t);
  const local = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?$/.exec(t);
  if (local) {
    const ms = Date.parse(`${local[1]}T${local[2] ?? '00:00'}Z`);
    // The offset at the wall-clock time read as UTC, corrected once for the offset found there.
    if (Number.isFinite(ms)) {
      const guess = ms - offsetAt(zone, ms) * MIN;
      return ms - offsetAt(zone, guess) * MIN;
    }
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new Error(
    `not a time: "${text}" (use ISO 8601 like 2026-01-05T09:00:00Z, a local 2026-01-05 09:00, today, yesterday, now, or epoch ms)`,
  );
}
