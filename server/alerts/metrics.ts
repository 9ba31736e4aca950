/**
 * Prometheus figures for the supervisor floor (prefix floor_), read from the live floor at scrape
 * time: the level of each alert rule (0 none, 1 yellow, 2 orange, 3 red), the level of each surge
 * plan, and agents' open calls for help. A second floor on the same registry replaces the first.
 */
import { Gauge, type Registry } from 'prom-client';
import { metrics } from '../../lib/metrics.ts';
import type { Floor } from './floor.ts';
import { levelRank } from './rules.ts';

const attached = new WeakMap<Registry, { current: Floor | undefined }>();

export function instrumentFloor(floor: Floor, registry: Registry = metrics): void {
  let holder = attached.get(registry);
  if (!holder) {
    const h: { current: Floor | undefined } = { current: undefined };
    holder = h;
    attached.set(registry, h);
    new Gauge({
      name: 'floor_alert_level',
      help: 'Level of each alert rule: 0 none, 1 yellow, 2 orange, 3 red',
      labelNames: ['rule', 'metric', 'scope'],
      registers: [registry],
      collect() {
        this.reset();
        const f = h.current;
        if (!f) return;
        const active = new Map(f.alerts.active().map((a) => [a.rule, a.level]));
        for (const r of f.alerts.ruleList) {
          const scope =
            r.scope === 'centre' ? 'centre' : 'queue' in r.scope ? `queue:${r.scope.queue}` : `skillGroup:${r.scope.skillGroup}`;
          this.set({ rule: r.name, metric: r.metric, scope }, levelRank(active.get(r.name) ?? null));
        }
      },
    });
    new Gauge({
      name: 'floor_surge_level',
      help: 'Level each surge plan is at (0 = stood down)',
      labelNames: ['plan', 'queue'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of h.current?.surge.status() ?? []) this.set({ plan: p.plan, queue: p.queue }, p.level);
      },
    });
    new Gauge({
      name: 'floor_help_requests',
      help: "Agents' calls for help not yet acknowledged",
      registers: [registry],
      collect() {
        this.set(h.current?.helpRequests().length ?? 0);
      },
    });
  }
  holder.current = floor;
}
