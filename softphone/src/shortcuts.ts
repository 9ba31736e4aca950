/**
 * Keyboard shortcuts: Alt+letter for every action on the desk, the same table drives the handler,
 * each button's aria-keyshortcuts and title, and the help popover (Alt+/ or the "Keys" button). A
 * shortcut does what a click on its (visible, enabled) button does; focus shortcuts move focus.
 * Letters are read from the physical key (KeyboardEvent.code), so Alt on a Mac (which types
 * accented letters) and other layouts work the same.
 */
import { focusDialer } from './dialer.ts';
import { focusDirectory } from './directory.ts';
import { $ } from './store.ts';

interface Shortcut {
  key: string;
  label: string;
  /** Buttons tried in order: the first visible and enabled is clicked. */
  ids?: string[];
  focus?: () => void;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { key: 'A', label: 'Answer', ids: ['answer'] },
  { key: 'X', label: 'Hang up / reject', ids: ['reject', 'hangup'] },
  { key: 'R', label: 'Ready', ids: ['ready'] },
  { key: 'N', label: 'Not ready', ids: ['notready'] },
  { key: 'H', label: 'Hold / resume', ids: ['hold'] },
  { key: 'M', label: 'Mute / unmute', ids: ['mute'] },
  { key: 'K', label: 'Keypad (then type digits)', focus: () => document.querySelector<HTMLElement>('#keypad-keys button')?.focus() },
  { key: 'T', label: 'Directory search', focus: focusDirectory },
  { key: 'B', label: 'Blind transfer to the choice', ids: ['xfer-blind'] },
  { key: 'C', label: 'Consult the choice', ids: ['xfer-consult'] },
  { key: 'F', label: 'Conference', ids: ['consult-conference'] },
  { key: 'L', label: 'Complete transfer / leave conference', ids: ['consult-complete', 'conf-leave'] },
  { key: 'Q', label: 'Cancel consult (back to caller)', ids: ['consult-cancel'] },
  { key: 'D', label: 'Dial a number', focus: focusDialer },
  { key: 'W', label: 'Wrap-up done', ids: ['wrap-done', 'endwrap'] },
  { key: 'E', label: 'Extend wrap-up', ids: ['wrap-extend'] },
  { key: 'U', label: 'Auto-answer on / off', ids: ['auto-answer'] },
  { key: '/', label: 'This list', ids: ['help-btn'] },
];

function usable(el: HTMLElement | null): el is HTMLElement {
  return !!el && !el.hidden && !(el as HTMLButtonElement).disabled && !el.closest('[hidden]');
}

function keyOf(ev: KeyboardEvent): string {
  if (ev.code.startsWith('Key')) return ev.code.slice(3);
  if (ev.code === 'Slash') return '/';
  return ev.key.toUpperCase();
}

function toggleHelp(force?: boolean): void {
  const pop = $('help');
  const open = force ?? pop.hidden;
  pop.hidden = !open;
  $('help-btn').setAttribute('aria-expanded', String(open));
  if (open) $('help-close').focus();
  else $('help-btn').focus();
}

export function mountShortcuts(): void {
  const list = $('help-list');
  list.replaceChildren(
    ...SHORTCUTS.flatMap((s) => {
      const dt = document.createElement('dt');
      dt.innerHTML = `<kbd>Alt</kbd>+<kbd>${s.key}</kbd>`;
      const dd = document.createElement('dd');
      dd.textContent = s.label;
      return [dt, dd];
    }),
  );
  for (const s of SHORTCUTS)
    for (const id of s.ids ?? []) {
      const el = document.getElementById(id);
      if (!el) continue;
      el.setAttribute('aria-keyshortcuts', `Alt+${s.key}`);
      if (!el.title) el.title = `Alt+${s.key}`;
    }
  $('help-btn').addEventListener('click', () => toggleHelp());
  $('help-close').addEventListener('click', () => toggleHelp(false));
  $('help').addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') toggleHelp(false);
  });
  document.addEventListener('keydown', (ev) => {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const s = SHORTCUTS.find((x) => x.key === keyOf(ev));
    if (!s) return;
    if (s.focus) {
      ev.preventDefault();
      s.focus();
      return;
    }
    const el = (s.ids ?? []).map((id) => document.getElementById(id)).find(usable);
    if (!el) return;
    ev.preventDefault();
    el.click();
  });
}
