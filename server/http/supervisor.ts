/**
 * Supervisor controls and the floor's REST side (supervisor and admin only, HTTP Basic; every
 * action audited with who, what and the result):
 *
 *   POST /api/v1/supervisor/agents/{id}/state   {"state":"ready"|"not-ready","code"?}  agent.state.forced
 *   POST /api/v1/supervisor/agents/{id}/logout                                          agent.logout.forced
 *   POST /api/v1/supervisor/calls/{id}/move     {"queue":"support"}                     call.moved
 *   POST /api/v1/supervisor/calls/{id}/head                                             call.head
 *   POST /api/v1/supervisor/calls/{id}/priority {"priority":0..100}                     call.priority
 *   POST /api/v1/supervisor/calls/{id}/monitor {"mode":"listen"|"whisper"|"barge"}   call.monitor (start: the
 *        supervisor's own registered phone is rung; answers once joined) or call.monitor.mode (already monitoring)
 *   POST /api/v1/supervisor/calls/{id}/monitor/stop                                  call.monitor.stop
 *   POST /api/v1/supervisor/surge/{plan}        {"level":0..3|null}  (null: back to its alerts)  surge.manual
 *   POST /api/v1/supervisor/help/{agent}/ack    the board's pop-up is dealt with
 *   GET  /api/v1/floor/events?from&to&type&limit the floor's event log, newest first
 *
 * And for agents (their desktop session's Bearer token):
 *   POST /api/v1/agent/help                     {"note"?}  raises a pop-up on the supervisors' boards
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { Acd } from '../acd/acd.ts';
import type { Call } from '../call/call.ts';
import { CallControlError } from '../call/controlError.ts';
import { MONITOR_MODES, monitor, monitorOf, setMonitorMode, stopMonitor, type MonitorMode } from '../call/monitor.ts';
import type { AcdSupervisor } from '../acd/supervisor.ts';
import type { Floor } from '../alerts/floor.ts';
import { parseTime } from '../kpi/intervals.ts';
import type { Audit, AuditAction } from '../store/audit.ts';
import type { FloorEventRow } from '../store/floorLog.ts';
import type { Principal } from './reports.ts';
import { basicUser, clientIp, decodeSegment, HttpError, readJson, sendJson, type Handler } from './server.ts';
import { FLOOR_ROLES } from './wallboard.ts';

export interface SupervisorApiDeps {
  acd: Pick<Acd, 'agentReady' | 'agentNotReady' | 'agentLogout' | 'agentView'>;
  commands: AcdSupervisor;
  floor: Floor;
  events: (q: { from?: number; to?: number; type?: string; limit?: number }) => Promise<FloorEventRow[]>;
  authorize: (req: IncomingMessage) => Principal | undefined | Promise<Principal | undefined>;
  /** The agent whose desktop session the request's Bearer token is. */
  agentOf: (req: IncomingMessage) => string | undefined;
  timeZone: () => string | number;
  now: () => number;
  audit: Audit;
  /** The call in progress with this contact id (listen / whisper / barge); without it those routes answer 501. */
  call?: (contactId: string) => Call | undefined;
  /** How long the supervisor's phone may ring before a monitor request gives up (ms; default 30 s). */
  monitorRingMs?: () => number;
}

const StateBody = z.strictObject({ state: z.enum(['ready', 'not-ready']), code: z.string().min(1).max(100).optional() });
const MoveBody = z.strictObject({ queue: z.string().min(1).max(200) });
const PriorityBody = z.strictObject({ priority: z.number().int().min(0).max(100) });
const SurgeBody = z.strictObject({ level: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.null()]) });
const MonitorBody = z.strictObject({ mode: z.enum(MONITOR_MODES as [MonitorMode, ...MonitorMode[]]).default('listen') });
const HelpBody = z.strictObject({ note: z.string().max(500).optional() });

async function body<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const r = schema.safeParse(await readJson(req));
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

