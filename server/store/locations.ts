/**
 * The registrar's location service kept in Postgres (sip_registrations), so desk phones stay
 * registered across a restart. Lookups are answered from memory (an INVITE to an agent must not
 * wait on the database); every change is written through, and a write that fails is logged, never
 * refused: a REGISTER is answered even while Postgres is down.
 *
 * Restored at start: the unexpired bindings this node (by name) held, with their remaining
 * expiry. Only UDP bindings survive: a TCP/TLS/WebSocket binding is reachable only down the
 * connection it registered on, which died with the process; those rows are dropped and the
 * clients register again when they reconnect (browsers do at once, sip.js on reconnect).
 */
import type pg from 'pg';
import type { Clock } from '../../lib/clock.ts';
import { log } from '../../lib/log.ts';
import { MemoryLocationStore, type Binding, type LocationStore } from '../sip/index.ts';

const llog = log.child({ mod: 'locations' });

function bindingKey(b: Pick<Binding, 'contact' | 'instanceId' | 'regId'>): string {
  return b.instanceId !== undefined ? `${b.instanceId}|${b.regId ?? ''}` : b.contact;
}

function userOf(aor: string): string {
  const m = /^sips?:([^@]+)@/.exec(aor);
  return m?.[1] ?? aor;
}

export class PgLocationStore implements LocationStore {
  private readonly mem: MemoryLocationStore;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    /** This node's stable name (store.node.name): whose bindings to restore. */
    private readonly node: string,
  ) {
    this.mem = new MemoryLocationStore(clock);
  }

  /**
   * Load this node's unexpired UDP bindings into memory and drop the rest of its rows; returns
   * the bindings restored (the centre logs their desk-phone agents in again).
   */
  async restore(): Promise<Binding[]> {
    const now = this.clock.now();
    const r = await this.pool.query<{ binding: Binding }>(
      'SELECT binding FROM sip_registrations WHERE node_id = $1 AND expires_at > to_timestamp($2 / 1000.0)',
      [this.node, now],
    );
    const restored: Binding[] = [];
    for (const { binding } of r.rows) {
      if (binding.source?.transport !== 'udp' || typeof binding.expiresAt !== 'number' || binding.expiresAt <= now) continue;
      await this.mem.save(binding);
      restored.push(binding);
    }
    const gone = await this.pool.query(
      `DELETE FROM sip_registrations WHERE node_id = $1 AND (expires_at <= to_timestamp($2 / 1000.0) OR binding->'source'->>'transport' <> 'udp')`,
      [this.node, now],
    );
    llog.info({ restored: restored.length, dropped: gone.rowCount ?? 0 }, 'registrations restored');
    return restored;
  }

  lookup(aor: string): Promise<Binding[]> {
    return this.mem.lookup(aor);
  }
  lookupUser(user: string): Promise<Binding[]> {
    return this.mem.lookupUser(user);
  }
  count(): Promise<number> {
    return this.mem.count();
  }

  async save(b: Binding): Promise<void> {
    await this.mem.save(b);
    await this.write(
      `INSERT INTO sip_registrations (aor, binding_key, username, expires_at, binding, node_id)
       VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), $5, $6)
       ON CONFLICT (aor, binding_key) DO UPDATE SET username = EXCLUDED.username, expires_at = EXCLUDED.expires_at,
         binding = EXCLUDED.binding, node_id = EXCLUDED.node_id`,
      [b.aor, bindingKey(b), userOf(b.aor), b.expiresAt, JSON.stringify(b), this.node],
    );
  }

  async remove(aor: string, contact: string): Promise<void> {
    await this.mem.remove(aor, contact);
    await this.write(`DELETE FROM sip_registrations WHERE aor = $1 AND binding->>'contact' = $2`, [aor, contact]);
  }

  async removeAll(aor: string): Promise<void> {
    await this.mem.removeAll(aor);
    await this.write('DELETE FROM sip_registrations WHERE aor = $1', [aor]);
  }

  async removeFlow(flowId: string): Promise<Binding[]> {
    const gone = await this.mem.removeFlow(flowId);
    await this.deleteBindings(gone);
    return gone;
  }

  async purgeExpired(): Promise<Binding[]> {
    const gone = await this.mem.purgeExpired();
    await this.deleteBindings(gone);
    return gone;
  }

  private async deleteBindings(gone: readonly Binding[]): Promise<void> {
    if (gone.length === 0) return;
    await this.write('DELETE FROM sip_registrations WHERE (aor, binding_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [
      gone.map((b) => b.aor),
      gone.map((b) => bindingKey(b)),
    ]);
  }

  private async write(sql: string, params: unknown[]): Promise<void> {
    try {
      await this.pool.query(sql, params);
    } catch (err) {
      // Memory stays right; only a restart during the outage would forget this change.
      llog.warn({ err: String(err) }, 'registration not persisted');
    }
  }
}
