/**
 * Shift scheduling: from the staffing requirement per interval of a week, shift templates (length,
 * start window, breaks with their own windows) and the agents (availability, shifts per week, rest
 * between shifts, templates they may work) to a schedule: who works when, with breaks, covering
 * every interval's requirement with as little over-staffing as possible.
 *
 * Two stages, as most WFM tools do it:
 *  1. Which shifts: an integer programme (solved as its LP relaxation rounded up, see chooseShifts) over every shift pattern (template × day × start × break
 *     placement). x_p agents work pattern p; for each interval t, Σ_p covers(p, t)·x_p + under_t −
 *     over_t = required_t; minimise Σ over_t + 1000·Σ under_t (+ a hair per shift so that, among
 *     equal covers, fewer shifts win). Caps: shifts per day ≤ agents available that day; shifts in the
 *     week ≤ Σ agents' weekly maximum. This is Dantzig's set-covering formulation of shift scheduling
 *     with breaks made explicit; its LP relaxation is nearly integral, so a MIP solver closes it fast.
 *  2. Who works them: shifts in order of start are given to the available agent with the fewest
 *     shifts so far (availability window, template allowed, weekly cap, rest since the last shift).
 *     A shift nobody can take is reported, not hidden.
 *
 * The MIP is solved by HiGHS (npm `highs`: the HiGHS solver of the University of Edinburgh compiled
 * to WebAssembly, shipped inside the package, no native add-on and no download at run time). Chosen
 * over javascript-lp-solver / yalps (pure-JS branch and bound that slows down sharply on covering
 * models of a few thousand integer columns) and glpk.js (GLPK is slower on MIPs and the wrapper is
 * less active): HiGHS is the open-source MIP solver of reference and this wrapper is maintained. The
 * solver is injected (MipSolver), so this module stays pure and tests can swap it.
 *
 * Days and intervals are indices here (day 0 = the week's first day, slot 0 = local midnight):
 * callers map them to dates in the centre's zone. Reports are also in slots.
 */

export interface BreakRule {
  lengthMin: number;
  /** Break starts between these many minutes after the shift starts (inclusive). */
  earliestAfterMin: number;
  latestAfterMin: number;
}

export interface ShiftTemplate {
  name: string;
  /** Paid length including breaks, minutes. */
  lengthMin: number;
  /** Start window, minutes after local midnight (inclusive). */
  earliestStartMin: number;
  latestStartMin: number;
  /** Step between start times; default the interval length. */
  startStepMin?: number;
  breaks?: BreakRule[];
  /** Days (0-based in the week) the template may be used; default every day. */
  days?: number[];
}

export interface ScheduleAgent {
  id: string;
  skills?: string[];
  /** Per day of the week: [fromMin, toMin) windows the agent can work; absent = any time, every day. */
  availability?: Record<number, [number, number][]>;
  /** Default 5. */
  maxShiftsPerWeek?: number;
  /** Template names the agent may work; default all. */
  templates?: string[];
}

export interface ScheduleInput {
  intervalMin: 15 | 30 | 60;
  /** required[day][slot]: agents needed on the phones. */
  required: number[][];
  templates: ShiftTemplate[];
  agents: ScheduleAgent[];
  /** Minimum hours between the end of one shift and the start of the next; default 11 (EU working-time rule). */
  minRestHours?: number;
}

export interface ScheduledShift {
  agentId: string | null;
  template: string;
  day: number;
  startMin: number;
  endMin: number;
  breaks: { startMin: number; endMin: number }[];
}

export interface CoverageFigures {
  /** Share of peak intervals' requirement that is surplus: Σ surplus ÷ Σ required over peak intervals. */
  peakRedundancy: number;
  /** Share of off-peak staffed time that is surplus: Σ surplus ÷ Σ scheduled over the other open intervals. */
  offPeakIdle: number;
  /** Intervals whose requirement is not met, and the agent-intervals missing. */
  shortIntervals: number;
  shortAgentIntervals: number;
  surplusAgentIntervals: number;
  requiredAgentIntervals: number;
  /** The seed's limits: peak redundancy ≤ 15 %, off-peak idle ≤ 8 %. */
  meetsSeedLimits: boolean;
}

