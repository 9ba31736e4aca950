/**
 * The agent desktop. Login goes to the server's REST API, which checks the agent's password and
 * hands back SIP credentials; sip.js then registers over WebSocket (RFC 7118) on the same origin.
 * The SIP password in the login reply is minted for this session (it dies with logout), not the
 * agent's own. Agent state changes go over REST with the token in an Authorization header; the
 * server pushes state over Server-Sent Events, which the login's HttpOnly cookie (scoped to the
 * stream) authenticates, so no token ever sits in a URL. The screen pop (caller, queue, time
 * waited, IVR path) arrives in the INVITE's X-CC-* headers, so it is in the page the moment the
 * phone rings.
 */
import { Invitation, SessionState, type Session } from 'sip.js';
import type { SessionDescriptionHandler } from 'sip.js/lib/platform/web/index.js';
import { askForNotifications, startAlerting, stopAlerting, unlockAudio } from './alerting.ts';
import { Phone, type PhoneStatus } from './phone.ts';

interface LoginReply {
  token: string;
  expiresAt: string;
  agent: { id: string; name: string };
  sip: { uri: string; username: string; password: string; wsPath: string };
  auxCodes: { code: string; label: string }[];
}

interface CallInfo {
  caller: string;
  queue: string;
  waitedSeconds: number;
  ivrPath: string[];
  callId: string;
  /** When ringing stops unanswered (ring-no-answer), epoch ms; 0 when the server did not say. */
  ringsUntil: number;
  /** When the conversation started, epoch ms (0 while ringing). */
  connectedAt: number;
}

/** What the page knows, exposed on window.cc so people (and tests) can inspect it. */
const cc = {
  state: 'logged-out' as string,
  reason: '' as string,
  registered: false,
  /** The phone's connection: connecting, online (registered), reconnecting, offline. */
  phone: 'offline' as PhoneStatus,
  /** When the next reconnection try happens (epoch ms) while reconnecting. */
  nextTryAt: 0,
  reconnects: 0,
  call: undefined as CallInfo | undefined,
  callState: 'idle' as 'idle' | 'ringing' | 'connected',
  remoteStream: undefined as MediaStream | undefined,
  errors: [] as string[],
};
(window as unknown as { cc: typeof cc }).cc = cc;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

let token = '';
let phone: Phone | undefined;
let session: Session | undefined;
let events: EventSource | undefined;

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : {};
  if (!res.ok) {
    const msg = (data as { error?: string }).error ?? `${res.status} ${res.statusText}`;
    throw new Error(msg);
  }
  return data as T;
}

function showError(where: 'login-error' | 'desk-error', e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  cc.errors.push(msg);
  $(where).textContent = msg;
}

/** What the agent reads for each ACD state (cc.state keeps the ACD's own name). */
const STATE_LABEL: Record<string, string> = {
  'logged-out': 'Logged out',
  available: 'Ready',
  'not-ready': 'Not ready',
  offered: 'Ringing',
  'on-call': 'On call',
  'wrap-up': 'Wrap-up',
};

function render(): void {
  const st = $('state');
  st.textContent = STATE_LABEL[cc.state] ?? cc.state;
  st.dataset.state = cc.state;
  $('reason').textContent = cc.reason ? `(${cc.reason})` : '';
  $('endwrap').hidden = cc.state !== 'wrap-up';
  const conn = $('conn');
  conn.dataset.status = cc.phone;
  conn.textContent =
    cc.phone === 'reconnecting'
      ? `reconnecting${cc.nextTryAt > Date.now() ? ` in ${Math.ceil((cc.nextTryAt - Date.now()) / 1000)} s` : '…'}`
      : PHONE_LABEL[cc.phone];
  conn.title = PHONE_HELP[cc.phone];
  const c = cc.call;
  $('call').hidden = !c;
  if (c) {
    $('call-title').textContent = cc.callState === 'ringing' ? 'Incoming call' : 'On call';
    const t = $('call-timer');
    if (cc.callState === 'ringing') {
      const left = c.ringsUntil ? Math.max(0, Math.ceil((c.ringsUntil - Date.now()) / 1000)) : undefined;
      t.textContent = left === undefined ? 'ringing' : `rings ${left} s more`;
    } else t.textContent = clock(Date.now() - c.connectedAt);
    $('caller').textContent = c.caller;
    $('queue').textContent = c.queue;
    $('waited').textContent = `${c.waitedSeconds} s`;
    $('ivrpath').textContent = c.ivrPath.join(' → ') || '—';
    $('answer').hidden = cc.callState !== 'ringing';
  }
}

const PHONE_LABEL: Record<PhoneStatus, string> = {
  connecting: 'connecting…',
  online: 'online',
  reconnecting: 'reconnecting',
  offline: 'offline',
};
const PHONE_HELP: Record<PhoneStatus, string> = {
  connecting: 'Registering the phone with the centre',
  online: 'The phone is registered: calls can reach you',
  reconnecting: 'The connection to the centre dropped: calls cannot reach you until it is back',
  offline: 'Not connected',
};

