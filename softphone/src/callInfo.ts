/**
 * What an INVITE from the centre says about the call, from its X-CC-* headers: a queue's caller
 * (server/call/offer.ts: caller, queue, wait, IVR path, ring timeout), a click-to-dial or a
 * callback (outboundCall.ts / callback.ts: X-CC-Direction, the number, the previous contact and
 * attempt), or a colleague consulting (consult.ts: X-CC-Consult). Pure, so unit-tested.
 */
import type { CallInfo, CallKind } from './store.ts';

function decoded(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** What the INVITE says about the call (pure on the headers; exported for tests). */
export function callFromHeaders(h: (name: string) => string, fallbackCaller: string, fallbackId: string, now: number): CallInfo {
  const direction = h('X-CC-Direction');
  const kind: CallKind = h('X-CC-Consult')
    ? 'consult'
    : direction === 'callback'
      ? 'callback'
      : direction === 'outbound'
        ? 'outbound'
        : 'inbound';
  const ring = Number(h('X-CC-Ring-Timeout'));
  return {
    kind,
    caller: decoded(h('X-CC-Number') || h('X-CC-Caller')) || fallbackCaller || 'unknown',
    queue: h('X-CC-Queue'),
    waitedSeconds: Number(h('X-CC-Waited') || 0),
    ivrPath: decoded(h('X-CC-Ivr-Path'))
      .split(',')
      .filter((s) => s.length > 0),
    callId: h('X-CC-Call-Id') || fallbackId,
    previousCallId: h('X-CC-Previous-Call-Id'),
    attempt: Number(h('X-CC-Attempt') || 0),
    consultFrom: h('X-CC-Consult'),
    ringsUntil: ring > 0 ? now + ring * 1000 : 0,
    connectedAt: 0,
    held: false,
    heldSince: 0,
    muted: false,
    consult: '',
    consultWith: '',
  };
}
