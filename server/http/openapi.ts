/**
 * The REST API as an OpenAPI 3.1 document, served at GET /api/v1/openapi.json, so clients and tests
 * share one contract. Request bodies are the zod schemas the handlers validate with, turned into
 * JSON Schema by zod (z.toJSONSchema); the agent and call-control routes come from the tables their
 * handlers dispatch from (AGENT_ROUTES, CALL_CONTROL_ROUTES), so a route cannot be answered without
 * being documented. The reports, recordings, planning, audit and live routes are listed in
 * OTHER_ROUTES below with their query parameters (those handlers parse queries by hand, so the
 * parameters here describe them; test/unit/http/openapi.test.ts checks every /api/v1 path in the
 * handlers' source is in the document).
 */
import { z } from 'zod';
import { AGENT_ROUTES } from './agentApi.ts';
import { CALL_CONTROL_ROUTES } from './callControlApi.ts';
import { StaffingBodySchema } from './planning.ts';
import { sendJson, type Handler } from './server.ts';

export const OPENAPI_PATH = '/api/v1/openapi.json';

type Auth = 'none' | 'bearer' | 'cookie' | 'basic';

/** One documented operation. */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** OpenAPI path template: /api/v1/reports/contacts/{contactId}. */
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: z.ZodType;
  example?: unknown;
  /** Query parameters: each a string (or list) schema, with its description. */
  query?: Record<string, z.ZodType>;
  /** Path parameters besides those named in the template (all strings). */
  errors?: Record<number, string>;
  /** Reply media types other than JSON. */
  produces?: string[];
}

const s = (d: string) => z.string().describe(d);
const range = {
  from: s('Start: ISO date/time, a day (2026-01-05), or a word (today, yesterday, -7d)'),
  to: s('End (exclusive), as from'),
};
const format = (d = 'json or csv') => ({ format: s(d) });

