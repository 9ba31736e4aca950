/**
 * The supervisor wallboard's data, pushed live:
 *
 *   GET /wallboard.html                      the page (supervisor, admin; HTTP Basic)
 *   GET /api/v1/wallboard                    the board now (JSON)
 *   GET /api/v1/wallboard/events             the board as Server-Sent Events (`board`), every
 *                                            floor.boardRefreshSec and at once when an alert, a
 *                                            surge action or a call for help changes the floor
 *   GET /api/v1/floor/diversions/{flow}      200 while a surge diverts the IVR flow, 404 otherwise
 *                                            (no auth: an IVR `lookup` node reads it; next = divert,
 *                                            onFailure = normal route)
 *
 * Every "today" figure is the reports engine's (store.report → server/kpi/report.ts) for the
 * period [local midnight, now) in the KPI zone (the chart runs to the next midnight), with the KPI settings' service-level
 * thresholds plus 30 s (the 30-second answer rate): the board carries `period.reportQuery`, the
 * reports API query string that returns the same rows. Live figures (waiting, longest wait, live
 * service level, agents by state) are the ACD's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.ts';
import { log } from '../../lib/log.ts';
import type { Acd } from '../acd/acd.ts';
import type { Floor } from '../alerts/floor.ts';
import { parseTime } from '../kpi/intervals.ts';
import type { KpiReport, KpiRow } from '../kpi/report.ts';
import { zoneOf } from '../kpi/settings.ts';
import type { Audit } from '../store/audit.ts';
import type { FloorEventRow } from '../store/floorLog.ts';
import type { Store } from '../store/store.ts';
import type { Principal } from './reports.ts';
import { basicUser, clientIp, decodeSegment, HttpError, sendJson, type Handler } from './server.ts';

const wlog = log.child({ mod: 'wallboard' });

export const FLOOR_ROLES: ReadonlySet<string> = new Set(['supervisor', 'admin']);

export interface WallboardDeps {
  clock: Clock;
  store: Pick<Store, 'report' | 'settings'>;
  acd: Pick<Acd, 'snapshot'>;
  floor: Floor;
  /** Recent floor events, newest first. */
  events: (limit: number) => Promise<FloorEventRow[]>;
  /** Calls in progress (caller numbers for the agents' current calls). */
  calls: () => Iterable<{ view(): { contactId: string; caller: string; agent?: string } }>;
  /** The supervisor listening to / whispering on / barging into a call, if any (the board's Listen, Whisper, Barge buttons). */
  monitorOf?: (contactId: string) => { supervisorId: string; mode: string } | undefined;
  config: () => { name: string; agents: readonly { id: string; name: string }[]; floor: { boardRefreshSec: number } };
  authorize: (req: IncomingMessage) => Principal | undefined | Promise<Principal | undefined>;
  audit?: Audit | undefined;
}

export interface Board {
  at: number;
  name: string;
  period: { from: string; to: string; reportQuery: string };
  definitions: { serviceLevelMode: string; thresholdsSec: number[]; shortAbandonSec: number };
  centre: KpiRow | null;
  queues: { queue: string; live: ReturnType<Acd['snapshot']>['queues'][number]; today: KpiRow | null }[];
  agents: {
    id: string;
    name: string;
    state: string;
    reason?: string;
    since: number;
    callId?: string;
    queue?: string;
    caller?: string;
    monitor?: { supervisor: string; mode: string };
    today: { handled: number; ahtSec: number | null; occupancy: number | null } | null;
  }[];
  intervals: { start: string; offered: number; answered: number; abandoned: number; serviceLevel: number | null }[];
  alerts: ReturnType<Floor['alerts']['active']>;
  surge: ReturnType<Floor['surge']['status']>;
  help: ReturnType<Floor['helpRequests']>;
  diversions: string[];
  events: FloorEventRow[];
}

