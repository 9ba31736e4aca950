/**
 * Work orders (工单): the pure engine. A work order has a category and priority from the config,
 * an owner (an agent, a queue or a group), a state moved only along the configured transitions,
 * and an SLA picked by category × priority: resolved by createdAt + resolveSec, and a list of
 * escalation steps each due `afterSec` after creation (notify, reassign, raise the priority) that
 * fire while the order is still open. No I/O and no clock of its own: every function takes `now`,
 * the store persists what it returns, and EscalationTimer (timer.ts) says when to look again.
 */
import type { Owner, SlaRule, WorkOrdersConfig } from '../customers/config.ts';

export interface WorkOrder {
  id: string;
  category: string;
  priority: string;
  state: string;
  owner: Owner;
  subject: string;
  description?: string;
  complaint: boolean;
  customerId?: string;
  contactId?: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** The SLA's deadline: resolved (a final state) by then, or breached. */
  dueAt?: number;
  /** Escalation steps already fired. */
  escalationLevel: number;
  nextEscalationAt?: number;
  breachedAt?: number;
  closedAt?: number;
  version: number;
}

export interface NewWorkOrder {
  category: string;
  priority?: string | undefined;
  owner: Owner;
  subject: string;
  description?: string | undefined;
  complaint?: boolean | undefined;
  customerId?: string | undefined;
  contactId?: string | undefined;
  createdBy: string;
}

export type EngineResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** What an escalation asks the centre to do besides saving the order. */
export type EscalationAction =
  { kind: 'notify'; to: string[] } | { kind: 'reassign'; from: Owner; to: Owner } | { kind: 'raise-priority'; from: string; to: string };

export interface Escalation {
  order: WorkOrder;
  level: number;
  breached: boolean;
  actions: EscalationAction[];
}

/** The SLA rule for category × priority: exact match first, then category with any priority, any category with the priority, then *×*. */
export function slaFor(cfg: WorkOrdersConfig, category: string, priority: string): SlaRule | undefined {
  const find = (c: string, p: string) => cfg.sla.find((r) => r.category === c && r.priority === p);
  return find(category, priority) ?? find(category, '*') ?? find('*', priority) ?? find('*', '*');
}

function stepsOf(
  rule: SlaRule | undefined,
): { afterSec: number; notify: string[]; reassign?: Owner | undefined; raisePriority: boolean }[] {
  if (!rule) return [];
  return rule.escalations ?? [{ afterSec: rule.resolveSec, notify: [], raisePriority: false }];
}

export function isFinal(cfg: WorkOrdersConfig, state: string): boolean {
  return cfg.finalStates.includes(state);
}

/** Create: the category and priority must exist; the SLA clock starts now. */
export function createWorkOrder(cfg: WorkOrdersConfig, input: NewWorkOrder, id: string, now: number): EngineResult<WorkOrder> {
  const category = cfg.categories[input.category];
  if (!category) return { ok: false, error: `unknown category "${input.category}" (known: ${Object.keys(cfg.categories).join(', ')})` };
  const priority = input.priority ?? cfg.defaultPriority;
  if (!cfg.priorities.includes(priority))
    return { ok: false, error: `unknown priority "${priority}" (known: ${cfg.priorities.join(', ')})` };
  const rule = slaFor(cfg, input.category, priority);
  const steps = stepsOf(rule);
  const order: WorkOrder = {
    id,
    category: input.category,
    priority,
    state: cfg.initialState,
    owner: input.owner,
    subject: input.subject,
    complaint: input.complaint ?? category.complaint,
    createdBy: input.createdBy,
    createdAt: now,
    updatedAt: now,
    escalationLevel: 0,
    version: 1,
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(input.customerId !== undefined ? { customerId: input.customerId } : {}),
    ...(input.contactId !== undefined ? { contactId: input.contactId } : {}),
    ...(rule ? { dueAt: now + rule.resolveSec * 1000 } : {}),
    ...(steps[0] ? { nextEscalationAt: now + steps[0].afterSec * 1000 } : {}),
  };
  return { ok: true, value: order };
}

