/**
 * A synthetic day of 1 500 calls (about 13 000 events) through the real writer into embedded
 * Postgres, with the database killed and restarted twice while events keep coming; the KPIs read
 * back from the database must equal figures counted straight off the generated log by a tally of
 * this file's own (not computeReport, which is what the store itself runs), for every dimension.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CcEvent } from '../../../server/kpi/events.ts';
import type { KpiRow } from '../../../server/kpi/report.ts';
import { openStore, type Store } from '../../../server/store/store.ts';
import { waitFor } from '../../support/waitFor.ts';
import { syntheticDay } from '../../unit/kpi/syntheticDay.ts';

const PORT = 55438;
const day0 = Date.UTC(2026, 0, 5);
const HALF_HOUR = 1_800_000;
let root: string;
let store: Store;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cc-volume-it-'));
  chmodSync(root, 0o755);
  store = await openStore({
    embedded: { dataDir: join(root, 'pg'), port: PORT },
    spoolDir: join(root, 'spool'),
    writer: { flushDelayMs: 2, retryMinMs: 50, retryMaxMs: 300 },
  });
});
afterAll(async () => {
  await store?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

type Tally = Map<string, Record<string, number>>;
type Field = 'offered' | 'answered' | 'abandoned' | 'rona' | 'talkSec' | 'contactsOffered' | 'contactsCompletedInIvr' | 'loggedInSec';

/**
 * The figures counted off the synthetic log directly. Each generated call has at most one queue
 * visit, so a call's figures go to the half hour of its queue.enter and to its queue, its agent
 * and the centre: offered per queue.enter, answered per queue.connect, abandoned per
 * queue.abandon, RONA per queue.rona (on the agent who let it ring), talk = call.end − connect −
 * hold. Customer calls count by arrival; an agent's logged-in time is its ready-to-logged-out span.
 */
function tally(events: CcEvent[]): Record<'queue' | 'agent' | 'centre', Tally> {
  const out = { queue: new Map(), agent: new Map(), centre: new Map() } as Record<'queue' | 'agent' | 'centre', Tally>;
  const add = (dim: 'queue' | 'agent' | 'centre', key: string, ts: number, f: Field, n: number) => {
    const k = `${Math.floor((ts - day0) / HALF_HOUR)}|${key}`;
    const row = out[dim].get(k) ?? {};
    row[f] = (row[f] ?? 0) + n;
    out[dim].set(k, row);
  };
  const byContact = new Map<string, CcEvent[]>();
  for (const e of events) byContact.set(e.contactId, [...(byContact.get(e.contactId) ?? []), e]);
  for (const [, evs] of byContact) {
    const get = <T extends CcEvent['type']>(t: T) => evs.find((e) => e.type === t) as Extract<CcEvent, { type: T }> | undefined;
    const states = evs.filter((e) => e.type === 'agent.state');
    if (states.length) {
      // ready … logged-out: one span, all inside the day (shifts start 08:00-10:00, last 9 h); the
      // agent's total only, since the engine cuts it at half-hour edges.
      const agentId = (states[0] as Extract<CcEvent, { type: 'agent.state' }>).agentId;
      add('agent', agentId, day0 - HALF_HOUR, 'loggedInSec', (states.at(-1)!.ts - states[0]!.ts) / 1000);
      continue;
    }
    const arrived = get('contact.arrived')!;
    add('centre', '*', arrived.ts, 'contactsOffered', 1);
    if (get('ivr.end')?.completedInIvr) add('centre', '*', arrived.ts, 'contactsCompletedInIvr', 1);
    const enter = get('queue.enter');
    if (!enter) continue;
    const at = enter.ts;
    const q = enter.queue;
    const both = (f: Field, n: number, agent?: string) => {
      add('queue', q, at, f, n);
      add('centre', '*', at, f, n);
      if (agent) add('agent', agent, at, f, n);
    };
    both('offered', 1);
    for (const r of evs.filter((e) => e.type === 'queue.rona')) add('agent', r.agentId, at, 'rona', 1);
    for (const _ of evs.filter((e) => e.type === 'queue.rona')) both('rona', 1);
    if (get('queue.abandon')) both('abandoned', 1);
    const connect = get('queue.connect');
    if (connect) {
      const hold = get('hold.start') && get('hold.end') ? get('hold.end')!.ts - get('hold.start')!.ts : 0;
      add('agent', connect.agentId, at, 'answered', 1);
      both('answered', 1);
      const talk = (get('call.end')!.ts - connect.ts - hold) / 1000;
      add('agent', connect.agentId, at, 'talkSec', talk);
      both('talkSec', talk);
    }
  }
  return out;
}

