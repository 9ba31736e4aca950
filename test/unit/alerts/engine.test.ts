import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { AlertEngine } from '../../../server/alerts/engine.ts';
import { AlertRuleSchema, checkFloor, FloorConfigSchema } from '../../../server/alerts/rules.ts';

const slRule = AlertRuleSchema.parse({
  name: 'sl',
  metric: 'serviceLevel',
  scope: { queue: 'sales' },
  levels: { yellow: 0.85, orange: 0.8, red: 0.7 },
  hysteresis: 0.05,
  minDurationSec: 30,
  surge: 'sales',
});
const waitRule = AlertRuleSchema.parse({ name: 'w', metric: 'waiting', levels: { yellow: 5, red: 10 }, hysteresis: 2, minDurationSec: 0 });

describe('AlertEngine', () => {
  it('raises a level only after it held for minDurationSec without a break', () => {
    const clock = new FakeClock();
    const e = new AlertEngine(clock, [slRule]);
    expect(e.sample('sl', 0.84)).toBeUndefined(); // t=0: yellow reached, run starts
    clock.advance(20_000);
    expect(e.sample('sl', 0.9)).toBeUndefined(); // t=20: run broken
    clock.advance(10_000);
    expect(e.sample('sl', 0.84)).toBeUndefined(); // t=30: a new run starts
    clock.advance(29_000);
    expect(e.sample('sl', 0.83)).toBeUndefined(); // t=59: held 29 s
    clock.advance(1_000);
    const c = e.sample('sl', 0.83); // t=60: held 30 s
    expect(c).toMatchObject({
      kind: 'raised',
      level: 'yellow',
      previous: null,
      threshold: 0.85,
      value: 0.83,
      surge: 'sales',
      scope: 'queue:sales',
    });
    expect(e.active()).toEqual([expect.objectContaining({ rule: 'sl', level: 'yellow', since: clock.now() })]);
  });

  it('jumps to the most severe level that held, and steps down through hysteresis', () => {
    const clock = new FakeClock();
    const e = new AlertEngine(clock, [slRule]);
    e.sample('sl', 0.6); // reaches yellow, orange and red at t=0
    clock.advance(30_000);
    expect(e.sample('sl', 0.65)).toMatchObject({ kind: 'raised', level: 'red', previous: null });
    // 0.74 is above red's 0.70 but within the hysteresis (0.75): red stays.
    clock.advance(5_000);
    expect(e.sample('sl', 0.74)).toBeUndefined();
    clock.advance(60_000);
    expect(e.sample('sl', 0.74)).toBeUndefined();
    // 0.78 is calm of red (> 0.75); after 30 s calm it lands on orange (0.78 <= 0.80 + 0.05).
    expect(e.sample('sl', 0.78)).toBeUndefined();
    clock.advance(30_000);
    expect(e.sample('sl', 0.78)).toMatchObject({ kind: 'cleared', level: 'orange', previous: 'red', threshold: 0.7 });
    // 0.95 is calm of everything: after 30 s the alert clears to none.
    e.sample('sl', 0.95);
    clock.advance(29_999);
    expect(e.sample('sl', 0.95)).toBeUndefined();
    clock.advance(1);
    expect(e.sample('sl', 0.95)).toMatchObject({ kind: 'cleared', level: null, previous: 'orange' });
    expect(e.active()).toEqual([]);
  });

  it('high-is-bad metrics: raise at or above, clear below threshold − hysteresis; undefined breaks runs', () => {
    const clock = new FakeClock();
    const e = new AlertEngine(clock, [waitRule]);
    expect(e.sample('w', 4)).toBeUndefined();
    expect(e.sample('w', 5)).toMatchObject({ kind: 'raised', level: 'yellow' });
    expect(e.sample('w', 10)).toMatchObject({ kind: 'raised', level: 'red', previous: 'yellow' });
    expect(e.sample('w', 9)).toBeUndefined(); // 9 > 10 − 2
    expect(e.sample('w', 7)).toMatchObject({ kind: 'cleared', level: 'yellow', previous: 'red' }); // 7 < 8; 7 >= 5 − 2
    expect(e.sample('w', undefined)).toBeUndefined();
    expect(e.sample('w', 2)).toMatchObject({ kind: 'cleared', level: null, previous: 'yellow' });
  });

  it('a rule removed by a reload clears its alert', () => {
    const clock = new FakeClock();
    const e = new AlertEngine(clock, [waitRule]);
    e.sample('w', 12);
    expect(e.configure([])).toEqual([expect.objectContaining({ kind: 'cleared', rule: 'w', level: null, previous: 'red' })]);
  });
});

describe('floor config', () => {
  it('refuses levels in the wrong order, with the path of the offending level', () => {
    const r = AlertRuleSchema.safeParse({ name: 'x', metric: 'serviceLevel', levels: { yellow: 0.8, orange: 0.85 } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['levels', 'orange'] });
  });
  it('checks names against the config, with positions', () => {
    const f = FloorConfigSchema.parse({
      groups: { g: ['1001', 'nobody'] },
      alerts: [{ name: 'a', metric: 'volume', scope: 'centre', levels: { yellow: 0.3 }, surge: 'missing' }],
      surge: { s: { queue: 'nope', level2: { groups: ['h'] }, level3: { flows: ['main', 'x'] } } },
    });
    const p = checkFloor(f, { queues: new Set(['sales']), agents: new Set(['1001']), flows: new Set(['main']), skillGroups: new Set() });
    expect(p.map((x) => x.path.join('.'))).toEqual([
      'groups.g.1',
      'alerts.0.surge',
      'alerts.0.scope',
      'surge.s.queue',
      'surge.s.level2.groups.0',
      'surge.s.level3.flows.1',
    ]);
  });
});
