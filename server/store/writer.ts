/**
 * The event writer: the call path hands it events synchronously (emit returns at once, never
 * throws, never waits on disk or network); a single background pump moves them
 *
 *   memory buffer --append+fsync--> spool file --batched INSERT .. ON CONFLICT DO NOTHING--> Postgres
 *
 * and acknowledges spool lines only after Postgres committed them. When Postgres is down the spool
 * grows and the pump retries with capped exponential backoff; when it returns the backlog is
 * replayed in order. Because the key is (contact_id, seq), replaying a line twice is harmless.
 *
 * The one loss window is the memory buffer (events emitted in the last few milliseconds before a
 * process crash), bounded by flushDelayMs plus one fsync.
 */
import { Counter, Gauge } from 'prom-client';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { SystemClock } from '../../lib/clock.ts';
import { parseEvent, type CcEvent } from '../kpi/events.ts';
import { log } from '../../lib/log.ts';
import { metrics } from '../../lib/metrics.ts';
import type { Spool } from './spool.ts';

const wlog = log.child({ mod: 'store-writer' });

/** Where batches go. PgEventSink in eventLog.ts is the real one. */
export interface EventSink {
  /** Insert the batch atomically; duplicates of (contactId, seq) are ignored. Returns rows inserted. */
  insert(events: readonly CcEvent[]): Promise<number>;
}

export interface WriterOptions {
  spool: Spool;
  sink: EventSink;
  clock?: Clock;
  /** Events per INSERT. Default 500. */
  batchSize?: number;
  /** Delay that lets a burst of emits share one fsync. Default 20 ms. */
  flushDelayMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface WriterStats {
  emitted: number;
  invalid: number;
  inserted: number;
  duplicates: number;
  /** Spool lines that could not be parsed on replay and were skipped. */
  corrupt: number;
  pendingBytes: number;
  buffered: number;
  dbUp: boolean;
  lastError?: string;
}

const m = {
  emitted: counter('cc_store_events_emitted_total', 'Events accepted by store.emit'),
  invalid: counter('cc_store_events_invalid_total', 'Events refused by store.emit (failed validation)'),
  inserted: counter('cc_store_events_inserted_total', 'Events inserted into Postgres (duplicates excluded)'),
  failures: counter('cc_store_insert_failures_total', 'Failed batch inserts (database unreachable or erroring)'),
  pending: gauge('cc_store_spool_pending_bytes', 'Spooled bytes not yet confirmed by Postgres'),
  dbUp: gauge('cc_store_db_up', '1 when the last insert succeeded'),
};

export class EventWriter {
  private readonly clock: Clock;
  private readonly batchSize: number;
  private readonly flushDelayMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private buffer: string[] = [];
  private timer: TimerHandle | undefined;
  private pumping = false;
  private again = false;
  private closed = false;
  private retryMs: number;
  private retryUntil = 0;
  private waiters: (() => void)[] = [];
  private readonly s: WriterStats = {
    emitted: 0,
    invalid: 0,
    inserted: 0,
    duplicates: 0,
    corrupt: 0,
    pendingBytes: 0,
    buffered: 0,
    dbUp: true,
  };

  constructor(private readonly opts: WriterOptions) {
    this.clock = opts.clock ?? new SystemClock();
    this.batchSize = opts.batchSize ?? 500;
    this.flushDelayMs = opts.flushDelayMs ?? 20;
    this.retryMinMs = opts.retryMinMs ?? 250;
    this.retryMaxMs = opts.retryMaxMs ?? 10_000;
    this.retryMs = this.retryMinMs;
    // A spool left over from the last run holds events Postgres may not have: replay them now.
    if (opts.spool.pendingBytes > 0) this.schedule(0);
  }

  /**
   * Accept one event for storage. Synchronous and total: returns false (and logs) for an invalid
   * event or after close(), never throws, never blocks.
   */
  emit(input: unknown): boolean {
    if (this.closed) {
      wlog.warn('emit after close; event dropped');
      return false;
    }
    const r = parseEvent(input);
    if (!r.ok) {
      this.s.invalid++;
      m.invalid.inc();
      wlog.warn({ error: r.error }, 'invalid event refused');
      return false;
    }
    this.buffer.push(JSON.stringify(r.event));
    this.s.emitted++;
    m.emitted.inc();
    this.schedule(this.flushDelayMs);
    return true;
  }

