import { describe, expect, it } from 'vitest';
import type { CcEvent } from '../../../server/kpi/events.ts';
import { computeReport } from '../../../server/kpi/report.ts';
import { DEFAULT_KPI_SETTINGS } from '../../../server/kpi/settings.ts';
import { agentStateTimes } from '../../../server/kpi/stateTimes.ts';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MIN = 60_000;

/** Agent 1001: ready 09:00, break 09:10, ready 09:25, lunch 09:40, logged out 10:20; 1002 ready all along. */
function day(): CcEvent[] {
  let seq = 0;
  let seq2 = 0;
  const a = (min: number, state: 'ready' | 'not-ready' | 'logged-out', reason?: string): CcEvent => ({
    contactId: 'agent:1001',
    seq: ++seq,
    ts: T0 + min * MIN,
    type: 'agent.state',
    agentId: '1001',
    state,
    ...(reason ? { reason } : {}),
  });
  return [
    a(0, 'ready'),
    a(10, 'not-ready', 'break'),
    a(25, 'ready'),
    a(40, 'not-ready', 'lunch'),
    a(50, 'not-ready'),
    a(55, 'not-ready', 'break'),
    a(80, 'logged-out'),
    { contactId: 'agent:1002', seq: ++seq2, ts: T0, type: 'agent.state', agentId: '1002', state: 'ready' },
  ];
}

describe('agentStateTimes', () => {
  it('splits not ready by reason, clipped to the period (hand-computed)', () => {
    // Period 09:05–10:05: ready 5 + 15 = 20 min; break 15 + 10 = 25 min; lunch 10; no reason 5.
    const t = agentStateTimes(day(), { agentId: '1001', from: T0 + 5 * MIN, to: T0 + 65 * MIN, asOf: T0 + 65 * MIN });
    expect(t).toEqual({
      readySec: 1200,
      notReadySec: 2400,
      notReadyByReason: [
        { reason: 'break', sec: 1500 },
        { reason: 'lunch', sec: 600 },
        { reason: '', sec: 300 },
      ],
    });
  });

  it("agrees with the reports engine's agent row for the same period", () => {
    const from = T0 + 5 * MIN;
    const to = T0 + 95 * MIN;
    const t = agentStateTimes(day(), { agentId: '1001', from, to, asOf: to });
    const row = computeReport(day(), { from, to, asOf: to, interval: 'range', dimension: 'agent' }, DEFAULT_KPI_SETTINGS).rows.find(
      (r) => r.key === '1001',
    )!;
    expect(t.readySec).toBe(row.readySec);
    expect(t.notReadySec).toBe(row.notReadySec);
    expect(t.notReadyByReason.reduce((s, r) => s + r.sec, 0)).toBe(row.notReadySec);
    expect(t.notReadySec).toBe(55 * 60); // 09:10–09:25 and 09:40–10:20
  });

  it('an agent with no spans has zero time', () => {
    expect(agentStateTimes(day(), { agentId: '1003', from: T0, to: T0 + 60 * MIN, asOf: T0 + 60 * MIN })).toEqual({
      readySec: 0,
      notReadySec: 0,
      notReadyByReason: [],
    });
  });
});
