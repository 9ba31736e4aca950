/**
 * The keypad: keys sent to the caller as RFC 4733 events by the centre (POST …/call/dtmf), for the
 * IVRs and card readers the agent reaches. Each key is sent as pressed, in order (one request at a
 * time); the digits typed on the keyboard count too, unless the agent is typing in a field.
 */
import { api, run } from './api.ts';
import { controllable } from './callPanel.ts';
import { $, cc, changed, onChange } from './store.ts';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;
const LETTERS: Record<string, string> = {
  '2': 'ABC',
  '3': 'DEF',
  '4': 'GHI',
  '5': 'JKL',
  '6': 'MNO',
  '7': 'PQRS',
  '8': 'TUV',
  '9': 'WXYZ',
  '0': '+',
};

let queue: Promise<unknown> = Promise.resolve();

/** Send one key after the ones before it. */
export function press(key: string): void {
  if (!controllable() || !KEYS.includes(key as (typeof KEYS)[number])) return;
  cc.digits = (cc.digits + key).slice(-24);
  changed();
  const sent = queue.then(() => api('/api/v1/agent/call/dtmf', { digits: key }));
  queue = sent.catch(() => undefined);
  run(() => sent);
}

function typing(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

function render(): void {
  const on = controllable();
  const pad = $('keypad');
  pad.hidden = cc.callState !== 'connected';
  pad.querySelectorAll('button').forEach((b) => (b.disabled = !on));
  $('keypad-digits').textContent = cc.digits || '\u00a0';
}

export function mountKeypad(): void {
  const grid = $('keypad-keys');
  grid.replaceChildren(
    ...KEYS.map((k) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'key';
      b.dataset.key = k;
      b.setAttribute('aria-label', `Key ${k === '*' ? 'star' : k === '#' ? 'hash' : k}`);
      b.innerHTML = `<span class="d">${k}</span><span class="l">${LETTERS[k] ?? '\u00a0'}</span>`;
      b.addEventListener('click', () => press(k));
      return b;
    }),
  );
  document.addEventListener('keydown', (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || typing(ev.target)) return;
    if (!KEYS.includes(ev.key as (typeof KEYS)[number]) || !controllable()) return;
    ev.preventDefault();
    press(ev.key);
  });
  onChange(render);
}
