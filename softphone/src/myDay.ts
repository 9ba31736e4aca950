/**
 * "My day" on the agent desktop: the agent's own figures for today, pushed by the server over
 * Server-Sent Events (GET /api/v1/agent/events/day, server/http/agentDay.ts) whenever the agent's
 * calls or states change; the page never asks on a timer. Every number is the reports engine's
 * agent row for [midnight, now): each figure element carries the raw value in data-value, and the
 * panel carries the reports API query (data-report-query) that returns the same row.
 *
 * Self-contained: mountMyDay(el) renders into el and returns stop(); the stream is authenticated
 * by the login's HttpOnly cookie (EventSource cannot send headers), as the state stream is.
 */

/** The server's reply (server/http/agentDay.ts AgentDay), as far as the page reads it. */
export interface AgentDayView {
  agent: string;
  at: number;
  period: { from: string; to: string; timeZone: string; reportQuery: string };
  figures: Record<string, number | null>;
  notReadyByReason: { reason: string; label: string; sec: number }[];
}

type Kind = 'count' | 'duration' | 'ratio' | 'score';

/** The tiles, in order: [field, label, kind, hint]. */
export const TILES: readonly [string, string, Kind, string][] = [
  ['handled', 'Handled', 'count', 'Calls answered and finished, wrap-up included'],
  ['ahtSec', 'AHT', 'duration', 'Average handle time: talk + hold + wrap-up per handled call'],
  ['avgTalkSec', 'Avg talk', 'duration', 'Average talk time per handled call'],
  ['avgHoldSec', 'Avg hold', 'duration', 'Average hold time per handled call'],
  ['avgAcwSec', 'Avg wrap-up', 'duration', 'Average after-call work per handled call'],
  ['occupancy', 'Occupancy', 'ratio', 'Talk time over logged-in time'],
  ['rona', 'Missed', 'count', 'Offers that rang out unanswered (RONA)'],
  ['rejected', 'Rejected', 'count', 'Offers you declined'],
  ['csatAverage', 'CSAT', 'score', "Average satisfaction answer of your callers' surveys"],
];

/** Time in state rows: [field, label]. Not-ready time is split by aux code below them. */
export const STATE_ROWS: readonly [string, string][] = [
  ['loggedInSec', 'Logged in'],
  ['readySec', 'Ready (calls included)'],
  ['talkSec', 'On call: talking'],
  ['holdSec', 'On call: hold'],
  ['acwSec', 'Wrap-up'],
  ['notReadySec', 'Not ready'],
];

/** 0 → "0:00", 75.4 → "1:15", 3725 → "1:02:05"; null → "–". */
export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '–';
  const t = Math.round(sec);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** 0.4567 → "45.7%"; null → "–". */
export function formatRatio(r: number | null | undefined): string {
  return r === null || r === undefined || !Number.isFinite(r) ? '–' : `${(r * 100).toFixed(1)}%`;
}

export function formatFigure(kind: Kind, v: number | null | undefined): string {
  if (kind === 'duration') return formatDuration(v);
  if (kind === 'ratio') return formatRatio(v);
  if (v === null || v === undefined) return '–';
  return kind === 'score' ? (Math.round(v * 100) / 100).toString() : String(v);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const value = (v: number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

/** Renders the day into the panel (pure DOM; no fetching). */
export function renderMyDay(root: HTMLElement, day: AgentDayView): void {
  const f = day.figures;
  root.dataset.at = String(day.at);
  root.dataset.reportQuery = day.period.reportQuery;
  root.dataset.agent = day.agent;

  const tiles = el('dl', { class: 'md-tiles' });
  for (const [field, label, kind, hint] of TILES) {
    const tile = el('div', { class: 'md-tile', 'data-field': field, 'data-value': value(f[field]), title: hint });
    tile.append(el('dt', {}, label), el('dd', {}, formatFigure(kind, f[field])));
    if (field === 'csatAverage')
      tile.append(el('span', { class: 'md-sub' }, `${f.csatAnswers ?? 0} answer${f.csatAnswers === 1 ? '' : 's'}`));
    tiles.append(tile);
  }

  const logged = f.loggedInSec ?? 0;
  const states = el('table', { class: 'md-states' });
  states.append(el('caption', {}, 'Time in state'));
  const body = el('tbody');
  const row = (field: string | undefined, label: string, sec: number | null | undefined, sub = false) => {
    const tr = el('tr', sub ? { class: 'md-sub-row' } : {});
    const attrs: Record<string, string> = { 'data-value': value(sec) };
    if (field) attrs['data-field'] = field;
    const share = logged > 0 && sec !== null && sec !== undefined ? Math.min(100, (sec / logged) * 100) : 0;
    const bar = el('td', { class: 'md-bar', 'aria-hidden': 'true' });
    const fill = el('span');
    // Through the CSSOM: the page's Content-Security-Policy refuses inline style attributes.
    fill.style.width = `${share.toFixed(1)}%`;
    bar.append(fill);
    tr.append(el('th', { scope: 'row' }, label), el('td', attrs, formatDuration(sec)), bar);
    body.append(tr);
  };
  for (const [field, label] of STATE_ROWS) row(field, label, f[field]);
  for (const r of day.notReadyByReason) {
    row(undefined, r.label, r.sec, true);
    body.lastElementChild?.setAttribute('data-reason', r.reason);
  }
  states.append(body);

  const since = new Date(day.period.from);
  const asOf = new Date(day.at);
  const hm = (d: Date, seconds = false) =>
    d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(seconds ? { second: '2-digit' } : {}) });
  const note = el('p', { class: 'md-period' }, `Today since ${hm(since)} · updated ${hm(asOf, true)}`);
  const heading = root.querySelector('h2') ?? el('h2', { id: `${root.id || 'myday'}-h` }, 'My day');
  root.replaceChildren(heading, note, tiles, states);
}

export interface MyDayOptions {
  /** The stream's URL; default the server's. */
  eventsUrl?: string;
  /** Called with each day pushed (tests and other panels). */
  onDay?: (day: AgentDayView) => void;
}

/** Opens the stream and keeps the panel up to date until stop(). */
export function mountMyDay(root: HTMLElement, opts: MyDayOptions = {}): { stop(): void; last(): AgentDayView | undefined } {
  let last: AgentDayView | undefined;
  root.hidden = false;
  root.setAttribute('aria-busy', 'true');
  if (!root.querySelector('h2'))
    root.replaceChildren(el('h2', { id: `${root.id || 'myday'}-h` }, 'My day'), el('p', { class: 'md-period' }, 'Loading…'));
  const events = new EventSource(opts.eventsUrl ?? '/api/v1/agent/events/day');
  events.addEventListener('day', (ev) => {
    last = JSON.parse((ev as MessageEvent<string>).data) as AgentDayView;
    renderMyDay(root, last);
    root.removeAttribute('aria-busy');
    root.dataset.live = 'true';
    opts.onDay?.(last);
  });
  events.onerror = () => {
    root.dataset.live = 'false';
  };
  return {
    stop() {
      events.close();
      root.dataset.live = 'false';
      root.hidden = true;
    },
    last: () => last,
  };
}
