/**
 * Reports REST API, mounted by the main HTTP server:
 *
 *   GET /api/v1/reports/{centre|queues|skills|agents}?from&to&interval(15m..day, week, month, quarter, range)&key&format=json|csv
 *        &slMode&slThresholds&shortAbandonSec&fcrWindowSec
 *   GET /api/v1/reports/calls?from&to&queue&agent&contact&format=json|csv   per-call drill-down
 *   GET /api/v1/reports/contacts/{contactId}      one customer call: chain, queue calls, recordings
 *   GET /api/v1/recordings?contact&from&to                                   (supervisor, qa)
 *   GET /api/v1/recordings/{recordingId}/audio                               (supervisor, qa)
 *
 * Reports are for supervisor, qa and admin; recordings for supervisor and qa only. Who the caller
 * is comes from the injected authorize(), so this module knows nothing about sessions. Each access
 * is audited (report.read, recording.list, recording.download), and so are Basic credentials that
 * matched no one (auth.failed).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { detailsToCsv, reportToCsv } from '../kpi/format.ts';
import { parseReportParams, ReportQueryError, type ReportParams } from '../kpi/query.ts';
import { log } from '../../lib/log.ts';
import { outboundReport, type OutboundDimension } from '../kpi/outbound.ts';
import type { Audit } from '../store/audit.ts';
import type { Store } from '../store/store.ts';
import { recordingView, serveRecordings } from './recordings.ts';
import { basicUser, clientIp, decodeSegment, HttpError, sendError, sendJson } from './server.ts';

const hlog = log.child({ mod: 'reports-api' });

export interface Principal {
  role: string;
  /** Who (the agent id the credentials belong to), for the audit trail. */
  id?: string | undefined;
}

export interface ReportsApiDeps {
  store: Pick<Store, 'report' | 'calls' | 'contact' | 'listRecordings' | 'getRecording' | 'recordingsDir' | 'settings'> &
    Partial<Pick<Store, 'placedEvents'>>;
  authorize: (req: IncomingMessage) => Principal | undefined | Promise<Principal | undefined>;
  /** The audit trail (store.audit); absent: nothing is audited. */
  audit?: Audit | undefined;
}

export const REPORT_ROLES: ReadonlySet<string> = new Set(['supervisor', 'qa', 'admin']);
export const RECORDING_ROLES: ReadonlySet<string> = new Set(['supervisor', 'qa']);

/** Returns a handler that serves its own URLs and returns false for any other. */
export function createReportsApi(deps: ReportsApiDeps): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const isReports = path === '/api/v1/reports' || path.startsWith('/api/v1/reports/');
    const isRecordings = path === '/api/v1/recordings' || path.startsWith('/api/v1/recordings/');
    if (!isReports && !isRecordings) return false;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET');
      const who = await deps.authorize(req);
      if (!who) {
        const claimed = basicUser(req);
        if (claimed !== undefined) deps.audit?.({ actor: claimed, action: 'auth.failed', target: path, ip: clientIp(req) });
        throw new HttpError(401, 'authentication required');
      }
      const allowed = isReports ? REPORT_ROLES : RECORDING_ROLES;
      if (!allowed.has(who.role)) throw new HttpError(403, `role ${who.role} may not read ${isReports ? 'reports' : 'recordings'}`);
      const audit: Audit = (e) => deps.audit?.({ ...e, ip: clientIp(req) });
      if (isReports) {
        await serveReport(deps, path, url.searchParams, res);
        audit({
          actor: who.id ?? 'unknown',
          role: who.role,
          action: 'report.read',
          target: path,
          detail: Object.fromEntries(url.searchParams),
        });
      } else await serveRecordings({ ...deps, audit, who }, path, url.searchParams, res);
    } catch (err) {
      if (err instanceof HttpError) sendError(res, err);
      else if (err instanceof ReportQueryError) sendJson(res, 400, { error: err.message });
      else {
        hlog.error({ err: (err as Error).message, path }, 'report request failed');
        const unavailable = /ECONNREFUSED|timeout|terminat|Connection/i.test((err as Error).message ?? '');
        sendJson(res, unavailable ? 503 : 500, { error: unavailable ? 'database unavailable; try again' : 'internal error' });
      }
    }
    return true;
  };
}

