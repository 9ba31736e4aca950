/**
 * QA REST API (server/qa/ for the engines, server/store/qa.ts for the tables):
 *
 * Reviewers (HTTP Basic; roles qa, supervisor, admin):
 *   GET  /api/v1/qa/forms                                   forms, per-queue choice
 *   GET  /api/v1/qa/calls?from&to&queue&agent&disposition&minTalkSec&maxTalkSec&maxCsat&flag&flagged
 *   GET  /api/v1/qa/calls/{contactId}                       the call, its event timeline, recordings,
 *                                                          analytics, evaluations, comments, form, calibration
 *   GET  /api/v1/qa/calls/{contactId}/waveform?points=N     both channels' peaks (caller, agent)
 *   POST /api/v1/qa/calls/{contactId}/evaluations           {answers, kind?, notes?, comments?[]} → scored
 *   PUT  /api/v1/qa/evaluations/{id}                        {answers} → rescored (its reviewer or admin)
 *   POST /api/v1/qa/calls/{contactId}/comments              {offsetMs, text, evaluationId?}
 *   GET  /api/v1/qa/calls/{contactId}/calibration           reviewers' scores, spread, disagreements
 *   GET  /api/v1/qa/queue?open=1                            the review queue (flags, sample)
 *   GET  /api/v1/qa/sample?week=YYYY-MM-DD                  random calls per agent for the week
 *   POST /api/v1/qa/sample?week=YYYY-MM-DD                  … and put them into the review queue
 *   GET  /api/v1/qa/reports/{agents|queues|centre}?from&to&format=json|csv
 * Agents (Bearer session of the agent desktop, their own only):
 *   GET  /api/v1/agent/qa                                   own evaluations and coaching items
 *   POST /api/v1/agent/qa/coaching/{id}/ack                 {comment?}
 *
 * Every score, rescore, comment and acknowledgement is audited (qa.*), and so are reads.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.ts';
import { log } from '../../lib/log.ts';
import type { CcEvent } from '../kpi/events.ts';
import { parseTime } from '../kpi/intervals.ts';
import type { CallDetail } from '../kpi/report.ts';
import { parseWav } from '../../media/audio/wav.ts';
import { peaks } from '../qa/analytics.ts';
import { formForQueue, type QaConfig, type ResolvedForm } from '../qa/config.ts';
import { calibrate, qaReport, qaReportToCsv, scoreEvaluation, ScoringError, weeklySample, weekStart } from '../qa/scoring.ts';
import type { AgentSessions } from '../secrets/sessions.ts';
import type { Audit, AuditEntry } from '../store/audit.ts';
import type { QaStore } from '../store/qa.ts';
import { isInside } from '../store/recordings.ts';
import type { Store } from '../store/store.ts';
import { recordingView } from './recordings.ts';
import { basicUser, clientIp, decodeSegment, HttpError, readJson, sendError, sendJson, type Handler } from './server.ts';

const hlog = log.child({ mod: 'qa-api' });

export const QA_ROLES: ReadonlySet<string> = new Set(['qa', 'supervisor', 'admin']);

export interface QaApiDeps {
  qa: QaStore;
  store: Pick<Store, 'calls' | 'listRecordings' | 'recordingsDir' | 'settings'>;
  config: () => QaConfig;
  authorize: (req: IncomingMessage) => { id: string; role: string } | undefined | Promise<{ id: string; role: string } | undefined>;
  /** The agent desktop's sessions (Bearer tokens), for the agents' own view. */
  sessions: AgentSessions;
  clock: Clock;
  audit?: Audit | undefined;
}

