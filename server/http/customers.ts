/**
 * REST for the customer file, the agent's screen pop, the after-call write (disposition, note,
 * complaint, work order), knowledge-card clicks, and the survey / work-order / complaint reports:
 *
 *   GET   /api/v1/customers?number=|name=|externalId=      search (any signed-in agent or supervisor)
 *   GET   /api/v1/customers/{id}                            customer, contacts, work orders
 *   PATCH /api/v1/customers/{id}                            name, email, externalId, numbers (supervisor, admin)
 *   GET   /api/v1/screen-pop[?contact=ID]                   the agent's offered/current call (Bearer), or a contact (supervisor);
 *                                                           a call in progress adds its wait and IVR path (ScreenPopLive)
 *   POST  /api/v1/contacts/{id}/wrapup                      what the agent writes after the call (Bearer: the agent who answered)
 *   GET   /api/v1/knowledge/cards                           cards with shown / clicks / click-through
 *   POST  /api/v1/knowledge/cards/{id}/click                count a click (Bearer)
 *   GET   /api/v1/reports/surveys?from&to                   per-question figures, NPS, FCR by survey (report roles)
 *   GET   /api/v1/reports/workorders?from&to                open/closed, SLA met, lifecycle, categories, complaints
 *
 * Agents authenticate with their desktop session (Authorization: Bearer); supervisors, qa and admin
 * with HTTP Basic. Bodies are checked with zod: a bad one is a 400 with the field and the reason.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AfterCall, Who } from '../customers/afterCall.ts';
import { normaliseNumber } from '../customers/number.ts';
import { parseTime } from '../kpi/intervals.ts';
import { decodeSegment, HttpError, readJson, sendJson, type Handler } from './server.ts';
import { createWorkOrdersApi, NewWorkOrderBody, parseBody, requireWho, SUPERVISOR_ROLES } from './workorders.ts';

const REPORT_ROLES: ReadonlySet<string> = new Set(['supervisor', 'qa', 'admin']);

const WrapupBody = z.strictObject({
  disposition: z.string().min(1).max(200).optional(),
  note: z.string().max(10_000).optional(),
  complaint: z.boolean().default(false),
  complaintCategory: z.string().min(1).max(64).optional(),
  workOrder: NewWorkOrderBody.omit({ customerId: true, contactId: true }).optional(),
  /** End the agent's wrap-up too (as POST /api/v1/agent/wrapup/end). */
  endWrapUp: z.boolean().default(false),
});

const CustomerPatch = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  email: z.email().max(200).optional(),
  externalId: z.string().min(1).max(200).optional(),
  numbers: z.array(z.string().min(1).max(100)).max(20).optional(),
});

function rangeOf(url: URL, now: number): { from: number; to: number } {
  const f = url.searchParams.get('from');
  const t = url.searchParams.get('to');
  if (!f || !t) throw new HttpError(400, 'from and to are required');
  try {
    const from = parseTime(f, 0, now);
    const to = parseTime(t, 0, now);
    if (!(to > from)) throw new Error('to must be after from');
    return { from, to };
  } catch (e) {
    throw new HttpError(400, (e as Error).message);
  }
}

/**
 * What the screen pop adds for a call in progress: when the caller entered the queue and was
 * connected (the wait), and the IVR path they took. The centre passes it in; for a contact whose
 * call is gone (a callback's) the same fields come from its logged events (screenPopHistory.ts).
 */
export type { ScreenPopLive } from '../customers/screenPopHistory.ts';
import type { ScreenPopLive } from '../customers/screenPopHistory.ts';
export type ScreenPopLiveFn = (contactId: string) => ScreenPopLive | undefined;

/** The after-call handlers the centre mounts (customers, screen pop, wrap-up, knowledge, reports; work orders). */
export function afterCallHandlers(ac: AfterCall, opts: { live?: ScreenPopLiveFn } = {}): Handler[] {
  const who = (req: IncomingMessage): Who | undefined => ac.who(req);
  return [createCustomersApi(ac, who, opts.live), createWorkOrdersApi(ac, who)];
}

/** The screen pop's wait and IVR path fields (seconds to the millisecond, as the reports count them). */
export function screenPopLiveFields(l: ScreenPopLive | undefined, now: number) {
  if (!l) return {};
  return {
    ...(l.queuedAt !== undefined
      ? {
          queuedAt: new Date(l.queuedAt).toISOString(),
          waitSec: Math.max(0, Math.round((l.connectedAt ?? now) - l.queuedAt)) / 1000,
          waiting: l.connectedAt === undefined,
        }
      : {}),
    ivrPath: l.ivrPath.map((p) => ({
      at: new Date(p.at).toISOString(),
      flow: p.flow,
      node: p.node,
      ...(p.input !== undefined ? { input: p.input } : {}),
      ...(p.outcome !== undefined ? { outcome: p.outcome } : {}),
    })),
    ivrSummary: l.ivrSummary,
  };
}

