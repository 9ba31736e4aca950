import { describe, expect, it } from 'vitest';
import { Emitter } from '../../../lib/events.ts';

type Events = { tick: [n: number]; done: [] };

class Ticker extends Emitter<Events> {
  batch(fn: () => void): void {
    this.deferred(fn);
  }
}

describe('Emitter', () => {
  it('delivers arguments to every listener in order', () => {
    const t = new Ticker();
    const seen: string[] = [];
    t.on('tick', (n) => seen.push(`a${n}`));
    t.on('tick', (n) => seen.push(`b${n}`));
    expect(t.emit('tick', 1)).toBe(true);
    expect(t.emit('done')).toBe(false);
    expect(seen).toEqual(['a1', 'b1']);
  });

  it('a throwing listener neither stops the others nor throws into the emitter', () => {
    const t = new Ticker();
    const seen: number[] = [];
    t.on('tick', () => {
      throw new Error('buggy handler');
    });
    t.on('tick', (n) => seen.push(n));
    expect(() => t.emit('tick', 7)).not.toThrow();
    expect(seen).toEqual([7]);
  });

  it('a rejected async listener is caught', async () => {
    const t = new Ticker();
    let rejections = 0;
    const onUnhandled = (): void => void rejections++;
    process.on('unhandledRejection', onUnhandled);
    t.on('tick', async () => Promise.reject(new Error('async failure')));
    t.emit('tick', 1);
    await new Promise((r) => setTimeout(r, 20));
    process.off('unhandledRejection', onUnhandled);
    expect(rejections).toBe(0);
  });

  it('once fires once and can be removed by the original function', () => {
    const t = new Ticker();
    const seen: number[] = [];
    const fn = (n: number): void => void seen.push(n);
    t.once('tick', fn);
    t.emit('tick', 1);
    t.emit('tick', 2);
    expect(seen).toEqual([1]);
    t.once('tick', fn);
    t.off('tick', fn);
    t.emit('tick', 3);
    expect(seen).toEqual([1]);
    expect(t.listenerCount('tick')).toBe(0);
  });

  it('deferred holds events until the change is complete, then delivers in order', () => {
    const t = new Ticker();
    const seen: string[] = [];
    let inside = true;
    t.on('tick', (n) => {
      seen.push(`${n}:${inside ? 'inside' : 'after'}`);
      // A listener's own emit joins the queue behind what is already held.
      if (n === 1) t.emit('tick', 3);
    });
    t.batch(() => {
      t.emit('tick', 1);
      t.batch(() => t.emit('tick', 2));
      expect(seen).toEqual([]);
      inside = false;
    });
    expect(seen).toEqual(['1:after', '2:after', '3:after']);
  });

  it('deferred delivers what was held even when the change throws', () => {
    const t = new Ticker();
    const seen: number[] = [];
    t.on('tick', (n) => seen.push(n));
    expect(() =>
      t.batch(() => {
        t.emit('tick', 1);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(seen).toEqual([1]);
  });

  it('next resolves with the next event', async () => {
    const t = new Ticker();
    const p = t.next('tick');
    t.emit('tick', 9);
    expect(await p).toEqual([9]);
  });
});
