/**
 * The agent desktop. Login goes to the server's REST API, which checks the agent's password and
 * hands back SIP credentials; sip.js then registers over WebSocket (RFC 7118) on the same origin.
 * The SIP password in the login reply is minted for this session (it dies with logout), not the
 * agent's own. Agent state changes go over REST with the token in an Authorization header; the
 * server pushes the agent's state, the transfer directory and the wrap-up countdown over
 * Server-Sent Events, which the login's HttpOnly cookie (scoped to the stream) authenticates, so
 * no token ever sits in a URL. The screen pop arrives in the INVITE's X-CC-* headers.
 *
 * This file logs in and out, keeps the state bar and the event stream, and mounts the desk's
 * parts, one module each: callPanel (answer, hold, mute, timers), keypad, directory, transfer,
 * dialer, wrapupForm, shortcuts. A new part is a `<section>` in index.html and a mount call below.
 */
import { askForNotifications, unlockAudio } from './alerting.ts';
import { act, api, getToken, setToken, showError } from './api.ts';
import { mountCallPanel } from './callPanel.ts';
import { mountDialer } from './dialer.ts';
import { mountDirectory } from './directory.ts';
import { mountKeypad } from './keypad.ts';
import { mountMyDay } from './myDay.ts';
import { Phone } from './phone.ts';
import { mountQaResults } from './qaResults.ts';
import { mountScreenPop } from './screenPop.ts';
import { mountShortcuts } from './shortcuts.ts';
import { currentSession, onInvite } from './sipCall.ts';
import { SessionState } from 'sip.js';
import type { SessionDescriptionHandler } from 'sip.js/lib/platform/web/index.js';
import { mountAudioPanel } from './audioPanel.ts';
import { mountRecordingControl } from './recordingControl.ts';
import { $, announce, cc, changed, onChange, type DirectoryData, type WrapupInfo } from './store.ts';
import { mountTransfer } from './transfer.ts';
import { mountWrapupForm } from './wrapupForm.ts';

interface LoginReply {
  token: string;
  expiresAt: string;
  agent: { id: string; name: string };
  sip: { uri: string; username: string; password: string; wsPath: string };
  auxCodes: { code: string; label: string }[];
  /** Labels of every not-ready reason, the centre's own (disconnected, internal call) included. */
  reasonLabels?: { code: string; label: string }[];
  /** What "Test audio" dials (server.echoTest); absent when the centre answers no echo test. */
  echoTest?: { uri: string };
}

let phone: Phone | undefined;
let events: EventSource | undefined;
/** Parts of the desk that follow the agent's state (the screen pop): fed from the one state stream. */
const stateListeners = new Set<(state: string) => void>();
const onAgentState = (fn: (state: string) => void): (() => void) => {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
};
let echoUri: string | undefined;
/** Not-ready reasons as the agent reads them (agents.yaml's aux codes and the centre's own). */
const reasonLabels = new Map<string, string>([
  ['login', 'just logged in'],
  ['missed', 'missed call'],
  ['rejected', 'declined call'],
]);

/** What the agent reads for each ACD state (cc.state keeps the ACD's own name). */
const STATE_LABEL: Record<string, string> = {
  'logged-out': 'Logged out',
  available: 'Ready',
  'not-ready': 'Not ready',
  offered: 'Ringing',
  'on-call': 'On call',
  'wrap-up': 'Wrap-up',
};

const PHONE_LABEL: Record<string, string> = {
  connecting: 'connecting…',
  online: 'online',
  reconnecting: 'reconnecting',
  offline: 'offline',
};
const PHONE_HELP: Record<string, string> = {
  connecting: 'Registering the phone with the centre',
  online: 'The phone is registered: calls can reach you',
  reconnecting: 'The connection to the centre dropped: calls cannot reach you until it is back',
  offline: 'Not connected',
};

function renderBar(): void {
  const st = $('state');
  st.textContent = STATE_LABEL[cc.state] ?? cc.state;
  st.dataset.state = cc.state;
  $('reason').textContent = cc.reason ? `(${reasonLabels.get(cc.reason) ?? cc.reason})` : '';
  $('endwrap').hidden = cc.state !== 'wrap-up';
  // Ready is for an agent who is not: not while already ready, nor with a call ringing or up.
  $<HTMLButtonElement>('ready').disabled = cc.state === 'available' || cc.state === 'offered' || cc.state === 'on-call';
  const conn = $('conn');
  conn.dataset.status = cc.phone;
  conn.textContent =
    cc.phone === 'reconnecting'
      ? `reconnecting${cc.nextTryAt > Date.now() ? ` in ${Math.ceil((cc.nextTryAt - Date.now()) / 1000)} s` : '…'}`
      : (PHONE_LABEL[cc.phone] ?? cc.phone);
  conn.title = PHONE_HELP[cc.phone] ?? '';
  document.body.dataset.state = cc.state;
}

function listen(): void {
  // Same origin: the cookie set by the login reply goes with it (EventSource cannot send headers).
  events = new EventSource('/api/v1/agent/events');
  events.addEventListener('state', (ev) => {
    const d = JSON.parse((ev as MessageEvent<string>).data) as { state: string; reason?: string };
    if (d.state !== cc.state) announce(`State: ${STATE_LABEL[d.state] ?? d.state}`);
    cc.state = d.state;
    cc.reason = d.reason ?? '';
    changed();
    for (const fn of stateListeners) fn(d.state);
  });
  events.addEventListener('directory', (ev) => {
    cc.directory = JSON.parse((ev as MessageEvent<string>).data) as DirectoryData;
    changed();
  });
  events.addEventListener('wrapup', (ev) => {
    cc.wrapup = (JSON.parse((ev as MessageEvent<string>).data) as WrapupInfo | null) ?? undefined;
    changed();
  });
}

