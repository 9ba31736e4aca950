import { describe, expect, it } from 'vitest';
import type { CcEvent } from '../../../server/kpi/events.ts';
import { computeReport } from '../../../server/kpi/report.ts';
import { DEFAULT_KPI_SETTINGS } from '../../../server/kpi/settings.ts';
import { attainment, attainmentToCsv, multiSkillShare, periodKey, type AttainmentInputRow } from '../../../server/planning/targets.ts';

const sl = (value: number | null) => [{ thresholdSec: 20, mode: 'abandons-ignored' as const, met: 0, base: 0, value }];
function row(
  start: string,
  f: { sl: number | null; answer: number | null; abandon: number | null; aht: number | null },
): AttainmentInputRow {
  return {
    dimension: 'queue',
    key: 'sales',
    intervalStart: start,
    serviceLevels: sl(f.sl),
    answerRate: f.answer,
    connectRate: null,
    fcrRepeatRate: null,
    abandonRate: f.abandon,
    ahtSec: f.aht,
    occupancy: null,
  };
}

/** A scripted history: Mon 30 Mar and Wed 1 Apr 2026 (ISO week 14; Q1 and Q2), one quiet interval. */
const ROWS = [
  row('2026-03-30T09:00:00.000Z', { sl: 0.9, answer: 0.95, abandon: 0.03, aht: 200 }),
  row('2026-03-30T09:30:00.000Z', { sl: 0.7, answer: 0.85, abandon: 0.1, aht: 400 }),
  row('2026-03-31T09:00:00.000Z', { sl: null, answer: null, abandon: null, aht: null }),
  row('2026-04-01T09:00:00.000Z', { sl: 0.8, answer: 0.8, abandon: 0.05, aht: 300 }),
];
const TARGETS = {
  queues: { sales: { serviceLevel: { thresholdSec: 20, target: 0.8 }, answerRate: 0.8, abandonRate: 0.05, ahtSec: { max: 360 } } },
};

