import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildSchedule,
  coverageFigures,
  coverageToCsv,
  patterns,
  scheduleToCsv,
  type ScheduleAgent,
  type ScheduleInput,
} from '../../../server/planning/schedule.ts';
import { highsSolver } from '../../../server/planning/highs.ts';
import type { MipSolver } from '../../../server/planning/schedule.ts';
import { requiredAgents } from '../../../server/planning/staffing.ts';

const IV = 30;
const SLOTS = (24 * 60) / IV;
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * A synthetic week: Mon–Fri 08:00–20:00 and Sat 09:00–13:00; calls per 30 minutes with a morning
 * peak at 10:30 and an afternoon one at 15:00, Monday busiest; sized by Erlang C at 80/20, AHT 240 s.
 */
function syntheticRequirement(): number[][] {
  const dayScale = [1.3, 1.1, 1, 1, 0.9, 0.6, 0];
  return dayScale.map((scale, d) =>
    Array.from({ length: SLOTS }, (_, k) => {
      const h = k / 2;
      const [open, close] = d === 5 ? [9, 13] : d === 6 ? [0, 0] : [8, 20];
      if (h < open || h >= close) return 0;
      const calls = scale * (60 + 140 * Math.exp(-((h + 0.25 - 10.5) ** 2) / 2) + 90 * Math.exp(-((h + 0.25 - 15) ** 2) / 3));
      return requiredAgents(
        { calls: Math.round(calls), ahtSec: 240 },
        { intervalSec: 1800, serviceLevel: { target: 0.8, thresholdSec: 20 } },
      ).agents;
    }),
  );
}

const templates: ScheduleInput['templates'] = [
  // Full time: 8.5 hours paid with a 30-minute lunch 3–5 hours in, Mon–Sat.
  {
    name: 'full',
    lengthMin: 510,
    earliestStartMin: 7 * 60,
    latestStartMin: 12 * 60,
    startStepMin: 60,
    breaks: [{ lengthMin: 30, earliestAfterMin: 180, latestAfterMin: 300 }],
    days: [0, 1, 2, 3, 4, 5],
  },
  // Part time: 4 hours, no break, any start 08:00–16:00.
  { name: 'part4', lengthMin: 240, earliestStartMin: 8 * 60, latestStartMin: 16 * 60, startStepMin: 60 },
  // Short peak cover: 2 hours.
  { name: 'peak2', lengthMin: 120, earliestStartMin: 8 * 60, latestStartMin: 18 * 60 },
];

function agents(n: number): ScheduleAgent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `a${String(i + 1).padStart(3, '0')}`,
    maxShiftsPerWeek: 5,
    // Every fifth agent can only work mornings; the rest any time.
    ...(i % 5 === 0
      ? { availability: Object.fromEntries([0, 1, 2, 3, 4, 5].map((d) => [d, [[7 * 60, 14 * 60] as [number, number]]])) }
      : {}),
  }));
}

