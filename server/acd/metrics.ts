/**
 * Prometheus figures for the ACD (prefix acd_): counters fed from the engine's events, gauges read
 * from its live view at scrape time. Call once per engine; a second engine on the same registry
 * shares the metrics (the gauges then read the newest engine).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metrics } from '../../lib/metrics.ts';
import type { Acd } from './acd.ts';

const attached = new WeakMap<Registry, { current: Acd | undefined }>();

export function instrumentAcd(acd: Acd, registry: Registry = metrics): void {
  let holder = attached.get(registry);
  if (!holder) {
    holder = { current: undefined };
    attached.set(registry, holder);
    createMetrics(registry, holder);
  }
  holder.current = acd;
  const events = registry.getSingleMetric('acd_events_total') as Counter<'type' | 'queue'>;
  const exits = registry.getSingleMetric('acd_exits_total') as Counter<'queue' | 'reason'>;
  const wait = registry.getSingleMetric('acd_answer_wait_seconds') as Histogram<'queue'>;
  acd.on('event', (e) => {
    events.inc({ type: e.type, queue: 'queue' in e ? e.queue : '' });
    if (e.type === 'exit') exits.inc({ queue: e.queue, reason: e.reason });
    if (e.type === 'connect') wait.observe({ queue: e.queue }, e.waitedMs / 1000);
  });
}

function createMetrics(registry: Registry, holder: { current: Acd | undefined }): void {
  new Counter({
    name: 'acd_events_total',
    help: 'ACD transitions by event type and queue',
    labelNames: ['type', 'queue'],
    registers: [registry],
  });
  new Counter({
    name: 'acd_exits_total',
    help: 'Callers leaving a queue unanswered, by reason',
    labelNames: ['queue', 'reason'],
    registers: [registry],
  });
  new Histogram({
    name: 'acd_answer_wait_seconds',
    help: 'Wait from arrival to an agent answering',
    labelNames: ['queue'],
    buckets: [5, 10, 20, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const view = () => {
    const acd = holder.current;
    return acd ? acd.queueNames().flatMap((n) => acd.queueStats(n) ?? []) : [];
  };
  new Gauge({
    name: 'acd_queue_waiting',
    help: 'Callers waiting per queue (callbacks included)',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const q of view()) this.set({ queue: q.queue }, q.waiting);
    },
  });
  new Gauge({
    name: 'acd_queue_callbacks_pending',
    help: 'Callbacks per queue not yet answered or given up (waiting, reserved or between attempts)',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const q of view()) this.set({ queue: q.queue }, q.callbacks);
    },
  });
  new Gauge({
    name: 'acd_queue_longest_wait_seconds',
    help: 'Wait of the longest-waiting caller per queue',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const q of view()) this.set({ queue: q.queue }, q.longestWaitMs / 1000);
    },
  });
  new Gauge({
    name: 'acd_queue_service_level',
    help: 'Live service level per queue over its window (absent before any caller counts)',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const q of view()) if (q.serviceLevelLive !== null) this.set({ queue: q.queue }, q.serviceLevelLive);
    },
  });
  new Gauge({
    name: 'acd_queue_agents',
    help: 'Agents able to serve each queue, by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const q of view()) {
        this.set({ queue: q.queue, state: 'available' }, q.agentsAvailable);
        this.set({ queue: q.queue, state: 'on-call' }, q.agentsOnCall);
        this.set({ queue: q.queue, state: 'wrap-up' }, q.agentsWrapUp);
        this.set({ queue: q.queue, state: 'not-ready' }, q.agentsNotReady);
      }
    },
  });
}
