/**
 * The wrap-up form, shown while the agent is in wrap-up: the queue's disposition codes, a note,
 * "resolved" (the agent's side of first-contact resolution), and the countdown to the end the ACD
 * set (pushed on the agent's stream as `event: wrapup`), with "Done" (POST /api/v1/agent/wrapup)
 * and "Extend" (once, by the queue's wrapUpExtendMax). A queue with codes asks for one.
 */
import { act, api } from './api.ts';
import { $, announce, cc, changed, onChange } from './store.ts';

let shownFor = '';

async function done(): Promise<void> {
  const w = cc.wrapup;
  const code = $<HTMLSelectElement>('wrap-disposition').value;
  if (w && w.dispositions.length > 0 && !code) {
    $('wrap-disposition').focus();
    throw new Error('Choose a disposition');
  }
  const note = $<HTMLTextAreaElement>('wrap-note').value.trim();
  await api('/api/v1/agent/wrapup', {
    ...(code ? { disposition: code } : {}),
    ...(note ? { note } : {}),
    resolved: $<HTMLInputElement>('wrap-resolved').checked,
  });
  announce('Wrap-up done');
}

async function extend(): Promise<void> {
  const r = await api<{ endsAt?: number; extended?: boolean }>('/api/v1/agent/wrapup/extend', {});
  if (cc.wrapup && r.endsAt) {
    cc.wrapup.endsAt = r.endsAt;
    cc.wrapup.extended = true;
  }
  announce('Wrap-up extended');
  changed();
}

function render(): void {
  const w = cc.wrapup;
  const form = $<HTMLFormElement>('wrapup');
  const on = cc.state === 'wrap-up';
  form.hidden = !on;
  if (!on) {
    shownFor = '';
    return;
  }
  const key = w?.contactId ?? 'unknown';
  if (shownFor !== key) {
    // A new wrap-up: a fresh form with this queue's codes.
    shownFor = key;
    form.reset();
    const sel = $<HTMLSelectElement>('wrap-disposition');
    const codes = w?.dispositions ?? [];
    const first = document.createElement('option');
    first.value = '';
    first.textContent = codes.length ? 'Choose…' : 'No codes for this queue';
    sel.replaceChildren(
      first,
      ...codes.map((d) => {
        const o = document.createElement('option');
        o.value = d.code;
        o.textContent = d.label;
        return o;
      }),
    );
    sel.required = codes.length > 0;
    sel.disabled = codes.length === 0;
    $('wrap-queue').textContent = w?.queue ? `Queue ${w.queue}` : '';
  }
  const left = w ? Math.max(0, Math.ceil((w.endsAt - Date.now()) / 1000)) : undefined;
  const cd = $('wrap-countdown');
  cd.textContent = left === undefined ? '' : `${left} s left`;
  cd.classList.toggle('low', left !== undefined && left <= 10);
  const ext = $<HTMLButtonElement>('wrap-extend');
  ext.disabled = !w || w.extended || w.extendMax <= 0;
  ext.textContent = w && w.extendMax > 0 ? `Extend +${w.extendMax} s` : 'Extend';
}

export function mountWrapupForm(): void {
  $('wrapup').addEventListener('submit', (ev) => ev.preventDefault());
  act('wrap-done', done);
  act('wrap-extend', extend);
  onChange(render);
}
