/**
 * Time an agent spent in each chosen state over a period, split by not-ready reason (aux code):
 * the breakdown behind the report's readySec / notReadySec, from the same facts (deriveFacts's
 * agent state spans, overlapping sessions already clipped) and cut at the period's edges exactly
 * as the report cuts them (intervals.ts overlap). Pure: events in, seconds out.
 *
 * Invariants (test/unit/kpi/stateTimes.test.ts): readySec equals the agent row's readySec, and the
 * reasons' seconds add up to its notReadySec, within the milliseconds' rounding.
 */
import type { CcEvent } from './events.ts';
import { deriveFacts } from './facts.ts';
import { overlap } from './intervals.ts';

/** The reason of a not-ready span written without one (an older producer, a bare "not ready"). */
export const NO_REASON = '';

export interface AgentStateTimes {
  readySec: number;
  notReadySec: number;
  /** Seconds per not-ready reason, longest first (ties by reason). */
  notReadyByReason: { reason: string; sec: number }[];
}

const sec = (ms: number) => Math.round(ms) / 1000;

export function agentStateTimes(
  events: readonly CcEvent[],
  q: { agentId: string; from: number; to: number; asOf: number },
): AgentStateTimes {
  const facts = deriveFacts(events, q.asOf);
  let readyMs = 0;
  let notReadyMs = 0;
  const byReason = new Map<string, number>();
  for (const s of facts.agentStates) {
    if (s.agentId !== q.agentId) continue;
    const ms = overlap(s.start, s.end, q.from, q.to);
    if (ms <= 0) continue;
    if (s.state === 'ready') readyMs += ms;
    else {
      notReadyMs += ms;
      const r = s.reason ?? NO_REASON;
      byReason.set(r, (byReason.get(r) ?? 0) + ms);
    }
  }
  return {
    readySec: sec(readyMs),
    notReadySec: sec(notReadyMs),
    notReadyByReason: [...byReason]
      .map(([reason, ms]) => ({ reason, sec: sec(ms) }))
      .sort((a, b) => b.sec - a.sec || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0)),
  };
}
