import { describe, expect, it } from 'vitest';
import {
  ivrQueueExit,
  loggedExitReason,
  type ExitReason,
  type IvrQueueExit,
  type LoggedExitReason,
} from '../../../server/acd/exit-reasons.ts';
import { QueueNodeSchema } from '../../../server/ivr/schema.ts';
import { ExitReasonSchema } from '../../../server/kpi/events.ts';

// Every ACD exit reason with the word the event log stores and the IVR branch it takes. A Record
// keyed by ExitReason: adding a reason without deciding both fails to compile.
const ALL: Record<ExitReason, [LoggedExitReason, IvrQueueExit]> = {
  full: ['full', 'full'],
  timeout: ['timeout', 'timeout'],
  closed: ['system', 'closed'],
  'no-agents': ['no-agents', 'closed'],
  'callback-failed': ['callback', 'closed'],
  cancelled: ['system', 'closed'],
};

describe('queue exit reasons: one vocabulary', () => {
  it('maps every ACD reason to the stored word the event log has always used', () => {
    for (const [reason, [stored]] of Object.entries(ALL) as [ExitReason, [LoggedExitReason, IvrQueueExit]][]) {
      expect(loggedExitReason(reason), reason).toBe(stored);
      expect(ExitReasonSchema.parse(loggedExitReason(reason))).toBe(stored);
    }
    // The stored vocabulary itself is unchanged (rows already in the database use it).
    expect(ExitReasonSchema.options).toEqual(['timeout', 'full', 'no-agents', 'overflow', 'callback', 'system']);
  });

  it("maps every ACD reason (and a refused enqueue's 'invalid') to a branch of the IVR queue node", () => {
    for (const [reason, [, branch]] of Object.entries(ALL) as [ExitReason, [LoggedExitReason, IvrQueueExit]][]) {
      expect(ivrQueueExit(reason), reason).toBe(branch);
    }
    expect(ivrQueueExit('invalid')).toBe('closed');
    for (const branch of new Set(Object.values(ALL).map(([, b]) => b))) expect(Object.keys(QueueNodeSchema.shape)).toContain(branch);
  });
});
