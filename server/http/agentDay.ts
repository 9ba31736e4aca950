/**
 * "My day" for the agent desktop: the signed-in agent's own figures for today, from the reports
 * engine, pushed.
 *
 *   GET /api/v1/agent/day              the agent's day now (Bearer session of the desktop)
 *   GET /api/v1/agent/events/day       the same as Server-Sent Events (`day`), recomputed a moment
 *                                      after each of the agent's ACD events (offer, RONA, reject,
 *                                      connect, end, wrap-up, state) or a CSAT answer to one of
 *                                      their calls, and every refreshSec while open (time in state)
 *
 * Every figure is the reports engine's agent row (store.report, server/kpi/report.ts) for the
 * period [local midnight in the KPI zone, now), as the wallboard's "today": the reply carries
 * `period.reportQuery`, the query string of GET /api/v1/reports/agents that returns the same row.
 * The not-ready time per aux code is the same engine's state spans (server/kpi/stateTimes.ts).
 *
 * An agent sees only their own day: the agent is the session's, never a parameter. `?agent=` is
 * accepted only when it names the caller (403 otherwise), so a client that asks for someone
 * else's day is told no rather than silently given its own.
 *
 * The stream lives under /api/v1/agent/events/ because the login's HttpOnly cookie is scoped to
 * that path (agentApi.ts): EventSource cannot send an Authorization header, and this way the day
 * stream is authenticated exactly as the state stream (cookie or Bearer), with no token in a URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.ts';
import { log } from '../../lib/log.ts';
import { parseTime } from '../kpi/intervals.ts';
import type { KpiRow } from '../kpi/report.ts';
import { zoneOf } from '../kpi/settings.ts';
import { agentStateTimes } from '../kpi/stateTimes.ts';
import type { AgentSessions, AgentSession } from '../secrets/sessions.ts';
import type { Store } from '../store/store.ts';
import { EVENTS_COOKIE } from './agentApi.ts';
import { HttpError, sendJson, type Handler } from './server.ts';

const dlog = log.child({ mod: 'agent-day' });

export const AGENT_DAY_PATH = '/api/v1/agent/day';
export const AGENT_DAY_EVENTS_PATH = '/api/v1/agent/events/day';

export interface AgentDayDeps {
  clock: Clock;
  store: Pick<Store, 'report' | 'agentEvents' | 'settings' | 'flush'>;
  sessions: Pick<AgentSessions, 'get'>;
  /** Subscribe to the ACD's events that concern an agent; returns the unsubscribe function. */
  onAgentEvent: (listener: (agentId: string) => void) => () => void;
  /** Aux codes and their labels (agents.yaml), for the not-ready breakdown. */
  auxCodes: () => readonly { code: string; label: string }[];
  /** Seconds between recomputations while a stream is open (time in state keeps growing); default 30. */
  refreshSec?: number;
  /** Milliseconds to wait after an event before recomputing (events come in bursts); default 300. */
  debounceMs?: number;
}

/** The figures the desk shows, each named as in the reports' agent row. */
export const DAY_FIGURES = [
  'handled',
  'answered',
  'ahtSec',
  'avgTalkSec',
  'avgHoldSec',
  'avgAcwSec',
  'occupancy',
  'utilization',
  'rona',
  'rejected',
  'transferred',
  'csatAnswers',
  'csatAverage',
  'csatTop2Box',
  'loggedInSec',
  'readySec',
  'notReadySec',
  'talkSec',
  'holdSec',
  'acwSec',
] as const satisfies readonly (keyof KpiRow)[];
export type DayFigure = (typeof DAY_FIGURES)[number];
const ZERO_WITHOUT_ROW: ReadonlySet<DayFigure> = new Set([
  'handled',
  'answered',
  'rona',
  'rejected',
  'transferred',
  'csatAnswers',
  'loggedInSec',
  'readySec',
  'notReadySec',
  'talkSec',
  'holdSec',
  'acwSec',
]);

export interface AgentDay {
  agent: string;
  /** When it was computed (epoch ms). */
  at: number;
  period: { from: string; to: string; timeZone: string; reportQuery: string };
  figures: Record<DayFigure, number | null>;
  /** Not-ready seconds per aux code (label from agents.yaml; '' = no reason given). */
  notReadyByReason: { reason: string; label: string; sec: number }[];
}

