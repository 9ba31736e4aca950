/**
 * Session timers (RFC 4028): keep-alive of a call by periodic re-INVITE/UPDATE, so a carrier can
 * tell a dead call from a long one. We negotiate only what peers ask for: as UAS we let a
 * timer-capable caller refresh (refresher=uac) and watch for its refreshes; as UAC we refresh
 * when the 2xx makes us the refresher, and watch otherwise.
 */
import type { SipMessage } from './message.ts';

/** Our Min-SE (RFC 4028 §4: at least 90 s). */
export const MIN_SE = 90;

export interface SessionExpires {
  seconds: number;
  refresher?: 'uac' | 'uas';
}

export function parseSessionExpires(v: string | undefined): SessionExpires | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d{1,10})\s*(.*)$/.exec(v);
  if (!m) return undefined;
  const r = /;\s*refresher\s*=\s*(uac|uas)\b/i.exec(m[2] ?? '');
  const se: SessionExpires = { seconds: Number(m[1]) };
  if (r) se.refresher = r[1]!.toLowerCase() as 'uac' | 'uas';
  return se;
}

function supportsTimer(msg: SipMessage): boolean {
  return [...msg.getAll('supported'), ...msg.getAll('require')].some((o) => o.trim().toLowerCase() === 'timer');
}

export type UasNegotiation = { kind: 'none' } | { kind: 'too-small' } | { kind: 'timer'; seconds: number; headers: Record<string, string> };

/**
 * What the UAS answers to an INVITE or refresh (§9): 422 if the interval is below our Min-SE,
 * otherwise a timer with the caller as refresher when it supports timers. A caller without
 * timer support gets none (we do not refresh towards peers that did not ask).
 */
export function negotiateUas(req: SipMessage): UasNegotiation {
  const se = parseSessionExpires(req.get('session-expires'));
  if (!se) return { kind: 'none' };
  if (se.seconds < MIN_SE) return { kind: 'too-small' };
  if (!supportsTimer(req)) return { kind: 'none' };
  return {
    kind: 'timer',
    seconds: se.seconds,
    headers: { 'Session-Expires': `${se.seconds};refresher=uac`, Require: 'timer' },
  };
}

/** The timer a UAC takes from its 2xx (§7.2): who refreshes, and how often. */
export function timerFromAnswer(res: SipMessage): { seconds: number; weRefresh: boolean } | undefined {
  const se = parseSessionExpires(res.get('session-expires'));
  if (!se || se.seconds <= 0) return undefined;
  return { seconds: se.seconds, weRefresh: (se.refresher ?? 'uac') === 'uac' };
}

/** When the non-refresher gives up (§10): before expiry by min(32 s, interval/3). */
export function watchdogMs(seconds: number): number {
  return (seconds - Math.min(32, seconds / 3)) * 1000;
}
