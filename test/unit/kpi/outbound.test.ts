/** Outbound figures against hand-counted truth: outcomes, 接通率, talk time, dimensions, the window. */
import { describe, expect, it } from 'vitest';
import { parseEvent, type CcEvent } from '../../../server/kpi/events.ts';
import { outboundReport } from '../../../server/kpi/outbound.ts';

const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const s = (sec: number) => T0 + sec * 1000;
const seqs = new Map<string, number>();
function ev(contactId: string, e: Record<string, unknown>): CcEvent {
  const seq = (seqs.get(contactId) ?? 0) + 1;
  seqs.set(contactId, seq);
  const r = parseEvent({ contactId, seq, ...e });
  if (!r.ok) throw new Error(r.error);
  return r.event;
}
const arrived = (id: string, ts: number, initiation: string, extra: Record<string, unknown> = {}) =>
  ev(id, { type: 'contact.arrived', ts, initiation, caller: '+442079460999', dialled: '+442079460999', trunk: 'carrier', ...extra });
const result = (id: string, ts: number, agentId: string, outcome: string, extra: Record<string, unknown> = {}) =>
  ev(id, { type: 'outbound.result', ts, agentId, number: '+442079460999', trunk: 'carrier', outcome, ...extra });
const end = (id: string, ts: number) => ev(id, { type: 'call.end', ts, endedBy: 'agent' });

const events: CcEvent[] = [
  // a: 1001 answered at 10 s, ended at 100 s → 90 s talk
  arrived('a', s(0), 'outbound'),
  result('a', s(10), '1001', 'answered'),
  end('a', s(100)),
  // b: 1001 busy
  arrived('b', s(200), 'outbound'),
  result('b', s(205), '1001', 'busy', { status: 486 }),
  end('b', s(205)),
  // c: callback for sales by 1002, answered at 310 s, still talking at asOf (400 s) → 90 s
  arrived('c', s(300), 'callback', { previousContactId: 'x' }),
  result('c', s(310), '1002', 'answered', { queue: 'sales' }),
  // d: callback, no answer
  arrived('d', s(320), 'callback', { previousContactId: 'y' }),
  result('d', s(350), '1002', 'no-answer', { status: 408, queue: 'sales' }),
  end('d', s(350)),
  // e: the agent never answered their own call: an attempt, not dialled
  arrived('e', s(360), 'outbound'),
  end('e', s(390)),
  // f: inbound contact: not outbound
  arrived('f', s(10), 'inbound'),
  // g: outbound, answered, but outside the window
  arrived('g', s(5000), 'outbound'),
  result('g', s(5010), '1001', 'answered'),
];

describe('outbound report', () => {
  it('centre: 4 dialled, 2 answered → 接通率 50 %, 180 s talk', () => {
    const r = outboundReport(events, { from: s(0), to: s(3600), asOf: s(400) });
    expect(r.rows).toEqual([
      {
        key: 'centre',
        attempts: 5,
        dialled: 4,
        answered: 2,
        busy: 1,
        noAnswer: 1,
        failed: 0,
        answerRate: 0.5,
        talkSec: 180,
        avgTalkSec: 90,
      },
    ]);
  });
  it('by agent, by queue and by initiation', () => {
    const by = (dimension: 'agent' | 'queue' | 'initiation') =>
      Object.fromEntries(
        outboundReport(events, { from: s(0), to: s(3600), asOf: s(400), dimension }).rows.map((x) => [x.key, x.answerRate]),
      );
    expect(by('agent')).toEqual({ '-': null, '1001': 0.5, '1002': 0.5 });
    expect(by('queue')).toEqual({ '-': 0.5, sales: 0.5 });
    expect(by('initiation')).toEqual({ callback: 0.5, outbound: 0.5 });
  });
  it('nothing dialled: no rate', () => {
    expect(outboundReport(events, { from: s(7200), to: s(9000) }).rows).toEqual([]);
  });
});