/** The agent's day now: one agent row of the reports engine, plus the aux split of its not-ready time. */
export async function computeAgentDay(deps: Pick<AgentDayDeps, 'clock' | 'store' | 'auxCodes'>, agentId: string): Promise<AgentDay> {
  const now = deps.clock.now();
  const settings = deps.store.settings;
  const tz = zoneOf(settings);
  const from = parseTime('today', tz, now);
  // [midnight, now): a period in the past, so the reports API asked for the same from/to computes
  // at the same asOf and returns identical figures, time in state included (see wallboard.ts).
  const to = Math.max(now, from + 1);
  const [report, events] = await Promise.all([
    deps.store.report({ from, to, interval: 'range', dimension: 'agent', keys: [agentId] }),
    deps.store.agentEvents(agentId, from, to),
  ]);
  const row = report.rows.find((r) => r.key === agentId);
  // No row: nothing of the agent's today; counts and times are 0, averages and ratios have no value.
  const figures = Object.fromEntries(DAY_FIGURES.map((k) => [k, row ? (row[k] ?? null) : ZERO_WITHOUT_ROW.has(k) ? 0 : null])) as Record<
    DayFigure,
    number | null
  >;
  const states = agentStateTimes(events, { agentId, from, to, asOf: Math.min(to, now) });
  const labels = new Map([...Object.entries(SYSTEM_REASONS), ...deps.auxCodes().map((a) => [a.code, a.label] as const)]);
  const query = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), key: agentId });
  return {
    agent: agentId,
    at: now,
    period: {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      timeZone: settings.timeZone ?? `UTC${settings.tzOffsetMinutes >= 0 ? '+' : '-'}${Math.abs(settings.tzOffsetMinutes)}min`,
      reportQuery: query.toString(),
    },
    figures,
    notReadyByReason: states.notReadyByReason.map((r) => ({ ...r, label: labels.get(r.reason) ?? (r.reason || 'Not ready') })),
  };
}

/** Not-ready reasons the ACD sets itself (acd/records.ts, acd.ts), as the desk shows them. */
const SYSTEM_REASONS: Record<string, string> = {
  login: 'Logged in, not ready yet',
  missed: 'Missed call (RONA)',
  rejected: 'Declined call',
};

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

interface Watch {
  subscribers: Set<ServerResponse>;
  pending: NodeJS.Timeout | undefined;
  computing: Promise<void> | undefined;
  again: boolean;
}

export function createAgentDayApi(deps: AgentDayDeps): Handler & { close(): void } {
  const watches = new Map<string, Watch>();
  const refreshMs = (deps.refreshSec ?? 30) * 1000;
  const debounceMs = deps.debounceMs ?? 300;

  /** The caller's session: Bearer header; the login cookie on the stream only (a GET that changes nothing). */
  function sessionOf(req: IncomingMessage, cookie: boolean): AgentSession {
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : cookie ? cookieOf(req, EVENTS_COOKIE) : undefined;
    const s = deps.sessions.get(token);
    if (!s) throw new HttpError(401, 'not logged in');
    const asked = new URL(req.url ?? '/', 'http://x').searchParams.get('agent');
    if (asked !== null && asked !== s.agentId) throw new HttpError(403, 'an agent sees only their own day');
    return s;
  }

  const push = (agentId: string): Promise<void> => {
    const w = watches.get(agentId);
    if (!w) return Promise.resolve();
    if (w.computing) {
      w.again = true;
      return w.computing;
    }
    return (w.computing = (async () => {
      try {
        // What the ACD just did is on its way to Postgres: wait for it, then read.
        await deps.store.flush(5_000).catch(() => undefined);
        const day = await computeAgentDay(deps, agentId);
        const text = `event: day\ndata: ${JSON.stringify(day)}\n\n`;
        for (const res of w.subscribers) res.write(text);
      } catch (err) {
        dlog.warn({ err: (err as Error).message, agent: agentId }, 'agent day not computed; the next event or refresh tries again');
      } finally {
        w.computing = undefined;
        if (w.again && watches.has(agentId)) {
          w.again = false;
          void push(agentId);
        }
      }
    })());
  };

  const soon = (agentId: string): void => {
    const w = watches.get(agentId);
    if (!w) return;
    clearTimeout(w.pending);
    w.pending = setTimeout(() => {
      w.pending = undefined;
      void push(agentId);
    }, debounceMs);
  };
  const off = deps.onAgentEvent(soon);
  const refresh = setInterval(() => {
    for (const id of watches.keys()) void push(id);
  }, refreshMs);
  refresh.unref();

  function stream(req: IncomingMessage, res: ServerResponse, session: AgentSession): void {
    const agentId = session.agentId;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': day\n\n');
    let w = watches.get(agentId);
    if (!w) watches.set(agentId, (w = { subscribers: new Set(), pending: undefined, computing: undefined, again: false }));
    w.subscribers.add(res);
    const watch = w;
    // The stream ends with its session (logout, expiry); EventSource's reconnect then gets 401.
    const ping = setInterval(() => {
      if (deps.sessions.get(session.token)) res.write(': ping\n\n');
      else res.end();
    }, 15_000);
    req.on('close', () => {
      clearInterval(ping);
      watch.subscribers.delete(res);
      if (watch.subscribers.size === 0) {
        clearTimeout(watch.pending);
        watches.delete(agentId);
      }
    });
    void push(agentId);
  }

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== AGENT_DAY_PATH && path !== AGENT_DAY_EVENTS_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET');
    if (path === AGENT_DAY_EVENTS_PATH) {
      stream(req, res, sessionOf(req, true));
      return true;
    }
    const s = sessionOf(req, false);
    sendJson(res, 200, await computeAgentDay(deps, s.agentId));
    return true;
  };
  return Object.assign(handler, {
    close: () => {
      off();
      clearInterval(refresh);
      for (const w of watches.values()) {
        clearTimeout(w.pending);
        for (const r of w.subscribers) r.end();
      }
      watches.clear();
    },
  });
}
