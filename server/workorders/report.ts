/**
 * Work-order and complaint figures, pure, from the orders themselves (and the count of contacts
 * and complaint contacts for the complaint rate). Credited to the range by creation time.
 *
 * - created, open (not in a final state at `asOf`), closed
 * - slaMetRate: of orders with an SLA whose outcome is known (closed, or open past their due
 *   time at `asOf`), the share closed by their due time
 * - avgLifecycleSec: mean created → closed of the closed ones
 * - topCategories: created per category, most first (ties by name)
 * - complaints: complaint work orders, their average time to resolve; complaintRate: contacts
 *   flagged as complaints / contacts handled (null without contacts)
 */
import type { WorkOrder } from './engine.ts';

export interface WorkOrderReport {
  from: number;
  to: number;
  created: number;
  open: number;
  closed: number;
  breached: number;
  slaDecided: number;
  slaMet: number;
  slaMetRate: number | null;
  avgLifecycleSec: number | null;
  topCategories: { category: string; count: number }[];
  byPriority: Record<string, number>;
  complaints: {
    workOrders: number;
    closed: number;
    avgTimeToResolveSec: number | null;
    contacts: number;
    contactsHandled: number;
    complaintRate: number | null;
  };
}

const ratio = (n: number, d: number): number | null => (d === 0 ? null : Math.round((n / d) * 10_000) / 10_000);
const secs = (ms: number, n: number): number | null => (n === 0 ? null : Math.round(ms / n) / 1000);

export function workOrderReport(
  orders: readonly WorkOrder[],
  range: { from: number; to: number; asOf: number },
  contacts: { handled: number; complaints: number } = { handled: 0, complaints: 0 },
): WorkOrderReport {
  const inRange = orders.filter((o) => o.createdAt >= range.from && o.createdAt < range.to);
  const closedAt = (o: WorkOrder): number | undefined => (o.closedAt !== undefined && o.closedAt <= range.asOf ? o.closedAt : undefined);
  let open = 0;
  let closed = 0;
  let breached = 0;
  let decided = 0;
  let met = 0;
  let lifeMs = 0;
  let complaintOrders = 0;
  let complaintClosed = 0;
  let complaintMs = 0;
  const cats = new Map<string, number>();
  const byPriority: Record<string, number> = {};
  for (const o of inRange) {
    cats.set(o.category, (cats.get(o.category) ?? 0) + 1);
    byPriority[o.priority] = (byPriority[o.priority] ?? 0) + 1;
    const c = closedAt(o);
    if (c === undefined) open++;
    else {
      closed++;
      lifeMs += c - o.createdAt;
    }
    if (o.dueAt !== undefined) {
      if (c !== undefined) {
        decided++;
        if (c <= o.dueAt) met++;
        else breached++;
      } else if (range.asOf > o.dueAt) {
        decided++;
        breached++;
      }
    }
    if (o.complaint) {
      complaintOrders++;
      if (c !== undefined) {
        complaintClosed++;
        complaintMs += c - o.createdAt;
      }
    }
  }
  return {
    from: range.from,
    to: range.to,
    created: inRange.length,
    open,
    closed,
    breached,
    slaDecided: decided,
    slaMet: met,
    slaMetRate: ratio(met, decided),
    avgLifecycleSec: secs(lifeMs, closed),
    topCategories: [...cats.entries()]
      .map(([category, count]) => ({ category, count }))
      .sort((a, b) => b.count - a.count || (a.category < b.category ? -1 : 1)),
    byPriority,
    complaints: {
      workOrders: complaintOrders,
      closed: complaintClosed,
      avgTimeToResolveSec: secs(complaintMs, complaintClosed),
      contacts: contacts.complaints,
      contactsHandled: contacts.handled,
      complaintRate: ratio(contacts.complaints, contacts.handled),
    },
  };
}
