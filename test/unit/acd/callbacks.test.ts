/**
 * Callbacks (issue #12): a callback keeps the caller's original place; at the head it reserves an
 * agent ('callbackDial'); call control reports each dial's outcome; failed dials retry after the
 * queue's back-off schedule up to the attempt limit; a reservation nobody reports on runs out;
 * abandon-resume places survive a restart. All times hand-computed on a fake clock (t0 = 0).
 */
import { describe, expect, it } from 'vitest';
import { backoffSeconds } from '../../../server/acd/callbacks.ts';
import { agent, harness, queue } from './helpers.ts';

const S = [{ skill: 's' }];
/** The fake clock's start (helpers' FakeClock default); every time below is T + hand-computed ms. */
const T = Date.UTC(2026, 0, 5, 9, 0, 0);

describe('callback place and reservation', () => {
  it('a callback requested after its caller left the queue keeps the original entry time and goes ahead of later callers', () => {
    const h = harness({ queues: { q: { skills: S }, other: { skills: S } }, agents: [agent('a', { s: 1 })], login: false });
    h.acd.enqueue({ callId: 'c1', queue: 'q', arrivedAt: T + 0 });
    h.sec(5);
    h.acd.enqueue({ callId: 'c2', queue: 'q' }); // entered at 5 s
    h.sec(55);
    h.acd.cancel('c1'); // c1 leaves the queue (e.g. its timeout branch), then accepts a callback into another queue
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q', arrivedAt: T + 0, callback: { number: '+15550001' } })).toMatchObject({
      ok: true,
      position: 1,
    });
    expect(h.acd.callView('c1')).toMatchObject({ arrivedAt: T + 0, position: 1, callback: '+15550001' });
    expect(h.acd.callView('c2')?.position).toBe(2);
    h.acd.agentLogin('a');
    expect(h.last('callbackDial')).toMatchObject({
      callbackId: 'c1',
      contactId: 'c1',
      agentId: 'a',
      number: '+15550001',
      queue: 'q',
      enteredAt: T + 0,
      attempt: 1,
      waitedMs: 60_000,
      expiresAt: T + 60_000 + 60_000, // reservationTimeout default 60 s
    });
    expect(h.of('offer')).toHaveLength(0);
    h.audit();
  });

  it('a callback ignores maxLength and joinWhenEmpty (it holds no line)', () => {
    const h = harness({ queues: { q: { skills: S, maxLength: 1, joinWhenEmpty: 'staffed' } }, agents: [] });
    expect(h.acd.enqueue({ callId: 'live', queue: 'q' })).toMatchObject({ ok: false, reason: 'no-agents' });
    expect(h.acd.enqueue({ callId: 'cb', queue: 'q', callback: { number: '+1' } })).toMatchObject({ ok: true });
    expect(h.acd.queueStats('q')).toMatchObject({ waiting: 1, callbacks: 1 });
  });

  it('answered: the callback connects, then wraps up like a call', () => {
    const h = harness({ queues: { q: { skills: S, wrapUp: 10 } }, agents: [agent('a', { s: 1 })] });
    h.acd.enqueue({ callId: 'cb', queue: 'q', callback: { number: '+1555' } });
    h.sec(3);
    expect(h.acd.callbackOutcome('cb', 'answered')).toEqual({ ok: true });
    expect(h.last('callbackDialled')).toMatchObject({ callbackId: 'cb', agentId: 'a', attempt: 1, outcome: 'answered' });
    expect(h.last('callbackDialled')?.retryAt).toBeUndefined();
    expect(h.last('connect')).toMatchObject({ callId: 'cb', agentId: 'a', callback: true, waitedMs: 3000 });
    expect(h.acd.agentView('a')?.state).toBe('on-call');
    expect(h.acd.queueStats('q')?.callbacks).toBe(0);
    h.sec(60);
    h.acd.callEnded('cb');
    expect(h.last('callEnd')).toMatchObject({ callId: 'cb', talkMs: 60_000 });
    expect(h.acd.agentView('a')?.state).toBe('wrap-up');
    expect(h.acd.callbackOutcome('cb', 'busy')).toMatchObject({ ok: false });
    h.audit();
  });

  it('a reservation with no outcome runs out: the agent is released unpenalised and the attempt counts as failed', () => {
    const h = harness({
      queues: { q: { skills: S, callback: { reservationTimeout: 30, retryDelay: 120, maxAttempts: 2 } } },
      agents: [agent('a', { s: 1 })],
    });
    h.acd.enqueue({ callId: 'cb', queue: 'q', callback: { number: '+1555' } });
    expect(h.last('callbackDial')).toMatchObject({ attempt: 1, expiresAt: T + 30_000 });
    h.clock.advance(29_999);
    expect(h.acd.agentView('a')?.state).toBe('offered');
    h.clock.advance(1);
    expect(h.last('callbackReservationExpired')).toMatchObject({ at: T + 30_000, callbackId: 'cb', agentId: 'a', attempt: 1 });
    expect(h.last('callbackDialled')).toMatchObject({ attempt: 1, outcome: 'expired', retryAt: T + 150_000 });
    expect(h.of('rona')).toHaveLength(0);
    expect(h.acd.agentView('a')).toMatchObject({ state: 'available', misses: 0 });
    // A late report for the expired reservation is refused; the callback is waiting out its back-off.
    expect(h.acd.callbackOutcome('cb', 'answered')).toMatchObject({ ok: false });
    expect(h.acd.callView('cb')?.state).toBe('retry');
    h.clock.advance(119_999);
    expect(h.of('callbackDial')).toHaveLength(1);
    h.clock.advance(1);
    expect(h.last('callbackDial')).toMatchObject({ at: T + 150_000, attempt: 2, expiresAt: T + 180_000 });
    h.clock.advance(30_000);
    expect(h.last('callbackGivenUp')).toMatchObject({ at: T + 180_000, callbackId: 'cb', attempts: 2, lastOutcome: 'expired' });
    expect(h.last('exit')).toMatchObject({ callId: 'cb', reason: 'callback-failed', waitedMs: 180_000 });
    expect(h.acd.agentView('a')?.state).toBe('available');
    h.audit();
  });
});

