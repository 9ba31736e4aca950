/**
 * The customer file in Postgres: customers and their (normalised) numbers, the contacts of those
 * numbers read from the event log's projections (contacts, queue_events, dispositions,
 * survey_answers) with what agents wrote through the after-call API (contact_wrapups), and the
 * complaint counts the reports need. All SQL for customers lives here.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';

export interface Customer {
  id: string;
  name?: string;
  externalId?: string;
  email?: string;
  numbers: string[];
  createdAt: number;
}

export interface CustomerContact {
  contactId: string;
  arrivedAt: number;
  endedAt?: number;
  caller: string;
  initiation?: string;
  queue?: string;
  agentId?: string;
  disposition?: string;
  note?: string;
  complaint: boolean;
  complaintCategory?: string;
  callbackRequested: boolean;
  completedInIvr: boolean;
  surveys: { question: string; value: number; scale: number; at: number }[];
}

export interface WrapupRecord {
  contactId: string;
  agentId: string;
  at: number;
  disposition?: string | undefined;
  note?: string | undefined;
  complaint?: boolean | undefined;
  complaintCategory?: string | undefined;
}

const ms = (d: Date | null | undefined): number | undefined => (d ? d.getTime() : undefined);

interface CustomerRow {
  customer_id: string;
  name: string | null;
  external_id: string | null;
  email: string | null;
  created_at: Date;
  numbers: string[] | null;
}

function customerOf(r: CustomerRow): Customer {
  return {
    id: r.customer_id,
    numbers: r.numbers ?? [],
    createdAt: r.created_at.getTime(),
    ...(r.name !== null ? { name: r.name } : {}),
    ...(r.external_id !== null ? { externalId: r.external_id } : {}),
    ...(r.email !== null ? { email: r.email } : {}),
  };
}

const SELECT_CUSTOMER = `SELECT c.customer_id, c.name, c.external_id, c.email, c.created_at,
  (SELECT array_agg(number ORDER BY number) FROM customer_numbers n WHERE n.customer_id = c.customer_id) AS numbers
  FROM customers c`;

export class PgCustomerStore {
  constructor(private readonly pool: pg.Pool) {}

  async get(id: string): Promise<Customer | undefined> {
    const r = await this.pool.query<CustomerRow>(`${SELECT_CUSTOMER} WHERE c.customer_id = $1`, [id]);
    return r.rows[0] ? customerOf(r.rows[0]) : undefined;
  }

  async byNumber(number: string): Promise<Customer | undefined> {
    const r = await this.pool.query<CustomerRow>(
      `${SELECT_CUSTOMER} WHERE c.customer_id = (SELECT customer_id FROM customer_numbers WHERE number = $1)`,
      [number],
    );
    return r.rows[0] ? customerOf(r.rows[0]) : undefined;
  }

  /** By number (exact, normalised), by name (case-insensitive substring) or external id. */
  async search(q: { number?: string; name?: string; externalId?: string; limit?: number }): Promise<Customer[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.number !== undefined) {
      args.push(q.number);
      where.push(`c.customer_id IN (SELECT customer_id FROM customer_numbers WHERE number = $${args.length})`);
    }
    if (q.name !== undefined) {
      args.push(`%${q.name.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
      where.push(`lower(c.name) LIKE $${args.length}`);
    }
    if (q.externalId !== undefined) {
      args.push(q.externalId);
      where.push(`c.external_id = $${args.length}`);
    }
    args.push(q.limit ?? 50);
    const r = await this.pool.query<CustomerRow>(
      `${SELECT_CUSTOMER} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.created_at LIMIT $${args.length}`,
      args,
    );
    return r.rows.map(customerOf);
  }

  /**
   * The customer a number belongs to, created when the number is new. An external id (from the
   * IVR's lookup) or a name fills in what the record lacks; an external id already on another
   * customer joins the number to that customer.
   */
  async resolve(number: string, extra: { externalId?: string | undefined; name?: string | undefined } = {}): Promise<Customer> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`customer:${number}`]);
      let id = (await client.query<{ customer_id: string }>('SELECT customer_id FROM customer_numbers WHERE number = $1', [number])).rows[0]
        ?.customer_id;
      if (!id && extra.externalId) {
        id = (await client.query<{ customer_id: string }>('SELECT customer_id FROM customers WHERE external_id = $1', [extra.externalId]))
          .rows[0]?.customer_id;
        if (id) await client.query('INSERT INTO customer_numbers (number, customer_id) VALUES ($1, $2)', [number, id]);
      }
      if (!id) {
        id = randomUUID();
        const ext = extra.externalId
          ? (await client.query('SELECT 1 FROM customers WHERE external_id = $1', [extra.externalId])).rowCount
            ? null
            : extra.externalId
          : null;
        await client.query('INSERT INTO customers (customer_id, name, external_id) VALUES ($1, $2, $3)', [id, extra.name ?? null, ext]);
        await client.query('INSERT INTO customer_numbers (number, customer_id) VALUES ($1, $2)', [number, id]);
      } else if (extra.externalId || extra.name) {
        await client.query(
          `UPDATE customers SET name = coalesce(name, $2),
             external_id = coalesce(external_id, CASE WHEN EXISTS (SELECT 1 FROM customers WHERE external_id = $3) THEN NULL ELSE $3 END),
             updated_at = now() WHERE customer_id = $1`,
          [id, extra.name ?? null, extra.externalId ?? null],
        );
      }
      await client.query('COMMIT');
      return (await this.get(id))!;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  /** Change name, email, external id; add numbers (already normalised). */
  async update(
    id: string,
    patch: { name?: string; email?: string; externalId?: string; addNumbers?: string[] },
  ): Promise<Customer | undefined> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const r = await client.query(
        `UPDATE customers SET name = coalesce($2, name), email = coalesce($3, email), external_id = coalesce($4, external_id), updated_at = now()
         WHERE customer_id = $1`,
        [id, patch.name ?? null, patch.email ?? null, patch.externalId ?? null],
      );
      if (r.rowCount === 0) {
        await client.query('ROLLBACK');
        return undefined;
      }
      for (const n of patch.addNumbers ?? [])
        await client.query(
          'INSERT INTO customer_numbers (number, customer_id) VALUES ($1, $2) ON CONFLICT (number) DO UPDATE SET customer_id = $2',
          [n, id],
        );
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
    return this.get(id);
  }

  /** The contacts from these numbers, newest first, with what was written after each. */
  async contacts(numbers: readonly string[], opts: { limit?: number; exclude?: string } = {}): Promise<CustomerContact[]> {
    if (numbers.length === 0) return [];
    const r = await this.pool.query<{
      contact_id: string;
      arrived_at: Date;
      ended_at: Date | null;
      caller: string;
      initiation: string | null;
      callback_requested: boolean;
      completed_in_ivr: boolean;
      queue: string | null;
      agent_id: string | null;
      disposition: string | null;
      note: string | null;
      complaint: boolean | null;
      complaint_category: string | null;
      surveys: { question: string; value: number; scale: number; at: string }[] | null;
    }>(
      `SELECT c.contact_id, c.arrived_at, c.ended_at, c.caller, c.initiation, c.callback_requested, c.completed_in_ivr,
         (SELECT q.queue FROM queue_events q WHERE q.contact_id = c.contact_id ORDER BY q.seq DESC LIMIT 1) AS queue,
         (SELECT q.agent_id FROM queue_events q WHERE q.contact_id = c.contact_id AND q.event = 'CONNECT' ORDER BY q.seq DESC LIMIT 1) AS agent_id,
         w.disposition, w.note, w.complaint, w.complaint_category,
         (SELECT json_agg(json_build_object('question', s.question, 'value', s.value, 'scale', s.scale, 'at', s.at) ORDER BY s.seq)
            FROM survey_answers s WHERE s.contact_id = c.contact_id) AS surveys
       FROM contacts c
       LEFT JOIN LATERAL (
         SELECT x.disposition, x.note, x.complaint, x.complaint_category FROM (
           SELECT cw.disposition, cw.note, cw.complaint, cw.complaint_category, cw.at FROM contact_wrapups cw WHERE cw.contact_id = c.contact_id
           UNION ALL
           SELECT d.disposition, d.note, false, NULL, d.at FROM dispositions d
             WHERE d.contact_id = c.contact_id AND (d.disposition IS NOT NULL OR d.note IS NOT NULL)
         ) x ORDER BY x.at DESC LIMIT 1) w ON true
       WHERE cc_normalise_number(c.caller) = ANY($1::text[]) AND c.arrived_at IS NOT NULL AND c.contact_id <> $3
       ORDER BY c.arrived_at DESC LIMIT $2`,
      [numbers, opts.limit ?? 20, opts.exclude ?? ''],
    );
    return r.rows.map((x) => ({
      contactId: x.contact_id,
      arrivedAt: x.arrived_at.getTime(),
      caller: x.caller,
      complaint: x.complaint ?? false,
      callbackRequested: x.callback_requested,
      completedInIvr: x.completed_in_ivr,
      surveys: (x.surveys ?? []).map((s) => ({ question: s.question, value: s.value, scale: s.scale, at: Date.parse(s.at) })),
      ...(x.ended_at ? { endedAt: ms(x.ended_at)! } : {}),
      ...(x.initiation !== null ? { initiation: x.initiation } : {}),
      ...(x.queue !== null ? { queue: x.queue } : {}),
      ...(x.agent_id !== null ? { agentId: x.agent_id } : {}),
      ...(x.disposition !== null ? { disposition: x.disposition } : {}),
      ...(x.note !== null ? { note: x.note } : {}),
      ...(x.complaint_category !== null ? { complaintCategory: x.complaint_category } : {}),
    }));
  }

  /** The contact's caller and the agents who answered it (who may write its wrap-up). */
  async contact(contactId: string): Promise<{ caller: string; agents: string[] } | undefined> {
    const r = await this.pool.query<{ caller: string | null; agents: string[] | null }>(
      `SELECT c.caller, (SELECT array_agg(DISTINCT q.agent_id) FROM queue_events q WHERE q.contact_id = c.contact_id AND q.event = 'CONNECT') AS agents
       FROM contacts c WHERE c.contact_id = $1`,
      [contactId],
    );
    const row = r.rows[0];
    return row ? { caller: row.caller ?? '', agents: row.agents ?? [] } : undefined;
  }

  async recordWrapup(w: WrapupRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO contact_wrapups (contact_id, agent_id, at, disposition, note, complaint, complaint_category)
       VALUES ($1, $2, to_timestamp($3 / 1000.0), $4, $5, $6, $7)`,
      [w.contactId, w.agentId, w.at, w.disposition ?? null, w.note ?? null, w.complaint ?? false, w.complaintCategory ?? null],
    );
  }

  /** Contacts answered by an agent that arrived in [from, to), and how many of them were flagged as complaints. */
  async complaintCounts(from: number, to: number): Promise<{ handled: number; complaints: number }> {
    const r = await this.pool.query<{ handled: string; complaints: string }>(
      `SELECT count(*) AS handled, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contact_wrapups w WHERE w.contact_id = c.contact_id AND w.complaint)) AS complaints
       FROM contacts c
       WHERE c.arrived_at >= to_timestamp($1 / 1000.0) AND c.arrived_at < to_timestamp($2 / 1000.0)
         AND EXISTS (SELECT 1 FROM queue_events q WHERE q.contact_id = c.contact_id AND q.event = 'CONNECT')`,
      [from, to],
    );
    return { handled: Number(r.rows[0]?.handled ?? 0), complaints: Number(r.rows[0]?.complaints ?? 0) };
  }

  /** The SQL normalisation of numbers, for the test that it agrees with normaliseNumber. */
  async normalise(raw: string): Promise<string | null> {
    return (await this.pool.query<{ n: string | null }>('SELECT cc_normalise_number($1) AS n', [raw])).rows[0]?.n ?? null;
  }
}
