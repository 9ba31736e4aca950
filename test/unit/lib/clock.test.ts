import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';

describe('FakeClock', () => {
  it('fires timers in due order, including ones scheduled while advancing', () => {
    const c = new FakeClock(0);
    const fired: string[] = [];
    c.setTimeout(() => fired.push('b@20'), 20);
    c.setTimeout(() => {
      fired.push('a@10');
      c.setTimeout(() => fired.push('c@15'), 5);
    }, 10);
    const d = c.setTimeout(() => fired.push('never'), 15);
    c.clearTimeout(d);
    c.advance(19);
    expect(fired).toEqual(['a@10', 'c@15']);
    expect(c.now()).toBe(19);
    c.advance(1);
    expect(fired).toEqual(['a@10', 'c@15', 'b@20']);
  });
});
