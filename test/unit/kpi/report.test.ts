import { describe, expect, it } from 'vitest';
import { callDetails, computeReport, type KpiReport, type KpiRow } from '../../../server/kpi/report.ts';
import type { ServiceLevelMode } from '../../../server/kpi/serviceLevel.ts';
import { HOUR, SETTINGS, T0, scriptedDay } from './scriptedDay.ts';
import { AGENTS_30M, CENTRE_30M, QUEUES_30M, QUEUES_RANGE_FCR_2D } from './scriptedTruth.ts';

const range = { from: T0, to: T0 + HOUR };
const settings = (mode: ServiceLevelMode = 'abandons-ignored') => ({ ...SETTINGS, serviceLevelMode: mode });

function row(r: KpiReport, key: string, start = '2026-01-05T09:00:00.000Z'): KpiRow {
  const found = r.rows.find((x) => x.key === key && x.intervalStart === start);
  if (!found) throw new Error(`no row ${key} @ ${start}`);
  return found;
}
const sl = (r: KpiRow, t: number) => r.serviceLevels?.find((x) => x.thresholdSec === t);

describe('KPI engine on the scripted hour (hand-computed truth in scriptedDay.ts)', () => {
  const events = scriptedDay();
  const queues = computeReport(events, { ...range, interval: 'range', dimension: 'queue' }, settings());
  const sales = row(queues, 'sales');

  it('counts offered, answered, abandoned, short abandons, exits and waiting per queue', () => {
    // sales: C1 C2 C3 C4 C5 C6 C7 C7b C11
    expect(sales.offered).toBe(9);
    expect(sales.answered).toBe(4); // C1 C5 C6 C7b
    expect(sales.abandoned).toBe(3); // C2 (short) C3 C4
    expect(sales.shortAbandoned).toBe(1);
    expect(sales.exited).toBe(1); // C7 callback
    expect(sales.waiting).toBe(1); // C11
    expect(sales.answerRate).toBe(0.4444);
    expect(sales.abandonRate).toBe(0.25); // (3-1)/(9-1)
    expect(sales.asaSec).toBe(20); // (15+40+20+5)/4
    expect(sales.avgAbandonSec).toBe(18.5); // (12+25)/2, short one excluded
    expect(sales.longestWaitSec).toBe(600); // C11 still waiting since 09:50
  });

  it('splits handle time into talk, hold and after-call work', () => {
    expect(sales.handled).toBe(4);
    expect(sales.talkSec).toBe(435); // 135 + 120 + 120 + 60
    expect(sales.holdSec).toBe(30);
    expect(sales.acwSec).toBe(180); // 30 + 120 (extended) + 30
    expect(sales.ahtSec).toBe(161.25); // 645 / 4
    expect(sales.avgTalkSec).toBe(108.75);
    expect(sales.avgHoldSec).toBe(7.5);
    expect(sales.avgAcwSec).toBe(45);
    expect(sales.wrapupsExtended).toBe(1);
  });

  it('counts transfers, RONA and rejects, FCR both ways and CSAT on the final handler', () => {
    expect(sales.transferred).toBe(1);
    expect(sales.transferRate).toBe(0.25);
    expect(sales.rona).toBe(1);
    expect(sales.rejected).toBe(1);
    // Final handlers in sales: C1 (repeat C8 inside window), C5 (repeat C9 outside), C7b (callback of C7)
    expect(sales.fcrEligible).toBe(3);
    expect(sales.fcrResolved).toBe(2);
    expect(sales.fcrRepeatRate).toBe(0.6667);
    expect(sales.fcrSurveyAnswers).toBe(1);
    expect(sales.fcrSurveyRate).toBe(1);
    expect(sales.csatAnswers).toBe(2);
    expect(sales.csatAverage).toBe(4);
    expect(sales.csatTop2Box).toBe(0.5);
    const support = row(queues, 'support');
    expect(support).toMatchObject({
      offered: 1,
      answered: 1,
      handled: 1,
      asaSec: 10,
      talkSec: 120,
      acwSec: 10,
      ahtSec: 130,
      fcrEligible: 1,
      fcrResolved: 1,
    });
  });

  const slTruth: Record<ServiceLevelMode, Record<number, [number, number, number]>> = {
    // [met, base, value]; AW20=3 A_in20=1 A_out20=1, AW30=3 A_in30=2 A_out30=0, AN=4, X=1
    'abandons-ignored': { 20: [3, 6, 0.5], 30: [3, 5, 0.6] },
    'abandons-met': { 20: [4, 7, 0.5714], 30: [5, 7, 0.7143] },
    'abandons-missed': { 20: [3, 7, 0.4286], 30: [3, 7, 0.4286] },
  };
  for (const mode of Object.keys(slTruth) as ServiceLevelMode[]) {
    it(`service level at 20 s and 30 s in mode ${mode}`, () => {
      const r = row(computeReport(events, { ...range, interval: 'range', dimension: 'queue' }, settings(mode)), 'sales');
      for (const t of [20, 30]) {
        const [met, base, value] = slTruth[mode][t]!;
        expect(sl(r, t)).toEqual({ thresholdSec: t, mode, met, base, value });
      }
      // Nothing but SL depends on the mode.
      const { serviceLevels: _a, ...rest } = r;
      const { serviceLevels: _b, ...restBase } = sales;
      expect(rest).toEqual(restBase);
    });
  }

  it('reports each queue against its own SL objective', () => {
    const r = computeReport(
      events,
      { ...range, interval: 'range', dimension: 'queue' },
      {
        ...settings(),
        queueObjectives: { sales: { thresholdSec: 25, target: 0.5 }, support: { thresholdSec: 5, target: 0.8 } },
      },
    );
    // sales at 25 s, abandons ignored: AW = C1 C6 C7b; C3 and C4 abandon inside 25 s and drop out.
    expect(row(r, 'sales').serviceLevelObjective).toEqual({
      thresholdSec: 25,
      mode: 'abandons-ignored',
      met: 3,
      base: 5,
      value: 0.6,
      target: 0.5,
      targetMet: true,
    });
    expect(row(r, 'support').serviceLevelObjective).toMatchObject({ met: 0, base: 1, value: 0, targetMet: false });
    expect(row(r, 'sales').serviceLevels!.map((x) => x.thresholdSec)).toEqual([20, 30]);
    expect(sales.serviceLevelObjective).toBeNull();
  });

  it('computes 接通率 over customer calls on the centre row', () => {
    const centre = row(computeReport(events, { ...range, interval: 'range', dimension: 'centre' }, settings()), '*');
    // Customer calls 09:00-10:00: C1..C8, C10, C11 minus transfer/callback legs = 10 (C9 is next day).
    expect(centre.contactsOffered).toBe(10);
    expect(centre.contactsAnsweredByAgent).toBe(4); // C1, C5, C6 (via C6b), C7 (via callback C7b)
    expect(centre.contactsCompletedInIvr).toBe(1); // C8
    expect(centre.connectRate).toBe(0.5);
    expect(centre.offered).toBe(10); // 9 sales + 1 support
    expect(centre.answered).toBe(5);
    // occupancy = talk / logged-in over both agents: (435 + 120) / (3300 + 3600)
    expect(centre.loggedInSec).toBe(6900);
    expect(centre.occupancy).toBe(0.0804);
  });

  it('reports agents: per-call figures, time in state cut at the range, occupancy and utilization', () => {
    const agents = computeReport(events, { ...range, interval: 'range', dimension: 'agent' }, settings());
    const alice = row(agents, 'alice');
    expect(alice).toMatchObject({
      offered: null,
      answered: 4, // C1 C5 C6b C7b
      handled: 4,
      talkSec: 435,
      holdSec: 30,
      acwSec: 160, // 30 + 120 + 10
      ahtSec: 156.25,
      asaSec: 17.5, // (15+40+10+5)/4
      rona: 0,
      rejected: 0,
      loggedInSec: 3300, // 09:00 (clipped) to 09:55
      notReadySec: 900,
      readySec: 2400,
      occupancy: 0.1318, // 435 / 3300
      utilization: 0.1894, // 625 / 3300
      fcrEligible: 4,
      fcrResolved: 3,
      csatAnswers: 2,
    });
    const bob = row(agents, 'bob');
    expect(bob).toMatchObject({
      answered: 1,
      transferred: 1,
      transferRate: 1,
      rona: 1,
      rejected: 1,
      talkSec: 120,
      acwSec: 30,
      ahtSec: 150,
      loggedInSec: 3600,
      occupancy: 0.0333,
      utilization: 0.0417,
      fcrEligible: 0,
    });
  });

  it('groups by skill group (default: the queue name)', () => {
    const r = computeReport(events, { ...range, interval: 'range', dimension: 'skillGroup' }, settings());
    expect(r.rows.map((x) => [x.key, x.offered, x.answered])).toEqual([
      ['sales', 8, 3],
      ['sales-en', 1, 1],
      ['support', 1, 1],
    ]);
  });

  it('cuts into 30-minute intervals that add up to the range', () => {
    const r = computeReport(events, { ...range, interval: '30m', dimension: 'queue', keys: ['sales'] }, settings());
    expect(r.rows.map((x) => [x.intervalStart, x.key, x.offered])).toEqual([
      ['2026-01-05T09:00:00.000Z', 'sales', 7],
      ['2026-01-05T09:30:00.000Z', 'sales', 2],
    ]);
    const [a, b] = r.rows as [KpiRow, KpiRow];
    expect(a.answered + b.answered).toBe(sales.answered);
    expect(a.talkSec + b.talkSec).toBe(sales.talkSec);
    expect(b.waiting).toBe(1);
    expect(b.longestWaitSec).toBe(600);
    const agents = computeReport(events, { ...range, interval: '30m', dimension: 'agent', keys: ['alice'] }, settings());
    expect(agents.rows.map((x) => [x.loggedInSec, x.notReadySec])).toEqual([
      [1800, 600],
      [1500, 300],
    ]);
  });

  it('gives the hand-computed 30-minute rows per queue, agent and centre (the truth the store tests use)', () => {
    const at30 = (dimension: 'queue' | 'agent' | 'centre') =>
      computeReport(events, { ...range, interval: '30m', dimension }, settings()).rows;
    expect(at30('queue')).toMatchObject(QUEUES_30M);
    expect(at30('agent')).toMatchObject(AGENTS_30M);
    expect(at30('centre')).toMatchObject(CENTRE_30M);
  });

  it('finds a repeat 36 hours later only with a 2-day FCR window', () => {
    const c12 = [
      { type: 'contact.arrived', contactId: 'C12', seq: 1, ts: T0 + 36 * HOUR, initiation: 'inbound', caller: '+600', dialled: '8000' },
      { type: 'call.end', contactId: 'C12', seq: 2, ts: T0 + 36 * HOUR + 60_000, endedBy: 'caller' },
    ] as never[];
    const r = computeReport(
      [...events, ...c12],
      { ...range, interval: 'range', dimension: 'queue' },
      { ...settings(), fcrWindowSec: 2 * 86_400 },
    );
    expect(r.rows).toMatchObject(QUEUES_RANGE_FCR_2D);
  });

  it('is idempotent and order-independent: duplicates and shuffles change nothing', () => {
    const shuffled = [...events, ...events.slice(0, 40)].reverse();
    const again = computeReport(shuffled, { ...range, interval: 'range', dimension: 'queue' }, settings());
    expect(again).toEqual(queues);
  });

  it('drill-down rows sum to the report', () => {
    const d = callDetails(events, { ...range, queue: 'sales' }, settings());
    expect(d).toHaveLength(9);
    expect(d.filter((x) => x.outcome === 'answered')).toHaveLength(sales.answered);
    expect(d.reduce((s, x) => s + x.talkSec, 0)).toBe(sales.talkSec);
    expect(d.filter((x) => x.serviceLevelMet[0]!.met === true)).toHaveLength(sl(sales, 20)!.met);
    expect(d.filter((x) => x.serviceLevelMet[0]!.met !== null)).toHaveLength(sl(sales, 20)!.base);
    const c1 = d.find((x) => x.contactId === 'C1')!;
    expect(c1).toMatchObject({
      waitSec: 15,
      talkSec: 135,
      holdSec: 30,
      acwSec: 30,
      disposition: 'sale',
      fcrResolved: false,
      csat: [5],
      ivrPath: ['welcome', 'menu'],
      recordings: 1,
    });
    const c6 = d.find((x) => x.contactId === 'C6')!;
    expect(c6).toMatchObject({ transferred: true, transferTarget: 'queue:support', finalHandler: false, rejected: 1 });
  });

  it('buckets by day in the centre time zone', () => {
    const r = computeReport(
      events,
      { from: T0 - 9 * HOUR, to: T0 + 39 * HOUR, interval: 'day', dimension: 'centre' },
      { ...settings(), tzOffsetMinutes: 480 },
    );
    // UTC+8: local days start at 16:00 UTC. 09:00 UTC Jan 5 is in the local day starting Jan 4 16:00Z.
    expect(r.rows.map((x) => x.intervalStart)).toEqual([
      '2026-01-05T00:00:00.000Z',
      '2026-01-05T16:00:00.000Z',
      '2026-01-06T16:00:00.000Z',
    ]);
    expect(r.rows[0]!.contactsOffered).toBe(10);
    expect(r.rows[1]!.contactsOffered).toBe(1); // C9 on Jan 6 09:08 UTC
  });

  it('survives a log that contradicts itself: no call is invented, agent time still counts', () => {
    // Every contact.arrived and queue.enter gone: offers, connects, ends and wrap-ups of calls that
    // never arrived. No queue visit began, so there is no call figure at all; the agents' own
    // streams are intact, so their time in state is the scripted one, cut at 15 minutes:
    // alice ready 09:00, lunch 09:20-09:35, logged out 09:55; bob ready the whole hour.
    const broken = scriptedDay().filter((e) => e.type !== 'queue.enter' && e.type !== 'contact.arrived');
    const r = computeReport(broken, { ...range, interval: '15m', dimension: 'centre' }, settings());
    expect(r.rows.map((x) => [x.intervalStart, x.loggedInSec, x.readySec, x.notReadySec])).toEqual([
      ['2026-01-05T09:00:00.000Z', 1800, 1800, 0], // 900 + 900, both ready
      ['2026-01-05T09:15:00.000Z', 1800, 1200, 600], // alice 300 ready + 600 lunch; bob 900
      ['2026-01-05T09:30:00.000Z', 1800, 1500, 300], // alice 300 lunch + 600 ready; bob 900
      ['2026-01-05T09:45:00.000Z', 1500, 1500, 0], // alice 600 until 09:55; bob 900
    ]);
    for (const x of r.rows) {
      expect(x).toMatchObject({
        offered: 0,
        answered: 0,
        abandoned: 0,
        exited: 0,
        waiting: 0,
        handled: 0,
        talkSec: 0,
        holdSec: 0,
        acwSec: 0,
        transferred: 0,
        rona: 0,
        rejected: 0,
      });
      expect(x).toMatchObject({
        contactsOffered: 0,
        contactsAnsweredByAgent: 0,
        contactsCompletedInIvr: 0,
        csatAnswers: 0,
        fcrEligible: 0,
        occupancy: 0,
        utilization: 0,
      });
      expect(x).toMatchObject({ answerRate: null, abandonRate: null, asaSec: null, ahtSec: null, connectRate: null, longestWaitSec: null });
    }
    // A request that is wrong (not the log) is refused, naming what is allowed.
    expect(() => computeReport(events, { ...range, interval: 'bogus' as never, dimension: 'queue' })).toThrow(
      /Invalid option: expected one of .*15m.*30m.*60m.*day.*range/,
    );
  });
});

