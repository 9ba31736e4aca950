import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../server/acd/simulation.ts';
import {
  accuracy,
  backtest,
  fitForecast,
  forecastAt,
  Forecaster,
  historyFromRows,
  localSlot,
  reforecast,
  volumeAlert,
  type SeriesPoint,
} from '../../../server/planning/forecast.ts';

const MIN = 60_000;
const DAY = 86_400_000;
/** Monday 2026-01-05 00:00 UTC. */
const MONDAY = Date.UTC(2026, 0, 5);

/** The truth the history is drawn from: weekday factors (Mon..Sun), open hours, a two-hump day, a trend. */
const TRUE_WEEKDAY = [1.3, 1.1, 1.0, 1.0, 0.9, 0.4, 0];
const LEVEL0 = 2000; // calls per average open day at day 0
const SLOPE = 5; // more calls per day, every day
const HOLIDAY_FACTOR = 0.3;

function openHours(weekday: number): [number, number] {
  return weekday === 5 ? [9, 13] : weekday === 6 ? [0, 0] : [8, 20];
}

/** Share of the day's calls in each 30-minute slot: a morning peak at 10:30 and a smaller one at 15:00. */
function trueShape(weekday: number): number[] {
  const [open, close] = openHours(weekday);
  const raw = Array.from({ length: 48 }, (_, s) => {
    const h = s / 2 + 0.25;
    if (h < open || h >= close) return 0;
    return 1 + 2 * Math.exp(-((h - 10.5) ** 2) / 2) + 1.2 * Math.exp(-((h - 15) ** 2) / 3);
  });
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((r) => (total > 0 ? r / total : 0));
}

const meanOpen = TRUE_WEEKDAY.filter((w) => w > 0).reduce((a, b) => a + b, 0) / 6;
function trueRate(start: number, holidays: ReadonlySet<string>): number {
  const l = localSlot(start, 0, 30);
  const day = (start - MONDAY) / DAY;
  const level = LEVEL0 + SLOPE * Math.floor(day);
  const v = level * (TRUE_WEEKDAY[l.weekday]! / meanOpen) * trueShape(l.weekday)[l.slot]!;
  return holidays.has(l.date) ? v * HOLIDAY_FACTOR : v;
}

