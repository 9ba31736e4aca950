/**
 * The work-orders page (工单) for agents and supervisors: the open orders with their SLA deadline
 * (overdue ones marked), one order's details, moves along the configured transitions, comments and
 * history, and a form to open a new one. Sign-in is the user's own id and password (HTTP Basic on
 * each request, kept in memory only). Changes made anywhere — another agent, a supervisor, the SLA
 * timer escalating — arrive over Server-Sent Events (read with fetch, which can send the
 * Authorization header EventSource cannot), and the page refreshes what it shows; nobody reloads.
 */

interface WorkOrder {
  id: string;
  category: string;
  priority: string;
  state: string;
  owner: { kind: string; id: string };
  subject: string;
  description?: string;
  complaint: boolean;
  customerId?: string;
  dueAt?: number;
  breachedAt?: number;
  version: number;
}
interface HistoryEntry {
  at: number;
  actor: string;
  kind: string;
  detail: Record<string, unknown>;
}
interface WoConfig {
  categories: Record<string, { label?: string }>;
  priorities: string[];
  finalStates: string[];
  transitions: Record<string, string[]>;
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
/** What the page knows, on window.wo for people (and tests) to inspect. */
const wo = {
  auth: '',
  user: '',
  config: undefined as WoConfig | undefined,
  list: [] as WorkOrder[],
  selected: undefined as (WorkOrder & { history: HistoryEntry[] }) | undefined,
  live: false,
  pushes: 0,
  errors: [] as string[],
};
(window as unknown as { wo: typeof wo }).wo = wo;

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, {
    ...init,
    headers: { authorization: wo.auth, 'x-requested-with': 'fetch', ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

function showError(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  wo.errors.push(msg);
  $('wo-error').textContent = msg;
}

const cell = (s: string, cls?: string): HTMLTableCellElement => {
  const td = document.createElement('td');
  td.textContent = s;
  if (cls) td.className = cls;
  return td;
};

/** "in 3 h 20 min", "overdue 12 min": how far the SLA deadline is. */
function due(o: WorkOrder, now = Date.now()): { text: string; late: boolean } {
  if (o.dueAt === undefined) return { text: '—', late: false };
  if (wo.config?.finalStates.includes(o.state)) return { text: 'done', late: false };
  const ms = o.dueAt - now;
  const m = Math.round(Math.abs(ms) / 60_000);
  const span = m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
  return ms >= 0 ? { text: `in ${span}`, late: false } : { text: `overdue ${span}`, late: true };
}

async function loadList(): Promise<void> {
  const f = $<HTMLSelectElement>('wo-filter').value;
  const q = new URLSearchParams(f === 'all' ? {} : { open: 'true' });
  if (f === 'mine') q.set('ownerId', wo.user);
  const r = await api<{ workOrders: WorkOrder[] }>(`/api/v1/workorders?${q.toString()}`);
  wo.list = r.workOrders;
  renderList();
}

function renderList(): void {
  const rows = wo.list.map((o) => {
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    tr.dataset.id = o.id;
    tr.setAttribute('aria-selected', String(wo.selected?.id === o.id));
    const d = due(o);
    tr.append(
      cell(o.complaint ? `⚑ ${o.subject}` : o.subject),
      cell(wo.config?.categories[o.category]?.label ?? o.category),
      cell(o.priority),
      cell(o.state),
      cell(`${o.owner.kind} ${o.owner.id}`),
      cell(d.text, d.late ? 'breached' : undefined),
    );
    const open = (): void => void select(o.id).catch(showError);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        open();
      }
    });
    return tr;
  });
  $('wo-rows').replaceChildren(...rows);
  $('wo-empty').hidden = rows.length > 0;
}

async function select(id: string): Promise<void> {
  wo.selected = await api<WorkOrder & { history: HistoryEntry[] }>(`/api/v1/workorders/${encodeURIComponent(id)}`);
  renderDetail();
  renderList();
}

