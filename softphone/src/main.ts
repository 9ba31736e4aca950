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
import { Invitation, Registerer, RegistererState, SessionState, UserAgent, type Session } from 'sip.js';
import type { SessionDescriptionHandler } from 'sip.js/lib/platform/web/index.js';

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
}

/** What the page knows, exposed on window.cc so people (and tests) can inspect it. */
const cc = {
  state: 'logged-out' as string,
  reason: '' as string,
  registered: false,
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
let ua: UserAgent | undefined;
let registerer: Registerer | undefined;
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
  $('conn').textContent = cc.registered ? 'online' : 'offline';
  $('conn').classList.toggle('online', cc.registered);
  const c = cc.call;
  $('call').hidden = !c;
  if (c) {
    $('call-title').textContent = cc.callState === 'ringing' ? 'Incoming call' : 'On call';
    $('caller').textContent = c.caller;
    $('queue').textContent = c.queue;
    $('waited').textContent = `${c.waitedSeconds} s`;
    $('ivrpath').textContent = c.ivrPath.join(' → ') || '—';
    $('answer').hidden = cc.callState !== 'ringing';
  }
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
  };
  cc.callState = 'ringing';
  inv.stateChange.addListener((s) => {
    if (s === SessionState.Established) {
      cc.callState = 'connected';
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
  const uri = UserAgent.makeURI(reply.sip.uri);
  if (!uri) throw new Error(`bad SIP URI from server: ${reply.sip.uri}`);
  ua = new UserAgent({
    uri,
    displayName: reply.agent.name,
    authorizationUsername: reply.sip.username,
    authorizationPassword: reply.sip.password,
    transportOptions: { server: `${scheme}://${location.host}${reply.sip.wsPath}` },
    logLevel: 'warn',
    // No STUN: the server is ICE-lite with public candidates; a default STUN server only delays.
    sessionDescriptionHandlerFactoryOptions: {
      peerConnectionConfiguration: { iceServers: [] },
      iceGatheringTimeout: 1000,
    },
    delegate: { onInvite },
  });
  await ua.start();
  registerer = new Registerer(ua, { expires: 300 });
  registerer.stateChange.addListener((s) => {
    cc.registered = s === RegistererState.Registered;
    render();
  });
  await registerer.register();
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
  await registerer?.unregister().catch(() => undefined);
  await ua?.stop().catch(() => undefined);
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
window.addEventListener('beforeunload', () => {
  void registerer?.unregister().catch(() => undefined);
});
render();
