import { describe, expect, it } from 'vitest';
import { Floor, type FloorEventOut } from '../../../server/alerts/floor.ts';
import { FloorConfigSchema } from '../../../server/alerts/rules.ts';
import { agent, harness } from '../acd/helpers.ts';

const q = (skill: string) => ({ skills: [{ skill, minLevel: 1 }], serviceLevel: { threshold: 20, target: 0.8 } });

describe('Floor (real ACD, fake clock)', () => {
  it('waiting callers raise the alert, the plan logs in standby and lends a helper, then all is reversed', () => {
    const agents = [agent('a', { sales: 5 }), agent('h1', { support: 5 }), agent('h2', { support: 5 }), agent('sb', { support: 1 })];
    const h = harness({ queues: { sales: q('sales'), support: q('support') }, agents, login: false });
    h.acd.agentLogin('a');
    h.acd.agentLogin('h1');
    h.acd.agentLogin('h2');
    const floor = FloorConfigSchema.parse({
      sampleSec: 1,
      groups: { helpers: ['h1', 'h2'] },
      standby: ['sb'],
      alerts: [
        { name: 'w', metric: 'waiting', scope: { queue: 'sales' }, levels: { yellow: 1, orange: 3 }, minDurationSec: 2, surge: 's' },
      ],
      surge: { s: { queue: 'sales', level1: { skills: { sales: 2 } }, level2: { groups: ['helpers'], share: 0.5, level: 4 } } },
    });
    const log: FloorEventOut[] = [];
    const sunk: string[] = [];
    const f = new Floor({
      clock: h.clock,
      acd: h.acd,
      config: () => ({ floor, queues: { sales: q('sales'), support: q('support') }, agents }),
      log: (e) => log.push(e),
      sinks: [{ alert: (c) => sunk.push(`${c.kind}:${c.level}`) }],
    });
    // Five callers: 'a' takes one, four wait.
    for (let i = 0; i < 5; i++) h.acd.enqueue({ callId: `c${i}`, queue: 'sales' });
    expect(h.acd.queueStats('sales')!.waiting).toBe(4);
    h.sec(1); // first sample: yellow and orange runs start
    expect(sunk).toEqual([]);
    h.sec(2); // held 2 s: orange at once (the most severe level held)
    expect(sunk).toEqual(['raised:orange']);
    // Level 1 logged sb in with sales 2 (it took a call), level 2 lent h1 (half of 2 helpers).
    expect(log.filter((e) => e.type === 'surge.action').map((e) => e.detail!.description)).toEqual([
      'log in standby agent sb with support, sales',
      'lend agent h1 of helpers the skill sales',
    ]);
    expect(h.acd.agentView('sb')?.state).toBe('offered');
    expect(h.acd.agentView('h1')?.state).toBe('offered');
    expect(h.acd.agentView('h2')?.state).toBe('available');
    expect(h.acd.queueStats('sales')!.waiting).toBe(2);
    // The waiting callers hang up: orange clears to none after 2 s calm; everything is reversed.
    h.acd.abandon('c3');
    h.acd.abandon('c4');
    h.sec(1);
    h.sec(2);
    expect(sunk).toEqual(['raised:orange', 'cleared:null']);
    expect(log.filter((e) => e.type === 'surge.reversed').map((e) => e.detail!.description)).toEqual([
      'lend agent h1 of helpers the skill sales',
      'log in standby agent sb with support, sales',
    ]);
    expect(f.surge.status()[0]).toMatchObject({ level: 0, actions: [] });
    // sb was ringing: the logout waits for the call to be done (the ACD's rule); h1 keeps ringing.
    expect(h.acd.agentView('sb')?.pendingLogout || h.acd.agentView('sb')?.state === 'logged-out').toBe(true);
    expect(log.map((e) => e.type)).toEqual(expect.arrayContaining(['alert.raised', 'surge.action', 'alert.cleared', 'surge.reversed']));
    f.stop();
    h.audit();
  });

  it("the ACD's serviceLevel breach triggers a sample and is logged", () => {
    const agents = [agent('a', { sales: 5 })];
    const h = harness({ queues: { sales: q('sales') }, agents });
    const floor = FloorConfigSchema.parse({ sampleSec: 60 });
    const log: FloorEventOut[] = [];
    const f = new Floor({
      clock: h.clock,
      acd: h.acd,
      config: () => ({ floor, queues: { sales: q('sales') }, agents }),
      log: (e) => log.push(e),
    });
    h.acd.emit('event', { type: 'serviceLevel', at: h.clock.now(), queue: 'sales', value: 0.5, target: 0.8, breached: true });
    expect(log).toEqual([
      expect.objectContaining({ type: 'acd.service-level', target: 'sales', detail: { value: 0.5, target: 0.8, breached: true } }),
    ]);
    f.stop();
  });

  it("a lent skill survives a config reload, and lending keeps the agent's own skill (transfers to that agent)", () => {
    const own = (a: { id: string; skills: Readonly<Record<string, number>> }) => ({ ...a.skills, [`@agent:${a.id}`]: 1 });
    const agents = [agent('a', { sales: 5 }), agent('h1', { support: 5 })];
    const inAcd = agents.map((a) => ({ ...a, skills: own(a) }));
    const queues = { sales: q('sales'), support: q('support'), direct: q('@agent:h1') };
    const h = harness({ queues, agents: inAcd });
    const floor = FloorConfigSchema.parse({
      groups: { helpers: ['h1'] },
      surge: { s: { queue: 'sales', level2: { groups: ['helpers'], share: 1, level: 4 } } },
    });
    const f = new Floor({ clock: h.clock, acd: h.acd, config: () => ({ floor, queues, agents }), acdSkills: own, log: () => undefined });
    h.acd.agentNotReady('a', 'break');
    f.surge.manual('s', 2, 'sup', 'test');
    // A reload (the centre hands the ACD the new config's agents through withSurgeSkills).
    expect(h.acd.configure({ agents: f.withSurgeSkills(inAcd) }).ok).toBe(true);
    h.acd.enqueue({ callId: 'sales-call', queue: 'sales' });
    expect(h.offersFor('sales-call')).toEqual(['h1']);
    h.acd.abandon('sales-call');
    // Lent, h1 still has its own skill: a transfer to h1 reaches h1.
    h.acd.enqueue({ callId: 'to-h1', queue: 'direct' });
    expect(h.offersFor('to-h1')).toEqual(['h1']);
    h.acd.abandon('to-h1');
    // Standing down takes back only the lent skill.
    f.surge.manual('s', 0, 'sup', 'test');
    h.acd.enqueue({ callId: 'sales-2', queue: 'sales' });
    expect(h.offersFor('sales-2')).toEqual([]);
    h.acd.enqueue({ callId: 'to-h1-2', queue: 'direct' });
    expect(h.offersFor('to-h1-2')).toEqual(['h1']);
    f.stop();
  });
});