/** m:ss, or h:mm:ss past an hour. */
function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${Math.floor(s / 60)}:${ss}`;
}

function header(inv: Invitation, name: string): string {
  return inv.request.getHeader(name) ?? '';
}

function onInvite(inv: Invitation): void {
  if (session) {
    void inv.reject({ statusCode: 486 });
    return;
  }
  session = inv;
  let path: string[] = [];
  try {
    path = decodeURIComponent(header(inv, 'X-CC-Ivr-Path'))
      .split(',')
      .filter((s) => s.length > 0);
  } catch {
    path = [];
  }
  cc.call = {
    caller: decodeURIComponent(header(inv, 'X-CC-Caller')) || inv.remoteIdentity.uri.user || 'unknown',
    queue: header(inv, 'X-CC-Queue'),
    waitedSeconds: Number(header(inv, 'X-CC-Waited') || 0),
    ivrPath: path,
    callId: header(inv, 'X-CC-Call-Id') || inv.request.callId,
    ringsUntil: Number(header(inv, 'X-CC-Ring-Timeout')) > 0 ? Date.now() + Number(header(inv, 'X-CC-Ring-Timeout')) * 1000 : 0,
    connectedAt: 0,
  };
  cc.callState = 'ringing';
  startAlerting(cc.call.caller, cc.call.queue || 'call');
  inv.stateChange.addListener((s) => {
    if (s !== SessionState.Initial) stopAlerting();
    if (s === SessionState.Established) {
      cc.callState = 'connected';
      if (cc.call) cc.call.connectedAt = Date.now();
      const sdh = inv.sessionDescriptionHandler as SessionDescriptionHandler | undefined;
      if (sdh) {
        cc.remoteStream = sdh.remoteMediaStream;
        // Remote audio reaches WebAudio (and the speaker) only via a media element.
        const audio = $<HTMLAudioElement>('remote');
        audio.srcObject = sdh.remoteMediaStream;
        void audio.play().catch(() => undefined);
      }
    } else if (s === SessionState.Terminated) {
      session = undefined;
      cc.call = undefined;
      cc.callState = 'idle';
      cc.remoteStream = undefined;
    }
    render();
  });
  render();
}

async function answer(): Promise<void> {
  if (!(session instanceof Invitation) || cc.callState !== 'ringing') return;
  await session.accept({
    sessionDescriptionHandlerOptions: {
      // Raw audio: browser processing would distort tones and add latency the caller hears.
      constraints: { audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false },
    },
  });
}

async function hangup(): Promise<void> {
  const s = session;
  if (!s) return;
  if (s instanceof Invitation && s.state === SessionState.Initial) await s.reject({ statusCode: 603 });
  else if (s.state === SessionState.Established) await s.bye();
}

async function login(agent: string, password: string): Promise<void> {
  const reply = await api<LoginReply>('/api/v1/agent/login', { agent, password });
  token = reply.token;
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
      render();
    },
  });
  await phone.start();
  const aux = $<HTMLSelectElement>('aux');
  aux.replaceChildren(
    ...reply.auxCodes.map((a) => {
      const o = document.createElement('option');
      o.value = a.code;
      o.textContent = a.label;
      return o;
    }),
  );
  $('who').textContent = `${reply.agent.name} (${reply.agent.id})`;
  $('login').hidden = true;
  $('desk').hidden = false;
  // Same origin: the cookie set by the login reply goes with it (EventSource cannot send headers).
  events = new EventSource('/api/v1/agent/events');
  events.addEventListener('state', (ev) => {
    const d = JSON.parse((ev as MessageEvent<string>).data) as { state: string; reason?: string };
    cc.state = d.state;
    cc.reason = d.reason ?? '';
    render();
  });
  render();
}

async function logout(): Promise<void> {
  await api('/api/v1/agent/logout', {}).catch(() => undefined);
  events?.close();
  await phone?.stop();
  phone = undefined;
  token = '';
  cc.state = 'logged-out';
  cc.registered = false;
  $('login').hidden = false;
  $('desk').hidden = true;
  render();
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
const act = (id: string, fn: () => Promise<unknown>): void =>
  $(id).addEventListener('click', () => {
    $('desk-error').textContent = '';
    fn().catch((e: unknown) => showError('desk-error', e));
  });
act('ready', () => api('/api/v1/agent/state', { state: 'ready' }));
act('notready', () => api('/api/v1/agent/state', { state: 'not-ready', reason: $<HTMLSelectElement>('aux').value }));
act('endwrap', () => api('/api/v1/agent/wrapup/end', {}));
act('logout', logout);
act('answer', answer);
act('hangup', hangup);
window.addEventListener('beforeunload', () => phone?.unregisterNow());

/**
 * Keyboard: Alt+A answer, Alt+X hang up (or reject), Alt+R ready, Alt+N not ready, Alt+W end
 * wrap-up — the same on every layout the browser maps Alt to, announced through aria-keyshortcuts.
 */
const SHORTCUTS: Record<string, string> = { a: 'answer', x: 'hangup', r: 'ready', n: 'notready', w: 'endwrap' };
document.addEventListener('keydown', (ev) => {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const id = SHORTCUTS[ev.key.toLowerCase()];
  if (!id) return;
  const b = document.getElementById(id) as HTMLButtonElement | null;
  if (!b || b.hidden || b.disabled || b.closest('[hidden]')) return;
  ev.preventDefault();
  b.click();
});
// Timers on screen (call time, ring countdown, reconnect countdown) tick once a second.
setInterval(() => {
  if (cc.call || cc.phone === 'reconnecting') render();
}, 1000);
render();

// ---- h-day: My day, screen pop, QA results (issue 15): mounted while the desk shows, stopped at logout ----
import { mountMyDay } from './myDay.ts';
import { mountQaResults } from './qaResults.ts';
import { mountScreenPop } from './screenPop.ts';
{
  let panels: { stop(): void }[] = [];
  const opts = { token: () => token };
  new MutationObserver(() => {
    const shown = !$('desk').hidden;
    if (shown && panels.length === 0) {
      panels = [mountScreenPop($('screenpop'), opts), mountMyDay($('myday')), mountQaResults($('qaresults'), opts)];
    } else if (!shown) {
      for (const p of panels) p.stop();
      panels = [];
    }
  }).observe($('desk'), { attributes: true, attributeFilter: ['hidden'] });
}
// ---- end h-day ----