export interface Schedule {
  shifts: ScheduledShift[];
  /** scheduled[day][slot]: agents on the phones (working, not on a break). */
  scheduled: number[][];
  figures: CoverageFigures;
  unassigned: number;
  solver: { status: string; objective: number; patterns: number };
}

/** The injected solver: CPLEX LP text in, status and column values out; `relax` drops integrality. */
export interface MipSolver {
  solve(lp: string, o?: { relax?: boolean; timeLimitSec?: number }): { status: string; objective: number; values: Record<string, number> };
}

export interface ScheduleOptions {
  /** Seconds to let the exact MIP try to beat the rounded LP schedule; 0 = LP and rounding only. Default 0. */
  exactSec?: number;
}

/** Peak = intervals needing at least this share of the day's highest requirement. */
export const PEAK_SHARE = 0.8;
export const SEED_LIMITS = { peakRedundancy: 0.15, offPeakIdle: 0.08 };
const UNDER_PENALTY = 1000;

interface Pattern {
  template: ShiftTemplate;
  day: number;
  startSlot: number;
  endSlot: number;
  breakSlots: { start: number; end: number }[];
  /** Slots (day-relative) the pattern has the agent on the phones. */
  covers: number[];
}

/** Every shift pattern: template × day × start × combination of break positions. */
export function patterns(input: ScheduleInput): Pattern[] {
  const iv = input.intervalMin;
  const slotsPerDay = (24 * 60) / iv;
  const out: Pattern[] = [];
  for (const t of input.templates) {
    if (t.lengthMin % iv !== 0) throw new RangeError(`template ${t.name}: length must be a multiple of ${iv} minutes`);
    for (const b of t.breaks ?? [])
      if (b.lengthMin % iv !== 0) throw new RangeError(`template ${t.name}: break length must be a multiple of ${iv} minutes`);
    const step = t.startStepMin ?? iv;
    for (let day = 0; day < input.required.length; day++) {
      if (t.days && !t.days.includes(day)) continue;
      for (let s = t.earliestStartMin; s <= t.latestStartMin; s += step) {
        if (s % iv !== 0 || s + t.lengthMin > 24 * 60) continue; // starts on an interval edge, ends the same day
        const startSlot = s / iv;
        const endSlot = startSlot + t.lengthMin / iv;
        for (const placed of breakPlacements(t.breaks ?? [], s, iv)) {
          const off = new Set<number>();
          for (const b of placed) for (let k = b.start; k < b.end; k++) off.add(k);
          const covers: number[] = [];
          for (let k = startSlot; k < endSlot && k < slotsPerDay; k++) if (!off.has(k)) covers.push(k);
          out.push({ template: t, day, startSlot, endSlot, breakSlots: placed, covers });
        }
      }
    }
  }
  return out;
}

/** Each break's possible start slots, combined; breaks may not overlap each other. */
function breakPlacements(rules: readonly BreakRule[], startMin: number, iv: number): { start: number; end: number }[][] {
  let combos: { start: number; end: number }[][] = [[]];
  for (const r of rules) {
    const next: { start: number; end: number }[][] = [];
    for (const c of combos) {
      for (let a = r.earliestAfterMin; a <= r.latestAfterMin; a += iv) {
        const bs = (startMin + a) / iv;
        if (!Number.isInteger(bs)) continue;
        const be = bs + r.lengthMin / iv;
        if (c.some((o) => bs < o.end && o.start < be)) continue;
        next.push([...c, { start: bs, end: be }]);
      }
    }
    combos = next;
  }
  return combos;
}