  /** Resolves once everything emitted so far is in Postgres; rejects after timeoutMs. */
  async flush(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.idle()) {
      if (Date.now() > deadline) {
        throw new Error(`store flush timed out with ${this.opts.spool.pendingBytes} bytes pending (${this.s.lastError ?? 'no error'})`);
      }
      this.schedule(0);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Spool whatever is buffered, then stop. Unconfirmed events stay in the spool for next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pumping) await new Promise((r) => setTimeout(r, 5));
    if (this.buffer.length > 0) {
      const lines = this.buffer.splice(0);
      await this.opts.spool.append(lines).catch((err: unknown) => wlog.error({ err, lost: lines.length }, 'could not spool on close'));
    }
  }

  stats(): WriterStats {
    return { ...this.s, pendingBytes: this.opts.spool.pendingBytes, buffered: this.buffer.length };
  }

  private idle(): boolean {
    return this.buffer.length === 0 && this.opts.spool.pendingBytes === 0 && !this.pumping;
  }

  private schedule(delayMs: number): void {
    if (this.closed && delayMs > 0) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.timer) {
      if (delayMs > 0) return;
      this.clock.clearTimeout(this.timer);
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, delayMs);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      do {
        this.again = false;
        await this.spoolBuffer();
        if (this.clock.now() < this.retryUntil) break;
        while (this.opts.spool.pendingBytes > 0) {
          const ok = await this.insertOneBatch();
          if (!ok) break;
          // Keep the spool ahead of memory during a long replay.
          await this.spoolBuffer();
        }
      } while (this.again || (this.buffer.length > 0 && !this.closed));
    } catch (err) {
      // Spool I/O failed (disk full?): keep the events in memory and try again later.
      wlog.error({ err }, 'spool write failed');
      this.retryUntil = this.clock.now() + this.retryMaxMs;
    } finally {
      this.pumping = false;
      m.pending.set(this.opts.spool.pendingBytes);
      const w = this.waiters.splice(0);
      for (const f of w) f();
      if (!this.closed && (this.opts.spool.pendingBytes > 0 || this.buffer.length > 0)) {
        this.schedule(Math.max(0, this.retryUntil - this.clock.now()));
      }
    }
  }

  private async spoolBuffer(): Promise<void> {
    if (this.buffer.length === 0) return;
    const lines = this.buffer.splice(0);
    try {
      await this.opts.spool.append(lines);
    } catch (err) {
      this.buffer.unshift(...lines);
      throw err;
    }
  }

  /** One batch from the spool into the sink; false when the sink failed (backoff set). */
  private async insertOneBatch(): Promise<boolean> {
    const chunk = await this.opts.spool.readPending(this.batchSize);
    const events: CcEvent[] = [];
    for (const line of chunk.lines) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      const r = parseEvent(parsed);
      if (r.ok) events.push(r.event);
      else {
        this.s.corrupt++;
        wlog.error({ line: line.slice(0, 200) }, 'corrupt spool line skipped');
      }
    }
    try {
      const n = events.length > 0 ? await this.opts.sink.insert(events) : 0;
      await this.opts.spool.ack(chunk.endOffset);
      this.s.inserted += n;
      this.s.duplicates += events.length - n;
      m.inserted.inc(n);
      if (!this.s.dbUp) wlog.info({ pendingBytes: this.opts.spool.pendingBytes }, 'database back; replaying spool');
      this.s.dbUp = true;
      m.dbUp.set(1);
      delete this.s.lastError;
      this.retryMs = this.retryMinMs;
      this.retryUntil = 0;
      return true;
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      if (this.s.dbUp) wlog.warn({ err: msg, pendingBytes: this.opts.spool.pendingBytes }, 'database insert failed; spooling');
      this.s.dbUp = false;
      this.s.lastError = msg;
      m.dbUp.set(0);
      m.failures.inc();
      this.retryUntil = this.clock.now() + this.retryMs;
      this.retryMs = Math.min(this.retryMaxMs, this.retryMs * 2);
      return false;
    }
  }
}

function counter(name: string, help: string): Counter {
  return (metrics.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers: [metrics] });
}
function gauge(name: string, help: string): Gauge {
  return (metrics.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: [metrics] });
}
