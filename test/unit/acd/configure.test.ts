import { describe, expect, it } from 'vitest';
import { agent, harness, queue } from './helpers.ts';

describe('reconfiguration and skill changes', () => {
  it('a supervisor borrows an agent into another skill group: she takes the waiting call at once', () => {
    const h = harness({
      queues: { sales: { skills: [{ skill: 'sales' }] }, support: { skills: [{ skill: 'support', minLevel: 3 }] } },
      agents: [agent('s1', { sales: 5 }), agent('p1', { support: 5 })],
    });
    h.acd.enqueue({ callId: 'p1call', queue: 'support' });
    h.acd.enqueue({ callId: 'waiting', queue: 'support' });
    expect(h.acd.queueStats('support')).toMatchObject({ waiting: 1, agentsStaffed: 1 });
    expect(h.acd.setAgentSkills('s1', { sales: 5, support: 2 }).ok).toBe(true);
    expect(h.acd.callView('waiting')?.state).toBe('waiting'); // level 2 < 3
    expect(h.acd.setAgentSkills('s1', { sales: 5, support: 3 }).ok).toBe(true);
    expect(h.last('offer')).toMatchObject({ callId: 'waiting', agentId: 's1' });
    expect(h.acd.queueStats('support')?.agentsStaffed).toBe(2);
    expect(h.acd.setAgentSkills('s1', { sales: 11 })).toEqual({ ok: false, error: 'skill "sales": level must be an integer 1..10' });
    expect(h.acd.setAgentSkills('ghost', {})).toEqual({ ok: false, error: 'unknown agent ghost' });
    h.audit();
  });

  it('reload: new queue and agent, changed requirements re-sort waiting callers, removed queue closes', () => {
    const h = harness({
      queues: { a: { skills: [{ skill: 'x', minLevel: 8 }] }, gone: { skills: [{ skill: 'x' }] } },
      agents: [agent('busy', { y: 1 }), agent('x5', { x: 5 })],
    });
    h.acd.enqueue({ callId: 'c1', queue: 'a' });
    h.acd.agentLogout('x5');
    h.acd.enqueue({ callId: 'g1', queue: 'gone' });
    expect(h.acd.callView('c1')?.state).toBe('waiting');
    const r = h.acd.configure({
      queues: { a: queue({ skills: [{ skill: 'x', minLevel: 5 }] }), fresh: queue({ skills: [{ skill: 'z' }] }) },
      agents: [agent('busy', { y: 1 }), agent('x5', { x: 5 }), agent('new', { z: 1 })],
    });
    expect(r.ok).toBe(true);
    expect(h.last('exit')).toMatchObject({ callId: 'g1', queue: 'gone', reason: 'closed' });
    expect(h.acd.enqueue({ callId: 'g2', queue: 'gone' })).toEqual({ ok: false, reason: 'invalid', error: 'unknown queue gone' });
    h.acd.agentLogin('x5');
    expect(h.last('offer')).toMatchObject({ callId: 'c1', agentId: 'x5' });
    h.acd.agentLogin('new');
    h.acd.enqueue({ callId: 'f1', queue: 'fresh' });
    expect(h.last('offer')).toMatchObject({ callId: 'f1', agentId: 'new' });
    h.audit();
  });

  it('a removed agent on a call is logged out when it ends and may not log in again', () => {
    const h = harness({ queues: { q: { skills: [{ skill: 's' }] } }, agents: [agent('a', { s: 1 }), agent('b', { s: 1 })] });
    h.acd.enqueue({ callId: 'c1', queue: 'q' });
    h.acd.answered('c1', 'a');
    h.acd.configure({ agents: [agent('b', { s: 1 })] });
    expect(h.acd.agentView('a')).toMatchObject({ state: 'on-call', pendingLogout: true });
    h.acd.callEnded('c1');
    expect(h.acd.agentView('a')?.state).toBe('logged-out');
    expect(h.acd.agentLogin('a')).toEqual({ ok: false, error: 'unknown agent a' });
    h.audit();
  });
});