function availableFor(agent: ScheduleAgent, day: number, startMin: number, endMin: number): boolean {
  if (!agent.availability) return true;
  return (agent.availability[day] ?? []).some(([a, b]) => a <= startMin && endMin <= b);
}

/** Builds the integer programme in CPLEX LP format (the input HiGHS reads). */
export function scheduleLp(input: ScheduleInput, pats: readonly Pattern[]): string {
  const lines: string[] = ['Minimize', ' obj:'];
  const obj: string[] = [];
  const rows: string[] = [];
  const slotsPerDay = (24 * 60) / input.intervalMin;
  const coverBy = new Map<string, string[]>();
  pats.forEach((p, i) => {
    obj.push(`+ 0.001 x${i}`);
    for (const k of p.covers) {
      const key = `${p.day}_${k}`;
      let l = coverBy.get(key);
      if (!l) coverBy.set(key, (l = []));
      l.push(`x${i}`);
    }
  });
  const underVars: string[] = [];
  for (let d = 0; d < input.required.length; d++) {
    for (let k = 0; k < slotsPerDay; k++) {
      const need = input.required[d]![k] ?? 0;
      const key = `${d}_${k}`;
      const cover = coverBy.get(key);
      if (!cover && need === 0) continue;
      obj.push(`+ 1 o${key} + ${UNDER_PENALTY} u${key}`);
      underVars.push(`u${key}`, `o${key}`);
      rows.push(` c${key}: ${(cover ?? []).map((v) => `+ ${v}`).join(' ')} + u${key} - o${key} = ${need}`);
    }
  }
  // Per-day cap: no more shifts than agents who could work that day; per-week cap: Σ weekly maxima.
  for (let d = 0; d < input.required.length; d++) {
    const vars = pats.map((p, i) => (p.day === d ? `+ x${i}` : '')).filter(Boolean);
    if (vars.length === 0) continue;
    const cap = input.agents.filter((a) => !a.availability || (a.availability[d] ?? []).length > 0).length;
    rows.push(` day${d}: ${vars.join(' ')} <= ${cap}`);
  }
  const weekCap = input.agents.reduce((s, a) => s + (a.maxShiftsPerWeek ?? 5), 0);
  if (pats.length > 0) rows.push(` week: ${pats.map((_, i) => `+ x${i}`).join(' ')} <= ${weekCap}`);
  // LP format wants lines of bounded length: wrap the objective.
  for (let i = 0; i < obj.length; i += 50) lines.push('  ' + obj.slice(i, i + 50).join(' '));
  lines.push('Subject To', ...rows.map(wrap), 'Bounds');
  for (let i = 0; i < pats.length; i++) lines.push(` x${i} >= 0`);
  lines.push('Generals', ...chunk(pats.map((_, i) => `x${i}`)), 'End');
  return lines.join('\n');
}

function wrap(row: string): string {
  const parts = row.split(' + ');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += 60) out.push(parts.slice(i, i + 60).join(' + '));
  return out.join('\n  + ');
}

function chunk(names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < names.length; i += 40) out.push(' ' + names.slice(i, i + 40).join(' '));
  return out;
}

/**
 * Stage 1 in practice: the LP relaxation (fast, and nearly integral for covering models), rounded up
 * (a rounded-up cover still covers), then shifts dropped greedily while every interval they cover
 * stays covered, longest first. Optionally the exact MIP gets `exactSec` to beat that; on a loaded
 * 2-core machine HiGHS needs far longer than the LP to close a week, so the rounding is the default.
 */
