/**
 * WorkOrderService on a fake clock with an in-memory repository: creating an order arms the SLA
 * timer, which fires the escalation when it falls due (not before), saves it and tells the outbox;
 * a change with a stale version is a 409; a transition the config forbids is a 409; closing the
 * order stops its escalations.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { WorkOrdersConfigSchema } from '../../../server/customers/config.ts';
import type { WorkOrder } from '../../../server/workorders/engine.ts';
import { WorkOrderService, type WorkOrderRepo } from '../../../server/workorders/service.ts';

const cfg = WorkOrdersConfigSchema.parse({
  categories: { billing: {} },
  sla: [
    {
      category: 'billing',
      resolveSec: 60,
      escalations: [
        { afterSec: 60, raisePriority: true },
        { afterSec: 120, notify: ['agent:9001'] },
      ],
    },
  ],
});

class MemRepo implements WorkOrderRepo {
  rows = new Map<string, WorkOrder>();
  events: string[] = [];
  async insert(w: WorkOrder, e: { kind: string }) {
    this.rows.set(w.id, w);
    this.events.push(e.kind);
  }
  async update(w: WorkOrder, es: { kind: string }[]) {
    const cur = this.rows.get(w.id);
    if (!cur || cur.version !== w.version - 1) return false;
    this.rows.set(w.id, w);
    this.events.push(...es.map((e) => e.kind));
    return true;
  }
  async get(id: string) {
    return this.rows.get(id);
  }
  async due(now: number) {
    return [...this.rows.values()].filter((w) => w.nextEscalationAt !== undefined && w.nextEscalationAt <= now);
  }
  async nextDue() {
    const t = [...this.rows.values()].flatMap((w) => (w.nextEscalationAt !== undefined ? [w.nextEscalationAt] : []));
    return t.length ? Math.min(...t) : undefined;
  }
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('WorkOrderService', () => {
  it('escalates on the timer when due, not before; closing stops it; stale versions and bad transitions are 409', async () => {
    const clock = new FakeClock();
    const repo = new MemRepo();
    const told: string[] = [];
    const svc = new WorkOrderService(
      repo,
      clock,
      () => cfg,
      async (type) => void told.push(type),
      3_600_000,
    );
    svc.start();
    const r = await svc.create({ category: 'billing', owner: { kind: 'agent', id: '1001' }, subject: 'x', createdBy: '1001' });
    expect(r.ok).toBe(true);
    const id = (r as { value: WorkOrder }).value.id;
    await settle();
    clock.advance(59_999);
    await settle();
    expect(repo.rows.get(id)!.priority).toBe('normal');
    clock.advance(1);
    await settle();
    expect(repo.rows.get(id)).toMatchObject({ priority: 'high', escalationLevel: 1, breachedAt: clock.now() });
    expect(told).toEqual(['workorder.created', 'workorder.escalated']);

    expect(await svc.change(id, { state: 'resolved', version: 1 }, '1001')).toMatchObject({ ok: false, status: 409 });
    expect(await svc.change(id, { state: 'bogus' }, '1001')).toMatchObject({ ok: false, status: 409 });
    const closed = await svc.change(id, { state: 'resolved', comment: 'done' }, '1001');
    expect(closed).toMatchObject({ ok: true, value: { state: 'resolved', version: 3 } });
    await settle();
    clock.advance(3_600_000);
    await settle();
    expect(repo.rows.get(id)!.escalationLevel).toBe(1); // the 120 s step never fired
    expect(repo.events).toEqual(['created', 'escalated', 'state', 'comment']);
    svc.stop();
  });
});