/** Poisson sample (Knuth; λ here stays below ~150, where e^-λ is still a normal double). */
function poisson(rand: () => number, lambda: number): number {
  if (lambda <= 0) return 0;
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

function history(weeks: number, holidays: ReadonlySet<string>, noisy: boolean, seed = 42): SeriesPoint[] {
  const rand = mulberry32(seed);
  const out: SeriesPoint[] = [];
  for (let t = MONDAY; t < MONDAY + weeks * 7 * DAY; t += 30 * MIN) {
    const lambda = trueRate(t, holidays);
    out.push({ start: t, calls: noisy ? poisson(rand, lambda) : lambda, ahtSec: 180 + (localSlot(t, 0, 30).slot % 4) * 10 });
  }
  return out;
}

// Wednesday of week 3 in the fitted history; Monday of week 8 in the held-out week.
const HOLIDAYS = new Set(['2026-01-21', '2026-02-23']);
const holidayList = [...HOLIDAYS].map((date) => ({ date }));

describe('forecast: weekday × interval seasonality with trend', () => {
  it('recovers the parameters exactly from noise-free history', () => {
    const h = history(6, HOLIDAYS, false);
    const m = fitForecast(h, { intervalMin: 30, holidays: holidayList });
    const trueNorm = TRUE_WEEKDAY.map((w) => w / meanOpen);
    m.weekday.forEach((w, i) => expect(w).toBeCloseTo(trueNorm[i]!, 9));
    expect(m.trend.slopePerDay).toBeCloseTo(SLOPE, 6);
    expect(m.holidayFactor).toBeCloseTo(HOLIDAY_FACTOR, 9);
    // Two weeks ahead, exact to rounding, holiday included (learnt factor).
    for (let t = MONDAY + 7 * 7 * DAY; t < MONDAY + 8 * 7 * DAY; t += 30 * MIN)
      expect(forecastAt(m, t)).toBeCloseTo(trueRate(t, HOLIDAYS), 6);
    expect(m.ahtSec[0]![21]).toBeCloseTo(190, 9); // slot 21 % 4 = 1 -> 190 s
  });

  it('on Poisson noise: held-out WAPE within 10 % of the noise floor (the truth itself), parameters within 2 %', () => {
    const h = history(8, HOLIDAYS, true);
    const r = backtest(h, { intervalMin: 30, holidays: holidayList }, 2);
    const held = h.filter((p) => p.start >= r.splitAt);
    // The floor: no forecast beats the true rate on average; its WAPE is pure Poisson noise.
    const floor = accuracy(
      held,
      held.map((p) => ({ calls: trueRate(p.start, HOLIDAYS) })),
    );
    expect(r.intervals).toBe(2 * 7 * 48);
    expect(floor.wape!).toBeGreaterThan(0.08);
    expect(floor.wape!).toBeLessThan(0.12);
    expect(r.wape!).toBeLessThan(floor.wape! * 1.1);
    expect(Math.abs(r.bias!)).toBeLessThan(0.02);
    expect(r.mape!).toBeLessThan(floor.mape! * 1.1);
    const trueNorm = TRUE_WEEKDAY.map((w) => w / meanOpen);
    r.model.weekday.forEach((w, i) => expect(Math.abs(w - trueNorm[i]!)).toBeLessThan(0.02 * Math.max(1, trueNorm[i]!)));
    expect(Math.abs(r.model.holidayFactor - HOLIDAY_FACTOR)).toBeLessThan(0.03);
    // Stated in the report: print the figures.
    console.log(
      `forecast backtest (2 held-out weeks, 30 min): WAPE ${(r.wape! * 100).toFixed(2)} % (noise floor ${(floor.wape! * 100).toFixed(2)} %), MAPE ${(r.mape! * 100).toFixed(2)} % (floor ${(floor.mape! * 100).toFixed(2)} %), bias ${(r.bias! * 100).toFixed(2)} %`,
    );
  });

  it('intraday re-forecast follows a day running 25 % hot', () => {
    const h = history(6, new Set(), true);
    const m = fitForecast(h, { intervalMin: 30 });
    const day = MONDAY + 6 * 7 * DAY; // a Monday
    const rand = mulberry32(9);
    const today = Array.from({ length: 48 }, (_, s) => ({
      start: day + s * 30 * MIN,
      calls: poisson(rand, trueRate(day + s * 30 * MIN, new Set()) * 1.25),
    }));
    const now = day + 12 * 3600_000; // noon: 08:00-12:00 seen
    const rest = reforecast(m, today.slice(0, 24), now, day + DAY);
    expect(rest.ratio!).toBeGreaterThan(1.18);
    expect(rest.ratio!).toBeLessThan(1.32);
    const actualRest = today.slice(24);
    const plain = accuracy(
      actualRest,
      actualRest.map((p) => ({ calls: forecastAt(m, p.start) })),
    );
    const re = accuracy(actualRest, rest);
    expect(re.wape!).toBeLessThan(plain.wape! * 0.75);
    // Before anything is seen the re-forecast is the forecast.
    expect(reforecast(m, [], day, day + DAY).ratio).toBe(1);
  });

  it('normal for this hour and the +30 % / +50 % volume alerts', () => {
    const m = fitForecast(history(4, new Set(), false), { intervalMin: 30 });
    const f = new Forecaster(new Map([['sales', m]]));
    const at = MONDAY + 4 * 7 * DAY + 10.5 * 3600_000; // Monday 10:30
    const normal = f.normalFor('sales', at)!;
    expect(normal).toBeCloseTo(trueRate(at, new Set()), 6);
    // Halfway through the interval half the normal has come: no alert; 1.3x is elevated, 1.5x a surge.
    const mid = at + 15 * MIN;
    expect(f.normalFor('sales', mid, true)).toBeCloseTo(normal / 2, 6);
    expect(f.alert('sales', mid, normal / 2)).toBe('none');
    expect(f.alert('sales', mid, (normal / 2) * 1.3)).toBe('elevated');
    expect(f.alert('sales', mid, (normal / 2) * 1.5)).toBe('surge');
    expect(f.normalFor('nope', at)).toBeUndefined();
    expect(volumeAlert(6, 2)).toBe('none'); // too quiet to judge
  });

  it('local weekday and slot follow the zone; history from report rows', () => {
    // 2026-03-29 00:30 UTC is Sunday 00:30 in London (GMT) and Sunday 01:30 in Paris (CET).
    expect(localSlot(Date.UTC(2026, 2, 29, 0, 30), 'Europe/Paris', 30)).toMatchObject({ weekday: 6, slot: 3, date: '2026-03-29' });
    expect(localSlot(Date.UTC(2026, 0, 5, 23, 45), 480, 15)).toMatchObject({ weekday: 1, slot: 31, date: '2026-01-06' });
    const rows = historyFromRows([
      { key: 'sales', intervalStart: '2026-01-05T09:30:00.000Z', offered: 4, ahtSec: 200 },
      { key: 'sales', intervalStart: '2026-01-05T09:00:00.000Z', offered: null, ahtSec: null },
    ]);
    expect(rows.get('sales')).toEqual([
      { start: Date.UTC(2026, 0, 5, 9), calls: 0, ahtSec: null },
      { start: Date.UTC(2026, 0, 5, 9, 30), calls: 4, ahtSec: 200 },
    ]);
  });
});