describe('back-off schedule and attempt limit', () => {
  it('backoffSeconds: a number always, a list per attempt with the last repeating', () => {
    const cfg = queue({ skills: S, callback: { retryDelay: [60, 300] } }).callback;
    expect([1, 2, 3, 7].map((n) => backoffSeconds(cfg, n))).toEqual([60, 300, 300, 300]);
    expect(backoffSeconds(queue({ skills: S, callback: { retryDelay: 45 } }).callback, 3)).toBe(45);
    expect(queue({ skills: S }).callback).toEqual({ maxAttempts: 3, retryDelay: 300, reservationTimeout: 60 });
  });

  it('busy, no-answer, failed retry on the schedule in the original place; the 4th failure gives up', () => {
    const h = harness({
      queues: { q: { skills: S, wrapUp: 0, callback: { maxAttempts: 4, retryDelay: [60, 300] } } },
      agents: [agent('a', { s: 1 })],
      login: false,
    });
    h.acd.enqueue({ callId: 'cb', queue: 'q', callback: { number: '+1555' } }); // place at 0 s
    h.sec(10);
    h.acd.enqueue({ callId: 'live', queue: 'q' }); // a live caller at 10 s
    h.acd.agentLogin('a');
    expect(h.last('callbackDial')).toMatchObject({ at: T + 10_000, attempt: 1 });
    h.sec(20);
    h.acd.callbackOutcome('cb', 'busy'); // at 30 s
    expect(h.last('callbackDialled')).toMatchObject({ attempt: 1, outcome: 'busy', retryAt: T + 90_000 });
    // The agent is free at once and takes the live caller meanwhile.
    expect(h.last('offer')).toMatchObject({ callId: 'live', agentId: 'a' });
    h.acd.answered('live', 'a');
    h.sec(100); // 130 s: the callback came back at 90 s and waits at the head
    expect(h.acd.callView('cb')).toMatchObject({ state: 'waiting', position: 1, arrivedAt: T + 0 });
    h.acd.enqueue({ callId: 'later', queue: 'q' });
    h.acd.callEnded('live');
    expect(h.last('callbackDial')).toMatchObject({ at: T + 130_000, attempt: 2, agentId: 'a' });
    h.acd.callbackOutcome('cb', 'no-answer');
    expect(h.last('callbackDialled')).toMatchObject({ attempt: 2, outcome: 'no-answer', retryAt: T + 430_000 });
    expect(h.last('offer')).toMatchObject({ callId: 'later' });
    h.acd.answered('later', 'a');
    h.acd.callEnded('later');
    h.clock.advance(300_000 - 1);
    expect(h.of('callbackDial')).toHaveLength(2);
    h.clock.advance(1);
    expect(h.last('callbackDial')).toMatchObject({ at: T + 430_000, attempt: 3 });
    h.acd.callbackOutcome('cb', 'failed');
    expect(h.last('callbackDialled')).toMatchObject({ attempt: 3, outcome: 'failed', retryAt: T + 730_000 });
    h.clock.advance(300_000);
    expect(h.last('callbackDial')).toMatchObject({ at: T + 730_000, attempt: 4 });
    h.acd.callbackOutcome('cb', 'busy');
    expect(h.last('callbackDialled')).toMatchObject({ attempt: 4, outcome: 'busy' });
    expect(h.last('callbackDialled')?.retryAt).toBeUndefined();
    expect(h.last('callbackGivenUp')).toMatchObject({ attempts: 4, lastOutcome: 'busy' });
    expect(h.last('exit')).toMatchObject({ callId: 'cb', reason: 'callback-failed', waitedMs: 730_000 });
    expect(h.acd.queueStats('q')).toMatchObject({ waiting: 0, callbacks: 0 });
    expect(h.acd.agentView('a')?.state).toBe('available');
    expect(h.acd.callbackOutcome('cb', 'busy')).toEqual({ ok: false, error: 'unknown callback cb' });
    h.audit();
  });

  it('refuses unknown outcomes and callbacks with nobody reserved', () => {
    const h = harness({ queues: { q: { skills: S } }, agents: [] });
    h.acd.enqueue({ callId: 'cb', queue: 'q', callback: { number: '+1' } });
    expect(h.acd.callbackOutcome('cb', 'maybe' as 'busy')).toEqual({ ok: false, error: 'unknown outcome maybe' });
    expect(h.acd.callbackOutcome('cb', 'busy')).toMatchObject({ ok: false });
    expect(h.acd.callbackOutcome('nope', 'busy')).toEqual({ ok: false, error: 'unknown callback nope' });
  });
});

