/**
 * Seeded discrete-event simulations of the real engine (FakeClock, Poisson arrivals, exponential
 * talk times and patience): invariants over tens of thousands of transitions, and the simulated
 * service level against Erlang C.
 */
import { describe, expect, it } from 'vitest';
import { AgentSchema, QueueSchema } from '../../../server/acd/config.ts';
import { averageSpeedOfAnswer, serviceLevel } from '../../../server/acd/erlang.ts';
import type { AcdEvent, AgentState } from '../../../server/acd/events.ts';
import { exponential, mulberry32, simulate } from '../../../server/acd/simulation.ts';

function agents(n: number, skills: (i: number) => Record<string, number>) {
  return Array.from({ length: n }, (_, i) => AgentSchema.parse({ id: `a${i}`, name: `Agent ${i}`, password: 'secret', skills: skills(i) }));
}

describe('PRNG', () => {
  it('mulberry32 is deterministic and roughly uniform; exponential has the right mean', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 20_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
    const r = mulberry32(7);
    const e = Array.from({ length: 20_000 }, () => exponential(r, 180));
    expect(e.reduce((s, x) => s + x, 0) / e.length).toBeGreaterThan(175);
    expect(e.reduce((s, x) => s + x, 0) / e.length).toBeLessThan(185);
  });
});

