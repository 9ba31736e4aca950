import { describe, expect, it } from 'vitest';
import { agent, harness } from './helpers.ts';

describe('ring-no-answer and reject', () => {
  it('RONA puts the call back at the head of its queue and the agent to not-ready "missed"', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], offerTimeout: 15 } },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 })],
      login: false,
    });
    h.acd.agentLogin('a');
    h.acd.enqueue({ callId: 'first', queue: 'q' });
    h.sec(1);
    h.acd.enqueue({ callId: 'second', queue: 'q' });
    h.clock.advance(13_999);
    expect(h.of('rona')).toHaveLength(0);
    h.clock.advance(1);
    expect(h.last('rona')).toMatchObject({ callId: 'first', agentId: 'a', penalised: true, misses: 1 });
    expect(h.acd.agentView('a')).toMatchObject({ state: 'not-ready', reason: 'missed' });
    expect(h.acd.callView('first')).toMatchObject({ state: 'waiting', position: 1 });
    h.acd.agentLogin('b');
    expect(h.last('offer')).toMatchObject({ callId: 'first', agentId: 'b' });
    h.audit();
  });

  it('logs an agent out after N consecutive misses; an answer resets the count', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], offerTimeout: 5, wrapUp: 0 } },
      agents: [agent('a', { s: 1 })],
      options: { maxMisses: 2 },
    });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.sec(5);
    h.acd.agentReady('a');
    h.acd.answered('c1', 'a');
    h.acd.callEnded('c1');
    expect(h.acd.agentView('a')?.misses).toBe(0);
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.sec(5);
    h.acd.agentReady('a');
    h.sec(5);
    expect(h.acd.agentView('a')).toMatchObject({ state: 'logged-out', reason: 'rona' });
    expect(h.acd.callView('c2')?.state).toBe('waiting');
    h.audit();
  });

  it('a rejecting agent backs off for rejectDelay, the call rings the next agent', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }] } },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 })],
      options: { rejectDelay: 12 },
    });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    expect(h.last('offer')?.agentId).toBe('a');
    h.acd.rejected('c1', 'a');
    expect(h.last('reject')).toMatchObject({ callId: 'c1', agentId: 'a' });
    expect(h.acd.agentView('a')).toMatchObject({ state: 'not-ready', reason: 'rejected' });
    expect(h.last('offer')).toMatchObject({ callId: 'c1', agentId: 'b' });
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.clock.advance(11_999);
    expect(h.acd.callView('c2')?.state).toBe('waiting');
    h.clock.advance(1);
    expect(h.acd.agentView('a')?.state).toBe('offered');
    expect(h.last('offer')).toMatchObject({ callId: 'c2', agentId: 'a' });
    h.audit();
  });

  it('the RONA timer of an old offer does not cut a new offer short', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], offerTimeout: 10 } },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 })],
      options: { rejectDelay: 0 },
    });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.sec(8);
    h.acd.rejected('c1', 'a');
    expect(h.last('offer')?.agentId).toBe('b');
    h.sec(5); // the first offer's deadline (t=10) passes
    expect(h.of('rona')).toHaveLength(0);
    h.sec(5);
    expect(h.last('rona')).toMatchObject({ agentId: 'b' });
  });
});

