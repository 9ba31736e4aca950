/**
 * Work orders as the centre runs them: the pure engine (engine.ts) decides, a repository saves
 * (server/store/workorders.ts in the centre), an outbox tells other systems (webhooks), and an
 * EscalationTimer on the injected clock fires SLA escalations when they fall due. No SQL and no
 * HTTP here: both are handed in.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../lib/clock.ts';
import { log as rootLog } from '../../lib/log.ts';
import type { Owner, WorkOrdersConfig } from '../customers/config.ts';
import { createWorkOrder, escalate, reassign, transition, type EngineResult, type NewWorkOrder, type WorkOrder } from './engine.ts';
import { EscalationTimer } from './timer.ts';

const log = rootLog.child({ mod: 'workorders' });

export interface WorkOrderRepo {
  insert(w: WorkOrder, event: { at: number; actor: string; kind: string; detail: Record<string, unknown> }): Promise<void>;
  update(w: WorkOrder, events: { at: number; actor: string; kind: string; detail: Record<string, unknown> }[]): Promise<boolean>;
  get(id: string): Promise<WorkOrder | undefined>;
  due(now: number): Promise<WorkOrder[]>;
  nextDue(): Promise<number | undefined>;
}

export interface WorkOrderChange {
  state?: string | undefined;
  owner?: Owner | undefined;
  priority?: string | undefined;
  comment?: string | undefined;
  /** The version the client saw: a change made meanwhile is refused (409). */
  version?: number | undefined;
}

export type ServiceResult<T> = EngineResult<T> & { status?: number };

export class WorkOrderService {
  private readonly timer: EscalationTimer;

  constructor(
    private readonly repo: WorkOrderRepo,
    private readonly clock: Clock,
    private readonly config: () => WorkOrdersConfig,
    /** Durable notification to other systems (the webhook outbox). */
    private readonly notify: (
      type: 'workorder.created' | 'workorder.changed' | 'workorder.escalated',
      body: Record<string, unknown>,
    ) => Promise<void>,
    maxSleepMs = 30_000,
  ) {
    this.timer = new EscalationTimer(
      clock,
      () => this.runDue(),
      maxSleepMs,
      (e) => log.warn({ err: String(e) }, 'escalation run failed'),
    );
  }

  start(): void {
    this.timer.poke();
  }
  stop(): void {
    this.timer.stop();
  }

  async create(input: NewWorkOrder): Promise<ServiceResult<WorkOrder>> {
    const now = this.clock.now();
    const r = createWorkOrder(this.config(), input, randomUUID(), now);
    if (!r.ok) return { ...r, status: 400 };
    await this.repo.insert(r.value, { at: now, actor: input.createdBy, kind: 'created', detail: {} });
    await this.notify('workorder.created', { workOrder: r.value });
    this.timer.poke();
    return r;
  }

  async change(id: string, c: WorkOrderChange, actor: string): Promise<ServiceResult<WorkOrder>> {
    const cfg = this.config();
    const now = this.clock.now();
    const before = await this.repo.get(id);
    if (!before) return { ok: false, error: 'no such work order', status: 404 };
    if (c.version !== undefined && c.version !== before.version)
      return { ok: false, error: `work order changed meanwhile (version ${before.version})`, status: 409 };
    let wo = before;
    const events: { at: number; actor: string; kind: string; detail: Record<string, unknown> }[] = [];
    if (c.priority !== undefined && c.priority !== wo.priority) {
      if (!cfg.priorities.includes(c.priority)) return { ok: false, error: `unknown priority "${c.priority}"`, status: 400 };
      events.push({ at: now, actor, kind: 'priority', detail: { from: wo.priority, to: c.priority } });
      wo = { ...wo, priority: c.priority, updatedAt: now };
    }
    if (c.owner && (c.owner.kind !== wo.owner.kind || c.owner.id !== wo.owner.id)) {
      events.push({ at: now, actor, kind: 'reassigned', detail: { from: wo.owner, to: c.owner } });
      wo = { ...reassign(wo, c.owner, now), version: wo.version };
    }
    if (c.state !== undefined && c.state !== wo.state) {
      const t = transition(cfg, wo, c.state, now);
      if (!t.ok) return { ...t, status: 409 };
      events.push({ at: now, actor, kind: 'state', detail: { from: wo.state, to: c.state } });
      wo = { ...t.value, version: wo.version };
    }
    if (c.comment !== undefined) events.push({ at: now, actor, kind: 'comment', detail: { text: c.comment } });
    if (events.length === 0) return { ok: true, value: before };
    wo = { ...wo, updatedAt: now, version: before.version + 1 };
    if (!(await this.repo.update(wo, events))) return { ok: false, error: 'work order changed meanwhile', status: 409 };
    await this.notify('workorder.changed', { workOrder: wo, changes: events.map((e) => ({ kind: e.kind, ...e.detail })) });
    this.timer.poke();
    return { ok: true, value: wo };
  }

  /** Fire the escalations due now; returns when the next one is due. */
  async runDue(): Promise<number | undefined> {
    const cfg = this.config();
    const now = this.clock.now();
    for (const wo of await this.repo.due(now)) {
      const e = escalate(cfg, wo, now);
      if (!e) {
        // Due but nothing to fire (closed, or no step left): clear the mark so it is not read again.
        const cleared: WorkOrder = { ...wo, version: wo.version + 1 };
        delete cleared.nextEscalationAt;
        await this.repo.update(cleared, []);
        continue;
      }
      const saved = await this.repo.update(e.order, [
        { at: now, actor: 'system', kind: 'escalated', detail: { level: e.level, breached: e.breached, actions: e.actions } },
      ]);
      if (!saved) continue; // changed by someone meanwhile: read again on the next run
      log.warn({ workOrder: wo.id, level: e.level, breached: e.breached, actions: e.actions }, 'work order escalated');
      await this.notify('workorder.escalated', { workOrder: e.order, level: e.level, breached: e.breached, actions: e.actions });
    }
    return this.repo.nextDue();
  }

  poke(): void {
    this.timer.poke();
  }
}
