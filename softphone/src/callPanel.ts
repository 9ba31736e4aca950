/**
 * The call panel: who is calling (a queue's caller, a callback, a colleague consulting, our own
 * outbound call), the call timer and hold timer, and the buttons an agent uses on every call —
 * answer, reject, hang up, hold / resume, mute — plus the auto-answer choice, kept per browser.
 * Hold and mute are the centre's (the caller hears music on hold; a muted agent is not heard),
 * so the REST API's answer is what the panel shows.
 */
import { act, api } from './api.ts';
import { answer, autoAnswer, hangup, KIND_TITLE, onEstablished, reject, setAutoAnswer } from './sipCall.ts';
import { $, announce, cc, changed, clock, onChange } from './store.ts';

interface CallView {
  held: boolean;
  muted: boolean;
  consult?: 'ringing' | 'consulting' | 'conference' | 'transferred';
  consultTarget?: { kind: string; id: string };
}

/** Calls the centre controls (a queue's caller); click-to-dial, callbacks and consults are plain SIP calls. */
export function controllable(): boolean {
  return cc.callState === 'connected' && cc.call?.kind === 'inbound';
}

/** Take the centre's view of the call (after an operation, or once connected). */
export function applyView(v: CallView): void {
  const c = cc.call;
  if (!c) return;
  if (v.held && !c.held) c.heldSince = Date.now();
  if (!v.held) c.heldSince = 0;
  c.held = v.held;
  c.muted = v.muted;
  c.consult = v.consult ?? '';
  c.consultWith = v.consultTarget?.id ?? '';
  changed();
}

export async function refreshCall(): Promise<void> {
  if (!controllable()) return;
  const r = await api<{ call: CallView; dispositions: { code: string; label: string }[] }>('/api/v1/agent/call');
  applyView(r.call);
}

async function toggleHold(): Promise<void> {
  if (!controllable() || cc.call?.consult) return;
  const held = cc.call?.held ?? false;
  applyView(await api<CallView>(held ? '/api/v1/agent/call/resume' : '/api/v1/agent/call/hold', {}));
  announce(cc.call?.held ? 'Caller on hold' : 'Caller back from hold');
}

async function toggleMute(): Promise<void> {
  if (!controllable()) return;
  applyView(await api<CallView>('/api/v1/agent/call/mute', { mute: !cc.call?.muted }));
  announce(cc.call?.muted ? 'Muted: the caller does not hear you' : 'Unmuted');
}

let shownRinging = false;

function render(): void {
  const c = cc.call;
  const panel = $('call');
  panel.hidden = !c;
  // A call that starts ringing comes into view with the state bar (a laptop screen may be scrolled
  // down to My day or the audio panel; the call is the first thing on the page); focus stays.
  const nowRinging = cc.callState === 'ringing';
  if (nowRinging && !shownRinging && !panel.hidden && panel.getBoundingClientRect().top < 0) window.scrollTo({ top: 0 });
  shownRinging = nowRinging;
  $('idle').hidden = !!c || cc.state === 'wrap-up';
  panel.dataset.kind = c?.kind ?? '';
  panel.dataset.state = cc.callState;
  if (!c) return;
  const ringing = cc.callState === 'ringing';
  $('call-title').textContent = ringing ? KIND_TITLE[c.kind] : c.kind === 'inbound' ? 'On call' : `${KIND_TITLE[c.kind]} — connected`;
  const t = $('call-timer');
  if (ringing) {
    const left = c.ringsUntil ? Math.max(0, Math.ceil((c.ringsUntil - Date.now()) / 1000)) : undefined;
    t.textContent = left === undefined ? 'ringing' : `rings ${left} s more`;
  } else t.textContent = clock(Date.now() - c.connectedAt);
  $('caller').textContent = c.caller;
  $('queue').textContent = c.queue || '—';
  // A callback's wait runs from the customer's original queue entry: the place they kept.
  $('waited').textContent = c.kind === 'inbound' || c.kind === 'callback' ? `${c.waitedSeconds} s` : '—';
  $('ivrpath').textContent = c.ivrPath.join(' → ') || '—';
  const note = $('call-note');
  note.textContent =
    c.kind === 'callback'
      ? `Callback the customer asked for${c.attempt ? ` (attempt ${c.attempt})` : ''}${c.previousCallId ? ` — their call ${c.previousCallId.slice(0, 8)}` : ''}`
      : c.kind === 'consult'
        ? `Agent ${c.consultFrom} is consulting you about this caller`
        : c.kind === 'outbound'
          ? 'Your outbound call'
          : '';
  note.hidden = !note.textContent;
  const hold = $('hold-state');
  hold.hidden = !c.held;
  hold.textContent = c.held ? `On hold ${clock(Date.now() - c.heldSince)}` : '';
  $('mute-state').hidden = !c.muted;
  $('answer').hidden = !ringing;
  $('reject').hidden = !ringing;
  $('hangup').hidden = ringing;
  const ctl = controllable();
  const holdBtn = $<HTMLButtonElement>('hold');
  holdBtn.hidden = ringing;
  holdBtn.disabled = !ctl || !!c.consult;
  holdBtn.textContent = c.held ? 'Resume' : 'Hold';
  holdBtn.setAttribute('aria-pressed', String(c.held));
  const muteBtn = $<HTMLButtonElement>('mute');
  muteBtn.hidden = ringing;
  muteBtn.disabled = !ctl;
  muteBtn.textContent = c.muted ? 'Unmute' : 'Mute';
  muteBtn.setAttribute('aria-pressed', String(c.muted));
  if (!ctl && !ringing) holdBtn.title = muteBtn.title = 'Only for calls from a queue';
  else {
    holdBtn.title = 'Alt+H';
    muteBtn.title = 'Alt+M';
  }
}

export function mountCallPanel(): void {
  act('answer', answer);
  act('reject', reject);
  act('hangup', hangup);
  act('hold', toggleHold);
  act('mute', toggleMute);
  const auto = $<HTMLInputElement>('auto-answer');
  auto.checked = autoAnswer();
  auto.addEventListener('change', () => setAutoAnswer(auto.checked));
  // The centre marks the agent connected a moment after the page's 200 OK: try a few times quietly.
  onEstablished(() => {
    const tryRefresh = (left: number): void => {
      refreshCall().catch(() => {
        if (left > 0) setTimeout(() => tryRefresh(left - 1), 400);
      });
    };
    tryRefresh(5);
  });
  onChange(render);
}
