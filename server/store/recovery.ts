/**
 * Crash recovery: whatever a dead node left open in the event log is closed, so every duration,
 * wait and occupancy figure is right without anyone editing the database.
 *
 * A node (one server process) registers a row in cc_nodes before it writes an event and refreshes
 * its heartbeat every few seconds. Contacts carry their producer's node id (contact.arrived
 * `node`), agent streams carry it in their id (`agent:<agent>#<node>`). A node is dead when it
 * stopped, when its heartbeat is stale, or when it is my own previous boot (same name: host and
 * spool directory, which two live processes cannot share). Each dead node is claimed once
 * (recovered_at) and its open streams are closed:
 *
 *   queued           queue.exit reason 'system'   (before call.end, as the KPI engine expects)
 *   on hold          hold.end
 *   recording        recording.stopped, bytes as the repaired file on disk
 *   no call.end      call.end endedBy 'system', cause 'crash'
 *   wrap-up open     wrapup.end
 *   agent logged in  agent.state logged-out, reason 'crash'
 *
 * all stamped at the last moment the log proves the node alive (its last heartbeat, its last
 * event, the end of the audio its recorders wrote), never "now": a crash followed by an hour of
 * downtime must not become an hour of talk. The events are appended to each stream with the next
 * sequence numbers through the normal writer, so the projections (contacts, legs, recordings,
 * queue_events, agent_state_changes) follow.
 *
 * planClosure/planRecovery are pure (unit-tested against hand-computed truth); recoverDeadNodes
 * does the SQL and the file reads around them.
 */
import { open } from 'node:fs/promises';
import type pg from 'pg';
import { AGENT_STREAM_PREFIX, parseEvent, type CcEvent, type CcEventInput } from '../kpi/events.ts';
import { log } from '../../lib/log.ts';

const rlog = log.child({ mod: 'recovery' });

/** What is known about a recording left open, from its file (repaired by the media plane at start). */
export interface RecordingEvidence {
  /** Size of the file now. */
  bytes?: number;
  /** Epoch ms up to which the file holds audio (recording.started + its duration). */
  audioUntil?: number;
}

export interface StreamClosure {
  streamId: string;
  events: CcEventInput[];
}

export interface RecoveryPlan {
  /** The time every closing event carries. */
  at: number;
  closures: StreamClosure[];
  /**
   * Callbacks asked for and neither answered nor given up, as the event log tells them. The
   * durable list is cc_callbacks (store/callbacks.ts), which the centre re-queues at start; these
   * are adopted into it when missing (PgCallbackStore.adopt).
   */
  pendingCallbacks: { contactId: string; queue: string; number: string; requestedAt: number; enteredAt: number; attempts: number }[];
}

/**
 * The closing events for one stream (its events in any order, duplicates allowed), stamped `at`
 * (never before the stream's own last event) and numbered after its last seq. Empty when the
 * stream is already closed.
 */
export function planClosure(
  streamId: string,
  events: readonly CcEvent[],
  at: number,
  recordings?: ReadonlyMap<string, RecordingEvidence>,
  /** 'shutdown' when the node stopped cleanly (its calls were finished; sessions, wrap-ups may be open). */
  cause: 'crash' | 'shutdown' = 'crash',
): CcEventInput[] {
  const list = dedupe(events);
  if (list.length === 0) return [];
  const last = list[list.length - 1]!;
  const ts = Math.max(at, ...list.map((e) => e.ts));
  let seq = last.seq;
  const out: CcEventInput[] = [];
  const add = (e: DistributiveOmit<CcEventInput, 'contactId' | 'seq' | 'ts'>): void => {
    out.push({ ...e, contactId: streamId, seq: ++seq, ts });
  };

  if (streamId.startsWith(AGENT_STREAM_PREFIX)) {
    let state: CcEvent | undefined;
    for (const e of list) if (e.type === 'agent.state') state = e;
    if (state?.type === 'agent.state' && state.state !== 'logged-out')
      add({ type: 'agent.state', agentId: state.agentId, state: 'logged-out', reason: cause });
    return out;
  }

  let queued: string | undefined;
  let connected = false;
  let holdBy: string | undefined;
  let ended = false;
  const wrapups = new Map<string, string | undefined>(); // agentId -> queue, started and not ended
  const openRecordings: string[] = [];
  for (const e of list) {
    switch (e.type) {
      case 'queue.enter':
        queued = e.queue;
        break;
      case 'queue.connect':
        connected = true;
        queued = undefined;
        break;
      case 'queue.abandon':
      case 'queue.exit':
        queued = undefined;
        break;
      case 'queue.transfer':
        connected = false;
        holdBy = undefined;
        break;
      case 'hold.start':
        if (connected) holdBy = e.agentId;
        break;
      case 'hold.end':
        holdBy = undefined;
        break;
      case 'call.end':
        ended = true;
        connected = false;
        holdBy = undefined;
        // The KPI engine closes a queue visit still open at call.end itself (with an anomaly).
        queued = undefined;
        break;
      case 'wrapup.start':
        wrapups.set(e.agentId, e.queue);
        break;
      case 'wrapup.end':
        wrapups.delete(e.agentId);
        break;
      case 'recording.started':
        openRecordings.push(e.recordingId);
        break;
      case 'recording.stopped': {
        const i = openRecordings.indexOf(e.recordingId);
        if (i >= 0) openRecordings.splice(i, 1);
        break;
      }
      default:
        break;
    }
  }
  // The engine reads a queue visit still open at call.end as a system exit, but says so as an
  // anomaly; the explicit exit first keeps the log clean.
  if (queued !== undefined) add({ type: 'queue.exit', queue: queued, reason: 'system' });
  if (holdBy !== undefined) add({ type: 'hold.end', agentId: holdBy });
  for (const id of openRecordings) {
    const bytes = recordings?.get(id)?.bytes;
    add({ type: 'recording.stopped', recordingId: id, ...(bytes !== undefined ? { bytes } : {}) });
  }
  if (!ended) add({ type: 'call.end', endedBy: 'system', cause });
  for (const agentId of wrapups.keys()) add({ type: 'wrapup.end', agentId, extended: false });
  return out;
}

