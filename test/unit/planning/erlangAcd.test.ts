import { describe, expect, it } from 'vitest';
import { AgentSchema, QueueSchema } from '../../../server/acd/config.ts';
import { simulate } from '../../../server/acd/simulation.ts';
import { erlangA } from '../../../server/planning/erlang.ts';

describe('Erlang A against the real ACD', () => {
  it('abandons and service level of simulated impatient callers match Erlang A (±2 points, 2 seeds × 15 000 calls)', () => {
    // 100 calls per 30 min, AHT 180 s, patience 120 s, 11 agents: Erlang A says P(abandon) 9.42 %, SL(20 s) 78.0 %.
    const predicted = erlangA(11, 100 / 1800, 180, 120, 20);
    // The tolerance tells 11 agents from 10 and 12.
    expect(erlangA(10, 100 / 1800, 180, 120, 20).pAbandon - predicted.pAbandon).toBeGreaterThan(0.03);
    let calls = 0;
    let abandoned = 0;
    let answeredIn = 0;
    let abandonedIn = 0;
    for (const seed of [5, 6]) {
      const r = simulate({
        seed,
        queues: { q: QueueSchema.parse({ skills: [{ skill: 's' }], wrapUp: 0 }) },
        agents: Array.from({ length: 11 }, (_, i) =>
          AgentSchema.parse({ id: `a${i}`, name: `A${i}`, password: 'secret', skills: { s: 5 } }),
        ),
        arrivals: [{ queue: 'q', perHour: 200 }],
        calls: 15_000,
        talkSeconds: 180,
        patienceSeconds: 120,
      });
      for (const c of r.calls.values()) {
        calls++;
        const waited = (c.connectedAt ?? c.endedAt ?? c.arrivedAt) - c.arrivedAt;
        if (c.outcome === 'abandoned') {
          abandoned++;
          if (waited <= 20_000) abandonedIn++;
        } else if (c.connectedAt !== undefined && waited <= 20_000) answeredIn++;
      }
    }
    console.log(
      `Erlang A vs ACD: abandons ${((abandoned / calls) * 100).toFixed(2)} % (predicted ${(predicted.pAbandon * 100).toFixed(2)} %), SL ${((answeredIn / (calls - abandonedIn)) * 100).toFixed(2)} % (predicted ${(predicted.serviceLevel * 100).toFixed(2)} %)`,
    );
    expect(Math.abs(abandoned / calls - predicted.pAbandon)).toBeLessThan(0.02);
    expect(Math.abs(answeredIn / (calls - abandonedIn) - predicted.serviceLevel)).toBeLessThan(0.02);
  });
});
