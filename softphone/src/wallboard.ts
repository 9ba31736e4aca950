/**
 * The supervisors' wallboard: renders the board the server pushes on /api/v1/wallboard/events
 * (Server-Sent Events; HTTP Basic as every supervisor API, the browser holds the credentials). Every
 * figure is the server's (the reports engine for "today", the ACD for live); the page only formats
 * them. Each figure carries data-field / data-value (raw) so tests and screen readers get exact values.
 * Large-screen mode: the button or ?wall=1.
 */

interface ServiceLevelFigure {
  thresholdSec: number;
  mode: string;
  value: number | null;
}
interface Row {
  offered: number | null;
  answered: number;
  abandoned: number | null;
  answerRate: number | null;
  abandonRate: number | null;
  serviceLevels: ServiceLevelFigure[] | null;
  serviceLevelObjective: (ServiceLevelFigure & { target: number }) | null;
  connectRate: number | null;
  asaSec: number | null;
  ahtSec: number | null;
  handled: number;
  longestWaitSec: number | null;
  occupancy: number | null;
}
interface Live {
  queue: string;
  waiting: number;
  callbacks: number;
  longestWaitMs: number;
  serviceLevelLive: number | null;
  serviceLevelTarget: number;
  agentsLoggedIn: number;
  agentsAvailable: number;
  agentsOnCall: number;
  agentsWrapUp: number;
  agentsNotReady: number;
}
interface Board {
  at: number;
  name: string;
  period: { from: string; to: string; reportQuery: string };
  definitions: { serviceLevelMode: string; thresholdsSec: number[] };
  centre: Row | null;
  queues: { queue: string; live: Live; today: Row | null }[];
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
  alerts: { rule: string; metric: string; scope: string; level: string; since: number; value: number }[];
  surge: {
    plan: string;
    queue: string;
    level: number;
    manual: number | null;
    why: string | null;
    by: string | null;
    actions: { level: number; description: string }[];
  }[];
  help: { agentId: string; at: number; callId?: string; note?: string }[];
  diversions: string[];
  events: { at: string; type: string; actor: string; target: string | null; detail: Record<string, unknown> }[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let board: Board | undefined;
let skew = 0;

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)} %`);
const sec = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${Math.round(v)} s`);
const dur = (ms: number) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function el(tag: string, attrs: Record<string, string> = {}, text?: string): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A labelled figure: <dt>label</dt><dd data-field data-value>text</dd>. */
function fig(dl: HTMLElement, field: string, label: string, value: number | null | undefined, text: string): void {
  dl.append(
    el('dt', {}, label),
    el('dd', { 'data-field': field, 'data-value': value === null || value === undefined ? '' : String(value) }, text),
  );
}

function slAt(r: Row | null, t: number): number | null {
  return r?.serviceLevels?.find((f) => f.thresholdSec === t)?.value ?? null;
}

function levelOfScope(scope: string): string | undefined {
  const order = ['yellow', 'orange', 'red'];
  let best: string | undefined;
  for (const a of board?.alerts ?? []) if (a.scope === scope && (!best || order.indexOf(a.level) > order.indexOf(best))) best = a.level;
  return best;
}

function renderQueues(b: Board): void {
  const box = $('queues');
  box.replaceChildren();
  for (const q of b.queues) {
    const lv = levelOfScope(`queue:${q.queue}`);
    const tile = el('article', { class: `tile${lv ? ` ${lv}` : ''}`, 'data-queue': q.queue, 'aria-label': `Queue ${q.queue}` });
    tile.append(el('h3', {}, q.queue));
    const dl = el('dl');
    const t = q.today;
    fig(dl, 'waiting', 'Waiting', q.live.waiting, String(q.live.waiting));
    fig(dl, 'longestWait', 'Longest wait', q.live.longestWaitMs / 1000, dur(q.live.longestWaitMs));
    fig(dl, 'slLive', `SL live (target ${pct(q.live.serviceLevelTarget)})`, q.live.serviceLevelLive, pct(q.live.serviceLevelLive));
    for (const th of b.definitions.thresholdsSec) fig(dl, `sl${th}`, `SL ${th} s today`, slAt(t, th), pct(slAt(t, th)));
    fig(dl, 'answer30', '30 s answer rate', slAt(t, 30), pct(slAt(t, 30)));
    fig(dl, 'offered', 'Offered', t?.offered ?? 0, String(t?.offered ?? 0));
    fig(dl, 'answered', 'Answered', t?.answered ?? 0, String(t?.answered ?? 0));
    fig(dl, 'answerRate', 'Answer rate', t?.answerRate, pct(t?.answerRate));
    fig(dl, 'abandoned', 'Abandoned', t?.abandoned ?? 0, String(t?.abandoned ?? 0));
    fig(dl, 'asaSec', 'ASA', t?.asaSec, sec(t?.asaSec));
    fig(dl, 'ahtSec', 'AHT', t?.ahtSec, sec(t?.ahtSec));
    fig(dl, 'callbacks', 'Callbacks pending', q.live.callbacks, String(q.live.callbacks));
    const ag = q.live;
    fig(
      dl,
      'agents',
      'Agents avail / call / wrap / NR',
      ag.agentsLoggedIn,
      `${ag.agentsAvailable} / ${ag.agentsOnCall} / ${ag.agentsWrapUp} / ${ag.agentsNotReady}`,
    );
    tile.append(dl);
    box.append(tile);
  }
}

