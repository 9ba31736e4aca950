import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CcEvent } from '../../../server/kpi/events.ts';
import { Spool } from '../../../server/store/spool.ts';
import { EventWriter, type EventSink } from '../../../server/store/writer.ts';
import { scriptedDay } from '../kpi/scriptedDay.ts';
import { waitFor } from '../../support/waitFor.ts';

/** An in-memory table keyed like cc_events, that can be switched off to simulate an outage. */
class FlakySink implements EventSink {
  rows = new Map<string, CcEvent>();
  up = true;
  calls = 0;
  async insert(events: readonly CcEvent[]): Promise<number> {
    this.calls++;
    await new Promise((r) => setTimeout(r, 1));
    if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:5433');
    let n = 0;
    for (const e of events) {
      const k = `${e.contactId}#${e.seq}`;
      if (!this.rows.has(k)) {
        this.rows.set(k, e);
        n++;
      }
    }
    return n;
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-spool-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const key = (e: CcEvent) => `${e.contactId}#${e.seq}`;

describe('spool', () => {
  it('replays unacknowledged lines after reopen, and cuts a torn last line', async () => {
    const s = await Spool.open(dir);
    await s.append(['{"a":1}', '{"a":2}', '{"a":3}']);
    const first = await s.readPending(2);
    expect(first.lines).toEqual(['{"a":1}', '{"a":2}']);
    await s.ack(first.endOffset);
    await s.close();
    appendFileSync(join(dir, 'events.jsonl'), '{"a":4'); // crash mid-append
    const again = await Spool.open(dir);
    expect((await again.readPending(10)).lines).toEqual(['{"a":3}']);
    await again.append(['{"a":5}']);
    expect((await again.readPending(10)).lines).toEqual(['{"a":3}', '{"a":5}']);
    await again.close();
  });

  it('compacts once everything is acknowledged', async () => {
    const s = await Spool.open(dir, { compactBytes: 10 });
    await s.append(['{"x":"0123456789"}']);
    const c = await s.readPending(10);
    await s.ack(c.endOffset);
    expect(s.fileBytes).toBe(0);
    expect(readFileSync(join(dir, 'events.ack'), 'utf8').trim()).toBe('0');
    await s.close();
  });

  it('refuses a second owner of the same directory', async () => {
    const s = await Spool.open(dir);
    await expect(Spool.open(dir)).rejects.toThrow(/already open/);
    await s.close();
    writeFileSync(join(dir, 'spool.lock'), '999999999'); // stale lock of a dead process
    const t = await Spool.open(dir);
    await t.close();
    writeFileSync(join(dir, 'spool.lock'), `1 some-earlier-boot`); // pid 1 is alive, but from another boot
    const u = await Spool.open(dir);
    await u.close();
    writeFileSync(join(dir, 'spool.lock'), `1 ${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`);
    await expect(Spool.open(dir)).rejects.toThrow(/in use by process 1/);
  });
});

describe('event writer', () => {
  it('loses nothing across a database outage and a restart, and stores each event once', async () => {
    const day = scriptedDay();
    const sink = new FlakySink();
    const spool = await Spool.open(dir);
    const w = new EventWriter({ spool, sink, batchSize: 7, flushDelayMs: 1, retryMinMs: 5, retryMaxMs: 20 });
    const third = Math.floor(day.length / 3);
    for (const e of day.slice(0, third)) expect(w.emit(e)).toBe(true);
    await w.flush(5_000);
    expect(sink.rows.size).toBe(third);

    sink.up = false; // outage: emits keep succeeding, the spool grows
    for (const e of day.slice(third, 2 * third)) expect(w.emit(e)).toBe(true);
    await waitFor(() => !w.stats().dbUp, { timeoutMs: 5000, what: 'the writer to notice the outage' });
    expect(w.stats().pendingBytes).toBeGreaterThan(0);
    expect(sink.rows.size).toBe(third);
    await expect(w.flush(50)).rejects.toThrow(/timed out/);
    await w.close(); // process stops while the database is still down
    await spool.close();

    const spool2 = await Spool.open(dir);
    const w2 = new EventWriter({ spool: spool2, sink, batchSize: 7, flushDelayMs: 1, retryMinMs: 5, retryMaxMs: 20 });
    for (const e of day.slice(2 * third)) w2.emit(e);
    sink.up = true;
    // Producers re-emit a few events after their own restart: duplicates must not double count.
    for (const e of day.slice(0, 5)) w2.emit(e);
    await w2.flush(5_000);
    expect(new Set(sink.rows.keys())).toEqual(new Set(day.map(key)));
    expect(w2.stats().dbUp).toBe(true);
    expect(w2.stats().duplicates).toBeGreaterThanOrEqual(5);
    await w2.close();
    await spool2.close();
  });

  it('refuses invalid events without throwing, and skips corrupt spool lines', async () => {
    const sink = new FlakySink();
    const spool = await Spool.open(dir);
    await spool.append(['not json', '{"type":"queue.enter"}']);
    const w = new EventWriter({ spool, sink, flushDelayMs: 1 });
    expect(w.emit({ type: 'queue.enter', contactId: 'c', seq: -1, ts: 0, queue: 'q' })).toBe(false);
    expect(w.emit(undefined)).toBe(false);
    expect(w.emit({ type: 'queue.enter', contactId: 'c', seq: 1, ts: 0, queue: 'q' })).toBe(true);
    await w.flush(5_000);
    expect(sink.rows.size).toBe(1);
    expect(w.stats()).toMatchObject({ invalid: 2, corrupt: 2, inserted: 1 });
    await w.close();
    expect(w.emit({ type: 'queue.enter', contactId: 'c', seq: 2, ts: 0, queue: 'q' })).toBe(false);
    await spool.close();
  });
});
