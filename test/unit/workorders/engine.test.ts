/**
 * The work-order engine against hand-computed truth: SLA by category × priority, transitions from
 * the config, escalation steps on a fake clock through EscalationTimer (notify, reassign, raise the
 * priority), reopening, and the report's figures.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { WorkOrdersConfigSchema } from '../../../server/customers/config.ts';
import { createWorkOrder, escalate, slaFor, transition, type WorkOrder } from '../../../server/workorders/engine.ts';
import { workOrderReport } from '../../../server/workorders/report.ts';
import { EscalationTimer } from '../../../server/workorders/timer.ts';

const MIN = 60_000;
const cfg = WorkOrdersConfigSchema.parse({
  categories: { billing: {}, technical: {}, complaint: { complaint: true } },
  priorities: ['low', 'normal', 'high', 'urgent'],
  sla: [
    {
      category: 'complaint',
      priority: '*',
      resolveSec: 3600,
      escalations: [
        { afterSec: 1800, notify: ['group:team-leads'] },
        { afterSec: 3600, reassign: { kind: 'group', id: 'complaints-desk' }, raisePriority: true },
        { afterSec: 7200, notify: ['agent:9001'], raisePriority: true },
      ],
    },
    { category: 'billing', priority: 'high', resolveSec: 600 },
    { category: '*', priority: '*', resolveSec: 86_400 },
  ],
});
const owner = { kind: 'agent' as const, id: '1001' };
const T0 = Date.UTC(2026, 6, 1, 9, 0);

function made(category: string, priority?: string, at = T0): WorkOrder {
  const r = createWorkOrder(cfg, { category, priority, owner, subject: 's', createdBy: '1001' }, `wo-${category}-${at}`, at);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('work-order engine', () => {
  it('picks the SLA by category × priority, falling back to wider rules', () => {
    expect(slaFor(cfg, 'billing', 'high')?.resolveSec).toBe(600);
    expect(slaFor(cfg, 'billing', 'low')?.resolveSec).toBe(86_400);
    expect(slaFor(cfg, 'complaint', 'low')?.resolveSec).toBe(3600);
    const b = made('billing', 'high');
    expect(b).toMatchObject({ state: 'open', priority: 'high', dueAt: T0 + 10 * MIN, nextEscalationAt: T0 + 10 * MIN, complaint: false });
    expect(made('complaint').complaint).toBe(true);
    expect(createWorkOrder(cfg, { category: 'nope', owner, subject: 's', createdBy: 'x' }, 'x', T0)).toMatchObject({ ok: false });
    expect(createWorkOrder(cfg, { category: 'billing', priority: 'p9', owner, subject: 's', createdBy: 'x' }, 'x', T0)).toMatchObject({
      ok: false,
    });
  });

  it('moves only along configured transitions; a final state stops the SLA clock', () => {
    const wo = made('billing', 'high');
    expect(transition(cfg, wo, 'nowhere', T0)).toMatchObject({ ok: false });
    const r = transition(cfg, wo, 'resolved', T0 + 5 * MIN);
    expect(r.ok && r.value).toMatchObject({ state: 'resolved', closedAt: T0 + 5 * MIN, version: 2 });
    expect(r.ok && r.value.nextEscalationAt).toBeUndefined();
    expect(escalate(cfg, (r as { value: WorkOrder }).value, T0 + 60 * MIN)).toBeUndefined();
  });

  it('escalates on a fake clock: notify at 30 min, reassign and raise at 60, raise again at 120', async () => {
    const clock = new FakeClock(T0);
    let wo = made('complaint', 'normal');
    const log: string[] = [];
    const timer = new EscalationTimer(
      clock,
      async () => {
        const e = escalate(cfg, wo, clock.now());
        if (e) {
          wo = e.order;
          for (const a of e.actions)
            log.push(
              `${(clock.now() - T0) / MIN}m ${a.kind} ${a.kind === 'notify' ? a.to.join(',') : a.kind === 'reassign' ? a.to.id : a.to}`,
            );
        }
        return wo.nextEscalationAt;
      },
      10 * 60_000,
    );
    const settle = async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    timer.poke();
    await settle();
    for (let m = 0; m < 130; m++) {
      clock.advance(MIN);
      await settle();
    }
    timer.stop();
    expect(log).toEqual([
      '30m notify group:team-leads',
      '60m reassign complaints-desk',
      '60m raise-priority high',
      '60m notify group:complaints-desk',
      '120m raise-priority urgent',
      '120m notify agent:9001',
    ]);
    expect(wo).toMatchObject({
      escalationLevel: 3,
      priority: 'urgent',
      owner: { kind: 'group', id: 'complaints-desk' },
      breachedAt: T0 + 60 * MIN,
    });
    expect(wo.nextEscalationAt).toBeUndefined();
  });

  it('a late timer catches up every step due, in order', () => {
    const e = escalate(cfg, made('complaint'), T0 + 3 * 60 * MIN)!;
    expect(e.level).toBe(3);
    expect(e.breached).toBe(true);
    expect(e.order.priority).toBe('urgent');
  });

  it('reopening restarts the escalations not yet fired', () => {
    let wo = made('complaint');
    wo = escalate(cfg, wo, T0 + 30 * MIN)!.order; // level 1
    wo = (transition(cfg, wo, 'resolved', T0 + 40 * MIN) as { value: WorkOrder }).value;
    wo = (transition(cfg, wo, 'open', T0 + 90 * MIN) as { value: WorkOrder }).value;
    expect(wo.closedAt).toBeUndefined();
    expect(wo.nextEscalationAt).toBe(T0 + 90 * MIN); // step 2 (60 min) is already overdue
  });

  it('report: open/closed, SLA met %, lifecycle, top categories, complaints (hand-computed)', () => {
    const close = (w: WorkOrder, atMin: number) =>
      (transition(cfg, w, 'resolved', w.createdAt + atMin * MIN) as { value: WorkOrder }).value;
    const orders = [
      close(made('billing', 'high', T0), 5), // SLA 10 min: met, 300 s
      close(made('billing', 'high', T0 + MIN), 20), // missed, 1200 s
      made('billing', 'high', T0 + 2 * MIN), // open, due T0+12min: at asOf T0+60min breached
      close(made('complaint', 'normal', T0 + 3 * MIN), 30), // met (60 min), 1800 s
      made('technical', 'low', T0 + 4 * MIN), // open, due in a day: undecided
      made('technical', 'low', T0 + 5 * HOURS()), // outside the range
    ];
    const r = workOrderReport(orders, { from: T0, to: T0 + 60 * MIN, asOf: T0 + 60 * MIN }, { handled: 8, complaints: 2 });
    expect(r).toMatchObject({ created: 5, open: 2, closed: 3, slaDecided: 4, slaMet: 2, slaMetRate: 0.5, breached: 2 });
    expect(r.avgLifecycleSec).toBe((300 + 1200 + 1800) / 3);
    expect(r.topCategories).toEqual(
      [
        { category: 'billing', count: 3 },
        { category: 'technical', count: 1 },
        { category: 'complaint', count: 1 },
      ].sort((a, b) => b.count - a.count || (a.category < b.category ? -1 : 1)),
    );
    expect(r.complaints).toEqual({
      workOrders: 1,
      closed: 1,
      avgTimeToResolveSec: 1800,
      contacts: 2,
      contactsHandled: 8,
      complaintRate: 0.25,
    });
  });
});

function HOURS(): number {
  return 60 * MIN;
}