/** Every report row agrees with the tally (0 where it counted nothing), and no counted figure is missing from the rows. */
function expectTally(rows: KpiRow[], t: Tally, fields: readonly Field[], label: string): void {
  const seen = new Set<string>();
  for (const r of rows) {
    const k = `${Math.floor((Date.parse(r.intervalStart) - day0) / HALF_HOUR)}|${r.key}`;
    seen.add(k);
    for (const f of fields) {
      expect(r[f] ?? 0, `${label} ${r.intervalStart} ${r.key} ${f}`).toBeCloseTo(t.get(k)?.[f] ?? 0, 3);
    }
  }
  for (const [k, row] of t) {
    if (!Object.keys(row).some((f) => (fields as readonly string[]).includes(f))) continue;
    expect(seen.has(k), `${label}: no row for ${k}`).toBe(true);
  }
}

describe('a day of traffic through two database outages', () => {
  it('stores every event once and reports the figures counted off the log', async () => {
    const events = syntheticDay({ calls: 1_500, agents: 30, day: day0 });
    const cuts = [Math.floor(events.length * 0.3), Math.floor(events.length * 0.6)];
    let i = 0;
    for (const cut of cuts) {
      for (; i < cut; i++) store.emit(events[i]!);
      // Some of it reaches the database before the outage; the rest must come from the spool.
      const before = store.stats()!.inserted;
      await waitFor(() => store.stats()!.inserted > before, { timeoutMs: 10_000, what: 'some events to reach Postgres before the outage' });
      await store.postgres.stop();
      for (let j = 0; j < 1_000 && i < events.length; j++, i++) store.emit(events[i]!);
      await waitFor(() => !store.stats()!.dbUp, { timeoutMs: 10_000, what: 'the writer to notice the outage' });
      await store.postgres.restart();
    }
    for (; i < events.length; i++) store.emit(events[i]!);
    await store.flush(60_000);
    const n = await store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM cc_events');
    expect(n.rows[0]!.n).toBe(events.length);
    expect(store.stats()!.inserted).toBe(events.length);

    const t = tally(events);
    const report = async (dimension: 'queue' | 'agent' | 'centre' | 'skillGroup', interval: '30m' | 'range' = '30m') =>
      (await store.report({ from: day0, to: day0 + 86_400_000, interval, dimension })).rows;
    expectTally(await report('queue'), t.queue, ['offered', 'answered', 'abandoned', 'rona', 'talkSec'], 'queue');
    // No call of the synthetic day names a skill group, so each queue is its own.
    expectTally(await report('skillGroup'), t.queue, ['offered', 'answered', 'abandoned', 'rona', 'talkSec'], 'skillGroup');
    expectTally(
      await report('centre'),
      t.centre,
      ['offered', 'answered', 'abandoned', 'talkSec', 'contactsOffered', 'contactsCompletedInIvr'],
      'centre',
    );
    expectTally(await report('agent'), t.agent, ['answered', 'rona'], 'agent');
    // Logged-in time per agent over the whole day: the tally keeps it per agent only.
    const agents = await report('agent', 'range');
    expect(agents).toHaveLength(30);
    for (const r of agents) expect(r.loggedInSec, r.key).toBe(t.agent.get(`-1|${r.key}`)?.loggedInSec);
  });
});
