/**
 * Transfers from the directory's choice: blind (a queue, a ready agent or an external number: the
 * agent leaves into wrap-up at once), or attended — consult the agent or number while the caller
 * hears music on hold, then complete the transfer, bring everyone into a conference (and leave it
 * when done), or go back to the caller. The centre's answers drive what the panel offers.
 */
import { act, api } from './api.ts';
import { applyView, controllable } from './callPanel.ts';
import { onSelect, selectedTarget, type Target } from './directory.ts';
import { $, announce, cc, changed, onChange } from './store.ts';

type View = Parameters<typeof applyView>[0];

function body(t: Target): Record<string, string> {
  return t.kind === 'queue' ? { queue: t.id } : t.kind === 'agent' ? { agent: t.id } : { number: t.id };
}

function need(): Target {
  const t = selectedTarget();
  if (!t) throw new Error('Choose a queue, an agent or a number in the directory first (Alt+T)');
  return t;
}

async function blind(): Promise<void> {
  if (!controllable() || cc.call?.consult) return;
  const t = need();
  await api('/api/v1/agent/call/transfer', body(t));
  announce(`Transferred to ${t.label}`);
}

async function startConsult(): Promise<void> {
  if (!controllable() || cc.call?.consult) return;
  const t = need();
  if (t.kind === 'queue') throw new Error('A consult is with an agent or a number, not a queue');
  const c = cc.call;
  if (!c) return;
  c.consult = 'ringing';
  c.consultWith = t.id;
  cc.busy = `Ringing ${t.label}…`;
  announce(`Consulting ${t.label}: the caller is on hold`);
  changed();
  try {
    applyView(await api<View>('/api/v1/agent/call/consult', body(t)));
    announce(`${t.label} answered`);
  } catch (e) {
    if (cc.call) cc.call.consult = '';
    // "Back to caller" while it rang ends the consult this way: not an error for the agent.
    if (!cancelledRinging) throw e;
  } finally {
    cancelledRinging = false;
    cc.busy = '';
    changed();
  }
}

let cancelledRinging = false;

async function cancel(): Promise<void> {
  cancelledRinging = cc.call?.consult === 'ringing';
  applyView(await api<View>('/api/v1/agent/call/consult/cancel', {}));
  announce('Back with the caller');
}

async function complete(): Promise<void> {
  await api('/api/v1/agent/call/consult/complete', {});
  if (cc.call) cc.call.consult = 'transferred';
  announce('Transfer complete');
  changed();
}

async function conference(): Promise<void> {
  applyView(await api<View>('/api/v1/agent/call/conference', {}));
  announce('Conference: everyone hears everyone');
}

function render(): void {
  const c = cc.call;
  const ctl = controllable();
  const phase = c?.consult ?? '';
  const t = selectedTarget();
  const blindBtn = $<HTMLButtonElement>('xfer-blind');
  const consultBtn = $<HTMLButtonElement>('xfer-consult');
  blindBtn.disabled = !ctl || !!phase || !t;
  consultBtn.disabled = !ctl || !!phase || !t || t.kind === 'queue';
  $('xfer-start').hidden = !!phase && phase !== 'transferred';
  $('consult-controls').hidden = !(phase === 'ringing' || phase === 'consulting');
  $('conf-controls').hidden = phase !== 'conference';
  $<HTMLButtonElement>('consult-complete').disabled = phase !== 'consulting';
  $<HTMLButtonElement>('consult-conference').disabled = phase !== 'consulting';
  const st = $('xfer-status');
  st.textContent =
    phase === 'ringing'
      ? cc.busy || `Ringing ${c?.consultWith ?? ''}…`
      : phase === 'consulting'
        ? `Talking with ${c?.consultWith ?? ''} — the caller is on hold`
        : phase === 'conference'
          ? `Conference with the caller and ${c?.consultWith ?? ''}`
          : ctl
            ? ''
            : 'Transfers are for a connected call from a queue';
  $('transfer').dataset.phase = phase;
}

export function mountTransfer(): void {
  act('xfer-blind', blind);
  act('xfer-consult', startConsult);
  act('consult-cancel', cancel);
  act('consult-complete', complete);
  act('consult-conference', conference);
  act('conf-leave', complete);
  onSelect(() => render());
  onChange(render);
}