const AnswerSchema = z.union([z.number().int().min(0).max(100), z.literal('na')]);
const CommentSchema = z.strictObject({ offsetMs: z.number().min(0).max(86_400_000), text: z.string().trim().min(1).max(4000) });
const EvaluationBody = z.strictObject({
  answers: z.record(z.string().max(64), AnswerSchema),
  kind: z.enum(['review', 'calibration']).default('review'),
  notes: z.string().max(4000).optional(),
  comments: z.array(CommentSchema).max(100).default([]),
});
const RescoreBody = z.strictObject({ answers: z.record(z.string().max(64), AnswerSchema) });
const CommentBody = CommentSchema.extend({ evaluationId: z.number().int().positive().optional() });
const AckBody = z.strictObject({ comment: z.string().max(2000).optional() });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

const DAY = 86_400_000;

/** A call as the search lists it: the CDR's figures, its analytics and flags, its evaluations. */
export interface QaCallView {
  contactId: string;
  enteredAt: string;
  queue: string;
  agentId: string | null;
  caller: string | null;
  disposition: string | null;
  talkSec: number;
  holdSec: number;
  csat: number[];
  recordings: number;
  flags: string[];
  analytics: Record<string, unknown> | null;
  evaluations: { id: number; reviewer: string; kind: string; score: number | null; passed: boolean }[];
  inReviewQueue: boolean;
}

/** Labels for the timeline beside the player: what happened, in the event's own words. */
function describe(e: CcEvent): string {
  const x = e as unknown as Record<string, unknown>;
  const bits = [
    'caller',
    'node',
    'digits',
    'queue',
    'agentId',
    'target',
    'reason',
    'disposition',
    'question',
    'value',
    'endedBy',
    'cause',
    'state',
  ]
    .filter((k) => x[k] !== undefined && x[k] !== null && x[k] !== '')
    .map((k) => `${k}=${typeof x[k] === 'object' ? JSON.stringify(x[k]) : String(x[k] as string | number)}`);
  return bits.join(' ');
}