/**
 * The last moment a dead node is proven alive: its last heartbeat (or clean stop), the last event
 * of any of its streams, the end of the audio any of its open recordings holds.
 */
export function provenUntil(
  heartbeat: number,
  streams: ReadonlyMap<string, readonly CcEvent[]>,
  recordings?: ReadonlyMap<string, RecordingEvidence>,
): number {
  let t = heartbeat;
  for (const evs of streams.values()) for (const e of evs) t = Math.max(t, e.ts);
  for (const r of recordings?.values() ?? []) if (r.audioUntil !== undefined) t = Math.max(t, Math.floor(r.audioUntil));
  return t;
}

/** Everything a dead node left open, closed at the time it is proven alive to. */
export function planRecovery(
  heartbeat: number,
  streams: ReadonlyMap<string, readonly CcEvent[]>,
  recordings?: ReadonlyMap<string, RecordingEvidence>,
  cause: 'crash' | 'shutdown' = 'crash',
): RecoveryPlan {
  const at = provenUntil(heartbeat, streams, recordings);
  const closures: StreamClosure[] = [];
  const pendingCallbacks: RecoveryPlan['pendingCallbacks'] = [];
  for (const [streamId, evs] of [...streams].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const events = planClosure(streamId, evs, at, recordings, cause);
    if (events.length > 0) closures.push({ streamId, events });
    if (!streamId.startsWith(AGENT_STREAM_PREFIX)) {
      const req = evs.find((e) => e.type === 'callback.requested');
      // Done once answered (an older log's callback.dialled has no outcome: it was the answered one) or given up.
      const done = evs.some(
        (e) => e.type === 'callback.given-up' || (e.type === 'callback.dialled' && (e.outcome === undefined || e.outcome === 'answered')),
      );
      if (req?.type === 'callback.requested' && !done) {
        const attempts = dedupe(evs).filter((e) => e.type === 'callback.dialled').length;
        // The ACD orders callers by their arrival in the centre (the callback's place).
        const enteredAt = evs.find((e) => e.type === 'contact.arrived')?.ts ?? req.ts;
        pendingCallbacks.push({ contactId: streamId, queue: req.queue, number: req.number, requestedAt: req.ts, enteredAt, attempts });
      }
    }
  }
  return { at, closures, pendingCallbacks };
}

