/**
 * REST for work orders (工单):
 *
 *   GET   /api/v1/workorders?state&ownerKind&ownerId&customer&contact&open=true|false   list
 *   POST  /api/v1/workorders                               create (category, priority, subject, owner…)
 *   GET   /api/v1/workorders/{id}                          the order and its history
 *   PATCH /api/v1/workorders/{id}                          state (along the configured transitions), owner, priority, comment; version
 *   GET   /api/v1/workorders/config                        categories, priorities, states and transitions (for the page)
 *   GET   /api/v1/workorders/events                        Server-Sent Events: created, changed, escalated (the page)
 *
 * Agents (Bearer) and supervisors/admin (Basic) may create and change; qa reads. A change against a
 * stale version, or a transition the config does not allow, is a 409.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { AfterCall, Who } from '../customers/afterCall.ts';
import { decodeSegment, HttpError, readJson, sendJson, type Handler } from './server.ts';

export const SUPERVISOR_ROLES: ReadonlySet<string> = new Set(['supervisor', 'admin']);

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

export function requireWho(who: Who | undefined): Who {
  if (!who) throw new HttpError(401, 'authentication required');
  return who;
}

const OwnerBody = z.strictObject({ kind: z.enum(['agent', 'queue', 'group']), id: z.string().min(1).max(64) });
export const NewWorkOrderBody = z.strictObject({
  category: z.string().min(1).max(64),
  priority: z.string().min(1).max(64).optional(),
  subject: z.string().min(1).max(300),
  description: z.string().max(10_000).optional(),
  owner: OwnerBody.optional(),
  complaint: z.boolean().optional(),
  customerId: z.string().min(1).max(100).optional(),
  contactId: z.string().min(1).max(200).optional(),
});

const ChangeBody = z
  .strictObject({
    state: z.string().min(1).max(64).optional(),
    priority: z.string().min(1).max(64).optional(),
    owner: z.strictObject({ kind: z.enum(['agent', 'queue', 'group']), id: z.string().min(1).max(64) }).optional(),
    comment: z.string().min(1).max(10_000).optional(),
    version: z.number().int().min(1).optional(),
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'version'), 'nothing to change');

export function createWorkOrdersApi(ac: AfterCall, who: (req: IncomingMessage) => Who | undefined): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api/v1/workorders' && !url.pathname.startsWith('/api/v1/workorders/')) return false;
    const w = requireWho(who(req));
    const canWrite = w.agent || SUPERVISOR_ROLES.has(w.role);
    const parts = url.pathname.split('/').slice(4).map(decodeSegment);
    const method = req.method ?? 'GET';
    if (parts.length === 0) {
      if (method === 'GET') {
        const q = url.searchParams;
        const open = q.get('open');
        const limit = Math.min(Number(q.get('limit') ?? 500) || 500, 5000);
        const list = await ac.workOrderStore.list({
          ...(q.get('state') ? { state: q.get('state')! } : {}),
          ...(q.get('ownerKind') ? { ownerKind: q.get('ownerKind')! } : {}),
          ...(q.get('ownerId') ? { ownerId: q.get('ownerId')! } : {}),
          ...(q.get('customer') ? { customerId: q.get('customer')! } : {}),
          ...(q.get('contact') ? { contactId: q.get('contact')! } : {}),
          ...(open === 'true' || open === 'false' ? { open: open === 'true', finalStates: ac.config.workOrders.finalStates } : {}),
          limit,
        });
        sendJson(res, 200, { workOrders: list });
        return true;
      }
      if (method === 'POST') {
        if (!canWrite) throw new HttpError(403, `role ${w.role} may not create work orders`);
        const b = parseBody(NewWorkOrderBody, await readJson(req));
        const r = await ac.createWorkOrder({ ...b, owner: b.owner ?? { kind: 'agent', id: w.id }, createdBy: w.id });
        if (!r.ok) throw new HttpError(r.status ?? 400, r.error);
        sendJson(res, 201, r.value);
        return true;
      }
      throw new HttpError(405, 'GET or POST');
    }
    if (parts.length === 1 && parts[0] === 'events') {
      // Server-Sent Events: every creation, change and escalation, so the page never polls.
      if (method !== 'GET') throw new HttpError(405, 'GET');
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': work orders\n\n');
      const send = (type: string, body: Record<string, unknown>): void => {
        res.write(`event: workorder\ndata: ${JSON.stringify({ type, ...body })}\n\n`);
      };
      ac.changes.on('workorder', send);
      const ping = setInterval(() => res.write(': ping\n\n'), 25_000);
      req.on('close', () => {
        ac.changes.off('workorder', send);
        clearInterval(ping);
      });
      return true;
    }
    if (parts.length === 1 && parts[0] === 'config') {
      const c = ac.config.workOrders;
      sendJson(res, 200, {
        categories: c.categories,
        priorities: c.priorities,
        initialState: c.initialState,
        finalStates: c.finalStates,
        transitions: c.transitions,
      });
      return true;
    }
    if (parts.length !== 1) throw new HttpError(404, 'not found');
    const id = parts[0]!;
    if (method === 'GET') {
      const wo = await ac.workOrderStore.get(id);
      if (!wo) throw new HttpError(404, 'no such work order');
      sendJson(res, 200, { ...wo, history: await ac.workOrderStore.events(id) });
      return true;
    }
    if (method === 'PATCH') {
      if (!canWrite) throw new HttpError(403, `role ${w.role} may not change work orders`);
      const b = parseBody(ChangeBody, await readJson(req));
      const r = await ac.workOrders.change(id, b, w.id);
      if (!r.ok) throw new HttpError(r.status ?? 400, r.error);
      sendJson(res, 200, r.value);
      return true;
    }
    throw new HttpError(405, 'GET or PATCH');
  };
}