async function login(agent: string, password: string): Promise<void> {
  const reply = await api<LoginReply>('/api/v1/agent/login', { agent, password });
  setToken(reply.token);
  cc.agentId = reply.agent.id;
  echoUri = reply.echoTest?.uri;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  phone = new Phone({
    uri: reply.sip.uri,
    displayName: reply.agent.name,
    username: reply.sip.username,
    password: reply.sip.password,
    server: `${scheme}://${location.host}${reply.sip.wsPath}`,
    onInvite,
    onStatus: (status, d) => {
      if (status === 'reconnecting' && cc.phone !== 'reconnecting') cc.reconnects++;
      cc.phone = status;
      cc.registered = status === 'online';
      cc.nextTryAt = d.nextTryAt ?? 0;
      changed();
    },
  });
  await phone.start();
  for (const a of [...reply.auxCodes, ...(reply.reasonLabels ?? [])]) reasonLabels.set(a.code, a.label);
  const aux = $<HTMLSelectElement>('aux');
  aux.replaceChildren(
    ...reply.auxCodes.map((a) => {
      const o = document.createElement('option');
      o.value = a.code;
      o.textContent = a.label;
      return o;
    }),
  );
  $('who').textContent = reply.agent.name;
  $('who-id').textContent = reply.agent.id;
  $('login').hidden = true;
  $('desk').hidden = false;
  $('desk-bar').hidden = false;
  listen();
  changed();
}

async function logout(): Promise<void> {
  await api('/api/v1/agent/logout', {}).catch(() => undefined);
  events?.close();
  await phone?.stop();
  phone = undefined;
  setToken('');
  cc.state = 'logged-out';
  cc.registered = false;
  cc.wrapup = undefined;
  $('login').hidden = false;
  $('desk').hidden = true;
  $('desk-bar').hidden = true;
  changed();
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  const agent = $<HTMLInputElement>('agent').value.trim();
  const password = $<HTMLInputElement>('password').value;
  // This click is the gesture browsers want before they let a page ring or notify.
  unlockAudio();
  askForNotifications();
  login(agent, password).catch((e: unknown) => showError('login-error', e));
});
act('ready', () => api('/api/v1/agent/state', { state: 'ready' }));
act('notready', () => api('/api/v1/agent/state', { state: 'not-ready', reason: $<HTMLSelectElement>('aux').value }));
act('endwrap', () => api('/api/v1/agent/wrapup/end', {}));
act('logout', logout);
window.addEventListener('beforeunload', () => phone?.unregisterNow());

onChange(renderBar);
mountCallPanel();
mountKeypad();
mountDirectory();
mountTransfer();
mountDialer();
mountWrapupForm();
mountShortcuts();
// Other parts of the desk mount here (one block each).

// Timers on screen (call and hold time, ring countdown, wrap-up countdown, reconnect) tick once a second.
setInterval(() => {
  if (cc.call || cc.phone === 'reconnecting' || cc.state === 'wrap-up') changed();
}, 1000);
changed();

// The Audio panel (device choice, level meters, echo test) and the recording pause
// button. Self-contained modules; the interval only mirrors this page's own call state into them
// (no network).
const sdhOf = (): SessionDescriptionHandler | undefined => {
  const s = currentSession();
  return s?.state === SessionState.Established ? (s.sessionDescriptionHandler as SessionDescriptionHandler | undefined) : undefined;
};
const audioPanel = mountAudioPanel($('audio-panel'), {
  userAgent: () => phone?.userAgent,
  echoUri: () => (phone ? echoUri : undefined),
  peerConnection: () => sdhOf()?.peerConnection,
  callAudio: () => $<HTMLAudioElement>('remote'),
});
const recordingControl = mountRecordingControl($('rec-control'), {
  post: (path) => api(path, {}),
  onCall: () => cc.callState === 'connected',
});
let metered: SessionDescriptionHandler | undefined;
setInterval(() => {
  const sdh = sdhOf();
  if (sdh !== metered) {
    metered = sdh;
    audioPanel.call(sdh ? { local: sdh.localMediaStream, remote: sdh.remoteMediaStream } : undefined);
  }
  recordingControl.update();
}, 500);
// The call's peer connection too, for people and tests checking which device a call uses.
(window as unknown as { ccAudio: unknown }).ccAudio = { panel: audioPanel, recording: recordingControl, pc: () => sdhOf()?.peerConnection };

// My day, the screen pop and QA results: mounted while the desk shows, stopped at logout.
{
  let panels: { stop(): void }[] = [];
  const opts = { token: getToken };
  // The screen pop follows the desk's own state stream (no second EventSource on it).
  new MutationObserver(() => {
    const shown = !$('desk').hidden;
    if (shown && panels.length === 0) {
      panels = [
        mountScreenPop($('screenpop'), { ...opts, onState: onAgentState }),
        mountMyDay($('myday')),
        mountQaResults($('qaresults'), opts),
      ];
    } else if (!shown) {
      for (const p of panels) p.stop();
      panels = [];
    }
  }).observe($('desk'), { attributes: true, attributeFilter: ['hidden'] });
}