function dedupe(events: readonly CcEvent[]): CcEvent[] {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  return sorted.filter((e, i) => i === 0 || sorted[i - 1]!.seq !== e.seq);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// ---------------------------------------------------------------------------------------------
// The impure shell: which nodes are dead, which of their streams may be open, the files.

export interface DeadNode {
  nodeId: string;
  startedAt: number;
  /** Last heartbeat, or the clean stop. */
  lastSeen: number;
  /** It stopped cleanly (its calls were finished; agent sessions and wrap-ups may be open). */
  stopped: boolean;
}

export interface RecoveryOptions {
  /** This node. */
  nodeId: string;
  /** This node's stable name; older rows with it are my previous boots. */
  name: string;
  now: number;
  /** A heartbeat older than this means the node is dead. */
  staleMs: number;
  /** Append one event through the writer (store.emit). */
  emit: (event: CcEventInput) => boolean;
  /** Evidence for a recording left open (its file). */
  recordingEvidence?: (path: string, startedAt: number) => Promise<RecordingEvidence>;
}

export interface RecoveryReport {
  nodeId: string;
  at: number;
  streams: number;
  events: number;
  pendingCallbacks: RecoveryPlan['pendingCallbacks'];
}

/** Claim each dead, unrecovered node (once, whichever node gets there first) and close its streams. */
export async function recoverDeadNodes(pool: pg.Pool, o: RecoveryOptions): Promise<RecoveryReport[]> {
  const claimed = await pool.query<{ node_id: string; started_ms: string; seen_ms: string; stopped: boolean }>(
    `UPDATE cc_nodes SET recovered_at = to_timestamp($1 / 1000.0)
     WHERE recovered_at IS NULL AND node_id <> $2
       AND (stopped_at IS NOT NULL OR name = $3 OR heartbeat_at < to_timestamp(($1 - $4::bigint) / 1000.0))
     RETURNING node_id,
       (extract(epoch FROM started_at) * 1000)::bigint::text AS started_ms,
       (extract(epoch FROM coalesce(stopped_at, heartbeat_at)) * 1000)::bigint::text AS seen_ms,
       stopped_at IS NOT NULL AS stopped`,
    [o.now, o.nodeId, o.name, o.staleMs],
  );
  const out: RecoveryReport[] = [];
  for (const row of claimed.rows) {
    const node: DeadNode = { nodeId: row.node_id, startedAt: Number(row.started_ms), lastSeen: Number(row.seen_ms), stopped: row.stopped };
    out.push(await recoverNode(pool, node, o));
  }
  return out;
}

async function recoverNode(pool: pg.Pool, node: DeadNode, o: RecoveryOptions): Promise<RecoveryReport> {
  // Candidates: the node's contacts still open, or with a recording not stopped or a wrap-up
  // started in its last hours (those outlive call.end); and its agent streams. Then each whole
  // stream is read and the pure planner decides what is open.
  const ids = await pool.query<{ id: string }>(
    `SELECT a.contact_id AS id FROM cc_events a
     WHERE a.type = 'contact.arrived' AND a.body->>'node' = $1
       AND (a.contact_id IN (SELECT contact_id FROM contacts WHERE ended_at IS NULL)
         OR a.contact_id IN (SELECT contact_id FROM recordings WHERE stopped_at IS NULL)
         OR a.contact_id IN (SELECT contact_id FROM cc_events WHERE type = 'wrapup.start' AND ts_ms >= $2::bigint - 21600000))
     UNION
     SELECT DISTINCT contact_id AS id FROM cc_events
     WHERE contact_id LIKE $3 AND ts_ms >= $4::bigint - 60000`,
    [node.nodeId, node.lastSeen, `${AGENT_STREAM_PREFIX}%#${node.nodeId}`, node.startedAt],
  );
  const streams = new Map<string, CcEvent[]>();
  if (ids.rows.length > 0) {
    const r = await pool.query<{ body: unknown }>('SELECT body FROM cc_events WHERE contact_id = ANY($1::text[])', [
      ids.rows.map((x) => x.id),
    ]);
    for (const row of r.rows) {
      const p = parseEvent(row.body);
      if (!p.ok) continue;
      let l = streams.get(p.event.contactId);
      if (!l) streams.set(p.event.contactId, (l = []));
      l.push(p.event);
    }
  }
  const recordings = new Map<string, RecordingEvidence>();
  if (o.recordingEvidence) {
    for (const evs of streams.values()) {
      for (const e of evs) {
        if (e.type !== 'recording.started' || evs.some((x) => x.type === 'recording.stopped' && x.recordingId === e.recordingId)) continue;
        recordings.set(e.recordingId, await o.recordingEvidence(e.path, e.ts).catch(() => ({})));
      }
    }
  }
  const plan = planRecovery(node.lastSeen, streams, recordings, node.stopped ? 'shutdown' : 'crash');
  let n = 0;
  for (const c of plan.closures) for (const e of c.events) if (o.emit(e)) n++;
  const report: RecoveryReport = {
    nodeId: node.nodeId,
    at: plan.at,
    streams: plan.closures.length,
    events: n,
    pendingCallbacks: plan.pendingCallbacks,
  };
  rlog.warn(
    {
      node: node.nodeId,
      cause: node.stopped ? 'shutdown' : 'crash',
      provenUntil: new Date(plan.at).toISOString(),
      streams: plan.closures.length,
      events: n,
      pendingCallbacks: plan.pendingCallbacks.length,
    },
    'closed what a dead node left open',
  );
  if (plan.pendingCallbacks.length > 0) {
    rlog.warn(
      { callbacks: plan.pendingCallbacks },
      'callback requests of a dead node still pending in the event log; adopted into cc_callbacks when missing and re-queued at start',
    );
  }
  return report;
}

/**
 * How far a WAV file holds audio: its data chunk's length at its byte rate, after `startedAt`.
 * The media plane repairs the header of a file left open by a crash before this runs.
 */
export async function wavEvidence(path: string, startedAt: number): Promise<RecordingEvidence> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    if (head.length < 44 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return { bytes: size };
    let byteRate = 0;
    for (let off = 12; off + 8 <= head.length;) {
      const id = head.toString('latin1', off, off + 4);
      const len = head.readUInt32LE(off + 4);
      if (id === 'fmt ' && off + 16 <= head.length) byteRate = head.readUInt32LE(off + 16);
      if (id === 'data') {
        const data = Math.min(len, size - off - 8);
        return byteRate > 0 ? { bytes: size, audioUntil: startedAt + (data / byteRate) * 1000 } : { bytes: size };
      }
      off += 8 + len + (len & 1);
    }
    return { bytes: size };
  } finally {
    await fh.close();
  }
}