describe('invariants under mixed traffic', () => {
  // Three queues over four skills, cross-skilled agents at various levels, caller priorities,
  // escalation (relax, add skill, overflow), ring delays, misses (RONA), abandons and wrap-up.
  const queues = {
    sales: QueueSchema.parse({
      skills: [{ skill: 'sales', minLevel: 6 }],
      priority: 5,
      wrapUp: 15,
      offerTimeout: 10,
      escalation: [
        { after: 30, relaxMinLevel: 2 },
        { after: 90, overflowTo: 'general' },
      ],
    }),
    support: QueueSchema.parse({
      skills: [{ skill: 'support', minLevel: 3 }, { skill: 'en' }],
      wrapUp: 25,
      offerTimeout: 10,
      escalation: [{ after: 60, addSkills: [{ skill: 'general', minLevel: 5 }] }],
    }),
    general: QueueSchema.parse({ skills: [{ skill: 'general' }], wrapUp: 5, offerTimeout: 10, strategy: 'least-occupied' }),
  };
  const team = agents(24, (i) => {
    const s: Record<string, number> = { en: 5 };
    if (i % 2 === 0) s.sales = 1 + (i % 10);
    if (i % 3 !== 0) s.support = 1 + ((i * 7) % 10);
    if (i % 4 === 0 || i > 18) s.general = 1 + ((i * 3) % 10);
    return s;
  });

  it('no agent holds two calls, no call is lost or duplicated, wrap-up and escalation timing hold', () => {
    const enqueued = new Map<string, { at: number; arrivedAt: number; queue: string }>();
    const terminal = new Map<string, string[]>();
    const agentState = new Map<string, AgentState>();
    const agentCall = new Map<string, string>();
    const inWrap = new Map<string, number>();
    const ringing = new Map<string, { since: number; ends: number[] }>();
    const problems: string[] = [];
    const note = (s: string) => {
      if (problems.length < 20) problems.push(s);
    };
    const seen = new Map<string, number>();
    const onEvent = (e: AcdEvent) => {
      const kind = e.type === 'escalate' && e.overflowTo ? 'overflow' : e.type;
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
      switch (e.type) {
        case 'enqueue':
          if (enqueued.has(e.callId)) note(`duplicate enqueue ${e.callId}`);
          enqueued.set(e.callId, { at: e.at, arrivedAt: e.arrivedAt, queue: e.queue });
          break;
        case 'agentState': {
          const was = agentState.get(e.agentId) ?? 'logged-out';
          if (was !== e.from) note(`agent ${e.agentId} went from ${e.from} but was ${was}`);
          if (e.to === 'offered' && e.from !== 'available') note(`agent ${e.agentId} offered while ${e.from}`);
          agentState.set(e.agentId, e.to);
          break;
        }
        case 'offer':
        case 'callbackDial': {
          const holding = agentCall.get(e.agentId);
          if (holding !== undefined) note(`agent ${e.agentId} offered ${e.callId} while holding ${holding}`);
          if (inWrap.has(e.agentId)) note(`agent ${e.agentId} offered during wrap-up`);
          agentCall.set(e.agentId, e.callId);
          if (!ringing.has(e.callId)) ringing.set(e.callId, { since: e.at, ends: [] });
          break;
        }
        case 'rona':
        case 'reject':
        case 'offerCancelled':
          if (agentCall.get(e.agentId) !== e.callId) note(`${e.type} for ${e.agentId}/${e.callId} it did not hold`);
          agentCall.delete(e.agentId);
          ringing.get(e.callId)?.ends.push(e.at);
          break;
        case 'connect':
          if (agentCall.get(e.agentId) !== e.callId) note(`connect ${e.callId} to ${e.agentId} that was not offered it`);
          break;
        case 'callEnd':
          agentCall.delete(e.agentId);
          terminal.set(e.callId, [...(terminal.get(e.callId) ?? []), 'callEnd']);
          break;
        case 'abandon':
        case 'exit':
          terminal.set(e.callId, [...(terminal.get(e.callId) ?? []), e.type]);
          break;
        case 'wrapupStart':
          inWrap.set(e.agentId, e.at);
          break;
        case 'wrapupEnd': {
          const started = inWrap.get(e.agentId);
          inWrap.delete(e.agentId);
          const want = (queues[e.queue as keyof typeof queues]?.wrapUp ?? -1) * 1000;
          if (e.by === 'timer' && (started === undefined || e.at - started !== want))
            note(`wrap-up of ${e.agentId} lasted ${e.at - (started ?? 0)} not ${want}`);
          break;
        }
        case 'escalate': {
          const q = queues[e.queue as keyof typeof queues];
          const due = enqueued.get(e.callId)!.arrivedAt + q.escalation[e.step]!.after * 1000;
          // Exactly on time, unless the call was ringing then: it escalates the moment it is back.
          if (e.at !== due && !(ringing.get(e.callId)?.ends.includes(e.at) && e.at > due)) {
            note(`escalation of ${e.callId} step ${e.step} at +${e.at - due} ms`);
          }
          break;
        }
        default:
          break;
      }
    };
    const r = simulate({
      seed: 2026,
      queues,
      agents: team,
      arrivals: [
        { queue: 'sales', perHour: 120 },
        { queue: 'support', perHour: 200, priority: 0 },
        { queue: 'support', perHour: 40, priority: 10 },
        { queue: 'general', perHour: 60 },
      ],
      calls: 4000,
      talkSeconds: 240,
      answerDelayMs: 3000,
      missProbability: 0.03,
      patienceSeconds: 300,
      auditEvery: 997,
      onEvent,
    });
    expect(r.auditFailures).toEqual([]);
    expect(problems).toEqual([]);
    expect(enqueued.size).toBe(4000);
    for (const id of enqueued.keys()) {
      const t = terminal.get(id);
      if (!t || t.length !== 1) problems.push(`${id} ended ${JSON.stringify(t)}`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(r.acd.snapshot().calls).toEqual([]);
    // The traffic really exercised the paths under test.
    const outcomes = [...r.calls.values()].reduce<Record<string, number>>(
      (m, c) => ({ ...m, [c.outcome ?? 'none']: (m[c.outcome ?? 'none'] ?? 0) + 1 }),
      {},
    );
    expect(outcomes.answered).toBeGreaterThan(2000);
    expect(outcomes.abandoned).toBeGreaterThan(50);
    for (const kind of ['rona', 'escalate', 'overflow', 'wrapupEnd', 'offerCancelled'])
      expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(20);
    expect(outcomes.none).toBeUndefined();
    expect(r.events).toBeGreaterThan(30_000);
  });

  it('FIFO within equal priority, and RONA re-queues at the head', () => {
    const firstOffer: { callId: string; arrivedAt: number; priority: number }[] = [];
    const arrived = new Map<string, { arrivedAt: number; priority: number }>();
    const offered = new Set<string>();
    const ended = new Set<string>();
    let awaitingAfterRona: string | undefined;
    const problems: string[] = [];
    let ronas = 0;
    const r = simulate({
      seed: 99,
      queues: { q: QueueSchema.parse({ skills: [{ skill: 's' }], wrapUp: 5, offerTimeout: 8 }) },
      agents: agents(8, () => ({ s: 3 })),
      arrivals: [
        { queue: 'q', perHour: 140 },
        { queue: 'q', perHour: 20, priority: 3 },
      ],
      calls: 3000,
      talkSeconds: 180,
      answerDelayMs: 2000,
      missProbability: 0.05,
      patienceSeconds: 400,
      onEvent: (e) => {
        if (e.type === 'enqueue') arrived.set(e.callId, { arrivedAt: e.arrivedAt, priority: e.priority });
        if (e.type === 'abandon' || e.type === 'exit') ended.add(e.callId);
        if (e.type === 'rona') {
          ronas++;
          awaitingAfterRona = e.callId;
        }
        if (e.type === 'offer') {
          if (awaitingAfterRona !== undefined && !ended.has(awaitingAfterRona)) {
            const back = arrived.get(awaitingAfterRona)!;
            const next = arrived.get(e.callId)!;
            // Nobody the call that rang out was ahead of may go first.
            const backAhead = back.priority > next.priority || (back.priority === next.priority && back.arrivedAt < next.arrivedAt);
            if (e.callId !== awaitingAfterRona && backAhead) problems.push(`after RONA of ${awaitingAfterRona}, ${e.callId} was offered`);
          }
          if (e.callId === awaitingAfterRona) awaitingAfterRona = undefined;
          if (!offered.has(e.callId)) {
            offered.add(e.callId);
            firstOffer.push({ callId: e.callId, ...arrived.get(e.callId)! });
          }
        }
      },
    });
    expect(r.auditFailures).toEqual([]);
    expect(ronas).toBeGreaterThan(20);
    expect(problems.slice(0, 5)).toEqual([]);
    for (const p of [0, 3]) {
      const seq = firstOffer.filter((o) => o.priority === p).map((o) => o.arrivedAt);
      const outOfOrder = seq.filter((t, i) => i > 0 && t < seq[i - 1]!).length;
      expect(seq.length).toBeGreaterThan(100);
      expect(outOfOrder).toBe(0);
    }
  });
});

describe('invariants with many queues and skill groups', () => {
  it('routes correctly when agents serve a few of many queues (eligibility caches stay sound)', () => {
    const rand = mulberry32(5);
    const queues = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [
        `q${i}`,
        QueueSchema.parse({
          skills: [{ skill: `s${i % 12}`, minLevel: 1 + (i % 4) }],
          priority: i % 3,
          wrapUp: 3,
          escalation: [
            { after: 20, relaxMinLevel: 1 },
            { after: 50, addSkills: [{ skill: 's0' }] },
          ],
        }),
      ]),
    );
    const team = agents(40, () => {
      const s: Record<string, number> = {};
      for (let k = 0; k < 3; k++) s[`s${Math.floor(rand() * 12)}`] = 1 + Math.floor(rand() * 10);
      return s;
    });
    const r = simulate({
      seed: 8,
      queues,
      agents: team,
      arrivals: Object.keys(queues).map((queue) => ({ queue, perHour: 30 })),
      calls: 3000,
      talkSeconds: 150,
      answerDelayMs: 1000,
      patienceSeconds: 240,
      auditEvery: 251,
    });
    expect(r.auditFailures).toEqual([]);
    const answered = [...r.calls.values()].filter((c) => c.outcome === 'answered').length;
    expect(answered).toBeGreaterThan(1500);
    expect([...r.calls.values()].every((c) => c.outcome !== undefined)).toBe(true);
  });
});