describe('a transfer that stays on one contact id', () => {
  it('keeps each agent’s wrap-up and hold on that agent’s own call', () => {
    const id = 'X';
    let seq = 0;
    const e = (sec: number, f: Record<string, unknown>) => ({ contactId: id, seq: ++seq, ts: T0 + sec * 1000, ...f }) as never;
    const log = [
      e(0, { type: 'contact.arrived', initiation: 'inbound', caller: '+42', dialled: '1' }),
      e(0, { type: 'queue.enter', queue: 'sales' }),
      e(10, { type: 'queue.connect', queue: 'sales', agentId: 'a' }),
      e(70, { type: 'queue.transfer', queue: 'sales', agentId: 'a', targetKind: 'queue', target: 'support' }),
      e(70, { type: 'wrapup.start', agentId: 'a' }),
      e(70, { type: 'queue.enter', queue: 'support' }),
      e(75, { type: 'queue.connect', queue: 'support', agentId: 'b' }),
      e(80, { type: 'hold.start', agentId: 'b' }),
      e(90, { type: 'wrapup.end', agentId: 'a', disposition: 'transferred' }),
      e(100, { type: 'hold.end', agentId: 'b' }),
      e(175, { type: 'call.end', endedBy: 'caller' }),
      e(175, { type: 'wrapup.start', agentId: 'b' }),
      e(185, { type: 'wrapup.end', agentId: 'b' }),
    ];
    const d = callDetails(log, { from: T0, to: T0 + HOUR });
    expect(
      d.map((x) => [x.queue, x.agentId, x.waitSec, x.talkSec, x.holdSec, x.acwSec, x.transferred, x.disposition, x.finalHandler]),
    ).toEqual([
      ['sales', 'a', 10, 60, 0, 20, true, 'transferred', false],
      ['support', 'b', 5, 80, 20, 10, false, null, true],
    ]);
  });
});

