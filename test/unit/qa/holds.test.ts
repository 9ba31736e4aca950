/** Hold intervals for the analytics come from the event log, in ms from the recording's start. */
import { describe, expect, it } from 'vitest';
import type { CcEvent } from '../../../server/kpi/events.ts';
import { holdIntervals } from '../../../server/qa/worker.ts';

const ev = (type: 'hold.start' | 'hold.end', ts: number): CcEvent => ({ type, ts, contactId: 'c', seq: ts, agentId: '1' });

describe('holdIntervals', () => {
  it('pairs hold.start with the next hold.end; a hold never resumed lasts to the end of the recording', () => {
    expect(holdIntervals([ev('hold.start', 3000), ev('hold.end', 5000), ev('hold.start', 8000)], 1000, 10_000)).toEqual([
      { startMs: 2000, endMs: 4000 },
      { startMs: 7000, endMs: 9000 },
    ]);
  });
  it('ignores a stray hold.end and a repeated hold.start', () => {
    expect(holdIntervals([ev('hold.end', 2000), ev('hold.start', 3000), ev('hold.start', 4000), ev('hold.end', 6000)], 0, 9000)).toEqual([
      { startMs: 3000, endMs: 6000 },
    ]);
  });
});
