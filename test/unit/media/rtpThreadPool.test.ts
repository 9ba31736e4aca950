/**
 * The RTP thread pool boots its threads from rtpThreadEntry.ts by path (a boot script registers
 * tsx, then imports it): a wrong path or a module that fails to load must fail start(), not the
 * first call. No sockets are opened here (integration tests do that on fixed ports).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RtpThreadPool } from '../../../media/rtp/rtpThreadPool.ts';

let pool: RtpThreadPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

/** Poll `cond` every 20 ms for up to `ms`; the test's own expect then says what was missing. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
}

describe('RtpThreadPool', () => {
  it('starts threads that load the entry and answer requests; errors cross back as rejections', async () => {
    pool = await RtpThreadPool.start(2);
    expect(pool.size).toBe(2);
    const t = pool.thread(1)!;
    expect(await t.request({ op: 'ping' })).toBeNull();
    await expect(t.request({ op: 'inband', leg: 'nope', on: true })).rejects.toThrow('no RTP leg nope on this thread');
  });

  it('spreads calls by count, and replaces a dead thread, reporting only its calls, whatever a listener does', async () => {
    pool = await RtpThreadPool.start(2);
    const a = pool.pick();
    a.calls.add('c1');
    const b = pool.pick();
    expect(b).not.toBe(a);
    b.calls.add('c2');
    const died: [number, string[]][] = [];
    // A listener that throws (lib/events.ts isolates it) must stop neither the others nor the replacement.
    pool.on('threadDied', () => {
      throw new Error('buggy listener');
    });
    pool.on('threadDied', (index, callIds) => died.push([index, callIds]));
    await b.terminate();
    await until(() => pool!.thread(b.index) !== undefined && pool!.thread(b.index) !== b);
    expect(died).toEqual([[b.index, ['c2']]]);
    const fresh = pool.thread(b.index)!;
    expect(fresh).not.toBe(b);
    expect(await fresh.request({ op: 'ping' })).toBeNull();
    await expect(b.request({ op: 'ping' })).rejects.toThrow(`RTP thread ${b.index} is gone`);
  });
});
