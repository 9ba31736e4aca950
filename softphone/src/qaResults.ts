/**
 * QA results on the agent desktop: the agent's own evaluations (score, pass or fail, form,
 * reviewer, the reviewer's comments) and coaching items with an Acknowledge button, from the QA
 * module's agent-scoped API (server/http/qa.ts: GET /api/v1/agent/qa, POST
 * /api/v1/agent/qa/coaching/{id}/ack). Loaded when the desk opens and when the agent presses
 * Refresh (reviews arrive days after a call; nothing here is live).
 */

export interface QaResultsView {
  agent: string;
  evaluations: {
    id: number;
    contactId: string;
    queue?: string | null;
    form: string;
    reviewer: string;
    score: number;
    passed: boolean;
    /** Items whose failure fails the whole call (score 0). */
    autoFailed?: string[];
    at: string;
    comments: { offsetMs: number; text: string }[];
  }[];
  coaching: {
    id: number;
    evaluationId: number;
    notes: string;
    createdAt: string;
    acknowledgedAt: string | null;
    agentComment: string | null;
  }[];
}

export interface QaResultsOptions {
  token: () => string;
  fetch?: typeof fetch;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** 83500 → "1:23" (the offset of a comment in the recording). */
export function offsetText(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function renderQaResults(root: HTMLElement, view: QaResultsView, opts: QaResultsOptions, reload: () => void): void {
  const head = el('div', { class: 'qa-head' });
  head.append(el('h2', { id: `${root.id || 'qaresults'}-h` }, 'My QA results'));
  const refresh = el('button', { type: 'button', class: 'qa-refresh' }, 'Refresh');
  refresh.addEventListener('click', reload);
  head.append(refresh);
  const parts: HTMLElement[] = [head];
  if (view.evaluations.length === 0) parts.push(el('p', { class: 'qa-empty' }, 'No reviews of your calls yet.'));
  const list = el('ul', { class: 'qa-list' });
  for (const e of view.evaluations) {
    const li = el('li', { 'data-evaluation': String(e.id), 'data-contact': e.contactId });
    const top = el('div', { class: 'qa-top' });
    top.append(
      el(
        'strong',
        { class: `qa-score ${e.passed ? 'pass' : 'fail'}`, 'data-field': 'score', 'data-value': String(e.score) },
        String(e.score),
      ),
      el(
        'span',
        { class: 'qa-verdict', 'data-field': 'passed' },
        e.passed ? 'pass' : e.autoFailed?.length ? `fail (auto-fail: ${e.autoFailed.join(', ')})` : 'fail',
      ),
      el('span', { class: 'qa-form', 'data-field': 'form' }, e.form),
      el(
        'span',
        { class: 'qa-meta' },
        `${e.queue ? `${e.queue} · ` : ''}reviewed by ${e.reviewer} · ${new Date(e.at).toLocaleDateString([], { dateStyle: 'medium' })}`,
      ),
    );
    li.append(top);
    if (e.comments.length > 0) {
      const c = el('ul', { class: 'qa-comments' });
      for (const x of e.comments) {
        const ci = el('li');
        ci.append(el('span', { class: 'qa-at' }, offsetText(x.offsetMs)), document.createTextNode(` ${x.text}`));
        c.append(ci);
      }
      li.append(c);
    }
    for (const k of view.coaching.filter((x) => x.evaluationId === e.id)) {
      const box = el('div', { class: 'qa-coaching', 'data-coaching': String(k.id) });
      box.append(el('p', {}, k.notes));
      if (k.acknowledgedAt)
        box.append(
          el(
            'p',
            { class: 'qa-acked' },
            `Acknowledged ${new Date(k.acknowledgedAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' })}`,
          ),
        );
      else {
        const b = el('button', { type: 'button' }, 'Acknowledge');
        b.addEventListener('click', () => {
          b.disabled = true;
          void (opts.fetch ?? fetch)(`/api/v1/agent/qa/coaching/${k.id}/ack`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token()}` },
            body: '{}',
          })
            .then(reload)
            .catch(() => (b.disabled = false));
        });
        box.append(b);
      }
      li.append(box);
    }
    list.append(li);
  }
  if (view.evaluations.length > 0) parts.push(list);
  root.replaceChildren(...parts);
}

export function mountQaResults(root: HTMLElement, opts: QaResultsOptions): { stop(): void; reload(): Promise<void> } {
  let stopped = false;
  root.hidden = false;
  const reload = async (): Promise<void> => {
    root.setAttribute('aria-busy', 'true');
    try {
      const res = await (opts.fetch ?? fetch)('/api/v1/agent/qa', { headers: { authorization: `Bearer ${opts.token()}` } });
      if (stopped) return;
      if (!res.ok) {
        root.replaceChildren(el('h2', {}, 'My QA results'), el('p', { class: 'qa-empty' }, `QA results unavailable (${res.status}).`));
        return;
      }
      renderQaResults(root, (await res.json()) as QaResultsView, opts, () => void reload());
      root.dataset.loaded = String(Date.now());
    } finally {
      root.removeAttribute('aria-busy');
    }
  };
  void reload();
  return {
    stop() {
      stopped = true;
      root.replaceChildren();
      root.hidden = true;
    },
    reload,
  };
}