function params(q: URLSearchParams, dimension?: string): ReportParams {
  const get = (k: string) => q.get(k) ?? undefined;
  return {
    from: get('from'),
    to: get('to'),
    interval: get('interval'),
    dimension,
    keys: [...q.getAll('key'), ...q.getAll('queue'), ...q.getAll('agent'), ...q.getAll('skill')],
    slMode: get('slMode'),
    slThresholds: get('slThresholds'),
    shortAbandonSec: get('shortAbandonSec'),
    fcrWindowSec: get('fcrWindowSec'),
  };
}

function format(q: URLSearchParams): 'json' | 'csv' {
  const f = q.get('format') ?? 'json';
  if (f !== 'json' && f !== 'csv') throw new HttpError(400, 'format must be json or csv');
  return f;
}

async function serveReport(deps: ReportsApiDeps, path: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const contactPath = /^\/api\/v1\/reports\/contacts\/([^/]+)$/.exec(path);
  if (contactPath) {
    const id = decodeSegment(contactPath[1]!);
    const detail = await deps.store.contact(id);
    if (!detail) throw new HttpError(404, `no contact ${id}`);
    // Recordings as the recordings API lists them: no server paths.
    sendJson(res, 200, { ...detail, recordings: detail.recordings.map(recordingView) });
    return;
  }
  const name = decodeSegment(path.slice('/api/v1/reports/'.length));
  if (name === '' || name.includes('/')) throw new HttpError(404, 'GET /api/v1/reports/{centre|queues|skills|agents|calls|contacts/ID}');
  const fmt = format(q);
  if (name === 'calls') {
    const { request, overrides } = parseReportParams({ ...params(q, 'queue'), keys: [] }, deps.store.settings);
    const details = await deps.store.calls(
      {
        from: request.from,
        to: request.to,
        ...(q.get('queue') ? { queue: q.get('queue')! } : {}),
        ...(q.get('agent') ? { agentId: q.get('agent')! } : {}),
        ...(q.get('contact') ? { contactId: q.get('contact')! } : {}),
      },
      overrides,
    );
    if (fmt === 'csv') sendText(res, 200, detailsToCsv(details), 'text/csv; charset=utf-8', 'calls.csv');
    else sendJson(res, 200, { from: new Date(request.from).toISOString(), to: new Date(request.to).toISOString(), calls: details });
    return;
  }
  // --- Outbound calls (click-to-dial, callbacks): GET /api/v1/reports/outbound?from&to&by=centre|agent|queue|initiation ---
  if (name === 'outbound') {
    const { request } = parseReportParams({ ...params(q, 'queue'), keys: [] }, deps.store.settings);
    const by = q.get('by') ?? 'centre';
    if (!['centre', 'agent', 'queue', 'initiation'].includes(by)) throw new HttpError(400, 'by must be centre, agent, queue or initiation');
    // Calls placed in [from, to) count their whole talk, past `to` too; one still talking up to now (at most 6 h past `to`).
    const until = Math.min(Date.now(), request.to + 6 * 3_600_000);
    if (!deps.store.placedEvents) throw new HttpError(501, 'the outbound report needs the event log');
    const events = await deps.store.placedEvents(request.from, request.to);
    sendJson(res, 200, outboundReport(events, { from: request.from, to: request.to, dimension: by as OutboundDimension, asOf: until }));
    return;
  }
  let parsed;
  try {
    parsed = parseReportParams(params(q, name), deps.store.settings);
  } catch (err) {
    if (err instanceof ReportQueryError && /unknown report/.test(err.message)) throw new HttpError(404, err.message);
    throw err;
  }
  const report = await deps.store.report(parsed.request, parsed.overrides);
  if (fmt === 'csv') sendText(res, 200, reportToCsv(report), 'text/csv; charset=utf-8', `${name}.csv`);
  else sendJson(res, 200, report);
}

function sendText(res: ServerResponse, status: number, text: string, type: string, filename: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    'content-disposition': `attachment; filename="${filename}"`,
    'cache-control': 'no-store',
  });
  res.end(text);
}
