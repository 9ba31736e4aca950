/**
 * The stored event log in the order it was written, for tests that assert a sequence.
 *
 * store.events() feeds the KPI engine, which orders each contact's events itself (kpi/facts.ts),
 * so the query has no ORDER BY and Postgres may hand rows back in any order (a hash join does).
 * A test reading a contact's history as a list sorts here: by time, then by the contact's seq.
 */
import type { CcEvent } from '../../server/kpi/events.ts';
import type { Store } from '../../server/store/store.ts';

export async function storedEvents(store: Pick<Store, 'events'>, from: number, to: number): Promise<CcEvent[]> {
  const events = await store.events(from, to);
  return events.sort((a, b) => a.ts - b.ts || (a.contactId === b.contactId ? a.seq - b.seq : 0));
}
