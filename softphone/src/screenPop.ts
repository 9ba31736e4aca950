/**
 * The screen pop on the agent desktop: when a call is offered or answered, GET /api/v1/screen-pop
 * (server/http/customers.ts) and show who is calling (number and name), the queue, the wait, the
 * IVR path and what the IVR collected, the caller's previous contacts (when, queue, agent,
 * disposition, note) and the knowledge cards for the queue. Opening a card counts a click
 * (POST /api/v1/knowledge/cards/{id}/click).
 *
 * Self-contained: showScreenPop / clearScreenPop can be hooked wherever the page learns of a call;
 * mountScreenPop drives them from the agent's states as the desk's own state stream delivers them
 * (main.ts; no second EventSource): offered, on-call: show; the pop stays through wrap-up, for the
 * notes; any other state clears it.
 */

export interface ScreenPopView {
  contactId: string;
  caller: string;
  queue?: string;
  customer?: { id: string; name?: string | null; numbers?: string[] };
  previousContacts: {
    contactId: string;
    arrivedAt: number | string;
    queue?: string;
    agentId?: string;
    disposition?: string;
    note?: string;
    completedInIvr?: boolean;
  }[];
  cards: { id: string; title: string; body: string; why: string[] }[];
  ivr: Record<string, string>;
  crmUrl?: string;
  queuedAt?: string;
  waitSec?: number;
  waiting?: boolean;
  ivrPath?: { node: string; input?: string; outcome?: string }[];
  ivrSummary?: string;
}

export interface ScreenPopOptions {
  /** The desktop session's token (Bearer). */
  token: () => string;
  fetch?: typeof fetch;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** "2026-12-07T09:05:00Z" → "7 Dec 09:05" (local). */
export function when(t: number | string): string {
  const d = new Date(t);
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })}`;
}

/** 7.25 → "7 s", 75 → "1 min 15 s". */
export function waitText(sec: number | undefined): string {
  if (sec === undefined) return '–';
  const s = Math.round(sec);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** IVR path steps as the agent reads them: "menu [1] → sales". */
export function pathText(p: ScreenPopView['ivrPath']): string {
  return (p ?? []).map((s) => `${s.node}${s.input ? ` [${s.input}]` : ''}`).join(' → ');
}

/**
 * A card's Markdown as plain paragraphs: blank lines separate paragraphs; inside one, wrapped
 * lines are joined, list items ("1.", "-", "*") keep their own line; ** and ` marks dropped.
 */
