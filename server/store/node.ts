/**
 * This process as a node of the centre: its row in cc_nodes (registered before any event is
 * written), a heartbeat every few seconds, and, once recovery has run at start, a periodic look
 * for other nodes whose heartbeat went stale so their open streams are closed (recovery.ts).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { log } from '../../lib/log.ts';
import { recoverDeadNodes, wavEvidence, type RecoveryReport } from './recovery.ts';
import type { CcEventInput } from '../kpi/events.ts';

const nlog = log.child({ mod: 'node' });

export interface NodeOptions {
  /** Stable across restarts of this process (default: host name and spool directory). */
  name: string;
  /** Default 5 s. */
  heartbeatMs?: number;
  /** A node whose heartbeat is older is dead. Default 30 s. */
  staleMs?: number;
}

export class Node {
  readonly id = randomBytes(6).toString('hex');
  readonly name: string;
  private readonly heartbeatMs: number;
  private readonly staleMs: number;
  private timer: TimerHandle | undefined;
  private recovering: Promise<RecoveryReport[]> | undefined;
  private watching = false;
  private closed = false;
  private lastWatch = 0;
  private recordingsDir: string | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly emit: (e: CcEventInput) => boolean,
    opts: NodeOptions,
  ) {
    this.name = opts.name;
    this.heartbeatMs = opts.heartbeatMs ?? 5_000;
    this.staleMs = opts.staleMs ?? 30_000;
  }

  static async register(pool: pg.Pool, clock: Clock, emit: (e: CcEventInput) => boolean, opts: NodeOptions): Promise<Node> {
    const n = new Node(pool, clock, emit, opts);
    const now = clock.now();
    await pool.query(
      `INSERT INTO cc_nodes (node_id, name, host, pid, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0), to_timestamp($5 / 1000.0))`,
      [n.id, n.name, hostname(), process.pid, now],
    );
    n.schedule();
    nlog.info({ node: n.id, name: n.name }, 'node registered');
    return n;
  }

  /**
   * Close what dead nodes left open (my previous boot, stopped nodes, stale heartbeats). Call once
   * the spool of the previous run is in Postgres and the media plane has repaired the recordings;
   * from then on other nodes are watched every staleMs.
   */
  recover(recordingsDir?: string): Promise<RecoveryReport[]> {
    const run = (this.recovering ??= recoverDeadNodes(this.pool, {
      nodeId: this.id,
      name: this.name,
      now: this.clock.now(),
      staleMs: this.staleMs,
      emit: this.emit,
      // Only files under the recordings directory are read.
      recordingEvidence: (path, startedAt) =>
        recordingsDir && path.startsWith(recordingsDir) ? wavEvidence(path, startedAt) : Promise.resolve({}),
    }).finally(() => {
      this.recovering = undefined;
    }));
    this.watching = true;
    this.recordingsDir = recordingsDir;
    this.lastWatch = this.clock.now();
    return run;
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    await this.pool
      .query('UPDATE cc_nodes SET stopped_at = to_timestamp($2 / 1000.0), heartbeat_at = to_timestamp($2 / 1000.0) WHERE node_id = $1', [
        this.id,
        this.clock.now(),
      ])
      .catch((err: unknown) => nlog.warn({ err: String(err) }, 'could not mark the node stopped; it will be found stale'));
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.clock.setTimeout(() => void this.beat().finally(() => this.schedule()), this.heartbeatMs);
  }

  private async beat(): Promise<void> {
    try {
      const r = await this.pool.query<{ recovered: boolean }>(
        'UPDATE cc_nodes SET heartbeat_at = to_timestamp($2 / 1000.0) WHERE node_id = $1 RETURNING recovered_at IS NOT NULL AS recovered',
        [this.id, this.clock.now()],
      );
      if (r.rows[0]?.recovered) {
        // Another node took us for dead (we could not reach Postgres for longer than staleMs) and
        // closed our streams; events we still write to them are dropped as duplicates.
        nlog.error({ node: this.id }, 'this node was declared dead and recovered by another; restart it');
      }
    } catch (err) {
      nlog.warn({ err: String(err) }, 'heartbeat failed');
      return;
    }
    if (this.watching && !this.closed && this.clock.now() - this.lastWatch >= this.staleMs) {
      await this.recover(this.recordingsDir).catch((err: unknown) => nlog.warn({ err: String(err) }, 'recovery of dead nodes failed'));
    }
  }
}
