import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { AttendanceWatch, VolumeWatch, type AttendanceAlert, type VolumeAlertEvent } from '../../../server/planning/watch.ts';

const T9 = Date.UTC(2026, 0, 5, 9);
const hm = (t: number) => new Date(t).toISOString().slice(11, 16);

describe('live planning alerts', () => {
  it('volume: +30 % and +50 % over the normal for the running interval, once each', () => {
    const clock = new FakeClock(T9);
    const got: VolumeAlertEvent[] = [];
    // Normal: 30 calls per 30 minutes = 1 a minute.
    const normalFor = (_q: string, at: number, soFar?: boolean) => (soFar ? (30 * ((at - T9) % 1_800_000)) / 1_800_000 : 30);
    const w = new VolumeWatch(clock, { normalFor }, 30, (e) => got.push(e));
    // 1.6 calls a minute for 10 minutes.
    for (let i = 1; i <= 16; i++) {
      clock.advanceTo(T9 + i * 37_500);
      w.arrival('sales');
    }
    expect(got.map((e) => `${e.level}@${e.actual}`)).toEqual(['elevated@8', 'surge@8']);
    // A new interval starts counting afresh.
    clock.advanceTo(T9 + 1_800_000 + 60_000);
    w.arrival('sales');
    expect(got).toHaveLength(2);
  });

  it('attendance: late login, long not-ready outside a break, early logout', () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 5, 8));
    const got: AttendanceAlert[] = [];
    const w = new AttendanceWatch(clock, (a) => got.push(a));
    w.setSchedule([
      { agentId: 'ann', start: T9, end: T9 + 8 * 3_600_000, breaks: [{ start: T9 + 3 * 3_600_000, end: T9 + 3.5 * 3_600_000 }] },
      { agentId: 'bob', start: T9, end: T9 + 4 * 3_600_000, breaks: [] },
    ]);
    clock.advanceTo(T9 + 2 * 60_000);
    w.agentState('bob', 'ready');
    clock.advanceTo(T9 + 10 * 60_000); // ann never logged in: late at 09:05
    w.agentState('ann', 'ready');
    clock.advanceTo(T9 + 3 * 3_600_000 + 60_000); // on her break: not-ready is fine
    w.agentState('ann', 'not-ready');
    clock.advanceTo(T9 + 3.5 * 3_600_000);
    w.agentState('ann', 'ready');
    clock.advanceTo(T9 + 4 * 3_600_000);
    w.agentState('ann', 'not-ready'); // outside a break: 15 minutes later it is long
    clock.advanceTo(T9 + 4.5 * 3_600_000);
    w.agentState('ann', 'logged-out'); // 3.5 hours early
    w.agentState('bob', 'logged-out'); // bob's shift ended at 13:00: not early
    expect(got.map((a) => `${a.agentId} ${a.kind} ${hm(a.at)}`)).toEqual([
      'ann late-login 09:05',
      'ann long-not-ready 13:15',
      'ann early-logout 13:30',
    ]);
    w.dispose();
  });
});