describe('wrap-up', () => {
  it('runs the queue wrap-up timer, then the agent is available', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], wrapUp: 30 } }, agents: [agent('a', { s: 1 })] });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.acd.answered('c1', 'a');
    h.sec(60);
    h.acd.callEnded('c1');
    expect(h.last('callEnd')).toMatchObject({ talkMs: 60_000 });
    expect(h.last('wrapupStart')).toMatchObject({ agentId: 'a', queue: 'q' });
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.clock.advance(29_999);
    expect(h.acd.callView('c2')?.state).toBe('waiting');
    h.clock.advance(1);
    expect(h.last('wrapupEnd')).toMatchObject({ by: 'timer', durationMs: 30_000, extended: false });
    expect(h.last('offer')?.callId).toBe('c2');
    h.audit();
  });

  it('may be ended early, or extended once within the limit', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], wrapUp: 30, wrapUpExtendMax: 60 } }, agents: [agent('a', { s: 1 })] });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.acd.answered('c1', 'a');
    h.acd.callEnded('c1');
    h.sec(5);
    expect(h.acd.endWrapUp('a').ok).toBe(true);
    expect(h.last('wrapupEnd')).toMatchObject({ by: 'agent', durationMs: 5000 });
    expect(h.acd.agentView('a')?.state).toBe('available');

    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.acd.answered('c2', 'a');
    h.acd.callEnded('c2');
    expect(h.acd.extendWrapUp('a', 61)).toEqual({ ok: false, error: 'extension must be 1..60 seconds' });
    expect(h.acd.extendWrapUp('a', 45).ok).toBe(true);
    expect(h.acd.extendWrapUp('a', 10)).toMatchObject({ ok: false, error: expect.stringMatching(/once/) });
    h.sec(74);
    expect(h.acd.agentView('a')?.state).toBe('wrap-up');
    h.sec(1);
    expect(h.last('wrapupEnd')).toMatchObject({ by: 'timer', extended: true, durationMs: 75_000 });
  });

  it('a not-ready asked for during the call applies after it; during wrap-up it ends wrap-up', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], wrapUp: 20 } }, agents: [agent('a', { s: 1 })] });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.acd.answered('c1', 'a');
    h.acd.agentNotReady('a', 'lunch');
    expect(h.acd.agentView('a')).toMatchObject({ state: 'on-call', pendingNotReady: 'lunch' });
    h.acd.callEnded('c1');
    h.sec(20);
    expect(h.acd.agentView('a')).toMatchObject({ state: 'not-ready', reason: 'lunch' });
    h.acd.agentReady('a');
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.acd.answered('c2', 'a');
    h.acd.callEnded('c2');
    h.acd.agentNotReady('a', 'break');
    expect(h.acd.agentView('a')).toMatchObject({ state: 'not-ready', reason: 'break' });
    expect(h.last('wrapupEnd')?.by).toBe('agent');
  });

  it('logout during a call happens when the call ends, without wrap-up', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }] } }, agents: [agent('a', { s: 1 })] });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.acd.answered('c1', 'a');
    h.acd.agentLogout('a');
    expect(h.acd.agentView('a')?.state).toBe('on-call');
    h.acd.callEnded('c1');
    expect(h.acd.agentView('a')?.state).toBe('logged-out');
    expect(h.of('wrapupStart')).toHaveLength(0);
    h.audit();
  });
});