describe('target attainment', () => {
  it('share of intervals meeting each target by day, week, month and quarter (hand-computed)', () => {
    const pick = (period: 'day' | 'week' | 'month' | 'quarter') =>
      attainment(ROWS, TARGETS, period).map((a) => `${a.period} ${a.target} ${a.met}/${a.intervals} ${a.goalMet}`);
    // A quiet interval (null figures) counts nowhere; 0.8 meets an 80 % target exactly.
    expect(pick('day')).toEqual([
      '2026-03-30 serviceLevel 1/2 false',
      '2026-03-30 answerRate 2/2 true',
      '2026-03-30 abandonRate 1/2 false',
      '2026-03-30 ahtSec 1/2 false',
      '2026-04-01 serviceLevel 1/1 true',
      '2026-04-01 answerRate 1/1 true',
      '2026-04-01 abandonRate 1/1 true',
      '2026-04-01 ahtSec 1/1 true',
    ]);
    expect(pick('week').slice(0, 2)).toEqual(['2026-W14 serviceLevel 2/3 false', '2026-W14 answerRate 3/3 true']);
    expect(pick('month').filter((s) => s.includes('serviceLevel'))).toEqual([
      '2026-03 serviceLevel 1/2 false',
      '2026-04 serviceLevel 1/1 true',
    ]);
    expect(pick('quarter').filter((s) => s.includes('serviceLevel'))).toEqual([
      '2026-Q1 serviceLevel 1/2 false',
      '2026-Q2 serviceLevel 1/1 true',
    ]);
    expect(attainment(ROWS, TARGETS, 'week')[0]!.share).toBe(0.6667);
    expect(attainmentToCsv(attainment(ROWS, TARGETS, 'quarter')).split('\n')[1]).toBe(
      'queue,sales,2026-Q1,serviceLevel,2,1,0.5,0.92,false',
    );
  });

  it('queue targets override the centre per key; rows without targets are skipped', () => {
    const a = attainment(ROWS, { centre: { answerRate: 0.9, intervalShare: 0.5 }, queues: { sales: { answerRate: 0.85 } } }, 'quarter');
    expect(a.map((x) => `${x.period} ${x.target} ${x.met}/${x.intervals} ${x.goal}`)).toEqual([
      '2026-Q1 answerRate 2/2 0.92',
      '2026-Q2 answerRate 0/1 0.92',
    ]);
    expect(attainment(ROWS, {}, 'day')).toEqual([]);
  });

  it('periods follow the zone and ISO weeks', () => {
    // 2026-03-31 23:30 UTC is already 1 April (Q2) in Shanghai.
    expect(periodKey(Date.UTC(2026, 2, 31, 23, 30), 'quarter', 'Asia/Shanghai')).toBe('2026-Q2');
    expect(periodKey(Date.UTC(2026, 2, 31, 23, 30), 'quarter', 0)).toBe('2026-Q1');
    expect(periodKey(Date.UTC(2027, 0, 1), 'week', 0)).toBe('2026-W53'); // Fri 1 Jan 2027 belongs to 2026's last week
    expect(periodKey(Date.UTC(2026, 0, 1), 'week', 0)).toBe('2026-W01');
  });

  it('from the KPI engine on a scripted log: SL 100 % then 50 %', () => {
    const T0 = Date.UTC(2026, 0, 5, 9);
    const ev: CcEvent[] = [];
    const call = (id: string, at: number, waitSec: number) => {
      let seq = 0;
      const push = (ts: number, e: Record<string, unknown>) => ev.push({ contactId: id, seq: ++seq, ts, ...e } as CcEvent);
      push(at, { type: 'contact.arrived', initiation: 'inbound', caller: `+1${id}`, dialled: '8000' });
      push(at, { type: 'queue.enter', queue: 'sales' });
      push(at + waitSec * 1000, { type: 'queue.connect', queue: 'sales', agentId: 'a1' });
      push(at + waitSec * 1000 + 60_000, { type: 'call.end', endedBy: 'caller' });
    };
    for (let i = 0; i < 4; i++) call(`p${i}`, T0 + i * 60_000, 5); // 09:00: all within 20 s
    for (let i = 0; i < 4; i++) call(`q${i}`, T0 + 1_800_000 + i * 60_000, i < 2 ? 30 : 5); // 09:30: half late
    const report = computeReport(ev, { from: T0, to: T0 + 3_600_000, interval: '30m', dimension: 'queue' }, DEFAULT_KPI_SETTINGS);
    const a = attainment(report.rows, { queues: { sales: { serviceLevel: { thresholdSec: 20, target: 0.8 } } } }, 'day');
    expect(a).toEqual([
      {
        dimension: 'queue',
        key: 'sales',
        period: '2026-01-05',
        target: 'serviceLevel',
        intervals: 2,
        met: 1,
        share: 0.5,
        goal: 0.92,
        goalMet: false,
      },
    ]);
  });

  it('`callcentre attainment` reads the store through the KPI engine', async () => {
    const { Command } = await import('commander');
    const { registerPlanningCommands } = await import('../../../server/planning/commands.ts');
    const T0 = Date.UTC(2026, 0, 5, 9);
    const ev: CcEvent[] = [];
    for (let i = 0; i < 3; i++) {
      const id = `c${i}`;
      ev.push({
        contactId: id,
        seq: 1,
        ts: T0 + i * 1_800_000,
        type: 'contact.arrived',
        initiation: 'inbound',
        caller: `+1${i}`,
        dialled: '8000',
      });
      ev.push({ contactId: id, seq: 2, ts: T0 + i * 1_800_000, type: 'queue.enter', queue: 'sales' });
      // Waits of 10, 40, 10 seconds: intervals 1 and 3 meet 80/20, interval 2 does not.
      ev.push({
        contactId: id,
        seq: 3,
        ts: T0 + i * 1_800_000 + (i === 1 ? 40_000 : 10_000),
        type: 'queue.connect',
        queue: 'sales',
        agentId: 'a',
      });
      ev.push({ contactId: id, seq: 4, ts: T0 + i * 1_800_000 + 100_000, type: 'call.end', endedBy: 'caller' });
    }
    const store = {
      settings: DEFAULT_KPI_SETTINGS,
      report: async (req: Parameters<typeof computeReport>[1]) => computeReport(ev, req, DEFAULT_KPI_SETTINGS),
      close: async () => {},
    };
    let text = '';
    const program = new Command('callcentre').exitOverride();
    registerPlanningCommands(program, { out: (s) => (text += s), openStore: async () => store, readFile: () => JSON.stringify(TARGETS) });
    await program.parseAsync([
      'node',
      'callcentre',
      'attainment',
      '--from',
      '2026-01-05',
      '--to',
      '2026-01-06',
      '--targets',
      't.json',
      '--period',
      'month',
      '--format',
      'csv',
    ]);
    expect(text.split('\n')).toContain('queue,sales,2026-01,serviceLevel,3,2,0.6667,0.92,false');
  });

  it('multi-skill share of agents against 80 %', () => {
    const agents = [
      { skills: { sales: {}, support: {} } },
      { skills: { sales: {} } },
      { skills: ['a', 'b', 'c'] },
      { skills: {} },
      { skills: { x: 1, y: 2 } },
    ];
    expect(multiSkillShare(agents)).toEqual({ agents: 5, multiSkilled: 3, share: 0.6, target: 0.8, met: false });
    expect(multiSkillShare([])).toMatchObject({ share: null, met: null });
  });
});

describe('planning and targets in centre.yaml', () => {
  it('defaults fill every key; the demo config states the seed targets', async () => {
    const { PlanningConfigSchema, DEFAULT_PLANNING } = await import('../../../server/planning/config.ts');
    expect(DEFAULT_PLANNING).toMatchObject({
      intervalMin: 30,
      volumeAlerts: { elevated: 0.3, surge: 0.5 },
      rest: { afterTalkMin: 120 },
      staffing: { shrinkage: 0.3 },
    });
    expect(() => PlanningConfigSchema.parse({ intervalMin: 20 })).toThrow();
    expect(() => PlanningConfigSchema.parse({ rest: { afterTalkMinutes: 60 } })).toThrow(); // strict: a typo is an error
    const { loadConfig } = await import('../../../server/config/load.ts');
    const r = loadConfig('config', {});
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.config.planning.staffing.maxOccupancy).toBe(0.85);
      expect(r.config.targets?.queues.sales?.serviceLevel).toEqual({ thresholdSec: 20, target: 0.8 });
      expect(r.config.targets?.centre?.intervalShare).toBe(0.92);
    }
  });
});
