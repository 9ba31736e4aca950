/**
 * The audit trail's REST view, for admins only:
 *
 *   GET /api/v1/audit?from&to&actor&action[&limit]   entries in time order, [from, to)
 *
 * `from`/`to` take what the reports take (ISO 8601, local "2026-01-05 09:00", today, now, epoch
 * ms); `action` is exact or a prefix of dotted words (`recording` finds recording.list and
 * recording.download). Reading the trail is itself audited.
 */
import type { IncomingMessage } from 'node:http';
import { parseTime } from '../kpi/intervals.ts';
import { AuditQuerySchema, type Audit } from '../store/audit.ts';
import type { Store } from '../store/store.ts';
import type { Principal } from './reports.ts';
import { clientIp, HttpError, sendJson, type Handler } from './server.ts';

export const AUDIT_ROLES: ReadonlySet<string> = new Set(['admin']);

export interface AuditApiDeps {
  store: Pick<Store, 'listAudit' | 'settings'>;
  audit: Audit;
  authorize: (req: IncomingMessage) => Principal | undefined | Promise<Principal | undefined>;
}

export function createAuditApi(deps: AuditApiDeps): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api/v1/audit' && url.pathname !== '/api/v1/audit/') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET');
    const who = await deps.authorize(req);
    if (!who) throw new HttpError(401, 'authentication required');
    if (!AUDIT_ROLES.has(who.role)) throw new HttpError(403, `role ${who.role} may not read the audit trail`);
    const q = url.searchParams;
    const tz = deps.store.settings.timeZone ?? deps.store.settings.tzOffsetMinutes;
    const time = (k: string): number | undefined => {
      const v = q.get(k);
      if (!v) return undefined;
      try {
        return parseTime(v, tz);
      } catch (err) {
        throw new HttpError(400, `${k}: ${(err as Error).message}`);
      }
    };
    const limit = q.get('limit');
    const parsed = AuditQuerySchema.safeParse({
      from: time('from'),
      to: time('to'),
      actor: q.get('actor') ?? undefined,
      action: q.get('action') ?? undefined,
      limit: limit === null ? undefined : Number(limit),
    });
    if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const want = parsed.data.limit ?? 1000;
    // One row more than asked tells whether the answer was cut.
    const rows = await deps.store.listAudit({ ...parsed.data, limit: Math.min(want + 1, 10_001) });
    deps.audit({
      actor: who.id ?? 'unknown',
      role: who.role,
      action: 'audit.read',
      ip: clientIp(req),
      detail: Object.fromEntries(q),
    });
    sendJson(res, 200, { entries: rows.slice(0, want), truncated: rows.length > want });
    return true;
  };
}
