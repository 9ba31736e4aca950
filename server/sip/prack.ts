/**
 * Reliable provisional responses (RFC 3262, "100rel" and PRACK), both sides.
 *
 * UAS (ReliableProvisionals, one per INVITE we answer): a 101-199 response gets `Require: 100rel`
 * and an RSeq (the first one random in 1..2^31-1, then +1 each), and is retransmitted at T1, 2T1,
 * 4T1, … until a PRACK whose RAck (`rseq cseq INVITE`) names it arrives (§3). Only one is
 * unacknowledged at a time: a later 18x waits in order for the earlier one's PRACK. After 64*T1
 * without its PRACK the UAS gives up (`onGiveUp`; the stack then rejects the INVITE with 5xx).
 * `settled()` resolves when nothing is outstanding: the stack holds the 2xx to the INVITE until
 * then (§3: the final 2xx waits for the outstanding PRACK).
 *
 * UAC (ProvisionalSequence, one per outbound INVITE): which reliable 18x deserve a PRACK (§4):
 * the first per early dialog (To tag), then RSeq exactly one higher; a retransmission (RSeq not
 * above the last) or one out of order is ignored and not shown to the application.
 *
 * Not done here: offer/answer inside PRACK or reliable 18x bodies beyond carrying them (the SDP of
 * a reliable 183 reaches the application like any 183), and UPDATE in early dialogs.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { SipMessage, SipResponse } from './message.ts';

/** Does the header list (Require or Supported) of a message name 100rel? */
export function names100rel(msg: SipMessage, header: 'require' | 'supported'): boolean {
  return msg.getAll(header).some((v) => v.trim().toLowerCase() === '100rel');
}

export interface RAck {
  rseq: number;
  cseq: number;
  method: string;
}

/** Parse an RAck header value (`776656 1 INVITE`, §7.2). */
export function parseRAck(value: string | undefined): RAck | undefined {
  const m = /^\s*(\d{1,10})\s+(\d{1,10})\s+([A-Za-z]+)\s*$/.exec(value ?? '');
  if (!m) return undefined;
  return { rseq: Number(m[1]), cseq: Number(m[2]), method: m[3]!.toUpperCase() };
}

/** An RSeq header value (§7.1): 1..2^32-1. */
export function parseRSeq(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,10}\s*$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 0xffffffff ? n : undefined;
}

export interface ReliableHost {
  clock: Clock;
  T1: number;
  /** Hand the response to the INVITE's server transaction (first send and every retransmission). */
  transmit(res: SipResponse): void;
  /** 64*T1 passed without the PRACK for `res`. */
  onGiveUp(res: SipResponse): void;
}

/** The UAS side of RFC 3262 §3 for one INVITE. */
export class ReliableProvisionals {
  private nextRSeq: number;
  private readonly inviteCSeq: number;
  private outstanding?: { res: SipResponse; rseq: number; sentAt: number; interval: number; timer?: TimerHandle };
  private readonly queue: SipResponse[] = [];
  private waiters: (() => void)[] = [];
  private stopped = false;
  /** How many PRACKs matched (for tests and logs). */
  acknowledged = 0;

  constructor(
    private readonly host: ReliableHost,
    inviteCSeq: number,
    firstRSeq = 1 + Math.floor(Math.random() * 0x7ffffffe),
  ) {
    this.inviteCSeq = inviteCSeq;
    this.nextRSeq = firstRSeq;
  }

  /** True while a reliable 18x waits for its PRACK (or waits its turn). */
  get pending(): boolean {
    return this.outstanding !== undefined || this.queue.length > 0;
  }

  /** Send a 101-199 reliably (adds Require: 100rel and RSeq). Queued behind an unacknowledged one. */
  send(res: SipResponse): void {
    if (this.stopped) return;
    if (this.outstanding) {
      this.queue.push(res);
      return;
    }
    const rseq = this.nextRSeq++;
    res.set('require', '100rel');
    res.set('rseq', String(rseq));
    this.outstanding = { res, rseq, sentAt: this.host.clock.now(), interval: this.host.T1 };
    this.host.transmit(res);
    this.arm();
  }

  private arm(): void {
    const o = this.outstanding;
    if (!o) return;
    o.timer = this.host.clock.setTimeout(
      () => {
        o.timer = undefined;
        if (this.outstanding !== o || this.stopped) return;
        const elapsed = this.host.clock.now() - o.sentAt;
        if (elapsed >= 64 * this.host.T1) {
          this.stop();
          this.host.onGiveUp(o.res);
          return;
        }
        this.host.transmit(o.res);
        o.interval *= 2;
        this.arm();
      },
      Math.min(o.interval, 64 * this.host.T1 - (this.host.clock.now() - o.sentAt)),
    );
  }

  /**
   * A PRACK arrived with this RAck: true when it acknowledges the outstanding response (answer
   * 200), false when it matches nothing unacknowledged (answer 481, §3).
   */
  prack(rack: RAck | undefined): boolean {
    const o = this.outstanding;
    if (!rack || !o || rack.method !== 'INVITE' || rack.cseq !== this.inviteCSeq || rack.rseq !== o.rseq) return false;
    if (o.timer) this.host.clock.clearTimeout(o.timer);
    this.outstanding = undefined;
    this.acknowledged++;
    const next = this.queue.shift();
    if (next) this.send(next);
    else this.release();
    return true;
  }

  /** Resolves once no reliable provisional is outstanding (or the exchange was stopped). */
  settled(): Promise<void> {
    if (!this.pending || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A final response went out (or the INVITE was cancelled): no more retransmissions. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.outstanding?.timer) this.host.clock.clearTimeout(this.outstanding.timer);
    this.outstanding = undefined;
    this.queue.length = 0;
    this.release();
  }

  private release(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

/** The UAC side of RFC 3262 §4 for one outbound INVITE: which reliable 18x to PRACK. */
export class ProvisionalSequence {
  private readonly lastRSeq = new Map<string, number>();

  /**
   * For a 101-199 response: 'prack' (new reliable one: PRACK it and show it), 'ignore' (a
   * retransmission or out of order: drop it), or 'unreliable' (no 100rel: show it, no PRACK).
   */
  classify(res: SipResponse): 'prack' | 'ignore' | 'unreliable' {
    if (res.status <= 100 || res.status >= 200 || !names100rel(res, 'require')) return 'unreliable';
    const rseq = parseRSeq(res.get('rseq'));
    // §4: a reliable provisional without RSeq (or To tag) cannot be acknowledged; treat as unreliable.
    if (rseq === undefined || res.toTag === undefined) return 'unreliable';
    const last = this.lastRSeq.get(res.toTag);
    if (last !== undefined && rseq !== last + 1) return 'ignore';
    this.lastRSeq.set(res.toTag, rseq);
    return 'prack';
  }
}
