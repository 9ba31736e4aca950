/**
 * One place where a call's key presses from all three sources meet: RFC 4733 events, SIP INFO
 * (application/dtmf-relay or application/dtmf) and in-band tones. Carriers often send a key both
 * as an event and as audio, and some phones send INFO as well; a key press must still reach the
 * IVR once. A key is dropped if the same key was reported on the same leg by a different source
 * within `windowMs`; repeats from the same source are real repeats (each source dedupes itself).
 */

export type DtmfSource = 'rfc4733' | 'inband' | 'info';

interface DtmfReport {
  digit: string;
  leg: string;
  source: DtmfSource;
  at: number;
}

export class DtmfDeduplicator {
  private readonly last = new Map<string, DtmfReport>();

  constructor(private readonly windowMs = 500) {}

  /** True if this report is a new key press. */
  accept(r: DtmfReport): boolean {
    const prev = this.last.get(r.leg);
    if (prev && prev.digit === r.digit && prev.source !== r.source && r.at - prev.at < this.windowMs) return false;
    this.last.set(r.leg, r);
    return true;
  }
}

/**
 * Digits from a SIP INFO body: application/dtmf-relay ("Signal=5\r\nDuration=160") or
 * application/dtmf ("5"). Returns undefined for anything else.
 */
export function parseDtmfInfo(contentType: string, body: string): string | undefined {
  const ct = contentType.toLowerCase().split(';')[0]!.trim();
  let sig: string | undefined;
  if (ct === 'application/dtmf-relay') sig = /^\s*signal\s*=\s*(\S+)/im.exec(body)?.[1];
  else if (ct === 'application/dtmf') sig = body.trim();
  if (sig === undefined) return undefined;
  if (/^(1[0-5]|[0-9])$/.test(sig) && sig.length === 2) return '0123456789*#ABCD'[Number(sig)];
  const d = sig.toUpperCase();
  return /^[0-9*#A-D]$/.test(d) ? d : undefined;
}
