import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { instrumentAcd } from '../../../server/acd/metrics.ts';
import { agent, harness } from './helpers.ts';

/** Every sample of every metric as `name{label="v",…}` → value, labels sorted (scrape-time collect runs). */
async function scrape(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values as { value: number; labels: Record<string, string | number>; metricName?: string }[]) {
      const labels = Object.entries(v.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => `${k}="${x}"`)
        .join(',');
      out.set(`${v.metricName ?? m.name}{${labels}}`, v.value);
    }
  }
  return out;
}

/** The samples of one metric, so a test sees extra or missing series, not only the ones it names. */
function series(all: Map<string, number>, name: string): Record<string, number> {
  return Object.fromEntries([...all].filter(([k]) => k.startsWith(`${name}{`)));
}

describe('ACD metrics', () => {
  it('gauges read the live queue figures at scrape time; counters and the wait histogram follow the events', async () => {
    const registry = new Registry();
    const h = harness({
      queues: {
        q: {
          skills: [{ skill: 's' }],
          maxLength: 2,
          wrapUp: 60,
          offerTimeout: 60,
          serviceLevel: { threshold: 20, target: 0.8, window: 3600 },
        },
        other: { skills: [{ skill: 't' }] },
      },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 }), agent('n', { s: 1 }), agent('t', { t: 1 })],
      login: false,
    });
    instrumentAcd(h.acd, registry);
    h.acd.agentLogin('a');
    h.acd.agentLogin('b');
    h.acd.agentLogin('n', { ready: false });
    h.acd.agentLogin('t');
    // c1 rings a (longest idle) and is answered after 12 s: within the 20 s threshold.
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.sec(12);
    expect(h.acd.answered('c1', 'a').ok).toBe(true);
    // c2 rings b and is answered after 30 s (offerTimeout 60): late. Service level 1 of 2.
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.sec(30);
    expect(h.acd.answered('c2', 'b').ok).toBe(true);
    // a goes to wrap-up (60 s); c3 and c4 wait; c5 finds the queue full (maxLength 2).
    h.acd.callEnded('c1');
    h.acd.enqueue({ callId: 'c3', queue: 'q' });
    h.acd.enqueue({ callId: 'c4', queue: 'q' });
    expect(h.acd.enqueue({ callId: 'c5', queue: 'q' })).toMatchObject({ ok: false, reason: 'full' });
    h.sec(15);
    // c4 keeps its place as a callback (issue #12): still waiting, and one callback pending.
    expect(h.acd.requestCallback({ callId: 'c4', number: '+1555' }).ok).toBe(true);

    const m = await scrape(registry);
    expect(series(m, 'acd_queue_waiting')).toEqual({ 'acd_queue_waiting{queue="q"}': 2, 'acd_queue_waiting{queue="other"}': 0 });
    expect(series(m, 'acd_queue_callbacks_pending')).toEqual({
      'acd_queue_callbacks_pending{queue="q"}': 1,
      'acd_queue_callbacks_pending{queue="other"}': 0,
    });
    expect(series(m, 'acd_queue_longest_wait_seconds')).toEqual({
      'acd_queue_longest_wait_seconds{queue="q"}': 15,
      'acd_queue_longest_wait_seconds{queue="other"}': 0,
    });
    // 'other' has had no caller: no service level yet, so no series.
    expect(series(m, 'acd_queue_service_level')).toEqual({ 'acd_queue_service_level{queue="q"}': 0.5 });
    expect(series(m, 'acd_queue_agents')).toEqual({
      'acd_queue_agents{queue="q",state="available"}': 0,
      'acd_queue_agents{queue="q",state="on-call"}': 1,
      'acd_queue_agents{queue="q",state="wrap-up"}': 1,
      'acd_queue_agents{queue="q",state="not-ready"}': 1,
      'acd_queue_agents{queue="other",state="available"}': 1,
      'acd_queue_agents{queue="other",state="on-call"}': 0,
      'acd_queue_agents{queue="other",state="wrap-up"}': 0,
      'acd_queue_agents{queue="other",state="not-ready"}': 0,
    });
    expect(series(m, 'acd_exits_total')).toEqual({ 'acd_exits_total{queue="q",reason="full"}': 1 });
    expect(m.get('acd_events_total{queue="q",type="offer"}')).toBe(2);
    expect(m.get('acd_events_total{queue="q",type="connect"}')).toBe(2);
    expect(m.get('acd_events_total{queue="q",type="enqueue"}')).toBe(4);
    expect(m.get('acd_events_total{queue="q",type="wrapupStart"}')).toBe(1);
    // Waits of 12 s and 30 s.
    expect(m.get('acd_answer_wait_seconds_count{queue="q"}')).toBe(2);
    expect(m.get('acd_answer_wait_seconds_sum{queue="q"}')).toBe(42);
    expect(m.get('acd_answer_wait_seconds_bucket{le="10",queue="q"}')).toBe(0);
    expect(m.get('acd_answer_wait_seconds_bucket{le="20",queue="q"}')).toBe(1);
    expect(m.get('acd_answer_wait_seconds_bucket{le="30",queue="q"}')).toBe(2);

    // The figures move with the engine: wrap-up ends (t=102), a takes c3 after 60 s of waiting.
    h.sec(45);
    expect(h.acd.answered('c3', 'a').ok).toBe(true);
    const m2 = await scrape(registry);
    expect(m2.get('acd_queue_waiting{queue="q"}')).toBe(1);
    expect(m2.get('acd_queue_longest_wait_seconds{queue="q"}')).toBe(60);
    expect(m2.get('acd_queue_service_level{queue="q"}')).toBeCloseTo(1 / 3, 12);
    expect(m2.get('acd_queue_agents{queue="q",state="on-call"}')).toBe(2);
    expect(m2.get('acd_queue_agents{queue="q",state="wrap-up"}')).toBe(0);
    expect(m2.get('acd_answer_wait_seconds_bucket{le="60",queue="q"}')).toBe(3);
  });

  it('a second engine on the same registry takes over the gauges; counters keep counting', async () => {
    const registry = new Registry();
    const h1 = harness({ queues: { old: { skills: [{ skill: 's' }], maxLength: 1 } }, agents: [] });
    instrumentAcd(h1.acd, registry);
    h1.acd.enqueue({ callId: 'c1', queue: 'old' });
    h1.acd.enqueue({ callId: 'c2', queue: 'old' });
    const h2 = harness({ queues: { fresh: { skills: [{ skill: 's' }], maxLength: 1 } }, agents: [] });
    instrumentAcd(h2.acd, registry);
    h2.acd.enqueue({ callId: 'd1', queue: 'fresh' });
    h2.acd.enqueue({ callId: 'd2', queue: 'fresh' });
    h2.acd.enqueue({ callId: 'd3', queue: 'fresh' });
    const m = await scrape(registry);
    expect(series(m, 'acd_queue_waiting')).toEqual({ 'acd_queue_waiting{queue="fresh"}': 1 });
    expect(series(m, 'acd_exits_total')).toEqual({
      'acd_exits_total{queue="old",reason="full"}': 1,
      'acd_exits_total{queue="fresh",reason="full"}': 2,
    });
  });
});