/** Move to `to` if the config allows it from the current state. A final state stops the SLA clock; reopening restarts the remaining escalations. */
export function transition(cfg: WorkOrdersConfig, wo: WorkOrder, to: string, now: number): EngineResult<WorkOrder> {
  const allowed = cfg.transitions[wo.state] ?? [];
  if (!allowed.includes(to))
    return { ok: false, error: `cannot go from "${wo.state}" to "${to}" (allowed: ${allowed.join(', ') || 'none'})` };
  const next: WorkOrder = { ...wo, state: to, updatedAt: now, version: wo.version + 1 };
  if (isFinal(cfg, to)) {
    next.closedAt = now;
    delete next.nextEscalationAt;
  } else if (isFinal(cfg, wo.state)) {
    delete next.closedAt;
    const step = stepsOf(slaFor(cfg, wo.category, wo.priority))[wo.escalationLevel];
    if (step) next.nextEscalationAt = Math.max(now, wo.createdAt + step.afterSec * 1000);
  }
  return { ok: true, value: next };
}

/** Hand the order to another owner. */
export function reassign(wo: WorkOrder, owner: Owner, now: number): WorkOrder {
  return { ...wo, owner, updatedAt: now, version: wo.version + 1 };
}

/**
 * Fire every escalation step due by `now` (a timer that woke late catches up in order). Returns
 * undefined when nothing is due or the order is closed.
 */
export function escalate(cfg: WorkOrdersConfig, wo: WorkOrder, now: number): Escalation | undefined {
  if (isFinal(cfg, wo.state) || wo.nextEscalationAt === undefined || wo.nextEscalationAt > now) return undefined;
  // The steps come from the SLA the order was created under (category × original priority is
  // not kept, so the current priority's rule: raising the priority does not re-run earlier steps,
  // since the level carries on).
  const steps = stepsOf(slaFor(cfg, wo.category, wo.priority));
  let order: WorkOrder = { ...wo };
  const actions: EscalationAction[] = [];
  while (order.nextEscalationAt !== undefined && order.nextEscalationAt <= now) {
    const step = steps[order.escalationLevel];
    if (!step) {
      delete order.nextEscalationAt;
      break;
    }
    if (step.reassign && (step.reassign.kind !== order.owner.kind || step.reassign.id !== order.owner.id)) {
      actions.push({ kind: 'reassign', from: order.owner, to: step.reassign });
      order.owner = step.reassign;
    }
    if (step.raisePriority) {
      const i = cfg.priorities.indexOf(order.priority);
      const up = cfg.priorities[i + 1];
      if (i >= 0 && up !== undefined) {
        actions.push({ kind: 'raise-priority', from: order.priority, to: up });
        order.priority = up;
      }
    }
    // Told last, so a step that reassigns tells the new owner by default.
    actions.push({ kind: 'notify', to: step.notify.length > 0 ? step.notify : [`${order.owner.kind}:${order.owner.id}`] });
    order.escalationLevel++;
    const nextStep = steps[order.escalationLevel];
    if (nextStep) order.nextEscalationAt = Math.max(order.createdAt + nextStep.afterSec * 1000, order.nextEscalationAt + 1);
    else delete order.nextEscalationAt;
  }
  const breached = order.dueAt !== undefined && now >= order.dueAt;
  if (breached && order.breachedAt === undefined) order.breachedAt = order.dueAt!;
  order = { ...order, updatedAt: now, version: wo.version + 1 };
  return { order, level: order.escalationLevel, breached, actions };
}

/** The owner a complaint escalation rule gives a complaint of `category`, if any rule matches. */
export function complaintRoute(
  rules: readonly { category: string; owner: Owner; priority?: string | undefined }[],
  category: string,
): { owner: Owner; priority?: string | undefined } | undefined {
  return rules.find((r) => r.category === category) ?? rules.find((r) => r.category === '*');
}
