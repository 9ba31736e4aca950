/**
 * The webhook outbox in Postgres. Contact events reach webhook_events through a trigger on the
 * event log (same transaction as the event); the server adds its own (work orders, complaints).
 * fanOut turns each event into one delivery per subscribed hook; the dispatcher
 * (server/webhooks/dispatcher.ts) sends what is due and records the outcome. Nothing is removed
 * before it was delivered or gave up, so a restart or an unreachable receiver loses nothing.
 */
import type pg from 'pg';

export interface DueDelivery {
  id: number;
  hook: string;
  attempts: number;
  eventId: number;
  type: string;
  body: Record<string, unknown>;
}

export class PgWebhookStore {
  constructor(private readonly pool: pg.Pool) {}

  async enqueue(type: string, body: Record<string, unknown>): Promise<void> {
    await this.pool.query('INSERT INTO webhook_events (type, body) VALUES ($1, $2)', [type, JSON.stringify(body)]);
  }

  /** One delivery per hook subscribed to each new event; returns how many events were fanned out. */
  async fanOut(hooksFor: (type: string) => string[], limit = 500): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const r = await client.query<{ id: string; type: string }>(
        'SELECT id, type FROM webhook_events WHERE NOT fanned_out ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
        [limit],
      );
      for (const e of r.rows) {
        for (const hook of hooksFor(e.type))
          await client.query('INSERT INTO webhook_deliveries (event_id, hook) VALUES ($1, $2) ON CONFLICT DO NOTHING', [e.id, hook]);
      }
      if (r.rows.length > 0)
        await client.query('UPDATE webhook_events SET fanned_out = true WHERE id = ANY($1::bigint[])', [r.rows.map((e) => e.id)]);
      await client.query('COMMIT');
      return r.rows.length;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async due(now: number, limit = 50): Promise<DueDelivery[]> {
    const r = await this.pool.query<{
      id: string;
      hook: string;
      attempts: number;
      event_id: string;
      type: string;
      body: Record<string, unknown>;
    }>(
      `SELECT d.id, d.hook, d.attempts, d.event_id, e.type, e.body FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
       WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_at <= to_timestamp($1 / 1000.0)
       ORDER BY d.event_id, d.id LIMIT $2`,
      [now, limit],
    );
    return r.rows.map((x) => ({
      id: Number(x.id),
      hook: x.hook,
      attempts: x.attempts,
      eventId: Number(x.event_id),
      type: x.type,
      body: x.body,
    }));
  }

  async delivered(id: number, now: number, status: number): Promise<void> {
    await this.pool.query(
      'UPDATE webhook_deliveries SET delivered_at = to_timestamp($2 / 1000.0), attempts = attempts + 1, last_status = $3, last_error = NULL WHERE id = $1',
      [id, now, status],
    );
  }

  /** A failed attempt: try again at `nextAt`, or give up (nextAt undefined). */
  async attemptFailed(id: number, now: number, error: string, status: number | undefined, nextAt: number | undefined): Promise<void> {
    await this.pool.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $3, last_error = $4,
         next_at = coalesce(to_timestamp($5 / 1000.0), next_at), failed_at = CASE WHEN $5::bigint IS NULL THEN to_timestamp($2 / 1000.0) END
       WHERE id = $1`,
      [id, now, status ?? null, error.slice(0, 500), nextAt ?? null],
    );
  }

  async nextDue(): Promise<number | undefined> {
    const r = await this.pool.query<{ t: Date | null }>(
      'SELECT min(next_at) AS t FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL',
    );
    return r.rows[0]?.t?.getTime();
  }

  async stats(): Promise<{ pending: number; delivered: number; failed: number }> {
    const r = await this.pool.query<{ pending: string; delivered: string; failed: string }>(
      `SELECT count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL) AS pending,
              count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered, count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed
       FROM webhook_deliveries`,
    );
    const x = r.rows[0]!;
    return { pending: Number(x.pending), delivered: Number(x.delivered), failed: Number(x.failed) };
  }
}
