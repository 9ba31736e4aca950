/**
 * Work orders in Postgres: the order as the engine (server/workorders/engine.ts) returns it, saved
 * with optimistic concurrency (a version), and every change in work_order_events. All SQL for work
 * orders lives here.
 */
import type pg from 'pg';
import type { WorkOrder } from '../workorders/engine.ts';

export interface WorkOrderEvent {
  at: number;
  actor: string;
  kind: string;
  detail: Record<string, unknown>;
}

interface Row {
  work_order_id: string;
  category: string;
  priority: string;
  state: string;
  owner_kind: 'agent' | 'queue' | 'group';
  owner_id: string;
  subject: string;
  description: string | null;
  complaint: boolean;
  customer_id: string | null;
  contact_id: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  due_at: Date | null;
  escalation_level: number;
  next_escalation_at: Date | null;
  breached_at: Date | null;
  closed_at: Date | null;
  version: number;
}

function orderOf(r: Row): WorkOrder {
  const opt = <K extends string>(k: K, v: Date | string | null) =>
    v === null ? {} : ({ [k]: v instanceof Date ? v.getTime() : v } as Record<K, number | string>);
  return {
    id: r.work_order_id,
    category: r.category,
    priority: r.priority,
    state: r.state,
    owner: { kind: r.owner_kind, id: r.owner_id },
    subject: r.subject,
    complaint: r.complaint,
    createdBy: r.created_by,
    createdAt: r.created_at.getTime(),
    updatedAt: r.updated_at.getTime(),
    escalationLevel: r.escalation_level,
    version: r.version,
    ...(opt('description', r.description) as { description?: string }),
    ...(opt('customerId', r.customer_id) as { customerId?: string }),
    ...(opt('contactId', r.contact_id) as { contactId?: string }),
    ...(opt('dueAt', r.due_at) as { dueAt?: number }),
    ...(opt('nextEscalationAt', r.next_escalation_at) as { nextEscalationAt?: number }),
    ...(opt('breachedAt', r.breached_at) as { breachedAt?: number }),
    ...(opt('closedAt', r.closed_at) as { closedAt?: number }),
  };
}

const ts = (v: number | undefined): string | null => (v === undefined ? null : new Date(v).toISOString());

function values(w: WorkOrder): unknown[] {
  return [
    w.id,
    w.category,
    w.priority,
    w.state,
    w.owner.kind,
    w.owner.id,
    w.subject,
    w.description ?? null,
    w.complaint,
    w.customerId ?? null,
    w.contactId ?? null,
    w.createdBy,
    ts(w.createdAt),
    ts(w.updatedAt),
    ts(w.dueAt),
    w.escalationLevel,
    ts(w.nextEscalationAt),
    ts(w.breachedAt),
    ts(w.closedAt),
    w.version,
  ];
}

export class PgWorkOrderStore {
  constructor(private readonly pool: pg.Pool) {}

  async insert(w: WorkOrder, event: WorkOrderEvent): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO work_orders (work_order_id, category, priority, state, owner_kind, owner_id, subject, description, complaint,
           customer_id, contact_id, created_by, created_at, updated_at, due_at, escalation_level, next_escalation_at, breached_at, closed_at, version)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)`,
        values(w),
      );
      await addEvent(client, w.id, event);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  /** Save `w` if the stored version is still `w.version - 1`; false if someone changed it meanwhile. */
  async update(w: WorkOrder, events: WorkOrderEvent[]): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const r = await client.query(
        `UPDATE work_orders SET category=$2, priority=$3, state=$4, owner_kind=$5, owner_id=$6, subject=$7, description=$8, complaint=$9,
           customer_id=$10, contact_id=$11, created_by=$12, created_at=$13, updated_at=$14, due_at=$15, escalation_level=$16,
           next_escalation_at=$17, breached_at=$18, closed_at=$19, version=$20
         WHERE work_order_id = $1 AND version = $20 - 1`,
        values(w),
      );
      if (r.rowCount !== 1) {
        await client.query('ROLLBACK');
        return false;
      }
      for (const e of events) await addEvent(client, w.id, e);
      await client.query('COMMIT');
      return true;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async get(id: string): Promise<WorkOrder | undefined> {
    const r = await this.pool.query<Row>('SELECT * FROM work_orders WHERE work_order_id = $1', [id]);
    return r.rows[0] ? orderOf(r.rows[0]) : undefined;
  }

  async list(q: {
    state?: string;
    ownerKind?: string;
    ownerId?: string;
    customerId?: string;
    contactId?: string;
    open?: boolean;
    finalStates?: string[];
    from?: number;
    to?: number;
    limit?: number;
  }): Promise<WorkOrder[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (q.state !== undefined) add('state = ?', q.state);
    if (q.ownerKind !== undefined) add('owner_kind = ?', q.ownerKind);
    if (q.ownerId !== undefined) add('owner_id = ?', q.ownerId);
    if (q.customerId !== undefined) add('customer_id = ?', q.customerId);
    if (q.contactId !== undefined) add('contact_id = ?', q.contactId);
    if (q.open === true && q.finalStates) add('NOT (state = ANY(?::text[]))', q.finalStates);
    if (q.open === false && q.finalStates) add('state = ANY(?::text[])', q.finalStates);
    if (q.from !== undefined) add('created_at >= to_timestamp(? / 1000.0)', q.from);
    if (q.to !== undefined) add('created_at < to_timestamp(? / 1000.0)', q.to);
    args.push(q.limit ?? 500);
    const r = await this.pool.query<Row>(
      `SELECT * FROM work_orders ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT $${args.length}`,
      args,
    );
    return r.rows.map(orderOf);
  }

  /** Orders with an escalation due by `now`. */
  async due(now: number, limit = 100): Promise<WorkOrder[]> {
    const r = await this.pool.query<Row>(
      'SELECT * FROM work_orders WHERE next_escalation_at <= to_timestamp($1 / 1000.0) ORDER BY next_escalation_at LIMIT $2',
      [now, limit],
    );
    return r.rows.map(orderOf);
  }

  /** The earliest escalation still to come. */
  async nextDue(): Promise<number | undefined> {
    const r = await this.pool.query<{ t: Date | null }>('SELECT min(next_escalation_at) AS t FROM work_orders');
    return r.rows[0]?.t?.getTime();
  }

  async events(id: string): Promise<WorkOrderEvent[]> {
    const r = await this.pool.query<{ at: Date; actor: string; kind: string; detail: Record<string, unknown> }>(
      'SELECT at, actor, kind, detail FROM work_order_events WHERE work_order_id = $1 ORDER BY id',
      [id],
    );
    return r.rows.map((e) => ({ at: e.at.getTime(), actor: e.actor, kind: e.kind, detail: e.detail }));
  }
}

async function addEvent(client: pg.PoolClient, id: string, e: WorkOrderEvent): Promise<void> {
  await client.query(
    'INSERT INTO work_order_events (work_order_id, at, actor, kind, detail) VALUES ($1, to_timestamp($2 / 1000.0), $3, $4, $5)',
    [id, e.at, e.actor, e.kind, JSON.stringify(e.detail)],
  );
}
