/**
 * Reporting intervals. A report covers [from, to) and is cut into buckets of 15, 30 or 60 minutes,
 * a day, or one bucket for the whole range. Buckets are aligned to the clock in the centre's time
 * zone, given as a fixed UTC offset in minutes (e.g. 480 for Asia/Shanghai); daylight-saving
 * changes are not followed. The first and last buckets are clipped to the range.
 */
import { z } from 'zod';

export const IntervalSchema = z.enum(['15m', '30m', '60m', 'day', 'range']);
export type Interval = z.infer<typeof IntervalSchema>;

const MIN = 60_000;
const SIZE: Record<Exclude<Interval, 'range'>, number> = {
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
  const alias: Record<string, Interval> = { '1h': '60m', '1d': 'day', '24h': 'day', custom: 'range' };
  const r = IntervalSchema.safeParse(alias[t] ?? t);
  if (!r.success) throw new Error(`interval must be one of 15m, 30m, 60m, day, range (got "${text}")`);
  return r.data;
}

/** The buckets covering [from, to). */
export function buckets(from: number, to: number, interval: Interval, tzOffsetMinutes = 0): Bucket[] {
  if (!(to > from)) return [];
  if (interval === 'range') return [{ start: from, end: to }];
  const out: Bucket[] = [];
  let start = from;
  while (start < to) {
    const end = Math.min(to, alignedFloor(start, interval, tzOffsetMinutes) + SIZE[interval]);
    out.push({ start, end });
    start = end;
  }
  return out;
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

function alignedFloor(t: number, interval: Exclude<Interval, 'range'>, tzOffsetMinutes: number): number {
  const size = SIZE[interval];
  const off = tzOffsetMinutes * MIN;
  return Math.floor((t + off) / size) * size - off;
}

/** Overlap of [a0, a1) with [b0, b1) in ms. */
export function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/**
 * A report boundary from the CLI or a query string: epoch milliseconds, ISO 8601 with Z or an
 * offset, or a local date / date-time without offset, read in the centre's time zone.
 */
export function parseTime(text: string, tzOffsetMinutes = 0, now = Date.now()): number {
  const t = text.trim();
  if (t === 'now') return now;
  if (/^\d{10,15}$/.test(t)) return Number(t);
  const local = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?$/.exec(t);
  if (local) {
    const ms = Date.parse(`${local[1]}T${local[2] ?? '00:00'}Z`);
    if (Number.isFinite(ms)) return ms - tzOffsetMinutes * MIN;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new Error(`not a time: "${text}" (use ISO 8601 like 2026-01-05T09:00:00Z, a local 2026-01-05 09:00, or epoch ms)`);
}
