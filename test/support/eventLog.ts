/**
 * The stored event log in the order it was written, for tests that assert a sequence.
 *
 * store.events() feeds the KPI engine, which orders each contact's events itself (kpi/facts.ts),
 * so the query has no ORDER BY and Postgres may hand rows back in any order (a hash join does).
 * A test reading a contact's history as a list gets here: events in time order across contacts,
 * and each contact's own events in its written order (seq). Within a contact seq, not ts, is the
 * order: an event may carry the time its action began and be written after a later one
 * (recording.stopped is stamped when the stop starts, written when the file is closed).
 */
import type { CcEvent } from '../../server/kpi/events.ts';
import type { Store } from '../../server/store/store.ts';

export async function storedEvents(store: Pick<Store, 'events'>, from: number, to: number): Promise<CcEvent[]> {
  const events = (await store.events(from, to)).sort((a, b) => a.ts - b.ts);
  // Each contact keeps the slots its events took in time order, filled in seq order.
  const byContact = new Map<string, CcEvent[]>();
  for (const e of events) {
    const list = byContact.get(e.contactId);
    if (list) list.push(e);
    else byContact.set(e.contactId, [e]);
  }
  for (const list of byContact.values()) list.sort((a, b) => a.seq - b.seq);
  const next = new Map<string, number>();
  return events.map((e) => {
    const i = next.get(e.contactId) ?? 0;
    next.set(e.contactId, i + 1);
    return byContact.get(e.contactId)![i]!;
  });
}
