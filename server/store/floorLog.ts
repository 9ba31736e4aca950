/**
 * The supervisor floor's event log (table floor_events, migration 1766400000000_floor.sql):
 * alert.raised / alert.cleared, surge.action / surge.reversed / surge.level, help.requested and the
 * supervisor controls. Written like the audit trail — record() is synchronous and never throws; a
 * background pump inserts in order and retries while Postgres is away (AuditTrail's queue, with
 * this table as its sink) — and read back for the board and GET /api/v1/floor/events.
 */
import type pg from 'pg';
import type { Clock } from '../../lib/clock.ts';
import { AuditTrail, type AuditAction, type AuditRecord, type AuditSink } from './audit.ts';

export interface FloorEvent {
  type: string;
  actor: string;
  target?: string | undefined;
  detail?: Record<string, unknown> | undefined;
  at?: number | undefined;
}

export interface FloorEventRow {
  id: number;
  at: string;
  type: string;
  actor: string;
  target: string | null;
  detail: Record<string, unknown>;
}

class FloorSink implements AuditSink {
  constructor(private readonly pool: pg.Pool) {}
  async insert(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.pool.query(
      `INSERT INTO floor_events (at, type, actor, target, detail)
       SELECT to_timestamp(a / 1000.0), b, c, d, e::jsonb
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(a, b, c, d, e)`,
      [
        records.map((r) => r.at),
        records.map((r) => r.action),
        records.map((r) => r.actor),
        records.map((r) => r.target),
        records.map((r) => JSON.stringify(r.detail)),
      ],
    );
  }
}

export class FloorLog {
  private readonly trail: AuditTrail;

  constructor(
    private readonly pool: pg.Pool,
    clock: Clock,
  ) {
    this.trail = new AuditTrail({ sink: new FloorSink(pool), clock });
  }

  /** Queue one event; never throws. */
  readonly record = (e: FloorEvent): void => {
    // The trail checks the dotted-words shape the table's CHECK wants; its action type is the audit's.
    this.trail.record({ actor: e.actor, action: e.type as AuditAction, target: e.target, detail: e.detail, at: e.at });
  };

  flush(timeoutMs?: number): Promise<void> {
    return this.trail.flush(timeoutMs);
  }

  close(): Promise<void> {
    return this.trail.close();
  }

  async list(q: { from?: number; to?: number; type?: string; limit?: number }): Promise<FloorEventRow[]> {
    const r = await this.pool.query<{
      id: string;
      at: Date;
      type: string;
      actor: string;
      target: string | null;
      detail: Record<string, unknown>;
    }>(
      `SELECT id, at, type, actor, target, detail FROM floor_events
       WHERE ($1::bigint IS NULL OR at >= to_timestamp($1 / 1000.0))
         AND ($2::bigint IS NULL OR at < to_timestamp($2 / 1000.0))
         AND ($3::text IS NULL OR type = $3 OR starts_with(type, $3 || '.'))
       ORDER BY at DESC, id DESC LIMIT $4`,
      [q.from ?? null, q.to ?? null, q.type ?? null, q.limit ?? 200],
    );
    return r.rows.map((x) => ({
      id: Number(x.id),
      at: x.at.toISOString(),
      type: x.type,
      actor: x.actor,
      target: x.target,
      detail: x.detail,
    }));
  }
}
