/**
 * Recordings REST API (served through createReportsApi, which checks the caller's role first):
 *
 *   GET /api/v1/recordings?contact=ID | from&to     list, with purge state and an audio link
 *   GET /api/v1/recordings/{recordingId}/audio       the audio file; 410 once retention deleted it
 *
 * Files are only served from inside the store's recordings directory, whatever path an event
 * claimed, so a bad event cannot turn this into a file server. Replies never show the file's path
 * on the server (the audio link is how to reach it). Listings and downloads are audited.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { parseTime } from '../kpi/intervals.ts';
import type { Audit } from '../store/audit.ts';
import { isInside, type RecordingRow } from '../store/recordings.ts';
import type { Store } from '../store/store.ts';
import { decodeSegment, HttpError, sendJson } from './server.ts';

/** What the recordings API reads (the reports API hands it its own deps and the caller). */
export interface RecordingsApiDeps {
  store: Pick<Store, 'listRecordings' | 'getRecording' | 'recordingsDir' | 'settings'>;
  audit?: Audit | undefined;
  /** Who asks (reports.ts's Principal; spelled out here so the two files do not import each other). */
  who?: { id?: string | undefined; role: string } | undefined;
}

/** A recording as the API shows it: the row without its server path, plus the audio link. */
export interface RecordingView extends Omit<RecordingRow, 'path'> {
  audio: string | null;
}

export function recordingView(r: RecordingRow): RecordingView {
  const { path: _path, ...rest } = r;
  return { ...rest, audio: r.purgedAt ? null : `/api/v1/recordings/${encodeURIComponent(r.recordingId)}/audio` };
}

export async function serveRecordings(deps: RecordingsApiDeps, path: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const rest = path.slice('/api/v1/recordings'.length);
  if (rest === '' || rest === '/') {
    const from = q.get('from');
    const to = q.get('to');
    const tz = deps.store.settings.timeZone ?? deps.store.settings.tzOffsetMinutes;
    let range: { from?: number; to?: number } = {};
    try {
      range = { ...(from ? { from: parseTime(from, tz) } : {}), ...(to ? { to: parseTime(to, tz) } : {}) };
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    const contact = q.get('contact');
    if (!contact && range.from === undefined) throw new HttpError(400, 'give contact=<contactId> or from/to');
    const rows = await deps.store.listRecordings({ ...(contact ? { contactId: contact } : {}), ...range });
    deps.audit?.({
      actor: deps.who?.id ?? 'unknown',
      role: deps.who?.role,
      action: 'recording.list',
      target: contact ?? `${from ?? ''}..${to ?? ''}`,
      detail: { count: rows.length },
    });
    sendJson(res, 200, { recordings: rows.map(recordingView) });
    return;
  }
  const m = /^\/([^/]+)\/audio$/.exec(rest);
  if (!m) throw new HttpError(404, 'not found');
  const rec = await deps.store.getRecording(decodeSegment(m[1]!));
  if (!rec) throw new HttpError(404, 'no such recording');
  if (rec.purgedAt) throw new HttpError(410, `audio deleted by the retention policy at ${rec.purgedAt}`);
  if (!isInside(deps.store.recordingsDir, rec.path)) throw new HttpError(404, 'recording file is outside the recordings directory');
  let size: number;
  try {
    const st = await stat(rec.path);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    throw new HttpError(404, 'recording file missing');
  }
  deps.audit?.({
    actor: deps.who?.id ?? 'unknown',
    role: deps.who?.role,
    action: 'recording.download',
    target: rec.recordingId,
    detail: { contactId: rec.contactId, bytes: size, method: res.req.method },
  });
  res.writeHead(200, {
    'content-type': rec.path.endsWith('.wav') ? 'audio/wav' : rec.path.endsWith('.ogg') ? 'audio/ogg' : 'application/octet-stream',
    'content-length': size,
    'content-disposition': `attachment; filename="${basename(rec.path).replace(/[^\w.-]/g, '_')}"`,
    'cache-control': 'private, no-store',
  });
  if (res.req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const s = createReadStream(rec.path);
    s.on('error', () => {
      res.destroy();
      resolve();
    });
    s.on('end', resolve);
    s.pipe(res);
  });
}
