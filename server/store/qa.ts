/**
 * QA persistence (migration 1766300000000_qa.sql): audio analytics per recording, the review
 * queue, evaluations, comments at a moment of the audio, coaching items and their
 * acknowledgement. SQL only; the scoring is server/qa/scoring.ts and auditing is the caller's
 * (server/http/qa.ts, server/qa/worker.ts).
 */
import type pg from 'pg';
import { parseEvent, type CcEvent } from '../kpi/events.ts';
import type { AudioAnalytics, Flag } from '../qa/analytics.ts';
import type { Answer, Score, ScoredEvaluation } from '../qa/scoring.ts';
import type { RecordingRow } from './recordings.ts';

export interface AnalyticsRow extends Partial<AudioAnalytics> {
  recordingId: string;
  contactId: string;
  analysedAt: string;
  flags: Flag[];
  error: string | null;
}

export interface EvaluationRow extends ScoredEvaluation {
  id: number;
  status: 'draft' | 'submitted';
  answers: Record<string, Answer>;
  result: Score;
  createdAt: string;
  updatedAt: string;
}

export interface CommentRow {
  id: number;
  contactId: string;
  evaluationId: number | null;
  author: string;
  offsetMs: number;
  text: string;
  createdAt: string;
}

export interface CoachingRow {
  id: number;
  evaluationId: number;
  agentId: string;
  notes: string;
  createdAt: string;
  acknowledgedAt: string | null;
  agentComment: string | null;
}

export interface ReviewQueueRow {
  contactId: string;
  source: 'flag' | 'sample';
  reasons: unknown[];
  addedAt: string;
  reviewedAt: string | null;
}

