import { describe, expect, it } from 'vitest';
import { agent, harness } from './helpers.ts';

describe('caller selection', () => {
  it('serves callers FIFO within equal priority, higher caller priority first', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], wrapUp: 0 } }, agents: [agent('a1', { s: 1 })], login: false });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.sec(1);
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.sec(1);
    h.acd.enqueue({ callId: 'c3', queue: 'q', priority: 5 });
    h.sec(1);
    h.acd.enqueue({ callId: 'c4', queue: 'q' });
    expect(h.acd.callView('c4')?.position).toBe(4);
    expect(h.acd.callView('c3')?.position).toBe(1);
    h.acd.agentLogin('a1');
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const o = h.last('offer')!;
      order.push(o.callId);
      h.acd.answered(o.callId, 'a1');
      h.acd.callEnded(o.callId);
      h.audit();
    }
    expect(order).toEqual(['c3', 'c1', 'c2', 'c4']);
  });

  it('picks across the queues an agent serves: queue priority, then caller priority, then arrival', () => {
    const h = harness({
      queues: {
        low: { skills: [{ skill: 'a' }], priority: 0, wrapUp: 0 },
        high: { skills: [{ skill: 'b' }], priority: 10, wrapUp: 0 },
        low2: { skills: [{ skill: 'c' }], priority: 0, wrapUp: 0 },
      },
      agents: [agent('x', { a: 1, b: 1, c: 1 })],
      login: false,
    });
    h.acd.enqueue({ callId: 'l1', queue: 'low' });
    h.sec(1);
    h.acd.enqueue({ callId: 'c1', queue: 'low2', priority: 3 });
    h.sec(1);
    h.acd.enqueue({ callId: 'h1', queue: 'high' });
    h.sec(1);
    h.acd.enqueue({ callId: 'l2', queue: 'low' });
    h.acd.agentLogin('x');
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const o = h.last('offer')!;
      order.push(o.callId);
      h.acd.answered(o.callId, 'x');
      h.acd.callEnded(o.callId);
    }
    expect(order).toEqual(['h1', 'c1', 'l1', 'l2']);
    h.audit();
  });

  it('does not offer a call to an agent below the minimum level or without the skill', () => {
    const h = harness({
      queues: {
        q: {
          skills: [
            { skill: 'es', minLevel: 5 },
            { skill: 'billing', minLevel: 2 },
          ],
        },
      },
      agents: [agent('low', { es: 4, billing: 9 }), agent('noBilling', { es: 9 }), agent('ok', { es: 5, billing: 2 })],
    });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    expect(h.of('offer').map((o) => o.agentId)).toEqual(['ok']);
    h.audit();
  });

  it('per-call skills replace the queue requirements', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 'en' }] } }, agents: [agent('en', { en: 5 }), agent('fr', { fr: 5 })] });
    h.acd.enqueue({ callId: 'c1', queue: 'q', skills: [{ skill: 'fr', minLevel: 3 }] });
    expect(h.last('offer')?.agentId).toBe('fr');
  });
});