function chooseShifts(
  input: ScheduleInput,
  pats: readonly Pattern[],
  solver: MipSolver,
  o: ScheduleOptions,
): { counts: number[]; status: string } {
  if (pats.length === 0) return { counts: [], status: 'no patterns' };
  const lp = scheduleLp(input, pats);
  const relaxed = solver.solve(lp, { relax: true });
  if (relaxed.status !== 'Optimal') throw new Error(`schedule: LP relaxation ended with status ${relaxed.status}`);
  let counts = pats.map((_, i) => Math.ceil((relaxed.values[`x${i}`] ?? 0) - 1e-6));
  dropSurplus(input, pats, counts);
  let status = 'LP rounded';
  if (o.exactSec && o.exactSec > 0) {
    const exact = solver.solve(lp, { timeLimitSec: o.exactSec });
    if (exact.status === 'Optimal' || exact.status === 'Time limit reached') {
      const mip = pats.map((_, i) => Math.round(exact.values[`x${i}`] ?? 0));
      if (cost(input, pats, mip) < cost(input, pats, counts)) {
        counts = mip;
        status = exact.status === 'Optimal' ? 'MIP optimal' : 'MIP (time limit)';
      }
    }
  }
  return { counts, status };
}

function coverOf(input: ScheduleInput, pats: readonly Pattern[], counts: readonly number[]): number[][] {
  const cover = input.required.map((r) => new Array<number>(r.length).fill(0));
  pats.forEach((p, i) => {
    if (counts[i]! > 0) for (const k of p.covers) cover[p.day]![k]! += counts[i]!;
  });
  return cover;
}

/** The programme's objective for integer counts: surplus + penalty × shortfall (+ the tie-break per shift). */
function cost(input: ScheduleInput, pats: readonly Pattern[], counts: readonly number[]): number {
  const cover = coverOf(input, pats, counts);
  let c = counts.reduce((s, n) => s + 0.001 * n, 0);
  input.required.forEach((row, d) =>
    row.forEach((need, k) => (c += cover[d]![k]! >= need ? cover[d]![k]! - need : UNDER_PENALTY * (need - cover[d]![k]!))),
  );
  return c;
}

function dropSurplus(input: ScheduleInput, pats: readonly Pattern[], counts: number[]): void {
  const cover = coverOf(input, pats, counts);
  const order = pats.map((_, i) => i).sort((a, b) => pats[b]!.covers.length - pats[a]!.covers.length);
  for (let changed = true; changed;) {
    changed = false;
    for (const i of order) {
      const p = pats[i]!;
      while (counts[i]! > 0 && p.covers.every((k) => cover[p.day]![k]! > (input.required[p.day]![k] ?? 0))) {
        counts[i]!--;
        for (const k of p.covers) cover[p.day]![k]!--;
        changed = true;
      }
    }
  }
}