describe('callbacks and abandon-resume', () => {
  it('a callback keeps the caller place; at the head an agent is reserved and the customer dialled', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], wrapUp: 0 } }, agents: [agent('a', { s: 1 })], login: false });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.sec(1);
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.sec(60);
    expect(h.acd.requestCallback({ callId: 'c1', number: '+15550001' }).ok).toBe(true);
    h.sec(600);
    h.acd.enqueue({ callId: 'c3', queue: 'q' });
    expect(h.acd.queueStats('q')).toMatchObject({ waiting: 3, callbacks: 1 });
    h.acd.agentLogin('a');
    expect(h.of('offer')).toHaveLength(0);
    expect(h.last('callbackDial')).toMatchObject({ callId: 'c1', agentId: 'a', number: '+15550001', attempt: 1 });
    expect(h.acd.agentView('a')?.state).toBe('offered');
    h.acd.answered('c1', 'a');
    expect(h.last('connect')).toMatchObject({ callId: 'c1', callback: true });
    h.acd.callEnded('c1');
    expect(h.last('offer')?.callId).toBe('c2');
    h.audit();
  });

  it('a failed callback retries later in the same place, then gives up', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], callback: { maxAttempts: 2, retryDelay: 60 } } },
      agents: [agent('a', { s: 1 })],
    });
    h.acd.enqueue({ callId: 'cb', queue: 'q', callback: { number: '+1555' } });
    expect(h.last('callbackDial')?.attempt).toBe(1);
    h.acd.callbackFailed('cb', 'a');
    expect(h.last('callbackDialled')).toMatchObject({ attempt: 1, outcome: 'failed', retryAt: h.clock.now() + 60_000 });
    expect(h.acd.agentView('a')?.state).toBe('available');
    h.sec(60);
    expect(h.last('callbackDial')?.attempt).toBe(2);
    h.acd.callbackFailed('cb', 'a');
    expect(h.last('exit')).toMatchObject({ callId: 'cb', reason: 'callback-failed' });
    expect(h.acd.queueStats('q')?.callbacks).toBe(0);
    h.audit();
  });

  it('a caller who abandons and calls again within the window resumes the old position', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], abandonResume: 120 } }, agents: [] });
    h.acd.enqueue({ callId: 'c1', queue: 'q', callerId: '+100' });
    h.sec(10);
    h.acd.enqueue({ callId: 'c2', queue: 'q', callerId: '+200' });
    h.sec(10);
    h.acd.abandon('c1');
    expect(h.last('abandon')).toMatchObject({ callId: 'c1', waitedMs: 20_000 });
    h.sec(60);
    const r = h.acd.enqueue({ callId: 'c1b', queue: 'q', callerId: '+100' });
    expect(r).toMatchObject({ ok: true, position: 1 });
    expect(h.last('enqueue')).toMatchObject({ resumed: true, arrivedAt: h.clock.now() - 80_000 });
    // Anonymous callers never take over someone's place.
    h.acd.enqueue({ callId: 'anon1', queue: 'q', callerId: 'anonymous' });
    h.acd.abandon('anon1');
    expect(h.acd.enqueue({ callId: 'anon2', queue: 'q', callerId: 'anonymous' })).toMatchObject({ ok: true, position: 3 });
    h.acd.cancel('anon2');
    // Outside the window the caller starts again at the back.
    h.acd.abandon('c1b');
    h.sec(121);
    expect(h.acd.enqueue({ callId: 'c1c', queue: 'q', callerId: '+100' })).toMatchObject({ ok: true, position: 2 });
  });
});

describe('position announcements and EWT', () => {
  it('announces position and EWT every period', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], announce: { period: 30 }, ahtSeconds: 120, wrapUp: 0 } },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 })],
    });
    for (let i = 1; i <= 6; i++) h.acd.enqueue({ callId: `c${i}`, queue: 'q' });
    h.acd.answered('c1', 'a');
    h.acd.answered('c2', 'b');
    // 4 waiting, 2 agents, AHT 120 s: position 4 waits ~ 4 x 120 / 2 = 240 s.
    expect(h.last('enqueue')).toMatchObject({ callId: 'c6', position: 4, ewtSeconds: 240 });
    h.clear();
    h.sec(30);
    expect(h.of('position').map((p) => [p.callId, p.position, p.ewtSeconds])).toEqual([
      ['c3', 1, 60],
      ['c4', 2, 120],
      ['c5', 3, 180],
      ['c6', 4, 240],
    ]);
    h.acd.callEnded('c1');
    expect(h.last('offer')?.callId).toBe('c3');
    h.acd.answered('c3', 'a');
    h.clear();
    h.sec(30);
    expect(h.of('position').map((p) => p.callId)).toEqual(['c4', 'c5', 'c6']);
    expect(h.of('position')[0]?.position).toBe(1);
  });

  it('EWT is null when nobody staffs the queue', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }] } }, agents: [] });
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q' })).toMatchObject({ ok: true, position: 1, ewtSeconds: null });
  });
});

describe('service level', () => {
  it('is live in queueStats and emits an event when it crosses the target', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], serviceLevel: { threshold: 20, target: 0.8, window: 600 }, wrapUp: 0 } },
      agents: [agent('a', { s: 1 })],
      login: false,
    });
    h.acd.agentLogin('a');
    h.acd.enqueue({ callId: 'fast', queue: 'q' });
    h.acd.answered('fast', 'a');
    expect(h.acd.queueStats('q')?.serviceLevelLive).toBe(1);
    h.acd.enqueue({ callId: 'slow', queue: 'q' });
    h.sec(30);
    h.acd.callEnded('fast');
    h.acd.answered('slow', 'a');
    expect(h.acd.queueStats('q')?.serviceLevelLive).toBe(0.5);
    expect(h.last('serviceLevel')).toMatchObject({ queue: 'q', breached: true, value: 0.5 });
    h.acd.callEnded('slow');
    // Short abandons do not count; long ones count against.
    h.acd.agentNotReady('a', 'break');
    h.acd.enqueue({ callId: 'short', queue: 'q' });
    h.sec(5);
    h.acd.abandon('short');
    expect(h.acd.queueStats('q')?.serviceLevelLive).toBe(0.5);
    h.sec(600);
    expect(h.acd.queueStats('q')?.serviceLevelLive).toBeNull();
  });
});