describe('agent selection strategies', () => {
  it('longest idle by default', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], wrapUp: 0 } },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 }), agent('c', { s: 1 })],
      login: false,
    });
    h.acd.agentLogin('b');
    h.sec(1);
    h.acd.agentLogin('c');
    h.sec(1);
    h.acd.agentLogin('a');
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    expect(h.last('offer')?.agentId).toBe('b');
    h.acd.answered('c1', 'b');
    h.acd.callEnded('c1'); // b is idle again, newest
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    expect(h.last('offer')?.agentId).toBe('c');
    h.audit();
  });

  it('highest skill level, ties to longest idle', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's', minLevel: 2 }], strategy: 'highest-skill' } },
      agents: [agent('lvl9late', { s: 9 }), agent('lvl9early', { s: 9 }), agent('lvl10', { s: 10 }), agent('lvl3', { s: 3 })],
      login: false,
    });
    for (const id of ['lvl3', 'lvl9early', 'lvl9late', 'lvl10']) {
      h.acd.agentLogin(id);
      h.sec(1);
    }
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.acd.enqueue({ callId: 'c3', queue: 'q' });
    h.acd.enqueue({ callId: 'c4', queue: 'q' });
    expect(h.of('offer').map((o) => o.agentId)).toEqual(['lvl10', 'lvl9early', 'lvl9late', 'lvl3']);
  });

  it('least occupied today', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], strategy: 'least-occupied', wrapUp: 0 } },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 })],
    });
    // a takes a long call, b a short one; both idle afterwards, a idle longer.
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    expect(h.last('offer')?.agentId).toBe('a');
    h.acd.answered('c1', 'a');
    h.acd.enqueue({ callId: 'c2', queue: 'q' });
    h.acd.answered('c2', 'b');
    h.sec(10);
    h.acd.callEnded('c2');
    h.sec(290);
    h.acd.callEnded('c1');
    h.sec(10);
    h.acd.enqueue({ callId: 'c3', queue: 'q' });
    expect(h.last('offer')?.agentId).toBe('b');
  });

  it('round robin continues after the last agent offered', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], strategy: 'round-robin', wrapUp: 0 } },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 }), agent('c', { s: 1 })],
    });
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      h.acd.enqueue({ callId: `c${i}`, queue: 'q' });
      const o = h.last('offer')!;
      got.push(o.agentId);
      h.acd.answered(o.callId, o.agentId);
      h.acd.callEnded(o.callId);
    }
    expect(got).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('ring-all rings every eligible agent; the first answer wins and the others are released', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], strategy: 'ring-all' } },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 }), agent('c', { s: 1 }), agent('x', { t: 1 })],
    });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    expect(
      h
        .of('offer')
        .map((o) => o.agentId)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    expect(h.of('offer').every((o) => o.ringAll)).toBe(true);
    expect(h.acd.answered('c1', 'b').ok).toBe(true);
    expect(h.acd.answered('c1', 'a')).toEqual({ ok: false, error: 'call c1 is not ringing agent a' });
    expect(
      h
        .of('offerCancelled')
        .map((o) => [o.agentId, o.reason])
        .sort(),
    ).toEqual([
      ['a', 'answered-elsewhere'],
      ['c', 'answered-elsewhere'],
    ]);
    expect(h.acd.agentView('a')?.state).toBe('available');
    expect(h.acd.agentView('b')?.state).toBe('on-call');
    h.audit();
  });

  it('ring-all rings again after the timeout without marking anyone missed', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], strategy: 'ring-all', offerTimeout: 10 } },
      agents: [agent('a', { s: 1 }), agent('b', { s: 1 })],
    });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.clear();
    h.sec(10);
    // One unpenalised ring-no-answer per agent (every() alone would pass with none).
    expect(
      h
        .of('rona')
        .map((r) => [r.agentId, r.penalised])
        .sort(),
    ).toEqual([
      ['a', false],
      ['b', false],
    ]);
    expect(h.of('offer').length).toBe(2);
    expect(h.acd.agentView('a')?.state).toBe('offered');
    h.audit();
  });
});

describe('escalation', () => {
  it('relaxes the minimum level at the configured second, not before', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's', minLevel: 8 }], escalation: [{ after: 30, relaxMinLevel: 3 }] } },
      agents: [agent('junior', { s: 4 })],
    });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.clock.advance(29_999);
    expect(h.of('offer')).toHaveLength(0);
    h.clock.advance(1);
    expect(h.last('escalate')).toMatchObject({ callId: 'c1', queue: 'q', step: 0 });
    expect(h.last('escalate')!.at - h.last('enqueue')!.at).toBe(30_000);
    expect(h.last('offer')).toMatchObject({ callId: 'c1', agentId: 'junior', waitedMs: 30_000 });
    h.audit();
  });

  it('adds alternative skills', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 'es' }], escalation: [{ after: 20, addSkills: [{ skill: 'en', minLevel: 5 }] }] } },
      agents: [agent('en3', { en: 3 }), agent('en7', { en: 7 })],
    });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.sec(20);
    expect(h.last('offer')?.agentId).toBe('en7');
  });

  it('overflows to another queue keeping the original arrival time', () => {
    const h = harness({
      queues: {
        sales: { skills: [{ skill: 'sales' }], escalation: [{ after: 60, overflowTo: 'general' }] },
        general: { skills: [{ skill: 'gen' }] },
      },
      agents: [agent('g', { gen: 1 })],
      login: false,
    });
    h.acd.enqueue({ callId: 'old', queue: 'sales' });
    h.sec(30);
    h.acd.enqueue({ callId: 'g1', queue: 'general' });
    h.sec(30);
    expect(h.last('escalate')).toMatchObject({ callId: 'old', overflowTo: 'general' });
    // 'old' arrived before g1, so it is now ahead of it in the overflow queue.
    expect(h.acd.callView('old')).toMatchObject({ queue: 'general', position: 1 });
    expect(h.acd.callView('g1')?.position).toBe(2);
    h.acd.agentLogin('g');
    expect(h.last('offer')).toMatchObject({ callId: 'old', queue: 'general', waitedMs: 60_000 });
    h.audit();
  });

  it('does not overflow in a loop', () => {
    const h = harness({
      queues: {
        a: { skills: [{ skill: 'x' }], escalation: [{ after: 10, overflowTo: 'b' }] },
        b: { skills: [{ skill: 'y' }], escalation: [{ after: 20, overflowTo: 'a' }] },
      },
      agents: [],
    });
    h.acd.enqueue({ callId: 'c1', queue: 'a' });
    h.sec(100);
    expect(h.of('escalate').map((e) => e.overflowTo)).toEqual(['b', undefined]);
    expect(h.acd.callView('c1')?.queue).toBe('b');
    h.audit();
  });
});

