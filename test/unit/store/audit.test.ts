/**
 * The audit trail's queue on a fake clock and an in-memory sink: entries are stamped when they
 * happen and stored in order; an outage holds them and retries with backoff; a full queue drops
 * the oldest (counted), and a malformed entry is refused instead of blocking the queue.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { AuditTrail, toRecord, type AuditRecord, type AuditSink } from '../../../server/store/audit.ts';

class MemorySink implements AuditSink {
  rows: AuditRecord[] = [];
  up = true;
  calls = 0;
  insert(records: readonly AuditRecord[]): Promise<void> {
    this.calls++;
    if (!this.up) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5433'));
    this.rows.push(...records);
    return Promise.resolve();
  }
}

/** Let the pump's promise chain run after the clock fired its timer. */
const settle = () => new Promise((r) => setImmediate(r));

async function run(clock: FakeClock, ms: number): Promise<void> {
  clock.advance(ms);
  await settle();
}

describe('toRecord', () => {
  it('stamps, bounds and keeps the fields', () => {
    const r = toRecord({ actor: '9001', role: 'supervisor', action: 'recording.download', target: 'rec-1', ip: '127.0.0.1' }, 1000);
    expect(r).toEqual({
      at: 1000,
      actor: '9001',
      role: 'supervisor',
      action: 'recording.download',
      target: 'rec-1',
      ip: '127.0.0.1',
      detail: {},
    });
    expect(toRecord({ actor: 'x', action: 'config.reload', at: 5 }, 1000)?.at).toBe(5);
    expect(toRecord({ actor: 'x'.repeat(1000), action: 'auth.failed', target: 't'.repeat(2000) }, 0)).toMatchObject({
      actor: 'x'.repeat(200),
      target: 't'.repeat(500),
    });
  });

  it('refuses what the table would refuse, and keeps detail small and JSON', () => {
    expect(toRecord({ actor: '', action: 'auth.failed' }, 0)).toBeUndefined();
    expect(toRecord({ actor: 'a', action: 'Bad Action' as 'auth.failed' }, 0)).toBeUndefined();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(toRecord({ actor: 'a', action: 'report.read', detail: cyclic }, 0)?.detail).toEqual({ unserialisable: true });
    const big = toRecord({ actor: 'a', action: 'report.read', detail: { q: 'x'.repeat(10_000) } }, 0)?.detail;
    expect(Object.keys(big ?? {})).toEqual(['truncated']);
  });
});

describe('AuditTrail', () => {
  it('stores entries in order, each stamped with the time audit() was called', async () => {
    const clock = new FakeClock(1_000_000);
    const sink = new MemorySink();
    const trail = new AuditTrail({ sink, clock });
    trail.record({ actor: '9001', action: 'recording.list', target: 'c1' });
    clock.advance(0); // nothing has run yet: audit() itself never waits
    trail.record({ actor: 'system', action: 'config.reload', target: 'v2' });
    await run(clock, 0);
    expect(sink.rows.map((r) => [r.action, r.at])).toEqual([
      ['recording.list', 1_000_000],
      ['config.reload', 1_000_000],
    ]);
    expect(trail.pending).toBe(0);
  });

  it('holds entries through an outage, retries with backoff, and writes them in order once back', async () => {
    const clock = new FakeClock();
    const sink = new MemorySink();
    sink.up = false;
    const trail = new AuditTrail({ sink, clock, retryMinMs: 100, retryMaxMs: 400 });
    for (let i = 0; i < 5; i++) trail.record({ actor: `a${i}`, action: 'agent.login' });
    await run(clock, 0);
    expect(sink.calls).toBe(1);
    await run(clock, 100);
    await run(clock, 200);
    await run(clock, 400);
    await run(clock, 400); // capped
    expect(sink.calls).toBe(5);
    expect(trail.pending).toBe(5);
    trail.record({ actor: 'a5', action: 'agent.logout' });
    sink.up = true;
    await run(clock, 400);
    expect(sink.rows.map((r) => r.actor)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
    expect(trail.pending).toBe(0);
  });

  it('drops the oldest entry when the queue is full, and never throws at the caller', async () => {
    const clock = new FakeClock();
    const sink = new MemorySink();
    sink.up = false;
    const trail = new AuditTrail({ sink, clock, maxPending: 3 });
    for (let i = 0; i < 5; i++) expect(() => trail.record({ actor: `a${i}`, action: 'report.read' })).not.toThrow();
    expect(() => trail.record({ actor: '', action: 'report.read' })).not.toThrow();
    expect(trail.pending).toBe(3);
    sink.up = true;
    await run(clock, 60_000);
    expect(sink.rows.map((r) => r.actor)).toEqual(['a2', 'a3', 'a4']);
  });

  it('flush waits for the queue; close logs what it could not store and takes nothing more', async () => {
    const clock = new FakeClock();
    const sink = new MemorySink();
    const trail = new AuditTrail({ sink, clock });
    trail.record({ actor: 'a', action: 'audit.read' });
    const flushed = trail.flush(1000);
    await run(clock, 0);
    await flushed;
    expect(sink.rows).toHaveLength(1);
    await trail.close(10);
    trail.record({ actor: 'b', action: 'audit.read' });
    await run(clock, 1000);
    expect(sink.rows).toHaveLength(1);
  });
});
