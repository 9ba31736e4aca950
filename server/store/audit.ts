/**
 * The audit trail: who did what (logins, states a supervisor forced, recordings listed or
 * downloaded, report access, config reloads), in the append-only table audit_log (migration
 * 1765100000000_audit.sql), read back by admins through GET /api/v1/audit.
 *
 * `audit(entry)` is what the rest of the server calls. Like store.emit it is synchronous and never
 * throws or waits: the entry is stamped with the time it happened and queued, and one background
 * pump inserts the queue in order, retrying with backoff while Postgres is away. The queue is
 * bounded; past the bound the oldest entry is dropped, logged as a warning with its content and
 * counted (cc_audit_dropped_total), so a long outage costs memory only up to the bound and no
 * entry vanishes without a trace.
 */
import { Counter, Gauge } from 'prom-client';
import type pg from 'pg';
import { z } from 'zod';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { log } from '../../lib/log.ts';
import { metrics } from '../../lib/metrics.ts';

const alog = log.child({ mod: 'audit' });

/**
 * What can be audited. Dotted words, so a query for `recording` finds `recording.list` and
 * `recording.download` (see listAudit).
 */
export type AuditAction =
  /** An agent logged in on the desktop (actor: the agent). */
  | 'agent.login'
  /** A desktop login with a wrong agent id or password (actor: the id given). */
  | 'agent.login.failed'
  | 'agent.logout'
  /** A supervisor set another agent's state (actor: the supervisor; target: the agent; detail: state, reason). */
  | 'agent.state.forced'
  /** HTTP Basic credentials that matched no one (actor: the user name given). */
  | 'auth.failed'
  /** A report read over REST (target: the path; detail: the query). */
  | 'report.read'
  | 'live.read'
  | 'planning.read'
  /** A recordings listing (target: contact id or range). */
  | 'recording.list'
  /** Recording audio downloaded or played (target: the recording id). */
  | 'recording.download'
  | 'audit.read'
  /** A config version was swapped in (actor: system; target: the version). */
  | 'config.reload'
  /** A config edit was refused (actor: system; detail: the first errors). */
  | 'config.rejected'
  /** QA (server/http/qa.ts): a call scored (target: contact id; detail: evaluation id, form, score, answers). */
  | 'qa.score'
  /** A score changed (detail: before and after). */
  | 'qa.rescore'
  | 'qa.comment'
  /** QA calls, a call's timeline or audio analytics, calibration, sample or QA report read. */
  | 'qa.read'
  /** An agent acknowledged a coaching item (actor: the agent; target: the item). */
  | 'qa.coaching.ack'
  /** The analytics worker flagged a call into the review queue (actor: system; detail: flags). */
  | 'qa.flag'
  /** Supervisor floor (server/http/supervisor.ts, wallboard.ts): a supervisor logged an agent out, moved a waiting call or changed its place or priority, set a surge level by hand; surge actions (actor: system or the supervisor); the board opened; an agent asked for help. */
  | 'agent.logout.forced'
  | 'call.moved'
  | 'call.head'
  | 'call.priority'
  | 'surge.manual'
  | 'surge.action'
  | 'wallboard.read'
  | 'help.requested'
  /** A supervisor started listening to a call (target: contact id; detail: mode, agent, ok), changed listen / whisper / barge (detail: mode, was), or stopped. */
  | 'call.monitor'
  | 'call.monitor.mode'
  | 'call.monitor.stop';

export interface AuditEntry {
  /** Who: an agent or supervisor id, or 'system'. */
  actor: string;
  role?: string | undefined;
  action: AuditAction;
  /** On what: a recording id, an agent id, a path, a config version. */
  target?: string | undefined;
  /** The client's address. */
  ip?: string | undefined;
  detail?: Record<string, unknown> | undefined;
  /** When (epoch ms); default the time audit() was called. */
  at?: number | undefined;
}