describe('Erlang C agreement', () => {
  it('a single-skill queue reaches the service level Erlang C predicts (±3 points over 4 seeds)', () => {
    // 10 agents, 8 Erlangs offered (80 % occupancy), AHT 180 s, SL threshold 20 s.
    const N = 10;
    const A = 8;
    const aht = 180;
    const predicted = serviceLevel(N, A, aht, 20);
    const asaPredicted = averageSpeedOfAnswer(N, A, aht);
    // The tolerance must be tight enough to tell N from N±1 agents.
    expect(predicted - serviceLevel(N - 1, A, aht, 20)).toBeGreaterThan(0.1);
    expect(serviceLevel(N + 1, A, aht, 20) - predicted).toBeGreaterThan(0.1);
    const sls: number[] = [];
    const asas: number[] = [];
    for (const seed of [1, 2, 3, 4]) {
      const r = simulate({
        seed,
        queues: { q: QueueSchema.parse({ skills: [{ skill: 's' }], wrapUp: 0 }) },
        agents: agents(N, () => ({ s: 5 })),
        arrivals: [{ queue: 'q', perHour: (A / aht) * 3600 }],
        calls: 20_000,
        talkSeconds: aht,
      });
      let met = 0;
      let n = 0;
      let wait = 0;
      for (const c of r.calls.values()) {
        if (c.connectedAt === undefined) continue;
        n++;
        wait += c.connectedAt - c.arrivedAt;
        if (c.connectedAt - c.arrivedAt <= 20_000) met++;
      }
      expect(n).toBe(20_000);
      sls.push(met / n);
      asas.push(wait / n / 1000);
    }
    const sl = sls.reduce((s, x) => s + x, 0) / sls.length;
    const asa = asas.reduce((s, x) => s + x, 0) / asas.length;
    expect(Math.abs(sl - predicted)).toBeLessThan(0.03);
    expect(Math.abs(asa - asaPredicted) / asaPredicted).toBeLessThan(0.15);
  });
});