export function createCustomersApi(ac: AfterCall, who: (req: IncomingMessage) => Who | undefined, live?: ScreenPopLiveFn): Handler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const parts = path.split('/').slice(3).map(decodeSegment); // after /api/v1/
    const head = parts[0];
    const known =
      head === 'customers' ||
      head === 'screen-pop' ||
      (head === 'contacts' && parts[2] === 'wrapup') ||
      head === 'knowledge' ||
      (head === 'reports' && (parts[1] === 'surveys' || parts[1] === 'workorders'));
    if (!path.startsWith('/api/v1/') || !known) return false;
    const w = requireWho(who(req));
    const method = req.method ?? 'GET';

    if (head === 'customers') {
      if (parts.length === 1) {
        if (method !== 'GET') throw new HttpError(405, 'only GET');
        const numberRaw = url.searchParams.get('number');
        const name = url.searchParams.get('name');
        const externalId = url.searchParams.get('externalId');
        if (!numberRaw && !name && !externalId) throw new HttpError(400, 'give number, name or externalId');
        const number = numberRaw ? normaliseNumber(numberRaw) : undefined;
        if (numberRaw && !number) throw new HttpError(400, `"${numberRaw}" is not a phone number`);
        const found = await ac.customers.search({
          ...(number ? { number } : {}),
          ...(name ? { name: name.slice(0, 200) } : {}),
          ...(externalId ? { externalId: externalId.slice(0, 200) } : {}),
        });
        // A number with contacts but no customer record yet: the record is made now, so the history shows.
        if (found.length === 0 && number && (await ac.customers.contacts([number], { limit: 1 })).length > 0)
          found.push(await ac.customers.resolve(number));
        sendJson(res, 200, { customers: found });
        return true;
      }
      const id = parts[1]!;
      if (parts.length !== 2) throw new HttpError(404, 'not found');
      if (method === 'GET') {
        const file = await ac.customerFile(id);
        if (!file) throw new HttpError(404, 'no such customer');
        sendJson(res, 200, file);
        return true;
      }
      if (method === 'PATCH') {
        if (!SUPERVISOR_ROLES.has(w.role)) throw new HttpError(403, `role ${w.role} may not change customers`);
        const p = parseBody(CustomerPatch, await readJson(req));
        const numbers = (p.numbers ?? []).map((n) => {
          const x = normaliseNumber(n);
          if (!x || x.replace('+', '').length > 32) throw new HttpError(400, `numbers: "${n}" is not a phone number`);
          return x;
        });
        const c = await ac.customers
          .update(id, {
            ...(p.name !== undefined ? { name: p.name } : {}),
            ...(p.email !== undefined ? { email: p.email } : {}),
            ...(p.externalId !== undefined ? { externalId: p.externalId } : {}),
            addNumbers: numbers,
          })
          .catch((e: unknown) => {
            if ((e as { code?: string }).code === '23505') throw new HttpError(409, 'that external id belongs to another customer');
            throw e;
          });
        if (!c) throw new HttpError(404, 'no such customer');
        sendJson(res, 200, c);
        return true;
      }
      throw new HttpError(405, 'GET or PATCH');
    }

    if (head === 'screen-pop') {
      if (method !== 'GET') throw new HttpError(405, 'only GET');
      const asked = url.searchParams.get('contact');
      let contactId: string | undefined;
      if (asked) {
        if (!w.agent && !REPORT_ROLES.has(w.role)) throw new HttpError(403, `role ${w.role} may not read screen pops`);
        contactId = asked.slice(0, 200);
        if (w.agent && ac.agentCall(w.id) !== contactId && !(await ac.answeredBy(contactId, w.id)))
          throw new HttpError(403, 'not your call');
      } else {
        if (!w.agent) throw new HttpError(400, 'give ?contact=ID (a supervisor has no current call)');
        contactId = ac.agentCall(w.id);
        if (!contactId) throw new HttpError(404, 'no call offered or in progress');
      }
      const found = await ac.screenPop(contactId, w.id);
      if (!found) throw new HttpError(404, 'no such contact');
      const { history, ...pop } = found;
      sendJson(res, 200, { ...pop, ...screenPopLiveFields(live?.(contactId) ?? history, ac.clock.now()) });
      return true;
    }

    if (head === 'contacts') {
      if (method !== 'POST') throw new HttpError(405, 'only POST');
      const contactId = parts[1]!;
      const body = parseBody(WrapupBody, await readJson(req));
      const r = await ac.wrapup(contactId, w, body);
      sendJson(res, 201, r);
      return true;
    }

    if (head === 'knowledge') {
      if (parts[1] !== 'cards') throw new HttpError(404, 'not found');
      if (parts.length === 2) {
        if (method !== 'GET') throw new HttpError(405, 'only GET');
        sendJson(res, 200, { cards: await ac.cardStats() });
        return true;
      }
      if (parts.length === 4 && parts[3] === 'click') {
        if (method !== 'POST') throw new HttpError(405, 'only POST');
        const b = parseBody(z.strictObject({ contactId: z.string().min(1).max(200).optional() }), await readJson(req));
        if (!(await ac.cardClicked(parts[2]!, w.id, b.contactId))) throw new HttpError(404, 'no such card');
        sendJson(res, 200, { ok: true });
        return true;
      }
      throw new HttpError(404, 'not found');
    }

    // reports
    if (method !== 'GET') throw new HttpError(405, 'only GET');
    if (!REPORT_ROLES.has(w.role)) throw new HttpError(403, `role ${w.role} may not read reports`);
    const range = rangeOf(url, ac.clock.now());
    ac.audit?.({ actor: w.id, role: w.role, action: 'report.read', target: path });
    sendJson(res, 200, parts[1] === 'surveys' ? await ac.surveyReport(range) : await ac.workOrderReport(range));
    return true;
  };
}