/** The function other parts of the server are handed. Synchronous; never throws. */
export type Audit = (entry: AuditEntry) => void;

/** An entry as queued and stored: stamped, with every field bounded. */
export interface AuditRecord {
  at: number;
  actor: string;
  role: string | null;
  action: AuditAction;
  target: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
}

/**
 * An entry as listed by the REST view: the stored record with its row id, the time as ISO text, and
 * the action as whatever text the table holds (rows written by an older version may name actions
 * this one no longer has).
 */
export type AuditRow = Omit<AuditRecord, 'at' | 'action'> & { id: number; at: string; action: string };

/** Where records go; PgAuditSink is the real one. */
export interface AuditSink {
  insert(records: readonly AuditRecord[]): Promise<void>;
}

export const ACTION = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

const m = {
  dropped: counter('cc_audit_dropped_total', 'Audit entries dropped: queue full while Postgres was unreachable, or malformed'),
  pending: gauge('cc_audit_pending', 'Audit entries waiting to be written to Postgres'),
};

const cut = (s: string | undefined, n: number): string | null => (s === undefined || s === '' ? null : s.slice(0, n));

/**
 * Normalises an entry into a record, or undefined when it cannot be stored (no actor, or an
 * action the table's CHECK would refuse: that would block the queue behind it forever).
 */
export function toRecord(e: AuditEntry, now: number): AuditRecord | undefined {
  const actor = cut(e.actor, 200);
  if (!actor || !ACTION.test(e.action)) return undefined;
  let detail: Record<string, unknown> = {};
  if (e.detail) {
    // Detail is evidence, not a payload: a client-supplied value (a query string) must not make
    // the row huge, and must be JSON (a bigint or a cycle would fail the INSERT forever).
    try {
      const text = JSON.stringify(e.detail);
      detail = text.length <= 4096 ? (JSON.parse(text) as Record<string, unknown>) : { truncated: text.slice(0, 4096) };
    } catch {
      detail = { unserialisable: true };
    }
  }
  return {
    at: e.at ?? now,
    actor,
    role: cut(e.role, 64),
    action: e.action,
    target: cut(e.target, 500),
    ip: cut(e.ip, 64),
    detail,
  };
}

export interface AuditTrailOptions {
  sink: AuditSink;
  clock: Clock;
  /** Entries held while Postgres is away; beyond, the oldest are dropped (logged). Default 10 000. */
  maxPending?: number;
  batchSize?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** The queue and its pump behind audit(). */
export class AuditTrail {
  private readonly queue: AuditRecord[] = [];
  private timer: TimerHandle | undefined;
  private running = false;
  private retryMs: number;
  private closed = false;
  private waiters: (() => void)[] = [];
  private readonly maxPending: number;
  private readonly batchSize: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  constructor(private readonly opts: AuditTrailOptions) {
    this.maxPending = opts.maxPending ?? 10_000;
    this.batchSize = opts.batchSize ?? 200;
    this.retryMinMs = opts.retryMinMs ?? 200;
    this.retryMaxMs = opts.retryMaxMs ?? 10_000;
    this.retryMs = this.retryMinMs;
  }

  /** The audit() function: bound, so it can be handed around. */
  readonly record: Audit = (entry) => {
    try {
      const r = toRecord(entry, this.opts.clock.now());
      if (!r) {
        m.dropped.inc();
        alog.warn({ audit: entry }, 'malformed audit entry dropped');
        return;
      }
      if (this.closed) {
        alog.warn({ audit: r }, 'audit entry after close; not stored');
        return;
      }
      this.queue.push(r);
      if (this.queue.length > this.maxPending) {
        const lost = this.queue.shift();
        m.dropped.inc();
        alog.warn({ audit: lost }, 'audit queue full (database unreachable); oldest entry dropped');
      }
      m.pending.set(this.queue.length);
      this.schedule(0);
    } catch (err) {
      // Auditing must never break the request that is being audited.
      alog.error({ err: (err as Error).message }, 'audit failed');
    }
  };