export function createSupervisorApi(deps: SupervisorApiDeps): Handler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === '/api/v1/agent/help') {
      if (req.method !== 'POST') throw new HttpError(405, 'only POST');
      const agentId = deps.agentOf(req);
      if (!agentId) throw new HttpError(401, 'authentication required');
      const b = await body(req, HelpBody);
      const callId = deps.acd.agentView(agentId)?.callId;
      deps.floor.requestHelp({ agentId, at: deps.now(), ...(callId ? { callId } : {}), ...(b.note ? { note: b.note } : {}) });
      deps.audit({ actor: agentId, role: 'agent', action: 'help.requested', target: callId, ip: clientIp(req), detail: b });
      sendJson(res, 202, { ok: true });
      return true;
    }
    const isSup = path.startsWith('/api/v1/supervisor/');
    const isEvents = path === '/api/v1/floor/events';
    if (!isSup && !isEvents) return false;
    const who = await deps.authorize(req);
    if (!who) {
      const claimed = basicUser(req);
      if (claimed !== undefined) deps.audit({ actor: claimed, action: 'auth.failed', target: path, ip: clientIp(req) });
      throw new HttpError(401, 'authentication required');
    }
    if (!FLOOR_ROLES.has(who.role)) throw new HttpError(403, `role ${who.role} may not act on the floor`);
    const actor = who.id ?? 'unknown';
    const audit = (action: AuditAction, target: string, detail: Record<string, unknown>) =>
      deps.audit({ actor, role: who.role, action, target, ip: clientIp(req), detail });

    if (isEvents) {
      if (req.method !== 'GET') throw new HttpError(405, 'only GET');
      const q = url.searchParams;
      const time = (k: string) => {
        const v = q.get(k);
        if (!v) return undefined;
        try {
          return parseTime(v, deps.timeZone());
        } catch (err) {
          throw new HttpError(400, `${k}: ${(err as Error).message}`);
        }
      };
      const limit = Number(q.get('limit') ?? 200);
      if (!Number.isInteger(limit) || limit < 1 || limit > 5000) throw new HttpError(400, 'limit: 1..5000');
      const from = time('from');
      const to = time('to');
      const type = q.get('type') ?? undefined;
      sendJson(res, 200, {
        events: await deps.events({
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(type ? { type } : {}),
          limit,
        }),
      });
      return true;
    }
    if (req.method !== 'POST') throw new HttpError(405, 'only POST');
    const m = /^\/api\/v1\/supervisor\/(agents|calls|surge|help)\/([^/]+)(?:\/([a-z]+(?:\/stop)?))?$/.exec(path);
    if (!m) throw new HttpError(404, 'not found');
    const [, kind, rawId, verb] = m;
    const id = decodeSegment(rawId!);
    const done = (r: { ok: true } | { ok: false; error: string }, action: AuditAction, detail: Record<string, unknown>) => {
      audit(action, id, { ...detail, ok: r.ok, ...(r.ok ? {} : { error: r.error }) });
      if (!r.ok) throw new HttpError(409, r.error);
      sendJson(res, 200, { ok: true });
      return true;
    };
    if (kind === 'agents' && verb === 'state') {
      const b = await body(req, StateBody);
      if (b.state === 'not-ready' && !b.code) throw new HttpError(400, 'code: a not-ready state needs an aux code');
      const r = b.state === 'ready' ? deps.acd.agentReady(id) : deps.acd.agentNotReady(id, b.code!);
      return done(r, 'agent.state.forced', { state: b.state, ...(b.code ? { code: b.code } : {}) });
    }
    if (kind === 'agents' && verb === 'logout') {
      if (!deps.acd.agentView(id)) throw new HttpError(404, `no agent ${id}`);
      return done(deps.acd.agentLogout(id, `forced by ${actor}`), 'agent.logout.forced', {});
    }
    if (kind === 'calls' && verb === 'move') {
      const b = await body(req, MoveBody);
      return done(deps.commands.moveToQueue(id, b.queue), 'call.moved', { queue: b.queue });
    }
    if (kind === 'calls' && verb === 'head') return done(deps.commands.toHead(id), 'call.head', {});
    if (kind === 'calls' && verb === 'priority') {
      const b = await body(req, PriorityBody);
      return done(deps.commands.setPriority(id, b.priority), 'call.priority', { priority: b.priority });
    }
    if (kind === 'calls' && (verb === 'monitor' || verb === 'monitor/stop')) {
      const b = verb === 'monitor' ? await body(req, MonitorBody) : undefined;
      const call = deps.call?.(id);
      if (!deps.call) throw new HttpError(501, 'listen / whisper / barge is not available here');
      if (!call || call.ended) throw new HttpError(404, `no call ${id} in progress`);
      const current = monitorOf(call);
      const action: AuditAction = !b ? 'call.monitor.stop' : current?.supervisorId === actor ? 'call.monitor.mode' : 'call.monitor';
      const detail = {
        ...(b ? { mode: b.mode } : {}),
        agent: call.agent?.party,
        ...(current ? { was: current.mode, by: current.supervisorId } : {}),
      };
      try {
        if (!b) await stopMonitor(call);
        else if (action === 'call.monitor.mode') await setMonitorMode(call, b.mode);
        else await monitorRinging(call, actor, b.mode, deps.monitorRingMs?.() ?? 30_000);
      } catch (e) {
        if (!(e instanceof CallControlError)) throw e;
        const status = httpStatusOf(e.status);
        const error = e.status === 480 ? `your phone (${actor}) is not registered: register a desk phone as ${actor}` : e.message;
        audit(action, id, { ...detail, ok: false, error });
        throw new HttpError(status, error);
      }
      audit(action, id, { ...detail, ok: true });
      sendJson(res, 200, { ok: true, ...(b ? { mode: b.mode, supervisor: actor } : {}) });
      return true;
    }
    if (kind === 'surge' && verb === undefined) {
      const b = await body(req, SurgeBody);
      const r = deps.floor.manualSurge(id, b.level, actor);
      audit('surge.manual', id, { level: b.level, ok: r !== undefined });
      if (!r) throw new HttpError(404, `no surge plan ${id}`);
      sendJson(res, 200, { ok: true, actions: r.map((x) => ({ description: x.description, reversed: x.reversed, ok: x.ok })) });
      return true;
    }
    if (kind === 'help' && verb === 'ack') {
      if (!deps.floor.acknowledgeHelp(id, actor)) throw new HttpError(404, `no call for help from ${id}`);
      sendJson(res, 200, { ok: true });
      return true;
    }
    throw new HttpError(404, 'not found');
  };
}

