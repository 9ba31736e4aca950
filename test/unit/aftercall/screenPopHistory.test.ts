import { describe, expect, it } from 'vitest';
import { screenPopHistory } from '../../../server/customers/screenPopHistory.ts';
import type { CcEvent } from '../../../server/kpi/events.ts';

const T = 1_800_000_000_000;
let seq = 0;
const ev = (e: Record<string, unknown>): CcEvent => ({ contactId: 'c1', seq: ++seq, ...e }) as unknown as CcEvent;

describe('screen pop of a contact whose call is gone (from its events)', () => {
  it('a caller who asked for a callback while queued: queue, wait until the queue exit, IVR path in order', () => {
    seq = 0;
    const events = [
      ev({ type: 'contact.arrived', ts: T, caller: '02079460555', dialled: '100', initiation: 'inbound' }),
      ev({ type: 'ivr.step', ts: T + 10, node: 'main/hours' }),
      ev({ type: 'ivr.step', ts: T + 20, node: 'main/welcome' }),
      ev({ type: 'ivr.step', ts: T + 3000, node: 'main/menu', input: '1' }),
      ev({ type: 'ivr.step', ts: T + 3010, node: 'main/sales' }),
      ev({ type: 'queue.enter', ts: T + 3020, queue: 'sales' }),
      ev({ type: 'ivr.step', ts: T + 9000, node: 'survey/thanks' }),
      ev({ type: 'queue.exit', ts: T + 9500, queue: 'sales', reason: 'callback' }),
      ev({ type: 'call.end', ts: T + 12_000, endedBy: 'caller' }),
    ];
    // Any order in, the log's order (seq) out.
    const h = screenPopHistory([...events].reverse());
    expect(h).toEqual({
      queue: 'sales',
      queuedAt: T + 3020,
      connectedAt: T + 9500,
      ivrPath: [
        { at: T + 10, flow: 'main', node: 'hours' },
        { at: T + 20, flow: 'main', node: 'welcome' },
        { at: T + 3000, flow: 'main', node: 'menu', input: '1' },
        { at: T + 3010, flow: 'main', node: 'sales' },
        { at: T + 9000, flow: 'survey', node: 'thanks' },
      ],
      ivrSummary: 'hours > welcome > menu[1] > sales > survey:thanks',
    });
  });

  it('answered: the wait ends at queue.connect; no queue: no wait; no events: nothing', () => {
    seq = 0;
    const answered = screenPopHistory([
      ev({ type: 'queue.enter', ts: T, queue: 'support' }),
      ev({ type: 'queue.connect', ts: T + 4000, queue: 'support', agentId: '1003' }),
      ev({ type: 'call.end', ts: T + 60_000, endedBy: 'agent' }),
    ]);
    expect(answered).toMatchObject({ queue: 'support', queuedAt: T, connectedAt: T + 4000, ivrSummary: '' });
    seq = 0;
    const ivrOnly = screenPopHistory([
      ev({ type: 'ivr.step', ts: T, node: 'main/hours' }),
      ev({ type: 'call.end', ts: T + 5, endedBy: 'caller' }),
    ]);
    expect(ivrOnly).toEqual({ ivrPath: [{ at: T, flow: 'main', node: 'hours' }], ivrSummary: 'hours' });
    expect(screenPopHistory([])).toBeUndefined();
  });
});