export interface NewEvaluation {
  contactId: string;
  agentId: string | null;
  queue: string | null;
  formId: string;
  formVersion: string;
  reviewer: string;
  kind: 'review' | 'calibration';
  answers: Record<string, Answer>;
  result: Score;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

interface EvalDb {
  id: string;
  contact_id: string;
  agent_id: string | null;
  queue: string | null;
  form_id: string;
  form_version: string;
  reviewer: string;
  kind: 'review' | 'calibration';
  status: 'draft' | 'submitted';
  answers: Record<string, Answer>;
  result: Score;
  score: number | null;
  passed: boolean;
  created_at: Date;
  updated_at: Date;
}

const toEval = (r: EvalDb): EvaluationRow => ({
  id: Number(r.id),
  contactId: r.contact_id,
  agentId: r.agent_id,
  queue: r.queue,
  formId: r.form_id,
  formVersion: r.form_version,
  reviewer: r.reviewer,
  kind: r.kind,
  status: r.status,
  answers: r.answers,
  result: r.result,
  score: r.score,
  passed: r.passed,
  autoFailed: r.result.autoFailed,
  items: r.result.items,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export class QaStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Finished recordings of ended calls with no analytics yet, oldest first. */
  async pendingRecordings(limit = 10): Promise<RecordingRow[]> {
    const r = await this.pool.query<{
      recording_id: string;
      contact_id: string;
      path: string;
      started_at: Date;
      stopped_at: Date | null;
      bytes: string | null;
      purged_at: Date | null;
    }>(
      `SELECT r.* FROM recordings r JOIN contacts c USING (contact_id)
       WHERE r.stopped_at IS NOT NULL AND r.purged_at IS NULL AND c.ended_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM qa_analytics a WHERE a.recording_id = r.recording_id)
       ORDER BY r.stopped_at LIMIT $1`,
      [limit],
    );
    return r.rows.map((x) => ({
      recordingId: x.recording_id,
      contactId: x.contact_id,
      path: x.path,
      startedAt: x.started_at.toISOString(),
      stoppedAt: iso(x.stopped_at),
      bytes: x.bytes === null ? null : Number(x.bytes),
      purgedAt: iso(x.purged_at),
    }));
  }

  /** Every event of one contact, in log order (the call's timeline). */
  async contactEvents(contactId: string): Promise<CcEvent[]> {
    const r = await this.pool.query<{ body: unknown }>('SELECT body FROM cc_events WHERE contact_id = $1 ORDER BY ts_ms, seq', [contactId]);
    return r.rows.flatMap((row) => {
      const p = parseEvent(row.body);
      return p.ok ? [p.event] : [];
    });
  }

  /** Hours between this contact's arrival and its caller's previous arrival; null when none. */
  async hoursSincePreviousCall(contactId: string): Promise<number | null> {
    const r = await this.pool.query<{ gap: number | null }>(
      `SELECT EXTRACT(EPOCH FROM (c.arrived_at - p.arrived_at)) / 3600 AS gap
       FROM contacts c JOIN contacts p ON p.caller = c.caller AND p.contact_id <> c.contact_id AND p.arrived_at <= c.arrived_at
       WHERE c.contact_id = $1 AND c.caller IS NOT NULL AND c.caller <> ''
       ORDER BY p.arrived_at DESC LIMIT 1`,
      [contactId],
    );
    const g = r.rows[0]?.gap;
    return g === undefined || g === null ? null : Number(g);
  }

  async saveAnalytics(recordingId: string, contactId: string, a: AudioAnalytics | undefined, flags: Flag[], error?: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO qa_analytics (recording_id, contact_id, duration_sec, hold_sec, caller_talk_sec, agent_talk_sec, caller_share,
         agent_share, overtalk_sec, overtalk_share, silence_sec, longest_silence_sec, detail, flags, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (recording_id) DO NOTHING`,
      [
        recordingId,
        contactId,
        a?.durationSec ?? null,
        a?.holdSec ?? null,
        a?.callerTalkSec ?? null,
        a?.agentTalkSec ?? null,
        a?.callerShare ?? null,
        a?.agentShare ?? null,
        a?.overtalkSec ?? null,
        a?.overtalkShare ?? null,
        a?.silenceSec ?? null,
        a?.longestSilenceSec ?? null,
        JSON.stringify({ analytics: a ?? null, flags }),
        flags.map((f) => f.flag),
        error ?? null,
      ],
    );
  }

  async analytics(contactIds: readonly string[]): Promise<AnalyticsRow[]> {
    if (contactIds.length === 0) return [];
    const r = await this.pool.query<{
      recording_id: string;
      contact_id: string;
      analysed_at: Date;
      detail: { analytics: AudioAnalytics | null; flags: Flag[] };
      error: string | null;
    }>(
      'SELECT recording_id, contact_id, analysed_at, detail, error FROM qa_analytics WHERE contact_id = ANY($1::text[]) ORDER BY analysed_at',
      [[...contactIds]],
    );
    return r.rows.map((x) => ({
      ...(x.detail.analytics ?? {}),
      recordingId: x.recording_id,
      contactId: x.contact_id,
      analysedAt: x.analysed_at.toISOString(),
      flags: x.detail.flags ?? [],
      error: x.error,
    }));
  }

  /** Adds a call to the review queue (again: the reasons are replaced, the date kept). */
  async enqueueReview(contactId: string, source: 'flag' | 'sample', reasons: unknown[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO qa_review_queue (contact_id, source, reasons) VALUES ($1, $2, $3)
       ON CONFLICT (contact_id, source) DO UPDATE SET reasons = EXCLUDED.reasons`,
      [contactId, source, JSON.stringify(reasons)],
    );
  }

  async reviewQueue(opts: { open?: boolean; limit?: number } = {}): Promise<ReviewQueueRow[]> {
    const r = await this.pool.query<{
      contact_id: string;
      source: 'flag' | 'sample';
      reasons: unknown[];
      added_at: Date;
      reviewed_at: Date | null;
    }>(`SELECT * FROM qa_review_queue WHERE ($1::boolean IS NOT TRUE OR reviewed_at IS NULL) ORDER BY added_at DESC LIMIT $2`, [
      opts.open ?? null,
      Math.min(Math.max(opts.limit ?? 500, 1), 5000),
    ]);
    return r.rows.map((x) => ({
      contactId: x.contact_id,
      source: x.source,
      reasons: x.reasons,
      addedAt: x.added_at.toISOString(),
      reviewedAt: iso(x.reviewed_at),
    }));
  }

  /** Stores a submitted evaluation; the call leaves the review queue; a review becomes a coaching item. */
  async addEvaluation(e: NewEvaluation, coachingNotes: string | undefined): Promise<EvaluationRow> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const r = await c.query<EvalDb>(
        `INSERT INTO qa_evaluations (contact_id, agent_id, queue, form_id, form_version, reviewer, kind, status, answers, result, score, passed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8, $9, $10, $11) RETURNING *`,
        [
          e.contactId,
          e.agentId,
          e.queue,
          e.formId,
          e.formVersion,
          e.reviewer,
          e.kind,
          JSON.stringify(e.answers),
          JSON.stringify(e.result),
          e.result.score,
          e.result.passed,
        ],
      );
      const row = r.rows[0]!;
      await c.query('UPDATE qa_review_queue SET reviewed_at = now() WHERE contact_id = $1 AND reviewed_at IS NULL', [e.contactId]);
      if (e.kind === 'review' && e.agentId) {
        await c.query('INSERT INTO qa_coaching (evaluation_id, agent_id, notes) VALUES ($1, $2, $3)', [
          row.id,
          e.agentId,
          coachingNotes ?? '',
        ]);
      }
      await c.query('COMMIT');
      return toEval(row);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  /** New answers for an evaluation (its reviewer's correction); returns before and after. */
  async rescore(
    id: number,
    answers: Record<string, Answer>,
    result: Score,
  ): Promise<{ before: EvaluationRow; after: EvaluationRow } | undefined> {
    const before = await this.evaluation(id);
    if (!before) return undefined;
    const r = await this.pool.query<EvalDb>(
      'UPDATE qa_evaluations SET answers = $2, result = $3, score = $4, passed = $5, updated_at = now() WHERE id = $1 RETURNING *',
      [id, JSON.stringify(answers), JSON.stringify(result), result.score, result.passed],
    );
    return { before, after: toEval(r.rows[0]!) };
  }

  async evaluation(id: number): Promise<EvaluationRow | undefined> {
    const r = await this.pool.query<EvalDb>('SELECT * FROM qa_evaluations WHERE id = $1', [id]);
    return r.rows[0] ? toEval(r.rows[0]) : undefined;
  }

  async evaluations(q: { contactId?: string; agentId?: string; from?: number; to?: number }): Promise<EvaluationRow[]> {
    const r = await this.pool.query<EvalDb>(
      `SELECT * FROM qa_evaluations
       WHERE ($1::text IS NULL OR contact_id = $1) AND ($2::text IS NULL OR agent_id = $2)
         AND ($3::bigint IS NULL OR created_at >= to_timestamp($3 / 1000.0)) AND ($4::bigint IS NULL OR created_at < to_timestamp($4 / 1000.0))
       ORDER BY created_at, id LIMIT 10000`,
      [q.contactId ?? null, q.agentId ?? null, q.from ?? null, q.to ?? null],
    );
    return r.rows.map(toEval);
  }

  async addComment(c: {
    contactId: string;
    evaluationId?: number | undefined;
    author: string;
    offsetMs: number;
    text: string;
  }): Promise<CommentRow> {
    const r = await this.pool.query<{ id: string; created_at: Date }>(
      'INSERT INTO qa_comments (contact_id, evaluation_id, author, offset_ms, text) VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at',
      [c.contactId, c.evaluationId ?? null, c.author, Math.round(c.offsetMs), c.text],
    );
    return {
      id: Number(r.rows[0]!.id),
      contactId: c.contactId,
      evaluationId: c.evaluationId ?? null,
      author: c.author,
      offsetMs: Math.round(c.offsetMs),
      text: c.text,
      createdAt: r.rows[0]!.created_at.toISOString(),
    };
  }

  async comments(contactId: string): Promise<CommentRow[]> {
    const r = await this.pool.query<{
      id: string;
      contact_id: string;
      evaluation_id: string | null;
      author: string;
      offset_ms: string;
      text: string;
      created_at: Date;
    }>('SELECT * FROM qa_comments WHERE contact_id = $1 ORDER BY offset_ms, id', [contactId]);
    return r.rows.map((x) => ({
      id: Number(x.id),
      contactId: x.contact_id,
      evaluationId: x.evaluation_id === null ? null : Number(x.evaluation_id),
      author: x.author,
      offsetMs: Number(x.offset_ms),
      text: x.text,
      createdAt: x.created_at.toISOString(),
    }));
  }

  async coaching(agentId: string): Promise<CoachingRow[]> {
    const r = await this.pool.query<{
      id: string;
      evaluation_id: string;
      agent_id: string;
      notes: string;
      created_at: Date;
      acknowledged_at: Date | null;
      agent_comment: string | null;
    }>('SELECT * FROM qa_coaching WHERE agent_id = $1 ORDER BY created_at DESC, id DESC LIMIT 500', [agentId]);
    return r.rows.map((x) => ({
      id: Number(x.id),
      evaluationId: Number(x.evaluation_id),
      agentId: x.agent_id,
      notes: x.notes,
      createdAt: x.created_at.toISOString(),
      acknowledgedAt: iso(x.acknowledged_at),
      agentComment: x.agent_comment,
    }));
  }

  /** The agent acknowledges their own item (once); undefined when it is not theirs or not there. */
  async acknowledge(id: number, agentId: string, comment: string | undefined): Promise<CoachingRow | undefined> {
    const r = await this.pool.query<{ id: string }>(
      `UPDATE qa_coaching SET acknowledged_at = COALESCE(acknowledged_at, now()), agent_comment = COALESCE($3, agent_comment)
       WHERE id = $1 AND agent_id = $2 RETURNING id`,
      [id, agentId, comment ?? null],
    );
    if (!r.rows[0]) return undefined;
    return (await this.coaching(agentId)).find((c) => c.id === id);
  }
}