describe('bad input never throws', () => {
  it('answers wrong commands with an error', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }] } }, agents: [agent('a', { s: 1 })], login: false });
    expect(h.acd.agentLogin('nobody')).toEqual({ ok: false, error: 'unknown agent nobody' });
    expect(h.acd.agentReady('a')).toMatchObject({ ok: false, error: expect.stringMatching(/not logged in/) });
    h.acd.agentLogin('a');
    expect(h.acd.agentNotReady('a', 'nap')).toMatchObject({ ok: false, error: expect.stringMatching(/unknown aux code/) });
    expect(h.acd.enqueue({ callId: 'c1', queue: 'nope' })).toEqual({ ok: false, reason: 'invalid', error: 'unknown queue nope' });
    expect(h.acd.enqueue({ callId: '', queue: 'q' })).toEqual({ ok: false, reason: 'invalid', error: 'callId required' });
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q', priority: 1.5 })).toEqual({
      ok: false,
      reason: 'invalid',
      error: 'priority must be an integer 0..100',
    });
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q', skills: [] })).toEqual({
      ok: false,
      reason: 'invalid',
      error: 'skills, when given, must be a non-empty list',
    });
    // @ts-expect-error: untyped input from the wire
    expect(h.acd.enqueue(undefined)).toEqual({ ok: false, reason: 'invalid', error: 'callId required' });
    // @ts-expect-error: untyped input from the wire
    expect(h.acd.requestCallback(null)).toEqual({ ok: false, error: 'unknown call undefined' });
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q' }).ok).toBe(true);
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q' })).toMatchObject({ ok: false, error: expect.stringMatching(/already/) });
    expect(h.acd.answered('c1', 'b')).toEqual({ ok: false, error: 'unknown agent b' });
    expect(h.acd.answered('zz', 'a')).toEqual({ ok: false, error: 'unknown call zz' });
    expect(h.acd.callEnded('zz')).toEqual({ ok: false, error: 'unknown call zz' });
    expect(h.acd.endWrapUp('a')).toEqual({ ok: false, error: 'agent a is not in wrap-up' });
    expect(h.acd.extendWrapUp('a', 10)).toEqual({ ok: false, error: 'agent a is not in wrap-up' });
    expect(h.acd.callbackFailed('c1', 'a')).toEqual({ ok: false, error: 'unknown callback c1' });
    h.acd.answered('c1', 'a');
    expect(h.acd.abandon('c1')).toMatchObject({ ok: false, error: expect.stringMatching(/callEnded/) });
    expect(h.acd.rejected('c1', 'a')).toEqual({ ok: false, error: 'call c1 is not ringing agent a' });
    h.acd.callEnded('c1');
    expect(h.acd.extendWrapUp('a', Number.NaN)).toEqual({ ok: false, error: 'extension must be 1..120 seconds' });
    h.audit();
  });

  it('survives a throwing listener and a listener that calls back into the engine', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], wrapUp: 0 } }, agents: [agent('a', { s: 1 })] });
    h.acd.on('event', () => {
      throw new Error('listener bug');
    });
    // Call control that answers as soon as it is told to ring.
    h.acd.on('event', (e) => {
      if (e.type === 'offer') h.acd.answered(e.callId, e.agentId);
    });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    expect(h.acd.callView('c1')?.state).toBe('connected');
    expect(h.events.map((e) => e.type)).toEqual(['agentState', 'enqueue', 'agentState', 'offer', 'agentState', 'connect']);
    h.audit();
  });
});