function renderCentre(b: Board): void {
  const box = $('centre');
  box.replaceChildren();
  const c = b.centre;
  const dl = el('dl', { 'data-scope': 'centre' });
  fig(dl, 'offered', 'Offered', c?.offered ?? 0, String(c?.offered ?? 0));
  fig(dl, 'answered', 'Answered', c?.answered ?? 0, String(c?.answered ?? 0));
  fig(dl, 'connectRate', '接通率 (connect rate)', c?.connectRate, pct(c?.connectRate));
  fig(dl, 'answer30', '30 s answer rate', slAt(c, 30), pct(slAt(c, 30)));
  fig(dl, 'asaSec', 'ASA', c?.asaSec, sec(c?.asaSec));
  fig(dl, 'ahtSec', 'AHT', c?.ahtSec, sec(c?.ahtSec));
  fig(dl, 'abandoned', 'Abandoned', c?.abandoned ?? 0, String(c?.abandoned ?? 0));
  box.append(dl);
}

/** Bars (offered behind answered and abandoned) per interval and the service level as a line. */
function renderChart(b: Board): void {
  const W = 720;
  const H = 220;
  const pad = 28;
  const rows = b.intervals;
  const max = Math.max(1, ...rows.map((r) => r.offered));
  const bw = (W - 2 * pad) / Math.max(1, rows.length);
  const y = (v: number) => H - pad - (v / max) * (H - 2 * pad);
  const parts: string[] = [];
  rows.forEach((r, i) => {
    const x = pad + i * bw;
    parts.push(
      `<rect x="${x}" y="${y(r.offered)}" width="${bw * 0.8}" height="${H - pad - y(r.offered)}" fill="#3a4a5a"><title>${esc(r.start.slice(11, 16))} offered ${r.offered}</title></rect>`,
    );
    parts.push(`<rect x="${x + bw * 0.1}" y="${y(r.answered)}" width="${bw * 0.3}" height="${H - pad - y(r.answered)}" fill="#3fb950"/>`);
    parts.push(
      `<rect x="${x + bw * 0.45}" y="${y(r.abandoned)}" width="${bw * 0.3}" height="${H - pad - y(r.abandoned)}" fill="#f85149"/>`,
    );
    if (i % 4 === 0)
      parts.push(`<text x="${x}" y="${H - 8}" fill="#8b9bab" font-size="11">${esc(new Date(r.start).toTimeString().slice(0, 5))}</text>`);
  });
  const pts = rows
    .map((r, i) => (r.serviceLevel === null ? null : `${pad + i * bw + bw * 0.4},${H - pad - r.serviceLevel * (H - 2 * pad)}`))
    .filter((p): p is string => p !== null);
  if (pts.length > 1) parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="#58a6ff" stroke-width="2"/>`);
  parts.push(`<text x="2" y="${pad}" fill="#8b9bab" font-size="11">${max}</text>`);
  parts.push(`<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#3a4a5a"/>`);
  $('chart').innerHTML = `<svg viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

function renderAlerts(b: Board): void {
  const box = $('alerts');
  box.replaceChildren(
    ...b.alerts.map((a) =>
      el(
        'div',
        { class: `alert ${a.level}`, 'data-rule': a.rule, 'data-level': a.level },
        `${a.level.toUpperCase()} · ${a.rule} · ${a.metric} ${a.scope} = ${Math.round(a.value * 1000) / 1000}`,
      ),
    ),
  );
}

function renderHelp(b: Board): void {
  const box = $('help');
  box.hidden = b.help.length === 0;
  box.replaceChildren(
    ...b.help.map((h) => {
      const d = el('div', {
        class: 'helpbox',
        role: 'alertdialog',
        'aria-label': `Agent ${h.agentId} asks for help`,
        'data-agent': h.agentId,
      });
      d.append(el('div', {}, `Agent ${h.agentId} asks for help${h.callId ? ' on a call' : ''}${h.note ? `: ${h.note}` : ''}`));
      const ack = el('button', { type: 'button' }, 'On my way');
      ack.addEventListener('click', () => void post(`/api/v1/supervisor/help/${encodeURIComponent(h.agentId)}/ack`, {}));
      d.append(ack);
      return d;
    }),
  );
}

function renderSurge(b: Board): void {
  const box = $('surge');
  box.replaceChildren();
  for (const p of b.surge) {
    const d = el('div', { class: 'plan', 'data-plan': p.plan });
    d.append(
      el('div', {}, `${p.plan} → ${p.queue} `),
      el(
        'span',
        { class: 'lvl', 'data-field': 'level', 'data-level': String(p.level) },
        `level ${p.level}${p.manual !== null ? ' (by hand)' : ''}`,
      ),
    );
    if (p.why) d.append(el('div', { class: 'muted' }, `${p.by ?? ''}: ${p.why}`));
    const ul = el('ul');
    for (const a of p.actions) ul.append(el('li', { 'data-level': String(a.level) }, `L${a.level}: ${a.description}`));
    d.append(ul);
    const ctl = el('div', { class: 'ctl' });
    for (const lv of [1, 2, 3, 0]) {
      const btn = el('button', { type: 'button' }, lv === 0 ? 'Stop' : `L${lv}`);
      btn.addEventListener('click', () => void post(`/api/v1/supervisor/surge/${encodeURIComponent(p.plan)}`, { level: lv }));
      ctl.append(btn);
    }
    const auto = el('button', { type: 'button' }, 'Auto');
    auto.addEventListener('click', () => void post(`/api/v1/supervisor/surge/${encodeURIComponent(p.plan)}`, { level: null }));
    ctl.append(auto);
    d.append(ctl);
    box.append(d);
  }
  if (b.diversions.length > 0)
    box.append(el('div', { class: 'alert red', 'data-field': 'diversions' }, `IVR diverted: ${b.diversions.join(', ')}`));
}

function renderEvents(b: Board): void {
  $('events').replaceChildren(
    ...b.events.map((e) => {
      const what =
        typeof e.detail.description === 'string' ? e.detail.description : typeof e.detail.level === 'string' ? e.detail.level : '';
      return el('li', { 'data-type': e.type }, `${e.at.slice(11, 19)} ${e.type} ${e.target ?? ''} ${what} (${e.actor})`);
    }),
  );
}

function renderAgents(b: Board): void {
  const body = document.querySelector('#agents tbody')!;
  const focused = body.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.key : undefined;
  body.replaceChildren();
  for (const a of b.agents) {
    const tr = el('tr', { 'data-agent': a.id });
    tr.append(
      el('td', {}, `${a.name} (${a.id})`),
      el('td', { class: 'state', 'data-state': a.state }, `${a.state}${a.reason ? ` · ${a.reason}` : ''}`),
      el('td', { class: 'since', 'data-since': String(a.since) }, dur(Date.now() - skew - a.since)),
      el('td', {}, a.callId ? `${a.caller ?? ''} ${a.queue ?? ''}` : ''),
      el('td', { 'data-field': 'handled', 'data-value': String(a.today?.handled ?? 0) }, String(a.today?.handled ?? 0)),
      el('td', { 'data-field': 'ahtSec', 'data-value': String(a.today?.ahtSec ?? '') }, sec(a.today?.ahtSec)),
      el('td', { 'data-field': 'occupancy', 'data-value': String(a.today?.occupancy ?? '') }, pct(a.today?.occupancy)),
    );
    const ctl = el('td', { class: 'ctl' });
    const ready = el('button', { type: 'button', 'aria-label': `Make ${a.id} ready`, 'data-key': `${a.id}:ready` }, 'Ready');
    ready.addEventListener('click', () => void post(`/api/v1/supervisor/agents/${encodeURIComponent(a.id)}/state`, { state: 'ready' }));
    const out = el('button', { type: 'button', 'aria-label': `Log ${a.id} out`, 'data-key': `${a.id}:logout` }, 'Log out');
    out.addEventListener('click', () => void post(`/api/v1/supervisor/agents/${encodeURIComponent(a.id)}/logout`, {}));
    ctl.append(ready, out);
    if (a.callId && a.state === 'on-call') ctl.append(monitorButtons(a.id, a.callId, a.monitor));
    tr.append(ctl);
    body.append(tr);
  }
  // The board is re-rendered on every push: keep the keyboard focus on the same control.
  if (focused) body.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

const MONITOR_VERBS = [
  ['listen', 'Listen', 'Listen to'],
  ['whisper', 'Whisper', 'Whisper to the agent on'],
  ['barge', 'Barge', 'Barge into'],
] as const;

/** Listen / Whisper / Barge (the pressed one is the mode in force; your desk phone rings to join), and Stop. */
function monitorButtons(agentId: string, callId: string, m: { supervisor: string; mode: string } | undefined): HTMLElement {
  const g = el('span', { role: 'group', class: 'monitor', 'aria-label': `Monitor ${agentId}'s call` });
  const url = `/api/v1/supervisor/calls/${encodeURIComponent(callId)}/monitor`;
  for (const [mode, text, verb] of MONITOR_VERBS) {
    const b = el(
      'button',
      {
        type: 'button',
        'data-key': `${agentId}:${mode}`,
        'data-mode': mode,
        'aria-pressed': String(m?.mode === mode),
        'aria-label': `${verb} ${agentId}'s call${m ? ` (${m.supervisor} is ${m.mode === 'listen' ? 'listening' : m.mode === 'whisper' ? 'whispering' : 'barged in'})` : ''}`,
      },
      text,
    );
    b.addEventListener('click', () => void post(url, { mode }));
    g.append(b);
  }
  if (m) {
    const stop = el('button', { type: 'button', 'data-key': `${agentId}:stop`, 'aria-label': `Stop monitoring ${agentId}'s call` }, 'Stop');
    stop.addEventListener('click', () => void post(`${url}/stop`, {}));
    g.append(stop);
  }
  return g;
}

