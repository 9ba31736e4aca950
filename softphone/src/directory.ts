/**
 * The directory: queues (callers waiting, agents free) and colleagues with their state now, pushed
 * by the centre on the agent's event stream (`event: directory`), and an external number typed in
 * the same search box. A listbox driven from its search field (the ARIA combobox pattern): type to
 * filter, arrows to move, Enter to choose; the choice is the transfer or consult target.
 */
import { $, cc, onChange } from './store.ts';
import { entriesFor, type Target } from './targets.ts';

export { asNumber, type Target } from './targets.ts';

let chosen: Target | undefined;
let active = 0;
let entries: Target[] = [];
const listeners: ((t: Target | undefined) => void)[] = [];

export function selectedTarget(): Target | undefined {
  return chosen;
}
export function onSelect(fn: (t: Target | undefined) => void): void {
  listeners.push(fn);
}

function choose(t: Target | undefined): void {
  chosen = t;
  const sel = $('dir-selected');
  sel.textContent = t
    ? t.kind === 'external'
      ? `External number ${t.id}`
      : t.kind === 'queue'
        ? `Queue ${t.id}`
        : t.label
    : 'nothing chosen';
  sel.dataset.kind = t?.kind ?? '';
  for (const fn of listeners) fn(t);
  render();
}

function render(): void {
  const input = $<HTMLInputElement>('dir-search');
  entries = entriesFor(cc.directory, input.value, cc.agentId);
  if (chosen) {
    // Keep the chosen entry's live state (the list is pushed again on every change).
    const now = entries.find((e) => e.kind === chosen?.kind && e.id === chosen.id);
    if (now && now.label !== chosen.label) {
      chosen = now;
      $('dir-selected').textContent =
        now.kind === 'queue' ? `Queue ${now.id}` : now.kind === 'external' ? `External number ${now.id}` : now.label;
    }
  }
  active = Math.min(active, Math.max(0, entries.length - 1));
  const list = $('dir-list');
  list.replaceChildren(
    ...entries.map((e, i) => {
      const li = document.createElement('li');
      li.id = `dir-opt-${i}`;
      li.setAttribute('role', 'option');
      li.dataset.kind = e.kind;
      li.dataset.id = e.id;
      li.dataset.state = e.state ?? '';
      li.setAttribute('aria-selected', String(chosen?.kind === e.kind && chosen.id === e.id));
      if (i === active) li.classList.add('active');
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = e.kind === 'queue' ? 'Q' : e.kind === 'agent' ? 'A' : '#';
      badge.setAttribute('aria-hidden', 'true');
      li.append(badge, document.createTextNode(e.label));
      li.addEventListener('mousedown', (ev) => ev.preventDefault());
      li.addEventListener('click', () => {
        active = i;
        choose(e);
      });
      return li;
    }),
  );
  input.setAttribute('aria-activedescendant', entries.length ? `dir-opt-${active}` : '');
  $('dir-count').textContent = `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`;
}

export function focusDirectory(): void {
  const input = $<HTMLInputElement>('dir-search');
  input.focus();
  input.select();
}

export function mountDirectory(): void {
  const input = $<HTMLInputElement>('dir-search');
  input.addEventListener('input', () => {
    active = 0;
    render();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      active = Math.max(0, Math.min(entries.length - 1, active + (ev.key === 'ArrowDown' ? 1 : -1)));
      render();
      document.getElementById(`dir-opt-${active}`)?.scrollIntoView({ block: 'nearest' });
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      const e = entries[active];
      if (e) choose(e);
    } else if (ev.key === 'Escape') {
      input.value = '';
      active = 0;
      choose(undefined);
    }
  });
  // A call that ends takes its transfer target with it: the next call starts with nothing chosen,
  // so a target left from the last call is not transferred to by mistake (the dial box is emptied
  // the same way, dialer.ts).
  let lastCallState = cc.callState;
  onChange(() => {
    const ended = cc.callState === 'idle' && lastCallState !== 'idle';
    lastCallState = cc.callState;
    if (!ended || (!chosen && !input.value)) return render();
    input.value = '';
    active = 0;
    choose(undefined);
  });
}
