/**
 * A mediasoup worker killed mid-call, or an RTP thread ending: only the calls on it are reported
 * lost (with the CDR reason), the others keep working, and a replacement takes new calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_WORKER_DIED, MediaPlane } from '../../../media/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let plane: MediaPlane;

beforeAll(async () => {
  plane = await MediaPlane.start({
    workers: 2,
    rtpThreads: 2,
    listenIp: '127.0.0.1',
    rtpMinPort: 37000,
    rtpMaxPort: 37999,
    rtcMinPort: 38000,
    rtcMaxPort: 38999,
  });
});
afterAll(async () => {
  await plane?.stop();
});

describe('worker pool', () => {
  it('spreads calls, replaces a dead worker and ends only its calls', async () => {
    const calls = await Promise.all([1, 2, 3, 4].map((i) => plane.createCall(`wd-${i}`)));
    for (const c of calls) await c.createTrunkLeg();
    const load = plane.pool.load();
    expect(load.map((l) => l.calls)).toEqual([2, 2]);
    const victim = load[0]!;
    const onVictim = [...plane.pool.slot(victim.index)!.calls].sort();

    const lost: [string, string][] = [];
    plane.on('callLost', (id, reason) => lost.push([id, reason]));
    const callLostEvents: string[] = [];
    for (const c of calls) c.on('lost', (reason) => callLostEvents.push(`${c.callId}:${reason}`));
    process.kill(victim.pid, 'SIGKILL');
    const replaced = () => plane.pool.load().some((l) => l.index === victim.index && l.pid !== victim.pid);
    for (let i = 0; i < 100 && (lost.length < 2 || !replaced()); i++) await sleep(50);

    expect(lost.map((l) => l[0]).sort()).toEqual(onVictim);
    expect(lost.every((l) => l[1] === MEDIA_WORKER_DIED)).toBe(true);
    expect(callLostEvents.sort()).toEqual(onVictim.map((id) => `${id}:${MEDIA_WORKER_DIED}`));
    const survivors = calls.filter((c) => !onVictim.includes(c.callId));
    expect(survivors.every((c) => !c.closed)).toBe(true);
    expect(plane.callCount).toBe(2);
    // survivors still work: a new leg can be created on their routers
    await survivors[0]!.createTrunkLeg();

    const after = plane.pool.load();
    expect(after).toHaveLength(2);
    expect(after.find((l) => l.index === victim.index)!.pid).not.toBe(victim.pid);
    const fresh = await plane.createCall('wd-new');
    await fresh.createTrunkLeg();
    expect(plane.pool.load().find((l) => l.index === victim.index)!.calls).toBe(1);
    for (const c of [...survivors, fresh]) c.close();
    expect(plane.callCount).toBe(0);
  });

  it('replaces a dead RTP thread and ends only the calls whose plain legs it carried', async () => {
    const calls = await Promise.all([1, 2, 3, 4].map((i) => plane.createCall(`td-${i}`)));
    for (const c of calls) await c.createTrunkLeg();
    expect(plane.rtpThreads.load().map((l) => l.calls)).toEqual([2, 2]);
    const victim = plane.rtpThreads.thread(1)!;
    const onVictim = [...victim.calls].sort();
    const lost: [string, string][] = [];
    const onLost = (id: string, reason: string) => lost.push([id, reason]);
    plane.on('callLost', onLost);
    await victim.terminate();
    const replaced = () => plane.rtpThreads.thread(1) !== undefined && plane.rtpThreads.thread(1) !== victim;
    for (let i = 0; i < 100 && (lost.length < 2 || !replaced()); i++) await sleep(50);
    plane.off('callLost', onLost);

    expect(lost.map((l) => l[0]).sort()).toEqual(onVictim);
    expect(lost.every((l) => l[1] === MEDIA_WORKER_DIED)).toBe(true);
    const survivors = calls.filter((c) => !onVictim.includes(c.callId));
    expect(survivors.every((c) => !c.closed)).toBe(true);
    await survivors[0]!.createTrunkLeg(); // their thread still answers
    expect(replaced()).toBe(true);
    const fresh = await plane.createCall('td-new');
    await fresh.createTrunkLeg();
    expect(plane.rtpThreads.thread(1)!.calls.has('td-new')).toBe(true);
    for (const c of [...survivors, fresh]) c.close();
    expect(plane.callCount).toBe(0);
  });
});
