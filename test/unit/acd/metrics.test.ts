import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { instrumentAcd } from '../../../server/acd/metrics.ts';
import { agent, harness } from './helpers.ts';

describe('ACD metrics', () => {
  it('counts transitions and reads live queue figures at scrape time', async () => {
    const registry = new Registry();
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], maxLength: 2 } }, agents: [agent('a', { s: 1 })] });
    instrumentAcd(h.acd, registry);
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.sec(12);
    h.acd.answered('c1', 'a');
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.acd.enqueue({ callId: 'c3', queue: 'q' });
    h.acd.enqueue({ callId: 'c4', queue: 'q' });
    const text = await registry.metrics();
    expect(text).toMatch(/acd_events_total\{type="offer",queue="q"\} 1/);
    expect(text).toMatch(/acd_exits_total\{queue="q",reason="full"\} 1/);
    expect(text).toMatch(/acd_queue_waiting\{queue="q"\} 2/);
    expect(text).toMatch(/acd_answer_wait_seconds_bucket\{le="20",queue="q"\} 1/);
    expect(text).toMatch(/acd_answer_wait_seconds_bucket\{le="10",queue="q"\} 0/);
    expect(text).toMatch(/acd_queue_agents\{queue="q",state="on-call"\} 1/);
    // A second engine on the same registry does not throw "already registered".
    const h2 = harness({ queues: { q: { skills: [{ skill: 's' }] } }, agents: [] });
    expect(() => instrumentAcd(h2.acd, registry)).not.toThrow();
  });
});
