import { describe, expect, it } from 'vitest';
import { dispositionsIn } from '../../../server/kpi/dispositions.ts';
import type { CcEvent } from '../../../server/kpi/events.ts';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
let seq = 0;
const ev = (e: Record<string, unknown>): CcEvent => ({ seq: ++seq, ...e }) as unknown as CcEvent;

/** A contact wrapped up by `agent` in `queue` at T0 + min minutes. */
function contact(id: string, queue: string, agent: string, min: number, end: Record<string, unknown>): CcEvent[] {
  const ts = T0 + min * 60_000;
  return [
    ev({ contactId: id, type: 'queue.connect', ts: ts - 120_000, queue, agentId: agent }),
    ev({ contactId: id, type: 'wrapup.start', ts: ts - 10_000, agentId: agent, queue }),
    ev({ contactId: id, type: 'wrapup.end', ts, agentId: agent, extended: false, ...end }),
  ];
}

describe('dispositions report', () => {
  const events = [
    ...contact('c1', 'sales', '1001', 1, { disposition: 'sale', resolved: true }),
    ...contact('c2', 'sales', '1001', 2, { disposition: 'sale', resolved: false, note: 'call back' }),
    ...contact('c3', 'sales', '1002', 3, { disposition: 'quote' }),
    ...contact('c4', 'support', '1002', 4, { resolved: true }),
    // Outside [T0, T0 + 10 min): not counted.
    ...contact('c5', 'sales', '1001', 11, { disposition: 'sale', resolved: true }),
  ];
  const r = dispositionsIn(events, T0, T0 + 10 * 60_000);

  it('counts each code per queue, and the agent-marked resolved share', () => {
    expect(r.byQueue).toEqual([
      { key: 'sales', wrapups: 3, disposed: 3, codes: { quote: 1, sale: 2 }, resolvedMarked: 2, resolved: 1, fcrAgentRate: 0.5 },
      { key: 'support', wrapups: 1, disposed: 0, codes: {}, resolvedMarked: 1, resolved: 1, fcrAgentRate: 1 },
    ]);
  });

  it('per agent too', () => {
    expect(r.byAgent.map((x) => [x.key, x.wrapups, x.codes, x.fcrAgentRate])).toEqual([
      ['1001', 2, { sale: 2 }, 0.5],
      ['1002', 2, { quote: 1 }, 1],
    ]);
  });

  it('keeps only the queues asked for; a wrap-up without wrapup.start takes the queue it was connected in', () => {
    const more = [
      ev({ contactId: 'c6', type: 'queue.connect', ts: T0, queue: 'support', agentId: '1003' }),
      ev({ contactId: 'c6', type: 'wrapup.end', ts: T0 + 60_000, agentId: '1003', extended: false, disposition: 'fixed' }),
    ];
    const s = dispositionsIn([...events, ...more], T0, T0 + 10 * 60_000, { queues: ['support'] });
    expect(s.byQueue).toEqual([
      { key: 'support', wrapups: 2, disposed: 1, codes: { fixed: 1 }, resolvedMarked: 1, resolved: 1, fcrAgentRate: 1 },
    ]);
    expect(s.byAgent.map((x) => x.key)).toEqual(['1001', '1002', '1003']);
  });
});