describe('restart: callbacks and resume places restored from the store', () => {
  it('a restored callback keeps its attempts and original place, and waits out a back-off still running', () => {
    const h = harness({
      queues: { q: { skills: S, wrapUp: 0, callback: { maxAttempts: 3, retryDelay: 60 } } },
      agents: [agent('a', { s: 1 })],
      login: false,
    });
    h.sec(1000);
    h.acd.enqueue({ callId: 'live', queue: 'q' }); // entered at 1000 s
    h.acd.enqueue({ callId: 'cb1', queue: 'q', arrivedAt: T + 400_000, callback: { number: '+1', attempts: 2 } });
    h.acd.enqueue({ callId: 'cb2', queue: 'q', arrivedAt: T + 100_000, callback: { number: '+2', attempts: 1, notBefore: T + 1_030_000 } });
    expect(h.acd.callView('cb1')?.position).toBe(1);
    expect(h.acd.callView('cb2')?.state).toBe('retry');
    h.acd.agentLogin('a');
    expect(h.last('callbackDial')).toMatchObject({ callbackId: 'cb1', attempt: 3, enteredAt: T + 400_000 });
    h.acd.callbackOutcome('cb1', 'busy');
    expect(h.last('callbackGivenUp')).toMatchObject({ callbackId: 'cb1', attempts: 3 });
    expect(h.last('offer')).toMatchObject({ callId: 'live' });
    h.acd.answered('live', 'a');
    h.clock.advance(29_999);
    expect(h.acd.callView('cb2')?.state).toBe('retry');
    h.clock.advance(1); // 1030 s: cb2's back-off is over; it is back at the head, ahead of nobody else
    expect(h.acd.callView('cb2')).toMatchObject({ state: 'waiting', position: 1 });
    h.acd.callEnded('live');
    expect(h.last('callbackDial')).toMatchObject({ callbackId: 'cb2', attempt: 2, at: T + 1_030_000, enteredAt: T + 100_000 });
    h.audit();
  });

  it('abandon publishes the kept place; restoreResumePlaces brings it back in a new engine until its window ends', () => {
    const h = harness({ queues: { q: { skills: S, abandonResume: 600 } }, agents: [] });
    h.acd.enqueue({ callId: 'c1', queue: 'q', callerId: '+44 20 7946 0000', priority: 3 });
    h.sec(40);
    h.acd.abandon('c1');
    const kept = h.last('abandon')?.kept;
    expect(kept).toEqual({ queue: 'q', key: '442079460000', arrivedAt: T + 0, priority: 3, at: T + 40_000, until: T + 640_000 });
    // A new engine (the restart), 100 s later, with one caller already waiting since 130 s.
    const h2 = harness({ queues: { q: { skills: S, abandonResume: 600 } }, agents: [] });
    h2.clock.advance(130_000);
    h2.acd.enqueue({ callId: 'x', queue: 'q' });
    h2.sec(10);
    expect(h2.acd.restoreResumePlaces([kept!, { ...kept!, queue: 'gone' }])).toEqual({ ok: true });
    expect(h2.acd.enqueue({ callId: 'c2', queue: 'q', callerId: '+442079460000' })).toMatchObject({ ok: true, position: 1 });
    expect(h2.last('enqueue')).toMatchObject({ callId: 'c2', resumed: true, resumeKey: '442079460000', arrivedAt: T + 0, priority: 3 });
    // Taken once only; and a place past its window is not restored.
    h2.acd.cancel('c2');
    expect(h2.acd.enqueue({ callId: 'c3', queue: 'q', callerId: '+442079460000' })).toMatchObject({ ok: true, position: 2 });
    const h3 = harness({ queues: { q: { skills: S, abandonResume: 600 } }, agents: [] });
    h3.clock.advance(640_001);
    h3.acd.restoreResumePlaces([kept!]);
    expect(h3.acd.enqueue({ callId: 'c4', queue: 'q', callerId: '+442079460000' })).toMatchObject({ ok: true });
    expect(h3.last('enqueue')?.resumed).toBe(false);
  });
});