function render(b: Board): void {
  board = b;
  skew = Date.now() - b.at;
  $('name').textContent = `${b.name} — wallboard`;
  $('defs').textContent = `SL mode ${b.definitions.serviceLevelMode}, thresholds ${b.definitions.thresholdsSec.join(' / ')} s`;
  document.body.dataset.at = String(b.at);
  document.body.dataset.reportQuery = b.period.reportQuery;
  renderAlerts(b);
  renderHelp(b);
  renderQueues(b);
  renderCentre(b);
  renderChart(b);
  renderSurge(b);
  renderEvents(b);
  renderAgents(b);
}

async function post(url: string, body: unknown): Promise<void> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) $('conn').textContent = `${url.split('/').slice(-2).join(' ')}: ${r.status}`;
}

function connect(): void {
  const es = new EventSource('/api/v1/wallboard/events');
  es.addEventListener('open', () => {
    $('conn').textContent = 'live';
    $('conn').className = 'pill live';
  });
  es.addEventListener('board', (ev) => render(JSON.parse((ev as MessageEvent<string>).data) as Board));
  es.addEventListener('error', () => {
    $('conn').textContent = 'reconnecting';
    $('conn').className = 'pill';
  });
}

function tick(): void {
  $('clock').textContent = new Date().toLocaleTimeString();
  document
    .querySelectorAll<HTMLElement>('#agents td.since')
    .forEach((td) => (td.textContent = dur(Date.now() - skew - Number(td.dataset.since))));
}

function setWall(on: boolean): void {
  document.body.classList.toggle('wall', on);
  $('wall').setAttribute('aria-pressed', String(on));
}

$('wall').addEventListener('click', () => setWall(!document.body.classList.contains('wall')));
setWall(new URLSearchParams(location.search).get('wall') === '1');
setInterval(tick, 1000);
tick();
connect();
