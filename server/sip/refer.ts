/**
 * REFER (RFC 3515): a party in a dialog asks us to send the other party elsewhere (a desk phone's
 * blind transfer). This file reads the request: the Refer-To target (a name-addr or a bare URI,
 * §2.4.1), and the Replaces header embedded in it for an attended transfer (RFC 3891 §6: the
 * dialog the transferee's new INVITE is to replace). Answering is the application's: 202 Accepted,
 * then NOTIFYs of the progress as message/sipfrag (Dialog.notifyRefer); without a 'refer'
 * listener a dialog declines REFER with 603.
 */
import type { SipRequest } from './message.ts';
import { parseNameAddr, parseUri, type SipUri } from './uri.ts';

/** RFC 3891 Replaces: the dialog to replace, as seen from the party receiving the INVITE. */
export interface Replaces {
  callId: string;
  toTag: string;
  fromTag: string;
  earlyOnly: boolean;
}

export interface ReferTarget {
  uri: SipUri;
  /** The user part of a sip(s): URI, or a tel: number; what a centre routes on. */
  user: string | undefined;
  /** Replaces embedded in the Refer-To URI's headers (`?Replaces=...`), for attended transfer. */
  replaces?: Replaces;
}

/** Refer-To of a REFER; undefined when absent or unparsable (answer 400). Exactly one is allowed. */
export function parseReferTo(req: SipRequest): ReferTarget | undefined {
  const values = req.getAll('refer-to');
  if (values.length !== 1) return undefined;
  const raw = values[0]!.trim();
  const uri = raw.includes('<') ? parseNameAddr(raw)?.uri : parseUri(raw);
  if (!uri) return undefined;
  const user = uri.scheme === 'tel' ? uri.opaque?.split(';')[0] : uri.user;
  const target: ReferTarget = { uri, user };
  if (uri.headers && /(^|&)replaces=/i.test(uri.headers)) {
    // A Replaces that names no dialog (or does not decode) is a bad request, not a blind transfer.
    const value = headerParam(uri.headers, 'replaces');
    const r = value === undefined ? undefined : parseReplaces(value);
    if (!r) return undefined;
    target.replaces = r;
  }
  return target;
}

/**
 * Does `r` name this dialog of ours (RFC 3891 §3)? to-tag is the tag of the party receiving the
 * replacing request (ours), from-tag the other's. Some phones swap them; Call-ID and both tags
 * still name one dialog only, so the swapped form is accepted too.
 */
export function replacesDialog(d: { callId: string; localTag: string; remoteTag: string }, r: Replaces): boolean {
  if (d.callId !== r.callId) return false;
  return (r.toTag === d.localTag && r.fromTag === d.remoteTag) || (r.toTag === d.remoteTag && r.fromTag === d.localTag);
}

/** `Replaces: callid;to-tag=a;from-tag=b[;early-only]` (RFC 3891 §6.1). */
export function parseReplaces(value: string): Replaces | undefined {
  const [callId, ...params] = value.split(';').map((p) => p.trim());
  if (!callId) return undefined;
  let toTag: string | undefined;
  let fromTag: string | undefined;
  let earlyOnly = false;
  for (const p of params) {
    const eq = p.indexOf('=');
    const name = (eq >= 0 ? p.slice(0, eq) : p).toLowerCase();
    const v = eq >= 0 ? p.slice(eq + 1) : '';
    if (name === 'to-tag') toTag = v;
    else if (name === 'from-tag') fromTag = v;
    else if (name === 'early-only') earlyOnly = true;
  }
  if (toTag === undefined || fromTag === undefined) return undefined;
  return { callId, toTag, fromTag, earlyOnly };
}

/** One header of a URI's `?a=b&c=d` part, %-decoded; names compared case-insensitively. */
function headerParam(headers: string, name: string): string | undefined {
  for (const part of headers.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).toLowerCase() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