export function createQaApi(deps: QaApiDeps): Handler {
  const tz = () => deps.store.settings.timeZone ?? deps.store.settings.tzOffsetMinutes;
  const time = (q: URLSearchParams, k: string, dflt: number): number => {
    const v = q.get(k);
    if (!v) return dflt;
    try {
      return parseTime(v, tz(), deps.clock.now());
    } catch (e) {
      throw new HttpError(400, `${k}: ${(e as Error).message}`);
    }
  };
  const num = (q: URLSearchParams, k: string): number | undefined => {
    const v = q.get(k);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new HttpError(400, `${k} must be a number`);
    return n;
  };

  async function searchCalls(q: URLSearchParams): Promise<QaCallView[]> {
    const now = deps.clock.now();
    const from = time(q, 'from', now - 7 * DAY);
    const to = time(q, 'to', now + DAY);
    if (!(from < to)) throw new HttpError(400, 'from must be before to');
    if (to - from > 93 * DAY) throw new HttpError(400, 'search at most 93 days at a time');
    const details = (
      await deps.store.calls({
        from,
        to,
        ...(q.get('queue') ? { queue: q.get('queue')! } : {}),
        ...(q.get('agent') ? { agentId: q.get('agent')! } : {}),
      })
    ).filter((c) => c.handled && c.agentId);
    const disposition = q.get('disposition');
    const minTalk = num(q, 'minTalkSec');
    const maxTalk = num(q, 'maxTalkSec');
    const maxCsat = num(q, 'maxCsat');
    const flag = q.get('flag');
    const flaggedOnly = q.get('flagged') === '1' || q.get('flagged') === 'true';
    const filtered = details.filter(
      (c) =>
        (!disposition || c.disposition === disposition) &&
        (minTalk === undefined || c.talkSec >= minTalk) &&
        (maxTalk === undefined || c.talkSec <= maxTalk) &&
        (maxCsat === undefined || c.csat.some((x) => x <= maxCsat)),
    );
    const ids = [...new Set(filtered.map((c) => c.contactId))];
    const [analytics, queue] = await Promise.all([deps.qa.analytics(ids), deps.qa.reviewQueue({ open: true, limit: 5000 })]);
    const evals = ids.length > 0 ? await deps.qa.evaluations({ from: from - 366 * DAY }) : [];
    const views = filtered.map((c): QaCallView => {
      const a = analytics.filter((x) => x.contactId === c.contactId);
      const flags = [...new Set(a.flatMap((x) => x.flags.map((f) => f.flag)))];
      const first = a.find((x) => !x.error);
      return {
        contactId: c.contactId,
        enteredAt: c.enteredAt,
        queue: c.queue,
        agentId: c.agentId,
        caller: c.caller,
        disposition: c.disposition,
        talkSec: c.talkSec,
        holdSec: c.holdSec,
        csat: c.csat,
        recordings: c.recordings,
        flags,
        analytics: first
          ? {
              callerShare: first.callerShare,
              agentShare: first.agentShare,
              overtalkShare: first.overtalkShare,
              longestSilenceSec: first.longestSilenceSec,
              holdSec: first.holdSec,
            }
          : null,
        evaluations: evals
          .filter((e) => e.contactId === c.contactId)
          .map((e) => ({ id: e.id, reviewer: e.reviewer, kind: e.kind, score: e.score, passed: e.passed })),
        inReviewQueue: queue.some((r) => r.contactId === c.contactId),
      };
    });
    return views
      .filter((v) => (!flag || v.flags.includes(flag)) && (!flaggedOnly || v.flags.length > 0))
      .sort((a, b) => b.enteredAt.localeCompare(a.enteredAt));
  }

  /** The call's CDR rows (the queue visits), found around its events' time. */
  async function callOf(contactId: string): Promise<{ details: CallDetail[]; events: CcEvent[] }> {
    const events = await deps.qa.contactEvents(contactId);
    if (events.length === 0) throw new HttpError(404, `no call ${contactId}`);
    const t0 = events[0]!.ts;
    const details = await deps.store.calls({ from: t0 - DAY, to: t0 + DAY, contactId });
    return { details, events };
  }

  function formFor(details: CallDetail[]): ResolvedForm {
    const form = formForQueue(deps.config(), details.find((d) => d.agentId)?.queue ?? details[0]?.queue);
    if (!form) throw new HttpError(409, 'no QA form configured (config/qa.yaml)');
    return form;
  }

  async function callDetail(contactId: string): Promise<Record<string, unknown>> {
    const { details, events } = await callOf(contactId);
    const recordings = await deps.store.listRecordings({ contactId });
    const recStart = events.find((e) => e.type === 'recording.started')?.ts ?? events[0]!.ts;
    const evaluations = await deps.qa.evaluations({ contactId });
    const form = formForQueue(deps.config(), details.find((d) => d.agentId)?.queue ?? details[0]?.queue);
    return {
      contactId,
      calls: details,
      recordings: recordings.map(recordingView),
      recordingStartedAt: new Date(recStart).toISOString(),
      timeline: events.map((e) => ({
        at: new Date(e.ts).toISOString(),
        offsetSec: Math.round(e.ts - recStart) / 1000,
        type: e.type,
        label: describe(e),
      })),
      analytics: await deps.qa.analytics([contactId]),
      evaluations,
      comments: await deps.qa.comments(contactId),
      calibration: calibrate(evaluations) ?? null,
      form: form ?? null,
    };
  }

  async function waveform(contactId: string, q: URLSearchParams): Promise<Record<string, unknown>> {
    const recs = (await deps.store.listRecordings({ contactId })).filter((r) => !r.purgedAt);
    const rec = q.get('recording') ? recs.find((r) => r.recordingId === q.get('recording')) : recs[0];
    if (!rec) throw new HttpError(404, 'no recording for this call');
    if (!isInside(deps.store.recordingsDir, rec.path)) throw new HttpError(404, 'recording file is outside the recordings directory');
    const points = Math.min(Math.max(Math.round(num(q, 'points') ?? 600), 10), 4000);
    let w;
    try {
      w = parseWav(await readFile(rec.path));
    } catch (e) {
      throw new HttpError(404, `recording unreadable: ${(e as Error).message}`);
    }
    const left = w.channels[0] ?? new Int16Array(0);
    return {
      recordingId: rec.recordingId,
      rate: w.sampleRate,
      durationSec: left.length / w.sampleRate,
      caller: peaks(left, points),
      agent: peaks(w.channels[1] ?? new Int16Array(left.length), points),
    };
  }

  async function reviewer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const who = await deps.authorize(req);
    if (!who) {
      const claimed = basicUser(req);
      if (claimed !== undefined) deps.audit?.({ actor: claimed, action: 'auth.failed', target: url.pathname, ip: clientIp(req) });
      throw new HttpError(401, 'authentication required');
    }
    if (!QA_ROLES.has(who.role)) throw new HttpError(403, `role ${who.role} may not use the QA workspace`);
    const audit = (e: Omit<AuditEntry, 'actor'>): void => deps.audit?.({ ...e, actor: who.id, role: who.role, ip: clientIp(req) });
    const path = url.pathname.slice('/api/v1/qa'.length);
    const q = url.searchParams;
    const m = req.method ?? 'GET';
    let r: RegExpExecArray | null;

    if (m === 'GET' && path === '/forms') {
      const c = deps.config();
      return sendJson(res, 200, { forms: c.forms, defaultForm: c.defaultForm, queues: c.queues });
    }
    if (m === 'GET' && path === '/calls') {
      const calls = await searchCalls(q);
      audit({ action: 'qa.read', target: 'calls', detail: { ...Object.fromEntries(q), count: calls.length } });
      return sendJson(res, 200, { calls });
    }
    if ((r = /^\/calls\/([^/]+)$/.exec(path)) && m === 'GET') {
      const id = decodeSegment(r[1]!);
      const body = await callDetail(id);
      audit({ action: 'qa.read', target: id });
      return sendJson(res, 200, body);
    }
    if ((r = /^\/calls\/([^/]+)\/waveform$/.exec(path)) && m === 'GET') {
      return sendJson(res, 200, await waveform(decodeSegment(r[1]!), q));
    }
    if ((r = /^\/calls\/([^/]+)\/calibration$/.exec(path)) && m === 'GET') {
      const id = decodeSegment(r[1]!);
      audit({ action: 'qa.read', target: id, detail: { what: 'calibration' } });
      return sendJson(
        res,
        200,
        calibrate(await deps.qa.evaluations({ contactId: id })) ?? { contactId: id, reviewers: [], spread: null, disagreements: [] },
      );
    }
    if ((r = /^\/calls\/([^/]+)\/evaluations$/.exec(path)) && m === 'POST') {
      const id = decodeSegment(r[1]!);
      const body = parse(EvaluationBody, await readJson(req));
      const { details } = await callOf(id);
      const form = formFor(details);
      const handled = details.find((d) => d.agentId);
      if (!handled) throw new HttpError(409, 'this call reached no agent; there is nothing to score');
      let result;
      try {
        result = scoreEvaluation(form, body.answers);
      } catch (e) {
        if (e instanceof ScoringError) throw new HttpError(400, e.message);
        throw e;
      }
      // A second opinion on a call someone already reviewed is a calibration whatever was asked.
      const existing = await deps.qa.evaluations({ contactId: id });
      const kind = body.kind === 'review' && existing.some((e) => e.kind === 'review') ? 'calibration' : body.kind;
      const ev = await deps.qa.addEvaluation(
        {
          contactId: id,
          agentId: handled.agentId,
          queue: handled.queue,
          formId: form.id,
          formVersion: form.version,
          reviewer: who.id,
          kind,
          answers: body.answers,
          result,
        },
        body.notes,
      );
      for (const c of body.comments)
        await deps.qa.addComment({ contactId: id, evaluationId: ev.id, author: who.id, offsetMs: c.offsetMs, text: c.text });
      audit({
        action: 'qa.score',
        target: id,
        detail: {
          evaluation: ev.id,
          kind,
          form: form.id,
          version: form.version,
          score: result.score,
          passed: result.passed,
          answers: body.answers,
          agent: handled.agentId,
        },
      });
      return sendJson(res, 201, { evaluation: ev, calibration: calibrate([...existing, ev]) ?? null });
    }
    if ((r = /^\/evaluations\/(\d+)$/.exec(path)) && m === 'PUT') {
      const id = Number(r[1]);
      const body = parse(RescoreBody, await readJson(req));
      const ev = await deps.qa.evaluation(id);
      if (!ev) throw new HttpError(404, `no evaluation ${id}`);
      if (ev.reviewer !== who.id && who.role !== 'admin')
        throw new HttpError(403, 'only its reviewer (or an admin) may change an evaluation');
      const form = deps.config().forms[ev.formId];
      if (!form || form.version !== ev.formVersion)
        throw new HttpError(409, `form ${ev.formId} changed since this evaluation; score the call again`);
      let result;
      try {
        result = scoreEvaluation(form, body.answers);
      } catch (e) {
        if (e instanceof ScoringError) throw new HttpError(400, e.message);
        throw e;
      }
      const done = (await deps.qa.rescore(id, body.answers, result))!;
      audit({
        action: 'qa.rescore',
        target: ev.contactId,
        detail: {
          evaluation: id,
          before: { score: done.before.score, answers: done.before.answers },
          after: { score: result.score, answers: body.answers },
        },
      });
      return sendJson(res, 200, { evaluation: done.after });
    }
    if ((r = /^\/calls\/([^/]+)\/comments$/.exec(path)) && m === 'POST') {
      const id = decodeSegment(r[1]!);
      const body = parse(CommentBody, await readJson(req));
      await callOf(id);
      const c = await deps.qa.addComment({
        contactId: id,
        evaluationId: body.evaluationId,
        author: who.id,
        offsetMs: body.offsetMs,
        text: body.text,
      });
      audit({ action: 'qa.comment', target: id, detail: { comment: c.id, offsetMs: c.offsetMs, text: c.text } });
      return sendJson(res, 201, { comment: c });
    }
    if (m === 'GET' && path === '/queue') {
      const rows = await deps.qa.reviewQueue({ open: q.get('open') === '1' || q.get('open') === 'true' });
      audit({ action: 'qa.read', target: 'queue', detail: { count: rows.length } });
      return sendJson(res, 200, { queue: rows });
    }
    if (path === '/sample' && (m === 'GET' || m === 'POST')) {
      const week = weekStart(time(q, 'week', deps.clock.now()));
      const per = deps.config().sample.perAgentPerWeek;
      const calls = (await deps.store.calls({ from: week, to: week + 7 * DAY })).filter((c) => c.handled && c.agentId);
      const sample = weeklySample(calls, per, `${deps.config().sample.seed}:${week}`);
      const agents = Object.fromEntries(
        [...sample].map(([a, cs]) => [a, cs.map((c) => ({ contactId: c.contactId, queue: c.queue, enteredAt: c.enteredAt }))]),
      );
      if (m === 'POST') {
        for (const cs of sample.values())
          for (const c of cs) await deps.qa.enqueueReview(c.contactId, 'sample', [{ week: new Date(week).toISOString().slice(0, 10) }]);
      }
      audit({ action: 'qa.read', target: 'sample', detail: { week: new Date(week).toISOString(), enqueued: m === 'POST' } });
      return sendJson(res, 200, { week: new Date(week).toISOString(), perAgentPerWeek: per, agents });
    }
    if ((r = /^\/reports\/(agents|queues|centre)$/.exec(path)) && m === 'GET') {
      const now = deps.clock.now();
      const from = time(q, 'from', weekStart(now));
      const to = time(q, 'to', now + DAY);
      if (!(from < to)) throw new HttpError(400, 'from must be before to');
      const fmt = q.get('format') ?? 'json';
      if (fmt !== 'json' && fmt !== 'csv') throw new HttpError(400, 'format must be json or csv');
      const dim = r[1] === 'agents' ? 'agent' : r[1] === 'queues' ? 'queue' : 'centre';
      let evals = await deps.qa.evaluations({ from, to });
      const keys = [...q.getAll('key'), ...q.getAll('agent'), ...q.getAll('queue')];
      if (keys.length > 0 && dim !== 'centre') evals = evals.filter((e) => keys.includes((dim === 'agent' ? e.agentId : e.queue) ?? ''));
      const report = qaReport(evals, dim, { from, to });
      audit({ action: 'qa.read', target: path, detail: Object.fromEntries(q) });
      if (fmt === 'csv') {
        const text = qaReportToCsv(report);
        res.writeHead(200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-length': Buffer.byteLength(text),
          'content-disposition': `attachment; filename="qa-${r[1]}.csv"`,
          'cache-control': 'no-store',
        });
        res.end(text);
        return;
      }
      return sendJson(res, 200, report);
    }
    throw new HttpError(404, 'not found');
  }

  async function agent(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const auth = req.headers.authorization;
    const s = deps.sessions.get(auth?.startsWith('Bearer ') ? auth.slice(7) : undefined);
    if (!s) throw new HttpError(401, 'not logged in');
    const me = s.agentId;
    const path = url.pathname.slice('/api/v1/agent/qa'.length);
    if (req.method === 'GET' && (path === '' || path === '/')) {
      const [evaluations, coaching] = await Promise.all([deps.qa.evaluations({ agentId: me }), deps.qa.coaching(me)]);
      const forms = deps.config().forms;
      // Their own reviews only (a calibration is the reviewers' business), with the reviewer's comments.
      const mine = evaluations.filter((e) => e.kind === 'review');
      const comments = (await Promise.all([...new Set(mine.map((e) => e.contactId))].map((c) => deps.qa.comments(c)))).flat();
      deps.audit?.({ actor: me, role: 'agent', action: 'qa.read', target: 'own', ip: clientIp(req) });
      return sendJson(res, 200, {
        agent: me,
        evaluations: mine.map((e) => ({
          id: e.id,
          contactId: e.contactId,
          queue: e.queue,
          form: forms[e.formId]?.title ?? e.formId,
          reviewer: e.reviewer,
          score: e.score,
          passed: e.passed,
          autoFailed: e.autoFailed,
          items: e.items,
          at: e.createdAt,
          comments: comments.filter((c) => c.evaluationId === e.id).map((c) => ({ offsetMs: c.offsetMs, text: c.text })),
        })),
        coaching,
      });
    }
    const r = /^\/coaching\/(\d+)\/ack$/.exec(path);
    if (req.method === 'POST' && r) {
      const body = parse(AckBody, await readJson(req));
      const row = await deps.qa.acknowledge(Number(r[1]), me, body.comment);
      if (!row) throw new HttpError(404, 'no such coaching item of yours');
      deps.audit?.({
        actor: me,
        role: 'agent',
        action: 'qa.coaching.ack',
        target: String(row.id),
        ip: clientIp(req),
        detail: { evaluation: row.evaluationId, comment: body.comment },
      });
      return sendJson(res, 200, { coaching: row });
    }
    throw new HttpError(404, 'not found');
  }

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    const isQa = p === '/api/v1/qa' || p.startsWith('/api/v1/qa/');
    const isAgent = p === '/api/v1/agent/qa' || p.startsWith('/api/v1/agent/qa/');
    if (!isQa && !isAgent) return false;
    try {
      if (isQa) await reviewer(req, res, url);
      else await agent(req, res, url);
    } catch (err) {
      if (err instanceof HttpError) sendError(res, err);
      else {
        hlog.error({ err: (err as Error).message, path: p }, 'QA request failed');
        const unavailable = /ECONNREFUSED|timeout|terminat|Connection/i.test((err as Error).message ?? '');
        sendJson(res, unavailable ? 503 : 500, { error: unavailable ? 'database unavailable; try again' : 'internal error' });
      }
    }
    return true;
  };
}