describe('shift schedule', () => {
  let solver: MipSolver;
  // Compiling the 3.5 MB WebAssembly solver once, outside the timed tests.
  beforeAll(async () => {
    solver = await highsSolver();
  });

  it('enumerates shift patterns with their breaks', () => {
    const p = patterns({ intervalMin: IV, required: [new Array(SLOTS).fill(0)], templates: [templates[0]!], agents: [] });
    // Starts 07:00..12:00 every hour (6) × lunch at 3:00..5:00 after start, every 30 min (5) = 30.
    expect(p).toHaveLength(30);
    const first = p[0]!;
    expect(first.covers).toHaveLength(17 - 1); // 8.5 h = 17 slots, one on lunch
    expect(first.breakSlots).toEqual([{ start: 20, end: 21 }]);
  });

  it('a synthetic week: every interval covered, over-staffing minimal, the seed limits stated', async () => {
    const required = syntheticRequirement();
    const input: ScheduleInput = { intervalMin: IV, required, templates, agents: agents(120) };
    const t0 = performance.now();
    const s = buildSchedule(input, solver);
    const ms = performance.now() - t0;
    expect(s.solver.status).toBe('LP rounded');
    expect(s.unassigned).toBe(0);
    expect(s.figures.shortIntervals).toBe(0);
    for (let d = 0; d < 7; d++) for (let k = 0; k < SLOTS; k++) expect(s.scheduled[d]![k]!).toBeGreaterThanOrEqual(required[d]![k]!);
    // Every named agent: at most 5 shifts, 11 hours' rest, availability respected.
    const byAgent = new Map<string, typeof s.shifts>();
    for (const x of s.shifts) byAgent.set(x.agentId!, [...(byAgent.get(x.agentId!) ?? []), x]);
    for (const [id, list] of byAgent) {
      expect(list.length).toBeLessThanOrEqual(5);
      const sorted = list.sort((a, b) => a.day * 1440 + a.startMin - (b.day * 1440 + b.startMin));
      for (let i = 1; i < sorted.length; i++)
        expect(sorted[i]!.day * 1440 + sorted[i]!.startMin - (sorted[i - 1]!.day * 1440 + sorted[i - 1]!.endMin)).toBeGreaterThanOrEqual(
          11 * 60,
        );
      if ((Number(id.slice(1)) - 1) % 5 === 0) for (const x of list) expect(x.endMin).toBeLessThanOrEqual(14 * 60);
    }
    const f = s.figures;
    console.log(
      `schedule (synthetic week, ${s.shifts.length} shifts, ${s.solver.patterns} patterns, ${ms.toFixed(0)} ms): required ${f.requiredAgentIntervals} agent-intervals, surplus ${f.surplusAgentIntervals}; peak redundancy ${(f.peakRedundancy * 100).toFixed(2)} % (limit 15 %), off-peak idle ${(f.offPeakIdle * 100).toFixed(2)} % (limit 8 %)`,
    );
    expect(f.peakRedundancy).toBeLessThanOrEqual(0.15);
    expect(f.offPeakIdle).toBeLessThanOrEqual(0.08);
    expect(f.meetsSeedLimits).toBe(true);
    const csv = scheduleToCsv(s, (d) => DAYS[d]!);
    expect(csv.split('\n')[0]).toBe('agent,day,template,start,end,breaks');
    expect(csv).toMatch(/^a\d{3},Mon,full,\d\d:\d\d,\d\d:\d\d,\d\d:\d\d-\d\d:\d\d$/m);
    expect(coverageToCsv(required, s.scheduled, IV, (d) => DAYS[d]!)).toMatch(/^Mon,08:00,\d+,\d+,\d+$/m);
  });

  it('too few agents: the shortfall is reported, not hidden', async () => {
    const required = [Array.from({ length: SLOTS }, (_, k) => (k >= 18 && k < 26 ? 3 : 0))]; // 09:00–13:00, 3 agents
    const s = buildSchedule(
      { intervalMin: IV, required, templates: [templates[1]!], agents: agents(2).map((a) => ({ id: a.id })) },
      solver,
    );
    expect(s.figures.shortIntervals).toBe(8);
    expect(s.figures.shortAgentIntervals).toBe(8);
    expect(s.figures.meetsSeedLimits).toBe(false);
  });

  it('peak redundancy and off-peak idle by hand', () => {
    // Day max 10 -> peak intervals need >= 8. Peak: need 10 have 11, need 8 have 9 -> 2/18. Off-peak: need 4 have 5, need 0 have 1 -> 2/6.
    const f = coverageFigures([[10, 8, 4, 0, 0]], [[11, 9, 5, 1, 0]]);
    expect(f.peakRedundancy).toBeCloseTo(2 / 18, 12);
    expect(f.offPeakIdle).toBeCloseTo(2 / 6, 12);
    expect(f.shortIntervals).toBe(0);
  });
});

describe('callcentre schedule', () => {
  it('reads a week as JSON and prints shifts, coverage and the figures', async () => {
    const { Command } = await import('commander');
    const { registerPlanningCommands } = await import('../../../server/planning/commands.ts');
    const required = [Array.from({ length: SLOTS }, (_, k) => (k >= 18 && k < 26 ? 2 : 0))]; // 09:00–13:00, 2 agents
    const input = { intervalMin: 30, required, templates: [templates[1]!], agents: [{ id: 'ann' }, { id: 'bob' }] };
    const run = async (format: string) => {
      let text = '';
      const program = new Command('callcentre').exitOverride();
      registerPlanningCommands(program, { out: (s) => (text += s), readFile: () => JSON.stringify(input) });
      await program.parseAsync(['node', 'callcentre', 'schedule', '--input', 'week.json', '--format', format]);
      return text;
    };
    expect(await run('csv')).toBe('agent,day,template,start,end,breaks\nann,Mon,part4,09:00,13:00,\nbob,Mon,part4,09:00,13:00,\n');
    expect((await run('coverage')).split('\n')[1]).toBe('Mon,09:00,2,2,0');
    const svg = await run('svg');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('<title>Mon 09:00 required 2, scheduled 2</title>');
    expect(await run('table')).toContain('peak redundancy 0.0% (seed limit 15 %), off-peak idle 0.0% (seed limit 8 %): within');
  });
});