describe('estimated wait time', () => {
  it('is within ±20 % of the actual wait on average, overall and at every position band', () => {
    // 20 agents, 17 Erlangs (85 % occupancy), AHT 180 s: long queues build up and drain.
    const N = 20;
    const A = 17;
    const aht = 180;
    const r = simulate({
      seed: 11,
      queues: { q: QueueSchema.parse({ skills: [{ skill: 's' }], wrapUp: 0 }) },
      agents: agents(N, () => ({ s: 5 })),
      arrivals: [{ queue: 'q', perHour: (A / aht) * 3600 }],
      calls: 20_000,
      talkSeconds: aht,
    });
    const bands = new Map<string, { ewt: number; wait: number; n: number }>();
    const add = (band: string, ewt: number, wait: number) => {
      const b = bands.get(band) ?? { ewt: 0, wait: 0, n: 0 };
      b.ewt += ewt;
      b.wait += wait;
      b.n++;
      bands.set(band, b);
    };
    for (const c of r.calls.values()) {
      if (c.connectedAt === undefined || c.ewtSeconds === null || c.positionAtEnqueue === 0) continue;
      const wait = (c.connectedAt - c.arrivedAt) / 1000;
      if (wait <= 0) continue;
      const p = c.positionAtEnqueue;
      add('all', c.ewtSeconds, wait);
      add(p === 1 ? '1' : p <= 3 ? '2-3' : p <= 10 ? '4-10' : '11+', c.ewtSeconds, wait);
    }
    expect([...bands.keys()].sort()).toEqual(['1', '11+', '2-3', '4-10', 'all']);
    for (const [band, b] of bands) {
      expect(b.n, band).toBeGreaterThan(500);
      expect(Math.abs(b.ewt / b.wait - 1), `EWT bias at position ${band}`).toBeLessThan(0.2);
    }
  });
});
