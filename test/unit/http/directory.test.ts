/**
 * The agent directory (server/http/directory.ts) and the wrap-up countdown (callControlApi.ts
 * WrapupClock): what an agent may see of the floor, and the deadlines the ACD announced.
 */
import { describe, expect, it } from 'vitest';
import { Emitter } from '../../../lib/events.ts';
import type { Acd } from '../../../server/acd/acd.ts';
import type { AcdEvent } from '../../../server/acd/events.ts';
import { WrapupClock } from '../../../server/http/callControlApi.ts';
import { DirectoryFeed, directoryOf } from '../../../server/http/directory.ts';

type Snap = ReturnType<Acd['snapshot']>;
const q = (queue: string, waiting: number, agentsAvailable: number, open = true) =>
  ({
    queue,
    open,
    waiting,
    agentsAvailable,
    agentsStaffed: agentsAvailable + 1,
    serviceLevelLive: 0.9,
    answered: 7,
  }) as unknown as Snap['queues'][number];
const a = (id: string, state: string) => ({ id, state, reason: 'lunch', occupiedMs: 5, misses: 2 }) as unknown as Snap['agents'][number];
const AGENTS = [
  { id: '1002', name: 'Bob', role: 'agent' },
  { id: '1001', name: 'Alice' },
  { id: '9001', name: 'Sam', role: 'supervisor' },
];

describe('directoryOf', () => {
  it('queues with waiting and free agents; every configured agent with a state; nothing else', () => {
    const snap = {
      at: 0,
      queues: [q('support', 0, 1), q('sales', 3, 0)],
      agents: [a('1001', 'on-call'), a('1002', 'not-ready')],
      calls: [],
    };
    expect(directoryOf(snap, AGENTS)).toEqual({
      queues: [
        { name: 'sales', open: true, waiting: 3, available: 0, staffed: 1 },
        { name: 'support', open: true, waiting: 0, available: 1, staffed: 2 },
      ],
      agents: [
        { id: '1001', name: 'Alice', role: 'agent', state: 'on-call' },
        { id: '1002', name: 'Bob', role: 'agent', state: 'not-ready' },
        { id: '9001', name: 'Sam', role: 'supervisor', state: 'logged-out' },
      ],
    });
  });
});

describe('DirectoryFeed', () => {
  it('pushes once per burst of ACD events, and only when what it shows changed', async () => {
    const acd = new Emitter<{ event: [AcdEvent] }>();
    let snap: Snap = { at: 0, queues: [q('sales', 0, 1)], agents: [a('1001', 'available')], calls: [] };
    const feed = new DirectoryFeed({ acd: Object.assign(acd, { snapshot: () => snap }), agents: () => AGENTS }, 20);
    const seen: string[] = [];
    feed.onChange((d) => seen.push(`${d.queues[0]!.waiting}/${d.agents[0]!.state}`));
    expect(feed.current().queues[0]!.waiting).toBe(0);
    const ev = { type: 'agentState', at: 0, agentId: '1001' } as unknown as AcdEvent;
    snap = { ...snap, queues: [q('sales', 1, 1)], agents: [a('1001', 'offered')] };
    acd.emit('event', ev);
    acd.emit('event', ev);
    await new Promise((r) => setTimeout(r, 60));
    expect(seen).toEqual(['1/offered']);
    acd.emit('event', ev); // nothing changed
    acd.emit('event', { type: 'position', at: 0 } as unknown as AcdEvent); // never relevant
    await new Promise((r) => setTimeout(r, 60));
    expect(seen).toEqual(['1/offered']);
    feed.close();
  });
});

describe('WrapupClock', () => {
  it('follows wrapupStart, wrapupExtend and wrapupEnd per agent, with the queue codes and the extension allowed', () => {
    const clock = new WrapupClock(
      (queue) => (queue === 'sales' ? [{ code: 'sale', label: 'Sale' }] : []),
      () => 120,
    );
    const seen: unknown[] = [];
    clock.onChange((id, v) => seen.push([id, v?.endsAt ?? null, v?.extended ?? null]));
    clock.onAcdEvent({ type: 'wrapupStart', at: 0, agentId: '1001', callId: 'c1', queue: 'sales', endsAt: 10_000 });
    expect(clock.view('1001')).toEqual({
      contactId: 'c1',
      queue: 'sales',
      endsAt: 10_000,
      extended: false,
      extendMax: 120,
      dispositions: [{ code: 'sale', label: 'Sale' }],
    });
    clock.onAcdEvent({ type: 'wrapupExtend', at: 1, agentId: '1001', callId: 'c1', queue: 'sales', endsAt: 70_000 });
    clock.onAcdEvent({
      type: 'wrapupEnd',
      at: 2,
      agentId: '1001',
      callId: 'c1',
      queue: 'sales',
      by: 'agent',
      extended: true,
      durationMs: 2,
    });
    clock.onAcdEvent({
      type: 'wrapupEnd',
      at: 3,
      agentId: '1002',
      callId: 'c2',
      queue: 'sales',
      by: 'timer',
      extended: false,
      durationMs: 1,
    });
    expect(clock.view('1001')).toBeUndefined();
    expect(seen).toEqual([
      ['1001', 10_000, false],
      ['1001', 70_000, true],
      ['1001', null, null],
    ]);
  });
});