function renderDetail(): void {
  const o = wo.selected;
  $('wo-detail').hidden = !o;
  if (!o) return;
  $('wo-d-subject').textContent = o.subject;
  $('wo-d-state').textContent = o.state;
  $('wo-d-priority').textContent = o.priority;
  $('wo-d-owner').textContent = `${o.owner.kind} ${o.owner.id}`;
  const d = due(o);
  $('wo-d-due').textContent = o.dueAt ? `${new Date(o.dueAt).toLocaleString()} (${d.text})` : '—';
  $('wo-d-due').classList.toggle('breached', d.late);
  $('wo-d-customer').textContent = o.customerId ?? '—';
  $('wo-d-description').textContent = o.description ?? '';
  const moves = (wo.config?.transitions[o.state] ?? []).map((to) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `→ ${to}`;
    b.dataset.to = to;
    b.addEventListener('click', () => void change({ state: to }).catch(showError));
    return b;
  });
  $('wo-d-moves').replaceChildren(...moves);
  $('wo-d-history').replaceChildren(
    ...o.history.map((h) => {
      const li = document.createElement('li');
      const detail = Object.entries(h.detail ?? {})
        .map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(', ');
      const what = detail ? `${h.kind}: ${detail}` : h.kind;
      li.textContent = `${new Date(h.at).toLocaleString()} · ${h.actor} · ${what}`;
      return li;
    }),
  );
}

async function change(body: Record<string, unknown>): Promise<void> {
  const o = wo.selected;
  if (!o) return;
  $('wo-error').textContent = '';
  await api(`/api/v1/workorders/${encodeURIComponent(o.id)}`, { method: 'PATCH', body: JSON.stringify({ ...body, version: o.version }) });
  await select(o.id);
  await loadList();
}

/** The push stream: each creation, change or escalation refreshes the list and the open order. */
async function listen(): Promise<void> {
  for (let attempt = 0; wo.auth; attempt++) {
    try {
      const res = await fetch('/api/v1/workorders/events', { headers: { authorization: wo.auth, 'x-requested-with': 'fetch' } });
      if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
      wo.live = true;
      setLive();
      attempt = 0;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!block.split('\n').some((l) => l.startsWith('data:'))) continue;
          wo.pushes++;
          await loadList().catch(showError);
          if (wo.selected) await select(wo.selected.id).catch(showError);
        }
      }
    } catch {
      // Reconnect below.
    }
    wo.live = false;
    setLive();
    await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** attempt)));
  }
}

function setLive(): void {
  const p = $('wo-live');
  p.dataset.status = wo.live ? 'live' : 'offline';
  p.textContent = wo.live ? 'live' : 'reconnecting…';
}

$('wo-login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const user = $<HTMLInputElement>('wo-user').value.trim();
  const pass = $<HTMLInputElement>('wo-password').value;
  wo.auth = `Basic ${btoa(unescape(encodeURIComponent(`${user}:${pass}`)))}`;
  api<WoConfig>('/api/v1/workorders/config')
    .then(async (config) => {
      wo.config = config;
      wo.user = user;
      const opt = (v: string, label = v): HTMLOptionElement =>
        Object.assign(document.createElement('option'), { value: v, textContent: label });
      $('n-category').replaceChildren(...Object.entries(config.categories).map(([k, c]) => opt(k, c.label ?? k)));
      $('n-priority').replaceChildren(...config.priorities.map((p) => opt(p)));
      $<HTMLSelectElement>('n-priority').value = config.priorities.includes('normal') ? 'normal' : (config.priorities[0] ?? '');
      $('wo-who').textContent = `signed in as ${user}`;
      $('wo-login').hidden = true;
      $('wo-app').hidden = false;
      await loadList();
      void listen();
    })
    .catch((e: unknown) => {
      wo.auth = '';
      $('wo-login-error').textContent = e instanceof Error ? e.message : String(e);
    });
});

$('wo-filter').addEventListener('change', () => void loadList().catch(showError));
$('wo-comment').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const t = $<HTMLInputElement>('wo-comment-text');
  change({ comment: t.value })
    .then(() => (t.value = ''))
    .catch(showError);
});
$('wo-new').addEventListener('submit', (ev) => {
  ev.preventDefault();
  $('wo-error').textContent = '';
  const body = {
    subject: $<HTMLInputElement>('n-subject').value.trim(),
    category: $<HTMLSelectElement>('n-category').value,
    priority: $<HTMLSelectElement>('n-priority').value,
    complaint: $<HTMLInputElement>('n-complaint').checked,
    ...($<HTMLTextAreaElement>('n-description').value.trim() ? { description: $<HTMLTextAreaElement>('n-description').value.trim() } : {}),
  };
  api<WorkOrder>('/api/v1/workorders', { method: 'POST', body: JSON.stringify(body) })
    .then(async (o) => {
      $<HTMLFormElement>('wo-new').reset();
      const cfg = wo.config;
      if (cfg) $<HTMLSelectElement>('n-priority').value = cfg.priorities.includes('normal') ? 'normal' : (cfg.priorities[0] ?? '');
      await loadList();
      await select(o.id);
    })
    .catch(showError);
});
// Deadlines move with the clock.
setInterval(() => {
  if (wo.list.length) renderList();
}, 30_000);
