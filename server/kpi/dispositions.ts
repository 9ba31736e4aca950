/**
 * Wrap-up outcomes in the reports: how many of each disposition code agents recorded, per queue and
 * per agent, and the agent-side twin of the FCR survey rate: of the wrap-ups where the agent said
 * whether the customer's need was resolved, the share marked resolved. Pure: computed from the
 * event log (wrapup.end with disposition / note / resolved, server/call/wrapup.ts) like every
 * other figure.
 *
 * Attribution: a wrap-up counts in the report whose range holds its end (wrapup.end ts). Its
 * queue is the one of the agent's wrap-up.start on that contact (else the contact's last
 * queue.connect by that agent; else "-").
 */
import type { CcEvent } from './events.ts';

export interface DispositionRow {
  /** The queue, or the agent id (byAgent). */
  key: string;
  wrapups: number;
  /** Wrap-ups that carried a disposition code. */
  disposed: number;
  /** Count per code, codes sorted. */
  codes: Record<string, number>;
  /** Wrap-ups the agent marked resolved or not. */
  resolvedMarked: number;
  resolved: number;
  /** resolved / resolvedMarked; null when nothing was marked. */
  fcrAgentRate: number | null;
}

export interface DispositionReport {
  byQueue: DispositionRow[];
  byAgent: DispositionRow[];
}

class Acc {
  wrapups = 0;
  disposed = 0;
  codes = new Map<string, number>();
  resolvedMarked = 0;
  resolved = 0;

  add(e: { disposition?: string | undefined; resolved?: boolean | undefined }): void {
    this.wrapups++;
    if (e.disposition !== undefined) {
      this.disposed++;
      this.codes.set(e.disposition, (this.codes.get(e.disposition) ?? 0) + 1);
    }
    if (e.resolved !== undefined) {
      this.resolvedMarked++;
      if (e.resolved) this.resolved++;
    }
  }

  row(key: string): DispositionRow {
    const codes: Record<string, number> = {};
    for (const c of [...this.codes.keys()].sort()) codes[c] = this.codes.get(c)!;
    return {
      key,
      wrapups: this.wrapups,
      disposed: this.disposed,
      codes,
      resolvedMarked: this.resolvedMarked,
      resolved: this.resolved,
      fcrAgentRate: this.resolvedMarked > 0 ? this.resolved / this.resolvedMarked : null,
    };
  }
}

/**
 * Dispositions of the wrap-ups that ended in [from, to). `filter`, when given, keeps only those
 * queues (byQueue) or agents (byAgent); the other list is whole.
 */
export function dispositionsIn(
  events: readonly CcEvent[],
  from: number,
  to: number,
  filter?: { queues?: readonly string[]; agents?: readonly string[] },
): DispositionReport {
  // The queue of each (contact, agent) wrap-up, from wrapup.start, else queue.connect.
  const queueOf = new Map<string, string>();
  const connected = new Map<string, string>();
  const ends: Extract<CcEvent, { type: 'wrapup.end' }>[] = [];
  // (contactId, seq) is the idempotency key: a duplicated event counts once.
  const seen = new Set<string>();
  for (const e of events) {
    const key = `${e.contactId}\n${e.seq}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (e.type === 'wrapup.start' && e.queue) queueOf.set(`${e.contactId}\n${e.agentId}`, e.queue);
    else if (e.type === 'queue.connect') connected.set(`${e.contactId}\n${e.agentId}`, e.queue);
    else if (e.type === 'wrapup.end' && e.ts >= from && e.ts < to) ends.push(e);
  }
  const set = (l: readonly string[] | undefined) => (l && l.length > 0 ? new Set(l) : undefined);
  const keepQueue = set(filter?.queues);
  const keepAgent = set(filter?.agents);
  const byQueue = new Map<string, Acc>();
  const byAgent = new Map<string, Acc>();
  const acc = (m: Map<string, Acc>, k: string): Acc => {
    let a = m.get(k);
    if (!a) m.set(k, (a = new Acc()));
    return a;
  };
  for (const e of ends) {
    const id = `${e.contactId}\n${e.agentId}`;
    const queue = queueOf.get(id) ?? connected.get(id) ?? '-';
    if (!keepQueue || keepQueue.has(queue)) acc(byQueue, queue).add(e);
    if (!keepAgent || keepAgent.has(e.agentId)) acc(byAgent, e.agentId).add(e);
  }
  const rows = (m: Map<string, Acc>): DispositionRow[] => [...m.keys()].sort().map((k) => m.get(k)!.row(k));
  return { byQueue: rows(byQueue), byAgent: rows(byAgent) };
}