/** The routes served by the reports, recordings, planning, audit and live handlers. */
const OTHER_ROUTES: readonly ApiRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/reports/{report}',
    summary: 'KPI report (centre, queues, skills or agents) per interval, with dispositions and the agent-side FCR rate',
    tag: 'reports',
    auth: 'basic',
    query: {
      ...range,
      interval: s('15m, 30m, 1h, day, week, month, quarter or range'),
      key: s('Keep only these queues / skills / agents (repeatable)'),
      slMode: s('abandons-ignored, abandons-met or abandons-missed'),
      slThresholds: s('Service-level thresholds in seconds, comma-separated'),
      shortAbandonSec: s('Abandons shorter than this are not counted'),
      fcrWindowSec: s('Repeat-contact window for FCR'),
      ...format(),
    },
    produces: ['application/json', 'text/csv'],
  },
  {
    method: 'GET',
    path: '/api/v1/reports/calls',
    summary: 'Per-call drill-down',
    tag: 'reports',
    auth: 'basic',
    query: { ...range, queue: s('Queue'), agent: s('Agent id'), contact: s('Contact id'), ...format() },
    produces: ['application/json', 'text/csv'],
  },
  {
    method: 'GET',
    path: '/api/v1/reports/contacts/{contactId}',
    summary: 'One customer call: its chain (transfers, callbacks), queue calls and recordings',
    tag: 'reports',
    auth: 'basic',
  },
  {
    method: 'GET',
    path: '/api/v1/recordings',
    summary: 'Recordings by contact or time range',
    tag: 'recordings',
    auth: 'basic',
    query: { contact: s('Contact id'), ...range },
  },
  {
    method: 'GET',
    path: '/api/v1/recordings/{recordingId}/audio',
    summary: 'A recording (stereo WAV: caller left, agent right)',
    tag: 'recordings',
    auth: 'basic',
    produces: ['audio/wav'],
  },
  {
    method: 'GET',
    path: '/api/v1/planning/erlang',
    summary: 'Agents needed for one interval (Erlang C or A) and a table around the answer',
    tag: 'planning',
    auth: 'basic',
    query: {
      calls: s('Calls per interval'),
      aht: s('Average handle time, seconds'),
      interval: s('Interval length, e.g. 30m'),
      sl: s('Service level target, e.g. 80/20'),
      asa: s('Average speed of answer target, seconds'),
      maxOccupancy: s('e.g. 85%'),
      shrinkage: s('e.g. 30%'),
      patience: s('Mean patience, seconds (Erlang A)'),
      maxAbandon: s('e.g. 5%'),
      model: s('erlang-c or erlang-a'),
      rows: s('Rows of the table either side'),
    },
  },
  {
    method: 'POST',
    path: '/api/v1/planning/staffing',
    summary: 'Agents needed per interval',
    tag: 'planning',
    auth: 'basic',
    body: StaffingBodySchema,
    example: { targets: { serviceLevel: { thresholdSec: 20, target: 0.8 } }, intervals: [{ calls: 100, ahtSec: 180 }] },
  },
  {
    method: 'GET',
    path: '/api/v1/planning/forecast',
    summary: 'Forecast per interval from history, its accuracy, and optional staffing',
    tag: 'planning',
    auth: 'basic',
    query: {
      queue: s('Queue'),
      ...range,
      historyWeeks: s('Weeks of history'),
      interval: s('e.g. 30m'),
      holiday: s('Day=factor'),
      holdoutWeeks: s('Weeks held out'),
    },
  },
  {
    method: 'POST',
    path: '/api/v1/planning/schedule',
    summary: 'Shift schedule covering the required agents per interval',
    tag: 'planning',
    auth: 'basic',
    body: z
      .looseObject({
        intervalMin: z.number(),
        required: z.array(z.number()),
        templates: z.array(z.unknown()),
        agents: z.array(z.unknown()),
        minRestHours: z.number().optional(),
      })
      .describe('See server/planning/schedule.ts ScheduleInput'),
    example: {
      intervalMin: 30,
      required: [1, 2, 2, 1],
      templates: [{ name: 'early', start: '08:00', hours: 8 }],
      agents: [{ id: '1001' }],
    },
    query: { format: s('json, csv, coverage or svg') },
    produces: ['application/json', 'text/csv', 'image/svg+xml'],
  },
  {
    method: 'GET',
    path: '/api/v1/planning/attainment',
    summary: "Attainment of centre.yaml's targets",
    tag: 'planning',
    auth: 'basic',
    query: { ...range, period: s('day, week, month or quarter'), interval: s('e.g. 30m'), ...format() },
  },
  {
    method: 'GET',
    path: '/api/v1/audit',
    summary: 'The audit trail (admin)',
    tag: 'audit',
    auth: 'basic',
    query: { ...range, actor: s('Who'), action: s('What') },
  },
  { method: 'GET', path: '/api/v1/live', summary: 'Live view of queues, agents and calls', tag: 'live', auth: 'basic' },
  { method: 'GET', path: OPENAPI_PATH, summary: 'This document', tag: 'meta', auth: 'none' },
  // Customers, work orders, knowledge (server/http/customers.ts, workorders.ts), QA (qa.ts), the
  // supervisor floor (supervisor.ts, wallboard.ts) and outbound calls: described by path and
  // purpose; their bodies are validated by each handler's own zod schemas.
  { method: 'GET', path: '/api/v1/customers', summary: 'Search customers by number, name or external id', tag: 'customers', auth: 'basic' },
  {
    method: 'GET',
    path: '/api/v1/customers/{id}',
    summary: 'A customer: numbers, contacts (disposition, note), surveys, callbacks, work orders',
    tag: 'customers',
    auth: 'basic',
  },
  {
    method: 'PATCH',
    path: '/api/v1/customers/{id}',
    summary: 'Change a customer (name, email, externalId, numbers; supervisor, admin)',
    tag: 'customers',
    auth: 'basic',
  },
  {
    method: 'GET',
    path: '/api/v1/screen-pop',
    summary: "The agent's offered or current call: the caller's previous contacts, open work orders, knowledge cards, CRM link",
    tag: 'customers',
    auth: 'bearer',
  },
  {
    method: 'POST',
    path: '/api/v1/contacts/{id}/wrapup',
    summary: 'What the agent writes after the call: disposition, note, complaint, a work order',
    tag: 'customers',
    auth: 'bearer',
  },
  {
    method: 'GET',
    path: '/api/v1/knowledge/cards',
    summary: 'Knowledge cards with shown / clicks / click-through',
    tag: 'knowledge',
    auth: 'basic',
  },
  { method: 'POST', path: '/api/v1/knowledge/cards/{id}/click', summary: 'Count a click on a card', tag: 'knowledge', auth: 'bearer' },
  {
    method: 'GET',
    path: '/api/v1/workorders',
    summary: 'Work orders (state, owner, customer, contact, open)',
    tag: 'work orders',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/workorders',
    summary: 'Create a work order (category, priority, subject, owner)',
    tag: 'work orders',
    auth: 'basic',
  },
  { method: 'GET', path: '/api/v1/workorders/{id}', summary: 'A work order and its history', tag: 'work orders', auth: 'basic' },
  {
    method: 'PATCH',
    path: '/api/v1/workorders/{id}',
    summary: 'Move a work order along its transitions; owner, priority, comment (version checked)',
    tag: 'work orders',
    auth: 'basic',
  },
  {
    method: 'GET',
    path: '/api/v1/workorders/events',
    summary: 'Work orders created, changed and escalated, as Server-Sent Events',
    tag: 'work orders',
    auth: 'basic',
    produces: ['text/event-stream'],
  },
  {
    method: 'GET',
    path: '/api/v1/workorders/config',
    summary: 'Categories, priorities, states and transitions',
    tag: 'work orders',
    auth: 'basic',
  },
  { method: 'GET', path: '/api/v1/qa/forms', summary: 'QA scoring forms and the per-queue choice', tag: 'qa', auth: 'basic' },
  {
    method: 'GET',
    path: '/api/v1/qa/calls',
    summary: 'Search calls for review (date, queue, agent, disposition, talk time, CSAT, flags)',
    tag: 'qa',
    auth: 'basic',
  },
  {
    method: 'GET',
    path: '/api/v1/qa/calls/{contactId}',
    summary: 'A call for review: event timeline, recordings, analytics, evaluations',
    tag: 'qa',
    auth: 'basic',
  },
  {
    method: 'GET',
    path: '/api/v1/qa/calls/{contactId}/waveform',
    summary: "Both channels' peaks (caller, agent)",
    tag: 'qa',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/qa/calls/{contactId}/evaluations',
    summary: 'Score a call on its form (answers, notes, comments)',
    tag: 'qa',
    auth: 'basic',
  },
  { method: 'PUT', path: '/api/v1/qa/evaluations/{id}', summary: 'Rescore (its reviewer or an admin)', tag: 'qa', auth: 'basic' },
  { method: 'POST', path: '/api/v1/qa/calls/{contactId}/comments', summary: 'Comment at a moment of the audio', tag: 'qa', auth: 'basic' },
  {
    method: 'GET',
    path: '/api/v1/qa/calls/{contactId}/calibration',
    summary: "Reviewers' scores of a call, spread and disagreements",
    tag: 'qa',
    auth: 'basic',
  },
  { method: 'GET', path: '/api/v1/qa/queue', summary: 'The review queue (flags, sample)', tag: 'qa', auth: 'basic' },
  { method: 'GET', path: '/api/v1/qa/sample', summary: 'Random calls per agent for a week', tag: 'qa', auth: 'basic' },
  { method: 'POST', path: '/api/v1/qa/sample', summary: '… and put them into the review queue', tag: 'qa', auth: 'basic' },
  {
    method: 'GET',
    path: '/api/v1/qa/reports/{report}',
    summary: 'QA report by agents, queues or centre (json or csv)',
    tag: 'qa',
    auth: 'basic',
  },
  // the agent's own day (server/http/agentDay.ts).
  {
    method: 'GET',
    path: '/api/v1/agent/day',
    summary:
      "The agent's own figures for today (handled, AHT, talk / hold / ACW, occupancy, RONA, rejects, CSAT, time in state per aux code): the reports engine's agent row, with period.reportQuery for GET /api/v1/reports/agents",
    tag: 'agent',
    auth: 'bearer',
    query: { agent: s('Optional; must be the signed-in agent (403 otherwise): an agent sees only their own day') },
    errors: { 401: 'not logged in', 403: "another agent's day" },
  },
  {
    method: 'GET',
    path: '/api/v1/agent/events/day',
    summary: "The agent's day as Server-Sent Events (`day`), pushed after each of the agent's events (cookie or bearer)",
    tag: 'agent',
    auth: 'cookie',
    produces: ['text/event-stream'],
    errors: { 401: 'not logged in', 403: "another agent's day" },
  },
  { method: 'GET', path: '/api/v1/agent/qa', summary: "The agent's own evaluations and coaching items", tag: 'qa', auth: 'bearer' },
  { method: 'POST', path: '/api/v1/agent/qa/coaching/{id}/ack', summary: 'Acknowledge a coaching item', tag: 'qa', auth: 'bearer' },
  {
    method: 'POST',
    path: '/api/v1/supervisor/agents/{id}/state',
    summary: 'Force an agent Ready or Not ready (audited agent.state.forced)',
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/supervisor/agents/{id}/logout',
    summary: 'Log an agent out (audited)',
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/supervisor/calls/{id}/move',
    summary: 'Move a waiting call to another queue',
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/supervisor/calls/{id}/head',
    summary: 'Put a waiting call at the head of its queue',
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/supervisor/calls/{id}/priority',
    summary: "Change a waiting caller's priority (0-100)",
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/supervisor/calls/{id}/monitor',
    summary:
      "Listen to a call, or whisper to the agent, or barge in ({mode}): rings the supervisor's registered phone; on a call already monitored by you, changes the mode (audited call.monitor, call.monitor.mode)",
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/supervisor/calls/{id}/monitor/stop',
    summary: 'Stop monitoring a call; it goes back to a plain bridge (audited call.monitor.stop)',
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/supervisor/surge/{plan}',
    summary: 'Set a surge plan level by hand (0-3), or null: back to its alerts',
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/supervisor/help/{agent}/ack',
    summary: "Deal with an agent's help pop-up",
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'GET',
    path: '/api/v1/floor/events',
    summary: "The floor's event log (alerts, surge actions), newest first",
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'POST',
    path: '/api/v1/agent/help',
    summary: "Ask for help: raises a pop-up on the supervisors' boards",
    tag: 'supervisor',
    auth: 'bearer',
  },
  {
    method: 'GET',
    path: '/api/v1/wallboard',
    summary: 'The wallboard now: queues, agents, the day by interval, alerts',
    tag: 'supervisor',
    auth: 'basic',
  },
  {
    method: 'GET',
    path: '/api/v1/agent/directory',
    summary:
      'Transfer directory: queues (waiting callers, free agents) and agents with their state now; changes come as `directory` on the agent stream',
    tag: 'agent',
    auth: 'bearer',
  },
  { method: 'GET', path: '/api/v1/wallboard/events', summary: 'The wallboard as Server-Sent Events', tag: 'supervisor', auth: 'basic' },
  {
    method: 'GET',
    path: '/api/v1/floor/diversions/{flow}',
    summary: '200 while a surge diverts the IVR flow, 404 otherwise (for an IVR lookup node)',
    tag: 'supervisor',
    auth: 'none',
  },
];

