/**
 * The call in the browser's SIP phone: an INVITE from the centre becomes cc.call, with what its
 * X-CC-* headers say (server/call/offer.ts for a queue's caller, outboundCall.ts for a
 * click-to-dial or a callback, consult.ts for a colleague consulting). Answer, reject and hang up
 * are SIP; everything else (hold, mute, keys, transfers) goes through the REST API (callPanel.ts).
 */
import { Invitation, SessionState, type Session } from 'sip.js';
import type { SessionDescriptionHandler } from 'sip.js/lib/platform/web/index.js';
import { startAlerting, stopAlerting } from './alerting.ts';
import { callFromHeaders } from './callInfo.ts';
import { $, announce, cc, changed, type CallInfo, type CallKind } from './store.ts';

let session: Session | undefined;
/** Set while the agent's own click-to-dial is ringing their phone back: answer it without asking. */
let dialPendingUntil = 0;
const established: ((c: CallInfo) => void)[] = [];

/** Run after a call is connected (e.g. read its hold and mute state and disposition codes). */
export function onEstablished(fn: (c: CallInfo) => void): void {
  established.push(fn);
}

/** The SIP session of the call in progress (ringing or up), if any. */
export function currentSession(): Session | undefined {
  return session;
}

export function expectDialBack(ms = 35_000): void {
  dialPendingUntil = Date.now() + ms;
}

const AUTO_KEY = 'cc.autoAnswer';
export function autoAnswer(): boolean {
  try {
    return localStorage.getItem(AUTO_KEY) === '1';
  } catch {
    return false;
  }
}
export function setAutoAnswer(on: boolean): void {
  try {
    localStorage.setItem(AUTO_KEY, on ? '1' : '0');
  } catch {
    /* private mode: the choice lasts this page only */
  }
}

function header(inv: Invitation, name: string): string {
  return inv.request.getHeader(name) ?? '';
}
export function onInvite(inv: Invitation): void {
  if (session) {
    void inv.reject({ statusCode: 486 });
    return;
  }
  session = inv;
  cc.call = callFromHeaders((n) => header(inv, n), inv.remoteIdentity.uri.user ?? '', inv.request.callId, Date.now());
  cc.callState = 'ringing';
  cc.digits = '';
  const c = cc.call;
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
      announce(`Connected with ${c.caller}`);
      for (const fn of established) fn(c);
    } else if (s === SessionState.Terminated) {
      session = undefined;
      cc.call = undefined;
      cc.callState = 'idle';
      cc.remoteStream = undefined;
      cc.busy = '';
      announce('Call ended');
    }
    changed();
  });
  const ownDial = c.kind === 'outbound' && Date.now() < dialPendingUntil;
  if (ownDial) dialPendingUntil = 0;
  if (ownDial || (autoAnswer() && c.kind !== 'consult')) {
    announce(ownDial ? `Calling ${c.caller}` : `Auto-answering ${c.caller}`);
    // After this turn of the event loop: sip.js finishes taking the INVITE in first.
    setTimeout(() => {
      answer().catch((e: unknown) => {
        cc.errors.push(`auto-answer: ${e instanceof Error ? e.message : String(e)}`);
        console.error('auto-answer failed', e);
      });
    }, 0);
  } else {
    startAlerting(c.caller, c.kind === 'callback' ? 'callback' : c.queue || 'call');
    announce(`${KIND_TITLE[c.kind]}: ${c.caller}${c.queue ? `, ${c.queue}` : ''}`);
  }
  changed();
}

export const KIND_TITLE: Record<CallKind, string> = {
  inbound: 'Incoming call',
  outbound: 'Outbound call',
  callback: 'Callback',
  consult: 'Consult',
};

export async function answer(): Promise<void> {
  if (!(session instanceof Invitation) || cc.callState !== 'ringing') return;
  await session.accept({
    sessionDescriptionHandlerOptions: {
      // Raw audio: browser processing would distort tones and add latency the caller hears.
      constraints: { audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false },
    },
  });
}

/** Decline a ringing offer: the ACD offers the caller to the next agent. */
export async function reject(): Promise<void> {
  const s = session;
  if (s instanceof Invitation && s.state === SessionState.Initial) await s.reject({ statusCode: 486 });
}

export async function hangup(): Promise<void> {
  const s = session;
  if (!s) return;
  if (s instanceof Invitation && s.state === SessionState.Initial) await s.reject({ statusCode: 603 });
  else if (s.state === SessionState.Established) await s.bye();
}
