/**
 * Outbound figures: calls the centre placed for agents (click-to-dial, callbacks) and what became
 * of them, from the event log (contact.arrived with initiation outbound/callback, outbound.result,
 * call.end). Pure: events in, figures out.
 *
 * - dialled: outbound contacts that reached the customer dial (an outbound.result), by the
 *   contact's arrival in [from, to);
 * - answered / busy / noAnswer / failed: their outcomes;
 * - answerRate (outbound 接通率) = answered / dialled; null when nothing was dialled;
 * - talkSec: answered → call.end (open calls up to asOf), summed; avgTalkSec = talkSec / answered.
 * Contacts without an outbound.result (the agent never answered their own call) are counted in
 * `attempts` but not in dialled: the customer was never called.
 */
import type { CcEvent } from './events.ts';

export type OutboundDimension = 'centre' | 'agent' | 'queue' | 'initiation';

export interface OutboundRow {
  key: string;
  attempts: number;
  dialled: number;
  answered: number;
  busy: number;
  noAnswer: number;
  failed: number;
  answerRate: number | null;
  talkSec: number;
  avgTalkSec: number | null;
}

export interface OutboundReport {
  from: string;
  to: string;
  dimension: OutboundDimension;
  rows: OutboundRow[];
}

interface Contact {
  arrived: number;
  initiation: 'outbound' | 'callback';
  agentId?: string;
  queue?: string;
  outcome?: 'answered' | 'busy' | 'no-answer' | 'failed';
  answeredAt?: number;
  endedAt?: number;
}

export function outboundReport(
  events: readonly CcEvent[],
  req: { from: number; to: number; dimension?: OutboundDimension; asOf?: number },
): OutboundReport {
  const dimension = req.dimension ?? 'centre';
  const asOf = req.asOf ?? req.to;
  const contacts = new Map<string, Contact>();
  for (const e of events) {
    if (e.type === 'contact.arrived') {
      if (e.initiation === 'outbound' || e.initiation === 'callback')
        contacts.set(e.contactId, { arrived: e.ts, initiation: e.initiation });
      continue;
    }
    const c = contacts.get(e.contactId);
    if (!c) continue;
    if (e.type === 'outbound.result') {
      c.outcome = e.outcome;
      c.agentId = e.agentId;
      if (e.queue !== undefined) c.queue = e.queue;
      if (e.outcome === 'answered') c.answeredAt = e.ts;
    } else if (e.type === 'call.end') c.endedAt = e.ts;
  }
  const rows = new Map<string, OutboundRow>();
  const row = (key: string): OutboundRow => {
    let r = rows.get(key);
    if (!r)
      rows.set(
        key,
        (r = {
          key,
          attempts: 0,
          dialled: 0,
          answered: 0,
          busy: 0,
          noAnswer: 0,
          failed: 0,
          answerRate: null,
          talkSec: 0,
          avgTalkSec: null,
        }),
      );
    return r;
  };
  for (const c of contacts.values()) {
    if (c.arrived < req.from || c.arrived >= req.to) continue;
    const key =
      dimension === 'centre'
        ? 'centre'
        : dimension === 'agent'
          ? (c.agentId ?? '-')
          : dimension === 'queue'
            ? (c.queue ?? '-')
            : c.initiation;
    const r = row(key);
    r.attempts++;
    if (!c.outcome) continue;
    r.dialled++;
    if (c.outcome === 'answered') {
      r.answered++;
      r.talkSec += Math.max(0, ((c.endedAt ?? asOf) - (c.answeredAt ?? c.arrived)) / 1000);
    } else if (c.outcome === 'busy') r.busy++;
    else if (c.outcome === 'no-answer') r.noAnswer++;
    else r.failed++;
  }
  for (const r of rows.values()) {
    r.answerRate = r.dialled > 0 ? r.answered / r.dialled : null;
    r.avgTalkSec = r.answered > 0 ? r.talkSec / r.answered : null;
  }
  return {
    from: new Date(req.from).toISOString(),
    to: new Date(req.to).toISOString(),
    dimension,
    rows: [...rows.values()].sort((a, b) => a.key.localeCompare(b.key)),
  };
}
