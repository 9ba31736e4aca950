/**
 * What the screen pop shows of a contact's way in (its wait and IVR path) once the call is gone,
 * read from the contact's logged events: a callback rings the agent long after the customer hung
 * up, and its screen pop is of the contact that asked for it. While a call is up the centre gives
 * the same fields from the live call (http/agentDesktop.ts screenPopLive). Pure.
 */
import type { CcEvent } from '../kpi/events.ts';
import { pathSummary } from '../ivr/actions.ts';

/** A contact's wait and IVR path, as the screen pop shows them. */
export interface ScreenPopLive {
  queuedAt?: number | undefined;
  connectedAt?: number | undefined;
  ivrPath: { at: number; flow: string; node: string; input?: string | undefined; outcome?: string | undefined }[];
  ivrSummary: string;
}

/**
 * From one contact's events (any order): the first queue it entered, when, and when the wait
 * ended (connected to an agent, or left the queue: abandoned, timed out, booked a callback, the
 * call ended); the IVR steps in order (`ivr.step` logs "flow/node"). Undefined for no events.
 */
export function screenPopHistory(events: readonly CcEvent[]): (ScreenPopLive & { queue?: string }) | undefined {
  if (events.length === 0) return undefined;
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const enter = sorted.find((e) => e.type === 'queue.enter');
  const waitEnd = enter
    ? sorted.find(
        (e) =>
          e.seq > enter.seq &&
          (e.type === 'queue.connect' || e.type === 'queue.abandon' || e.type === 'queue.exit' || e.type === 'call.end'),
      )
    : undefined;
  const ivrPath = sorted.flatMap((e) => {
    if (e.type !== 'ivr.step') return [];
    const slash = e.node.indexOf('/');
    const flow = slash > 0 ? e.node.slice(0, slash) : '';
    const node = slash > 0 ? e.node.slice(slash + 1) : e.node;
    return [{ at: e.ts, flow, node, ...(e.input !== undefined ? { input: e.input } : {}) }];
  });
  // The same compact form as the live session's (IvrSession.summary()).
  const ivrSummary = pathSummary(ivrPath);
  return {
    ...(enter && enter.type === 'queue.enter' ? { queue: enter.queue, queuedAt: enter.ts } : {}),
    ...(waitEnd ? { connectedAt: waitEnd.ts } : {}),
    ivrPath,
    ivrSummary,
  };
}
