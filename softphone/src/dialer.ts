/**
 * The dial box: click-to-dial (POST /api/v1/agent/calls). The centre rings this desk first and then
 * the number through an outbound trunk; the page answers its own call back at once (sipCall.ts).
 */
import { api, run } from './api.ts';
import { asNumber } from './directory.ts';
import { expectDialBack } from './sipCall.ts';
import { $, announce, cc, onChange } from './store.ts';

async function dial(): Promise<void> {
  const raw = $<HTMLInputElement>('dial-number').value;
  const to = asNumber(raw);
  if (!to) throw new Error('Type a number to dial');
  expectDialBack();
  await api('/api/v1/agent/calls', { to });
  $<HTMLInputElement>('dial-number').value = '';
  announce(`Dialling ${to}`);
}

let lastCallState = cc.callState;

function render(): void {
  const idle = cc.callState === 'idle' && cc.state !== 'logged-out';
  $<HTMLButtonElement>('dial-call').disabled = !idle;
  // A call ended: the box starts empty for the next one (no stale number from before or during
  // the call), unless the agent is typing in it right now.
  const box = $<HTMLInputElement>('dial-number');
  if (cc.callState === 'idle' && lastCallState !== 'idle' && document.activeElement !== box) box.value = '';
  lastCallState = cc.callState;
}

export function focusDialer(): void {
  $<HTMLInputElement>('dial-number').focus();
}

export function mountDialer(): void {
  $('dialer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(dial);
  });
  onChange(render);
}