describe('queue limits', () => {
  it('refuses callers beyond maxLength with exit full', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], maxLength: 2 } }, agents: [] });
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q' }).ok).toBe(true);
    expect(h.acd.enqueue({ callId: 'c2', queue: 'q' }).ok).toBe(true);
    expect(h.acd.enqueue({ callId: 'c3', queue: 'q' })).toMatchObject({ ok: false, reason: 'full' });
    expect(h.last('exit')).toMatchObject({ callId: 'c3', reason: 'full' });
  });

  it('sends callers out at maxWait with exit timeout', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }], maxWait: 90 } }, agents: [] });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.clock.advance(89_999);
    expect(h.of('exit')).toHaveLength(0);
    h.clock.advance(1);
    expect(h.last('exit')).toMatchObject({ callId: 'c1', reason: 'timeout', waitedMs: 90_000 });
    expect(h.acd.callView('c1')).toBeUndefined();
  });

  it('join-when-empty and leave-when-empty', () => {
    const h = harness({
      queues: { q: { skills: [{ skill: 's' }], joinWhenEmpty: 'logged-in', leaveWhenEmpty: 'staffed', wrapUp: 0 } },
      agents: [agent('a', { s: 1 })],
      login: false,
    });
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q' })).toMatchObject({ ok: false, reason: 'no-agents' });
    h.acd.agentLogin('a', { ready: false });
    expect(h.acd.enqueue({ callId: 'c2', queue: 'q' }).ok).toBe(true);
    h.acd.agentReady('a');
    h.acd.enqueue({ callId: 'c3', queue: 'q' });
    h.acd.answered('c2', 'a');
    expect(h.acd.callView('c3')?.state).toBe('waiting');
    h.acd.callEnded('c2');
    expect(h.last('offer')?.callId).toBe('c3');
    // The only agent asks for a break while c3 rings her and then declines it: nobody staffs q now.
    h.acd.agentNotReady('a', 'break');
    expect(h.acd.rejected('c3', 'a').ok).toBe(true);
    expect(h.acd.agentView('a')).toMatchObject({ state: 'not-ready', reason: 'break' });
    expect(h.last('exit')).toMatchObject({ callId: 'c3', reason: 'no-agents' });
    h.audit();
  });

  it('a closed queue refuses new callers', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }] } }, agents: [] });
    h.acd.setQueueOpen('q', false);
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q' })).toMatchObject({ ok: false, reason: 'closed' });
    h.acd.setQueueOpen('q', true);
    expect(h.acd.enqueue({ callId: 'c1', queue: 'q' }).ok).toBe(true);
  });
});

describe('overflow and max wait', () => {
  it('the overflow queue applies its own maxWait from the moment the call joins it', () => {
    const h = harness({
      queues: {
        first: { skills: [{ skill: 'x' }], maxWait: 100, escalation: [{ after: 60, overflowTo: 'second' }] },
        second: { skills: [{ skill: 'y' }], maxWait: 200 },
      },
      agents: [],
    });
    h.acd.enqueue({ callId: 'c1', queue: 'first' });
    h.sec(60);
    expect(h.acd.callView('c1')?.queue).toBe('second');
    h.sec(199);
    expect(h.of('exit')).toHaveLength(0);
    h.sec(1);
    expect(h.last('exit')).toMatchObject({ callId: 'c1', queue: 'second', reason: 'timeout', waitedMs: 260_000 });
  });
});
