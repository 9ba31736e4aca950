/**
 * Recordings as stored: the rows the trigger projects from recording.* events, listing for the
 * recordings API, and the retention policy that deletes old audio but keeps the row and the CDR
 * (marking the row purged), so KPIs and call history survive the audio.
 */
import { unlink } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type pg from 'pg';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { log } from '../../lib/log.ts';

const rlog = log.child({ mod: 'recordings' });

export interface RecordingRow {
  recordingId: string;
  contactId: string;
  path: string;
  startedAt: string;
  stoppedAt: string | null;
  bytes: number | null;
  purgedAt: string | null;
}

interface DbRow {
  recording_id: string;
  contact_id: string;
  path: string;
  started_at: Date;
  stopped_at: Date | null;
  bytes: string | null;
  purged_at: Date | null;
}

const toRow = (r: DbRow): RecordingRow => ({
  recordingId: r.recording_id,
  contactId: r.contact_id,
  path: r.path,
  startedAt: r.started_at.toISOString(),
  stoppedAt: r.stopped_at ? r.stopped_at.toISOString() : null,
  bytes: r.bytes === null ? null : Number(r.bytes),
  purgedAt: r.purged_at ? r.purged_at.toISOString() : null,
});

export async function listRecordings(
  pool: pg.Pool,
  q: { contactId?: string; from?: number; to?: number; limit?: number },
): Promise<RecordingRow[]> {
  const r = await pool.query<DbRow>(
    `SELECT * FROM recordings
     WHERE ($1::text IS NULL OR contact_id = $1)
       AND ($2::bigint IS NULL OR started_at >= to_timestamp($2 / 1000.0))
       AND ($3::bigint IS NULL OR started_at < to_timestamp($3 / 1000.0))
     ORDER BY started_at, recording_id LIMIT $4`,
    [q.contactId ?? null, q.from ?? null, q.to ?? null, Math.min(Math.max(q.limit ?? 1000, 1), 10_000)],
  );
  return r.rows.map(toRow);
}

export async function getRecording(pool: pg.Pool, recordingId: string): Promise<RecordingRow | undefined> {
  const r = await pool.query<DbRow>('SELECT * FROM recordings WHERE recording_id = $1', [recordingId]);
  const row = r.rows[0];
  return row ? toRow(row) : undefined;
}

/** Whether path lies inside root (after resolving), so a poisoned event cannot expose /etc/shadow. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

export interface PurgeResult {
  purged: number;
  missing: number;
  refused: number;
}

/**
 * Delete audio of recordings started more than retentionDays before now; mark their rows purged.
 * A file already gone counts as purged; a path outside recordingsDir is refused (left alone).
 */
export async function purgeRecordings(
  pool: pg.Pool,
  opts: { retentionDays: number; recordingsDir: string; now: number },
): Promise<PurgeResult> {
  const cutoff = opts.now - opts.retentionDays * 86_400_000;
  const r = await pool.query<DbRow>(
    `SELECT * FROM recordings WHERE purged_at IS NULL AND started_at < to_timestamp($1 / 1000.0) ORDER BY started_at LIMIT 10000`,
    [cutoff],
  );
  const res: PurgeResult = { purged: 0, missing: 0, refused: 0 };
  for (const row of r.rows) {
    if (!isInside(opts.recordingsDir, row.path)) {
      res.refused++;
      rlog.warn({ recordingId: row.recording_id, path: row.path }, 'recording outside the recordings directory; not deleted');
      continue;
    }
    try {
      await unlink(row.path);
      res.purged++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        rlog.error({ err, path: row.path }, 'cannot delete recording');
        continue;
      }
      res.missing++;
    }
    await pool.query('UPDATE recordings SET purged_at = to_timestamp($2 / 1000.0) WHERE recording_id = $1', [row.recording_id, opts.now]);
  }
  if (r.rows.length > 0) rlog.info({ ...res, retentionDays: opts.retentionDays }, 'recording retention run');
  return res;
}

/** Run purgeRecordings every intervalMs (default hourly). Returns a stop function. */
export function startRetention(
  pool: pg.Pool,
  opts: { retentionDays: number; recordingsDir: string; clock: Clock; intervalMs?: number },
): () => void {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const run = async () => {
    try {
      await purgeRecordings(pool, { retentionDays: opts.retentionDays, recordingsDir: opts.recordingsDir, now: opts.clock.now() });
    } catch (err) {
      rlog.warn({ err: (err as Error).message }, 'retention run failed; will retry');
    }
    if (!stopped) timer = opts.clock.setTimeout(() => void run(), opts.intervalMs ?? 3_600_000);
  };
  timer = opts.clock.setTimeout(() => void run(), 0);
  return () => {
    stopped = true;
    if (timer) opts.clock.clearTimeout(timer);
  };
}
