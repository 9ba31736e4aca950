/**
 * A queue's live figures as the engine uses them: staffing (for the join/leave-when-empty rules),
 * the estimated wait told to callers, and the service level with its breach event.
 */
import type { Queue } from './config.ts';
import type { AcdState, QueueRt } from './records.ts';
import { estimatedWaitSeconds, type SlOutcome } from './statistics.ts';

/** Agents able to serve the queue who are available, ringing, talking or in wrap-up. */
export function staffed(q: QueueRt): number {
  const c = q.counts;
  return c.available + c.offered + c['on-call'] + c['wrap-up'];
}

export function emptyRuleHolds(q: QueueRt, rule: Queue['joinWhenEmpty']): boolean {
  if (rule === 'staffed') return staffed(q) > 0;
  if (rule === 'logged-in') return staffed(q) + q.counts['not-ready'] > 0;
  return true;
}

/** What a caller at `position` would be told (seconds); null when nobody staffs the queue. */
export function ewt(q: QueueRt, position: number): number | null {
  return estimatedWaitSeconds(position, staffed(q), q.aht.meanMs());
}

/** Count one caller's outcome; announce when the live service level crosses the target. */
export function recordSl(s: AcdState, q: QueueRt, outcome: SlOutcome): void {
  const now = s.clock.now();
  q.sl.record(now, outcome);
  const value = q.sl.value(now);
  if (value === null) return;
  const breached = value < q.cfg.serviceLevel.target;
  if (breached !== q.breached) {
    // The first figure only sets the baseline unless it already breaches.
    if (q.breached !== undefined || breached) {
      s.publish({ type: 'serviceLevel', at: now, queue: q.name, value, target: q.cfg.serviceLevel.target, breached });
    }
    q.breached = breached;
  }
}

/** Callbacks between dial attempts: in the queue's calls but neither waiting nor ringing. */
export function retrying(q: QueueRt): number {
  let n = 0;
  if (q.callbacksWaiting === 0) return 0;
  for (const c of q.calls) if (c.state === 'retry') n++;
  return n;
}