export function buildSchedule(input: ScheduleInput, solver: MipSolver, o: ScheduleOptions = {}): Schedule {
  const iv = input.intervalMin;
  const slotsPerDay = (24 * 60) / iv;
  for (const row of input.required)
    if (row.length !== slotsPerDay) throw new RangeError(`required: each day needs ${slotsPerDay} slots of ${iv} minutes`);
  const pats = patterns(input);
  const { counts, status } = chooseShifts(input, pats, solver, o);

  // Stage 2: named agents.
  const minRest = (input.minRestHours ?? 11) * 60;
  const shifts: ScheduledShift[] = [];
  const chosen: Pattern[] = [];
  pats.forEach((p, i) => {
    for (let k = 0; k < counts[i]!; k++) chosen.push(p);
  });
  chosen.sort((a, b) => a.day - b.day || a.startSlot - b.startSlot || b.endSlot - a.endSlot);
  const load = new Map<string, number>();
  const lastEnd = new Map<string, number>(); // absolute minutes since the week's start
  let unassigned = 0;
  for (const p of chosen) {
    const startMin = p.startSlot * iv;
    const endMin = p.endSlot * iv;
    const absStart = p.day * 1440 + startMin;
    const candidates = input.agents.filter(
      (a) =>
        (load.get(a.id) ?? 0) < (a.maxShiftsPerWeek ?? 5) &&
        (!a.templates || a.templates.includes(p.template.name)) &&
        availableFor(a, p.day, startMin, endMin) &&
        absStart - (lastEnd.get(a.id) ?? -Infinity) >= minRest,
    );
    // Fewest shifts so far first (spreads the week), then the narrowest availability (keeps the flexible ones for later).
    candidates.sort((a, b) => (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0) || flexibility(a) - flexibility(b) || a.id.localeCompare(b.id));
    const agent = candidates[0];
    if (agent) {
      load.set(agent.id, (load.get(agent.id) ?? 0) + 1);
      lastEnd.set(agent.id, p.day * 1440 + endMin);
    } else unassigned++;
    shifts.push({
      agentId: agent?.id ?? null,
      template: p.template.name,
      day: p.day,
      startMin,
      endMin,
      breaks: p.breakSlots.map((b) => ({ startMin: b.start * iv, endMin: b.end * iv })),
    });
  }

  const scheduled = input.required.map(() => new Array<number>(slotsPerDay).fill(0));
  for (const s of shifts) {
    if (s.agentId === null) continue; // an unstaffed shift covers nothing
    const off = new Set<number>();
    for (const b of s.breaks) for (let k = b.startMin / iv; k < b.endMin / iv; k++) off.add(k);
    for (let k = s.startMin / iv; k < s.endMin / iv; k++) if (!off.has(k)) scheduled[s.day]![k]!++;
  }
  return {
    shifts,
    scheduled,
    figures: coverageFigures(input.required, scheduled),
    unassigned,
    solver: { status, objective: cost(input, pats, counts), patterns: pats.length },
  };
}

function flexibility(a: ScheduleAgent): number {
  if (!a.availability) return Infinity;
  let minutes = 0;
  for (const windows of Object.values(a.availability)) for (const [x, y] of windows) minutes += y - x;
  return minutes;
}

/**
 * Peak redundancy and off-peak idle, as the seed states its limits. Peak intervals are those whose
 * requirement is at least PEAK_SHARE of that day's highest; off-peak are the other intervals with
 * anyone required or scheduled (closed hours count nowhere).
 */
export function coverageFigures(required: readonly number[][], scheduled: readonly number[][]): CoverageFigures {
  let peakSurplus = 0;
  let peakRequired = 0;
  let offSurplus = 0;
  let offScheduled = 0;
  let shortIntervals = 0;
  let shortAgentIntervals = 0;
  let surplus = 0;
  let requiredTotal = 0;
  required.forEach((row, d) => {
    const max = Math.max(0, ...row);
    row.forEach((need, k) => {
      const have = scheduled[d]?.[k] ?? 0;
      const over = Math.max(0, have - need);
      requiredTotal += need;
      surplus += over;
      if (have < need) {
        shortIntervals++;
        shortAgentIntervals += need - have;
      }
      if (need > 0 && need >= PEAK_SHARE * max) {
        peakSurplus += over;
        peakRequired += need;
      } else if (need > 0 || have > 0) {
        offSurplus += over;
        offScheduled += have;
      }
    });
  });
  const peakRedundancy = peakRequired > 0 ? peakSurplus / peakRequired : 0;
  const offPeakIdle = offScheduled > 0 ? offSurplus / offScheduled : 0;
  return {
    peakRedundancy,
    offPeakIdle,
    shortIntervals,
    shortAgentIntervals,
    surplusAgentIntervals: surplus,
    requiredAgentIntervals: requiredTotal,
    meetsSeedLimits: shortIntervals === 0 && peakRedundancy <= SEED_LIMITS.peakRedundancy && offPeakIdle <= SEED_LIMITS.offPeakIdle,
  };
}

const hhmm = (min: number) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