  get pending(): number {
    return this.queue.length;
  }

  /** Resolves when everything recorded so far is stored, or after timeoutMs. */
  async flush(timeoutMs = 5_000): Promise<void> {
    if (this.queue.length === 0 && !this.running) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
      this.schedule(0);
    });
  }

  /** Stop taking entries; what is still queued is logged (it could not be stored). */
  async close(timeoutMs = 2_000): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    for (const r of this.queue.splice(0)) alog.warn({ audit: r }, 'audit entry not stored before shutdown');
    m.pending.set(0);
  }

  private schedule(ms: number): void {
    if (this.running || this.timer || this.closed) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, ms);
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, this.batchSize);
        try {
          await this.opts.sink.insert(batch);
        } catch (err) {
          alog.warn({ err: (err as Error).message, pending: this.queue.length, retryMs: this.retryMs }, 'audit insert failed; will retry');
          const wait = this.retryMs;
          this.retryMs = Math.min(this.retryMs * 2, this.retryMaxMs);
          this.running = false;
          this.schedule(wait);
          return;
        }
        this.retryMs = this.retryMinMs;
        // Entries dropped from the front while the insert ran are no longer at the front: remove
        // exactly the inserted ones.
        for (const r of batch) {
          const i = this.queue.indexOf(r);
          if (i >= 0) this.queue.splice(i, 1);
        }
        m.pending.set(this.queue.length);
      }
    } finally {
      this.running = false;
    }
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Inserts records into audit_log, one statement per batch. */
export class PgAuditSink implements AuditSink {
  constructor(private readonly pool: pg.Pool) {}

  async insert(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.pool.query(
      `INSERT INTO audit_log (at, actor, role, action, target, ip, detail)
       SELECT to_timestamp(a / 1000.0), b, c, d, e, f, g::jsonb
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS t(a, b, c, d, e, f, g)`,
      [
        records.map((r) => r.at),
        records.map((r) => r.actor),
        records.map((r) => r.role),
        records.map((r) => r.action),
        records.map((r) => r.target),
        records.map((r) => r.ip),
        records.map((r) => JSON.stringify(r.detail)),
      ],
    );
  }
}

export const AuditQuerySchema = z.object({
  from: z.number().optional(),
  to: z.number().optional(),
  actor: z.string().min(1).max(200).optional(),
  /** Exact action, or a prefix of dotted words: `recording` matches recording.list and recording.download. */
  action: z.string().regex(ACTION, 'action: dotted lower-case words').optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

interface DbRow {
  id: string;
  at: Date;
  actor: string;
  role: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
}

/** Audit rows in time order, [from, to). */
export async function listAudit(pool: pg.Pool, q: AuditQuery): Promise<AuditRow[]> {
  const r = await pool.query<DbRow>(
    `SELECT id, at, actor, role, action, target, ip, detail FROM audit_log
     WHERE ($1::bigint IS NULL OR at >= to_timestamp($1 / 1000.0))
       AND ($2::bigint IS NULL OR at < to_timestamp($2 / 1000.0))
       AND ($3::text IS NULL OR actor = $3)
       AND ($4::text IS NULL OR action = $4 OR starts_with(action, $4 || '.'))
     ORDER BY at, id LIMIT $5`,
    [q.from ?? null, q.to ?? null, q.actor ?? null, q.action ?? null, q.limit ?? 1000],
  );
  return r.rows.map((x) => ({
    id: Number(x.id),
    at: x.at.toISOString(),
    actor: x.actor,
    role: x.role,
    action: x.action,
    target: x.target,
    ip: x.ip,
    detail: x.detail,
  }));
}

function counter(name: string, help: string): Counter {
  return (metrics.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers: [metrics] });
}
function gauge(name: string, help: string): Gauge {
  return (metrics.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: [metrics] });
}