/** Computes the board; one computation serves every open board. */
export async function computeBoard(deps: WallboardDeps): Promise<Board> {
  const now = deps.clock.now();
  const settings = deps.store.settings;
  const tz = zoneOf(settings);
  const from = parseTime('today', tz, now);
  const to = parseTime('tomorrow', tz, now);
  // The settings' thresholds, 30 s added last if missing: every one is carried by the stored
  // rollups (the centre's thresholds plus STORED_THRESHOLDS_SEC), so the day is read from them.
  const thresholds = [...new Set([...settings.serviceLevelThresholdsSec, 30])];
  const o = { serviceLevelThresholdsSec: thresholds };
  // "Today" is [local midnight, now): a period in the past, so the reports API asked for the same
  // from/to computes at the same asOf and gives identical figures, time-in-state ones included.
  const day = { from, to: now, interval: 'range' as const };
  const [queues, centre, agents, intervals, events] = await Promise.all([
    deps.store.report({ ...day, dimension: 'queue' }, o),
    deps.store.report({ ...day, dimension: 'centre' }, o),
    deps.store.report({ ...day, dimension: 'agent' }, o),
    deps.store.report({ from, to, interval: '30m', dimension: 'centre' }, o),
    deps.events(30),
  ]);
  const snap = deps.acd.snapshot();
  const rowOf = (r: KpiReport, key: string) => r.rows.find((x) => x.key === key) ?? null;
  const callerOf = new Map<string, string>();
  for (const c of deps.calls()) {
    const v = c.view();
    callerOf.set(v.contactId, v.caller);
  }
  const monitorField = (callId: string | undefined) => {
    const m = callId !== undefined ? deps.monitorOf?.(callId) : undefined;
    return m ? { monitor: { supervisor: m.supervisorId, mode: m.mode } } : {};
  };
  const cfg = deps.config();
  const names = new Map(cfg.agents.map((a) => [a.id, a.name]));
  const query = new URLSearchParams({
    from: new Date(from).toISOString(),
    to: new Date(now).toISOString(),
    slThresholds: thresholds.join(','),
  });
  return {
    at: now,
    name: cfg.name,
    period: { from: new Date(from).toISOString(), to: new Date(now).toISOString(), reportQuery: query.toString() },
    definitions: {
      serviceLevelMode: queues.definitions.serviceLevelMode,
      thresholdsSec: thresholds,
      shortAbandonSec: queues.definitions.shortAbandonSec,
    },
    centre: centre.rows[0] ?? null,
    queues: snap.queues.map((q) => ({ queue: q.queue, live: q, today: rowOf(queues, q.queue) })),
    agents: snap.agents
      .filter((a) => a.state !== 'logged-out' || rowOf(agents, a.id))
      .map((a) => {
        const r = rowOf(agents, a.id);
        return {
          id: a.id,
          name: names.get(a.id) ?? a.id,
          state: a.state,
          ...(a.reason !== undefined ? { reason: a.reason } : {}),
          since: a.since,
          ...(a.callId !== undefined ? { callId: a.callId } : {}),
          ...(a.queue !== undefined ? { queue: a.queue } : {}),
          ...(a.callId !== undefined && callerOf.has(a.callId) ? { caller: callerOf.get(a.callId)! } : {}),
          ...monitorField(a.callId),
          today: r ? { handled: r.handled, ahtSec: r.ahtSec, occupancy: r.occupancy } : null,
        };
      }),
    intervals: intervals.rows.map((r) => ({
      start: r.intervalStart,
      offered: r.offered ?? 0,
      answered: r.answered,
      abandoned: r.abandoned ?? 0,
      serviceLevel: r.serviceLevels?.[0]?.value ?? null,
    })),
    alerts: deps.floor.alerts.active(),
    surge: deps.floor.surge.status(),
    help: deps.floor.helpRequests(),
    diversions: deps.floor.divertedFlows(),
    events,
  };
}

export function createWallboardApi(deps: WallboardDeps): Handler & { close(): void } {
  const subscribers = new Set<ServerResponse>();
  let last: { board: Board; text: string } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pending: NodeJS.Timeout | undefined;
  let computing: Promise<void> | undefined;

  const push = (): Promise<void> =>
    (computing ??= (async () => {
      try {
        const board = await computeBoard(deps);
        last = { board, text: `event: board\ndata: ${JSON.stringify(board)}\n\n` };
        for (const res of subscribers) res.write(last.text);
      } catch (err) {
        wlog.warn({ err: (err as Error).message }, 'board not computed; the next round tries again');
      } finally {
        computing = undefined;
      }
    })());
  const soon = () => {
    if (subscribers.size === 0 || pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      void push();
    }, 200);
  };
  const loop = () => {
    clearTimeout(timer);
    if (subscribers.size === 0) return;
    timer = setTimeout(() => {
      void push().finally(loop);
    }, deps.config().floor.boardRefreshSec * 1000);
  };
  deps.floor.on('changed', soon);

  const who = async (req: IncomingMessage, what: string): Promise<Principal> => {
    const p = await deps.authorize(req);
    if (!p) {
      const claimed = basicUser(req);
      if (claimed !== undefined) deps.audit?.({ actor: claimed, action: 'auth.failed', target: what, ip: clientIp(req) });
      throw new HttpError(401, 'authentication required');
    }
    if (!FLOOR_ROLES.has(p.role)) throw new HttpError(403, `role ${p.role} may not see the wallboard`);
    return p;
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const div = /^\/api\/v1\/floor\/diversions\/([^/]+)$/.exec(path);
    if (div) {
      const flow = decodeSegment(div[1]!);
      const on = deps.floor.isDiverted(flow);
      sendJson(res, on ? 200 : 404, { flow, diverted: on });
      return true;
    }
    if (path === '/wallboard.html' || path === '/wallboard') {
      await who(req, path);
      // The static files serve the page itself, now that the caller may see it.
      if (path === '/wallboard') {
        res.writeHead(302, { location: '/wallboard.html' });
        res.end();
        return true;
      }
      return false;
    }
    if (path !== '/api/v1/wallboard' && path !== '/api/v1/wallboard/events') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET');
    const p = await who(req, path);
    deps.audit?.({ actor: p.id ?? 'unknown', role: p.role, action: 'wallboard.read', target: path, ip: clientIp(req) });
    if (path === '/api/v1/wallboard') {
      sendJson(res, 200, await computeBoard(deps));
      return true;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': board\n\n');
    subscribers.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(ping);
      subscribers.delete(res);
    });
    if (last && deps.clock.now() - last.board.at < 1000) res.write(last.text);
    else void push();
    loop();
    return true;
  };
  return Object.assign(handler, {
    close: () => {
      clearTimeout(timer);
      clearTimeout(pending);
      deps.floor.off('changed', soon);
      for (const r of subscribers) r.end();
      subscribers.clear();
    },
  });
}