/**
 * A CallControlError's status as an HTTP status: call-state refusals keep theirs (404, 409, 501); a SIP
 * status from ringing the supervisor's phone (480 not registered, 486 busy, 487, 603 declined…) is
 * a conflict with the supervisor's phone, 409; a SIP server failure is a bad gateway, 502.
 */
function httpStatusOf(s: number): number {
  if (s === 400 || s === 403 || s === 404 || s === 409 || s === 501) return s;
  if (s >= 400 && s < 500) return 409;
  if (s >= 600) return 409;
  return 502;
}

/** monitor(), giving up (409) when the supervisor's phone rings for longer than ringMs. */
async function monitorRinging(call: Call, supervisorId: string, mode: MonitorMode, ringMs: number): Promise<void> {
  let timedOut = false;
  const timer = setTimeout(() => {
    const m = monitorOf(call);
    if (m?.supervisorId !== supervisorId || m.leg.state !== 'ringing') return;
    timedOut = true;
    void stopMonitor(call).catch(() => undefined); // closes the leg: CANCEL to the phone
  }, ringMs);
  try {
    await monitor(call, supervisorId, mode);
  } catch (e) {
    if (timedOut) throw new CallControlError(409, `your phone (${supervisorId}) did not answer within ${Math.round(ringMs / 1000)} s`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