describe('agent sessions', () => {
  it('ends a session left open by a crashed producer where the next session begins', () => {
    const st = (stream: string, seq: number, min: number, state: string) =>
      ({ type: 'agent.state', contactId: stream, seq, ts: T0 + min * 60_000, agentId: 'alice', state }) as never;
    const log = [
      st('agent:alice#boot1', 1, 0, 'ready'),
      st('agent:alice#boot2', 1, 30, 'ready'),
      st('agent:alice#boot2', 2, 45, 'logged-out'),
    ];
    const r = computeReport(log, { ...range, interval: 'range', dimension: 'agent' }, settings());
    expect(r.rows.map((x) => [x.key, x.loggedInSec])).toEqual([['alice', 2700]]);
  });
});

describe('overflow', () => {
  it('closes the first queue visit as an overflow exit when the call enters another queue', () => {
    let seq = 0;
    const e = (sec: number, f: Record<string, unknown>) => ({ contactId: 'O', seq: ++seq, ts: T0 + sec * 1000, ...f }) as never;
    const log = [
      e(0, { type: 'contact.arrived', caller: '+1', dialled: '1', initiation: 'inbound' }),
      e(0, { type: 'queue.enter', queue: 'sales' }),
      e(60, { type: 'queue.enter', queue: 'overflow' }),
      e(70, { type: 'queue.connect', queue: 'overflow', agentId: 'z' }),
      e(100, { type: 'call.end', endedBy: 'agent' }),
    ];
    const d = callDetails(log, { from: T0, to: T0 + HOUR });
    expect(d.map((x) => [x.queue, x.outcome, x.exitReason, x.waitSec])).toEqual([
      ['sales', 'exited', 'overflow', 60],
      ['overflow', 'answered', null, 10],
    ]);
  });
});