export function cardParagraphs(md: string): string[] {
  return md
    .replace(/\*\*|`/g, '')
    .split(/\n\s*\n/)
    .map((p) =>
      p
        .trim()
        .split('\n')
        .map((l) => l.trim())
        .reduce((out, l) => (out === '' ? l : /^(\d+\.|[-*])\s/.test(l) ? `${out}\n${l}` : `${out} ${l}`), ''),
    )
    .filter((p) => p !== '');
}

/** IVR variables the centre sets on every call (server/ivr/session.ts), not what the caller entered. */
const CALL_VARS: ReadonlySet<string> = new Set(['callerId', 'dialled', 'callId', 'trunk', 'lang']);

function dl(pairs: [string, string, string][]): HTMLDListElement {
  const d = el('dl', { class: 'sp-facts' });
  for (const [field, k, v] of pairs) {
    const wrap = el('div', { 'data-field': field });
    wrap.append(el('dt', {}, k), el('dd', {}, v));
    d.append(wrap);
  }
  return d;
}

/** Renders a screen pop (pure DOM). */
export function renderScreenPop(root: HTMLElement, pop: ScreenPopView, opts: ScreenPopOptions): void {
  root.dataset.contact = pop.contactId;
  const name = pop.customer?.name ?? '';
  const head = el('h2', { id: `${root.id || 'screenpop'}-h` }, name ? `${name} · ${pop.caller}` : pop.caller);
  const facts = dl([
    ['caller', 'Caller', pop.caller],
    ['name', 'Name', name || 'unknown'],
    ['queue', 'Queue', pop.queue ?? '–'],
    ['wait', pop.waiting ? 'Waiting' : 'Waited', waitText(pop.waitSec)],
    ['ivrPath', 'IVR path', pathText(pop.ivrPath) || '–'],
  ]);
  const parts: HTMLElement[] = [head, facts];

  // What the caller entered first; the variables every call has (ids, trunk) folded away.
  const vars = Object.entries(pop.ivr);
  const table = (rows: [string, string][], caption?: string): HTMLTableElement => {
    const t = el('table', { class: 'sp-ivr' });
    if (caption) t.append(el('caption', {}, caption));
    const b = el('tbody');
    for (const [k, v] of rows) {
      const tr = el('tr', { 'data-var': k });
      tr.append(el('th', { scope: 'row' }, k), el('td', {}, v));
      b.append(tr);
    }
    t.append(b);
    return t;
  };
  const entered = vars.filter(([k]) => !CALL_VARS.has(k));
  const system = vars.filter(([k]) => CALL_VARS.has(k));
  if (entered.length > 0) parts.push(table(entered, 'Collected in the IVR'));
  if (system.length > 0) {
    const d = el('details', { class: 'sp-callvars' });
    d.append(el('summary', {}, 'Call details'), table(system));
    parts.push(d);
  }

  const hist = el('section', { class: 'sp-history', 'aria-label': 'Previous contacts' });
  hist.append(el('h3', {}, `Previous contacts (${pop.previousContacts.length})`));
  if (pop.previousContacts.length === 0) hist.append(el('p', { class: 'sp-empty' }, 'First contact from this number.'));
  else {
    const t = el('table');
    const h = el('tr');
    for (const c of ['When', 'Queue', 'Agent', 'Disposition', 'Note']) h.append(el('th', { scope: 'col' }, c));
    t.append(el('thead'));
    t.tHead!.append(h);
    const b = el('tbody');
    for (const c of pop.previousContacts) {
      const tr = el('tr', { 'data-contact': c.contactId });
      tr.append(
        el('td', { 'data-field': 'when' }, when(c.arrivedAt)),
        el('td', { 'data-field': 'queue' }, c.queue ?? (c.completedInIvr ? 'IVR' : '–')),
        el('td', { 'data-field': 'agent' }, c.agentId ?? '–'),
        el('td', { 'data-field': 'disposition' }, c.disposition ?? '–'),
        el('td', { 'data-field': 'note' }, c.note ?? ''),
      );
      b.append(tr);
    }
    t.append(b);
    hist.append(t);
  }
  parts.push(hist);

  if (pop.cards.length > 0) {
    const k = el('section', { class: 'sp-cards', 'aria-label': 'Knowledge' });
    k.append(el('h3', {}, 'Knowledge'));
    for (const c of pop.cards) {
      const d = el('details', { class: 'sp-card', 'data-card': c.id });
      d.append(el('summary', {}, c.title));
      // Card bodies are Markdown written by admins: shown as text (no HTML from the server).
      const body = el('div', { class: 'sp-card-body' });
      for (const para of cardParagraphs(c.body)) body.append(el('p', {}, para));
      d.append(body);
      let counted = false;
      d.addEventListener('toggle', () => {
        if (!d.open || counted) return;
        counted = true;
        void (opts.fetch ?? fetch)(`/api/v1/knowledge/cards/${encodeURIComponent(c.id)}/click`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token()}` },
          body: JSON.stringify({ contactId: pop.contactId }),
        }).catch(() => undefined);
      });
      k.append(d);
    }
    parts.push(k);
  }
  if (pop.crmUrl) {
    const a = el('a', { href: pop.crmUrl, target: '_blank', rel: 'noopener', class: 'sp-crm' }, 'Open in CRM');
    parts.push(a);
  }
  root.replaceChildren(...parts);
  root.hidden = false;
}

/** The pop of the agent's offered or current call (or of `contactId`); undefined when there is none. */
export async function fetchScreenPop(opts: ScreenPopOptions & { contactId?: string }): Promise<ScreenPopView | undefined> {
  const q = opts.contactId ? `?contact=${encodeURIComponent(opts.contactId)}` : '';
  const res = await (opts.fetch ?? fetch)(`/api/v1/screen-pop${q}`, { headers: { authorization: `Bearer ${opts.token()}` } });
  return res.ok ? ((await res.json()) as ScreenPopView) : undefined;
}

/** Fetches the pop of the agent's offered or current call (or of `contactId`) and shows it. */
export async function showScreenPop(
  root: HTMLElement,
  opts: ScreenPopOptions & { contactId?: string },
): Promise<ScreenPopView | undefined> {
  const pop = await fetchScreenPop(opts);
  if (pop) renderScreenPop(root, pop, opts);
  return pop;
}

export function clearScreenPop(root: HTMLElement): void {
  root.replaceChildren();
  delete root.dataset.contact;
  root.hidden = true;
}

/** The desk's state stream, shared: subscribe to the agent's states; returns the unsubscribe function. */
export type OnAgentState = (listener: (state: string) => void) => () => void;

/** Drives the pop from the agent's states, as the desk's one state stream delivers them. */
export function mountScreenPop(root: HTMLElement, opts: ScreenPopOptions & { onState: OnAgentState }): { stop(): void } {
  clearScreenPop(root);
  let seq = 0;
  const off = opts.onState((state) => {
    const mine = ++seq;
    root.dataset.state = state;
    if (state === 'offered' || state === 'on-call') {
      void fetchScreenPop(opts)
        .then((pop) => {
          // Only the latest state decides what shows (an answer may overtake the offer's reply).
          if (mine === seq && pop) renderScreenPop(root, pop, opts);
        })
        .catch(() => undefined);
    } else if (state !== 'wrap-up') clearScreenPop(root);
  });
  return {
    stop() {
      off();
      seq++;
      clearScreenPop(root);
    },
  };
}