/** Every documented operation, agent and call control first. */
export function apiRoutes(): ApiRoute[] {
  return [
    ...AGENT_ROUTES.map((r): ApiRoute => ({ ...r, tag: 'agent' })),
    ...CALL_CONTROL_ROUTES.map((r): ApiRoute => ({
      method: r.method,
      path: r.path,
      summary: r.summary,
      tag: 'call control',
      auth: 'bearer',
      ...(r.body ? { body: r.body } : {}),
      ...(r.example !== undefined ? { example: r.example } : {}),
      errors: r.errors,
    })),
    ...OTHER_ROUTES,
  ];
}

const jsonSchema = (t: z.ZodType): Record<string, unknown> => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(t, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const ErrorBody = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] };

/** The OpenAPI 3.1 document. */
export function openApiDocument(version = '1'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of apiRoutes()) {
    const params = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    for (const [name, t] of Object.entries(r.query ?? {}))
      params.push({ name, in: 'query', required: false, schema: jsonSchema(t) } as never);
    const errors = { 400: 'invalid request', ...(r.auth !== 'none' ? { 401: 'not authenticated' } : {}), ...r.errors };
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      security: r.auth === 'none' ? [] : r.auth === 'cookie' ? [{ agentEvents: [] }, { bearer: [] }] : [{ [r.auth]: [] }],
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(r.body), ...(r.example !== undefined ? { example: r.example } : {}) } },
            },
          }
        : {}),
      responses: {
        200: { description: 'OK', content: Object.fromEntries((r.produces ?? ['application/json']).map((t) => [t, {}])) },
        ...Object.fromEntries(
          Object.entries(errors).map(([status, why]) => [
            status,
            { description: why, content: { 'application/json': { schema: ErrorBody } } },
          ]),
        ),
      },
    };
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'callcentre REST API',
      version,
      description:
        'Agent desktop, call control, outbound calls, customers, work orders, knowledge, QA, supervisor floor, reports, recordings, planning, audit and live view. Errors are {"error": "..."} JSON.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The token POST /api/v1/agent/login returns' },
        basic: { type: 'http', scheme: 'basic', description: "An agent id and password; the agent's role decides access" },
        agentEvents: {
          type: 'apiKey',
          in: 'cookie',
          name: 'cc_agent_events',
          description: 'Set by login; accepted on the event stream only',
        },
      },
    },
    paths,
  };
}

/** GET /api/v1/openapi.json: public (it describes, it does not disclose). */
export function createOpenApiHandler(): Handler {
  let doc: Record<string, unknown> | undefined;
  return async (req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== OPENAPI_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    sendJson(res, 200, (doc ??= openApiDocument()));
    return true;
  };
}
