import { describe, expect, it } from 'vitest';
import { AcdSupervisor } from '../../../server/acd/supervisor.ts';
import { agent, harness } from './helpers.ts';

const q = (skill: string) => ({ skills: [{ skill, minLevel: 1 }], serviceLevel: { threshold: 20, target: 0.8 } });

describe('AcdSupervisor', () => {
  it('priority and head-of-queue re-sort waiting calls; a move is an overflow that rings the other queue', () => {
    const h = harness({
      queues: { sales: q('sales'), support: q('support') },
      agents: [agent('1', { sales: 5 }), agent('2', { support: 5 })],
      login: false,
    });
    const sup = new AcdSupervisor(h.acd);
    for (const id of ['a', 'b', 'c']) {
      expect(h.acd.enqueue({ callId: id, queue: 'sales' }).ok).toBe(true);
      h.sec(1);
    }
    const pos = () => ['a', 'b', 'c'].map((id) => h.acd.callView(id)?.position);
    expect(pos()).toEqual([1, 2, 3]);
    expect(sup.setPriority('b', 5)).toEqual({ ok: true });
    expect(pos()).toEqual([2, 1, 3]);
    expect(sup.toHead('c')).toEqual({ ok: true });
    expect(h.acd.callView('c')?.priority).toBe(6);
    expect(pos()).toEqual([3, 2, 1]);
    expect(sup.setPriority('a', 101).ok).toBe(false);
    expect(sup.moveToQueue('a', 'nowhere')).toEqual({ ok: false, error: 'unknown queue nowhere' });
    h.acd.agentLogin('2');
    h.clear();
    expect(sup.moveToQueue('a', 'support')).toEqual({ ok: true });
    expect(h.of('escalate')).toEqual([expect.objectContaining({ callId: 'a', queue: 'sales', overflowTo: 'support' })]);
    expect(h.of('offer')).toEqual([expect.objectContaining({ callId: 'a', agentId: '2', queue: 'support' })]);
    expect(sup.moveToQueue('a', 'sales').ok).toBe(false); // ringing, not waiting
    h.audit();
  });
});
