import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { adherence, restReminders, RestReminder } from '../../../server/planning/adherence.ts';

const D = Date.UTC(2026, 0, 5);
const at = (hhmm: string) => D + (Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) * 60_000;

describe('adherence and attendance', () => {
  it('late login, break overrun, long not-ready, early logout, absence; adherence by hand', () => {
    const plans = [
      { agentId: 'ann', start: at('09:00'), end: at('17:00'), breaks: [{ start: at('12:00'), end: at('12:30') }] },
      { agentId: 'bob', start: at('09:00'), end: at('13:00'), breaks: [] },
    ];
    const actual = [
      { agentId: 'ann', state: 'ready' as const, start: at('09:10'), end: at('12:00') },
      { agentId: 'ann', state: 'not-ready' as const, reason: 'lunch', start: at('12:00'), end: at('12:40') },
      { agentId: 'ann', state: 'ready' as const, start: at('12:40'), end: at('13:00') },
      { agentId: 'ann', state: 'not-ready' as const, reason: 'coffee', start: at('13:00'), end: at('13:20') },
      { agentId: 'ann', state: 'ready' as const, start: at('13:20'), end: at('16:30') },
    ];
    const [ann, bob] = adherence(plans, actual);
    expect(ann!.exceptions.map((e) => `${e.kind}@${new Date(e.at).toISOString().slice(11, 16)}/${e.minutes}`)).toEqual([
      'late-login@09:05/10',
      'break-overrun@12:33/10',
      'long-not-ready@13:15/20',
      'early-logout@16:30/30',
    ]);
    // Ready 170 + 20 + 190 = 380 min, plus the 30-minute break taken: 410 of 480.
    expect(ann!.inAdherenceMin).toBe(410);
    expect(ann!.adherence).toBe(0.8542);
    expect(bob!.exceptions).toEqual([{ agentId: 'bob', kind: 'absent', at: at('09:05'), minutes: 240 }]);
    expect(bob!.adherence).toBe(0);
  });

  it('rest reminder after 2 hours of continuous talk (batch)', () => {
    const talk = [
      { start: at('09:00'), end: at('09:50') },
      { start: at('09:52'), end: at('10:40') },
      { start: at('10:42'), end: at('11:30') }, // 2 h since 09:00 falls at 11:00, in this call
      { start: at('11:45'), end: at('12:10') }, // 15-minute gap: a rest, the stretch starts again
    ];
    expect(restReminders(talk)).toEqual([at('11:00')]);
    expect(restReminders(talk, { afterTalkMin: 60, restGapMin: 10 })).toEqual([at('10:00')]);
  });

  it('rest reminder live on the desktop clock', () => {
    const clock = new FakeClock(at('09:00'));
    const got: string[] = [];
    const r = new RestReminder(clock, (agent, min) => got.push(`${agent}:${min}@${new Date(clock.now()).toISOString().slice(11, 16)}`));
    const call = (from: string, to: string) => {
      clock.advanceTo(at(from));
      r.talkStarted('ann');
      clock.advanceTo(at(to));
      r.talkEnded('ann');
    };
    call('09:00', '09:50');
    call('09:52', '10:40');
    call('10:42', '11:30');
    call('11:45', '12:10');
    expect(got).toEqual(['ann:120@11:00']);
    r.dispose();
  });
});