/** The schedule as CSV, one row per shift (dates are the caller's: `dayLabel` maps day indices). */
export function scheduleToCsv(s: Schedule, dayLabel: (day: number) => string = String): string {
  const rows = ['agent,day,template,start,end,breaks'];
  for (const x of [...s.shifts].sort(
    (a, b) => (a.agentId ?? '~').localeCompare(b.agentId ?? '~') || a.day - b.day || a.startMin - b.startMin,
  )) {
    rows.push(
      [
        x.agentId ?? '(unassigned)',
        dayLabel(x.day),
        x.template,
        hhmm(x.startMin),
        hhmm(x.endMin),
        x.breaks.map((b) => `${hhmm(b.startMin)}-${hhmm(b.endMin)}`).join(' '),
      ].join(','),
    );
  }
  return rows.join('\n') + '\n';
}

/** Coverage per interval as CSV: required, scheduled, surplus (negative = short). */
export function coverageToCsv(
  required: readonly number[][],
  scheduled: readonly number[][],
  intervalMin: number,
  dayLabel: (day: number) => string = String,
): string {
  const rows = ['day,interval,required,scheduled,surplus'];
  required.forEach((row, d) =>
    row.forEach((need, k) => {
      const have = scheduled[d]?.[k] ?? 0;
      if (need > 0 || have > 0) rows.push([dayLabel(d), hhmm(k * intervalMin), need, have, have - need].join(','));
    }),
  );
  return rows.join('\n') + '\n';
}

/**
 * The chart page: required vs scheduled per interval for each day, as one self-contained SVG (bars =
 * scheduled, line = required; red where short). Opened in a browser or embedded in a page as is.
 */
export function coverageSvg(
  required: readonly number[][],
  scheduled: readonly number[][],
  intervalMin: number,
  dayLabel: (day: number) => string = String,
): string {
  const slots = (24 * 60) / intervalMin;
  // Only the hours anyone is required or scheduled, so the bars are readable.
  let first = slots;
  let last = -1;
  required.forEach((row, d) =>
    row.forEach((need, k) => {
      if (need > 0 || (scheduled[d]?.[k] ?? 0) > 0) {
        first = Math.min(first, k);
        last = Math.max(last, k);
      }
    }),
  );
  if (last < 0) return '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="10" y="25">nothing scheduled</text></svg>';
  const cols = last - first + 1;
  const max = Math.max(1, ...required.flat(), ...scheduled.flat());
  const w = 8;
  const h = 120;
  const pad = 40;
  const width = pad + cols * w + 10;
  const rowH = h + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${required.length * rowH + 10}" font-family="sans-serif" font-size="11">`,
  ];
  required.forEach((row, d) => {
    const y0 = d * rowH + 20;
    parts.push(
      `<text x="4" y="${y0 - 6}">${dayLabel(d)}</text>`,
      `<line x1="${pad}" y1="${y0 + h}" x2="${width - 10}" y2="${y0 + h}" stroke="#999"/>`,
    );
    const line: string[] = [];
    for (let k = first; k <= last; k++) {
      const x = pad + (k - first) * w;
      const have = scheduled[d]?.[k] ?? 0;
      const need = row[k] ?? 0;
      const bh = (have / max) * h;
      parts.push(
        `<rect x="${x}" y="${(y0 + h - bh).toFixed(1)}" width="${w - 1}" height="${bh.toFixed(1)}" fill="${have < need ? '#d9534f' : '#5b9bd5'}"><title>${dayLabel(d)} ${String(Math.floor((k * intervalMin) / 60)).padStart(2, '0')}:${String((k * intervalMin) % 60).padStart(2, '0')} required ${need}, scheduled ${have}</title></rect>`,
      );
      line.push(`${x + w / 2},${(y0 + h - (need / max) * h).toFixed(1)}`);
      if ((k * intervalMin) % 120 === 0)
        parts.push(`<text x="${x}" y="${y0 + h + 12}">${String((k * intervalMin) / 60).padStart(2, '0')}</text>`);
    }
    parts.push(`<polyline points="${line.join(' ')}" fill="none" stroke="#222" stroke-width="1.5"/>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
