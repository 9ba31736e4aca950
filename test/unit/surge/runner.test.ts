import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { FloorConfigSchema } from '../../../server/alerts/rules.ts';
import { planLevel, type FloorAgent, type SurgeAction } from '../../../server/surge/plan.ts';
import { SurgeRunner, type SurgeRecord } from '../../../server/surge/runner.ts';

const ids = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i + 1}`);
const floor = FloorConfigSchema.parse({
  groups: { support: ids(10, 's'), billing: ids(3, 'b') },
  standby: ['x1', 'x2'],
  surge: {
    sales: {
      queue: 'sales',
      level1: { skills: { sales: 4 } },
      level2: { groups: ['support', 'billing'], share: 0.3, level: 3 },
      level3: { flows: ['main'] },
    },
  },
});

function agents(): Map<string, FloorAgent> {
  const m = new Map<string, FloorAgent>();
  for (const id of [...ids(10, 's'), ...ids(3, 'b')]) m.set(id, { id, loggedIn: true, skills: { support: 5 } });
  m.set('s2', { id: 's2', loggedIn: false, skills: { support: 5 } }); // logged out: not lent
  m.set('s3', { id: 's3', loggedIn: true, skills: { support: 5, sales: 2 } }); // has the skill already
  m.set('x1', { id: 'x1', loggedIn: false, skills: { support: 1 } });
  m.set('x2', { id: 'x2', loggedIn: true, skills: {} }); // already in: not ours to log in
  return m;
}

describe('planLevel', () => {
  it('level 2 lends at most floor(share × group size) of each group: 3 of 10, 0 of 3', () => {
    const a = planLevel(floor.surge.sales!, 2, { floor, agents: agents(), queueSkill: 'sales', taken: new Set() });
    // s1, (s2 logged out, s3 has sales), s4, s5 → 3 of support; billing: floor(0.9) = 0.
    expect(a.map((x) => (x as { agent: string }).agent)).toEqual(['s1', 's4', 's5']);
    expect(a[0]).toEqual({
      kind: 'lend',
      agent: 's1',
      group: 'support',
      skill: 'sales',
      skills: { support: 5, sales: 3 },
      restoreSkills: { support: 5 },
    });
  });
  it('counts agents already taken against the share', () => {
    const a = planLevel(floor.surge.sales!, 2, { floor, agents: agents(), queueSkill: 'sales', taken: new Set(['s9', 's10']) });
    expect(a.map((x) => (x as { agent: string }).agent)).toEqual(['s1']);
  });
  it('level 1 logs in the logged-out standby agents with the plan skills added; level 3 diverts', () => {
    expect(planLevel(floor.surge.sales!, 1, { floor, agents: agents(), queueSkill: 'sales', taken: new Set() })).toEqual([
      { kind: 'login', agent: 'x1', skills: { support: 1, sales: 4 }, restoreSkills: { support: 1 } },
    ]);
    expect(planLevel(floor.surge.sales!, 3, { floor, agents: agents(), queueSkill: 'sales', taken: new Set() })).toEqual([
      { kind: 'divert', flow: 'main' },
    ]);
  });
});

describe('SurgeRunner', () => {
  it('walks up and down, reversing last first; manual overrides the alerts until auto', () => {
    const clock = new FakeClock();
    const applied: string[] = [];
    const records: SurgeRecord[] = [];
    const ports = {
      agents: agents,
      queueSkill: () => 'sales',
      apply: (a: SurgeAction, reverse: boolean) => {
        applied.push(`${reverse ? 'undo ' : ''}${a.kind}:${a.kind === 'divert' ? a.flow : a.agent}`);
        return { ok: true as const };
      },
    };
    const r = new SurgeRunner(clock, floor, ports, (x) => records.push(x));
    r.alertLevel('sales', 2, 'alert sl orange');
    expect(applied).toEqual(['login:x1', 'lend:s1', 'lend:s4', 'lend:s5']);
    expect(r.status()[0]).toMatchObject({ level: 2, by: 'system', why: 'alert sl orange' });
    expect(r.taken()).toEqual(new Set(['x1', 's1', 's4', 's5']));
    applied.length = 0;
    expect(r.manual('sales', 3, '9001', 'by hand')!.map((x) => x.description)).toEqual(['divert IVR flow main']);
    expect(r.diverted()).toEqual(new Set(['main']));
    r.alertLevel('sales', 0, 'alert cleared'); // manual holds
    expect(r.status()[0]).toMatchObject({ level: 3, manual: 3, alertLevel: 0 });
    r.manual('sales', null, '9001', 'back to auto');
    expect(applied).toEqual(['divert:main', 'undo divert:main', 'undo lend:s5', 'undo lend:s4', 'undo lend:s1', 'undo login:x1']);
    expect(records.filter((x) => x.reversed).every((x) => x.by === '9001' && x.why === 'back to auto')).toBe(true);
    expect(r.status()[0]).toMatchObject({ level: 0, actions: [] });
  });
});
