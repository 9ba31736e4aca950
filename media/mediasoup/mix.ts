/**
 * A call's legs mixed with a hear matrix (three-way conference, a supervisor listening, whispering
 * or barging): the main thread's handle on the mix its RTP thread runs (media/rtp/rtpMix.ts). Each
 * change sends the whole matrix, so the thread's mix is always exactly what this object holds.
 *
 * Plain RTP legs (trunk, desk phones) are mixed where their packets already pass: the thread
 * decodes, sums and encodes them there. A browser (WebRTC) leg's packets live in mediasoup, so it
 * joins through a loopback tap (mixTap.ts): a plain leg on the thread fed by its Producer, whose
 * own Producer (the mix for the browser) the browser leg hears while it is in the mix. The tap is
 * opened when the leg joins and closed when it leaves, closes, or the mix ends.
 *
 * Changes are applied one at a time, in the order asked (opening a tap takes a few round trips).
 */
import type { G711Law } from '../audio/g711.ts';
import type { LegContext, MediaLeg } from './leg.ts';
import { MixTap } from './mixTap.ts';
import { PlainRtpLeg } from './plainRtpLeg.ts';
import type { RtpMixStats } from '../rtp/rtpMix.ts';

export type { RtpMixStats } from '../rtp/rtpMix.ts';
export { conferenceHears, monitorHears, type MonitorMode } from '../audio/mixer.ts';

/** Whom each leg hears. */
export type LegHearMatrix = Map<MediaLeg, readonly MediaLeg[]>;

const NO_STATS: RtpMixStats = { ticks: 0, underruns: 0, overflowSamples: 0, sent: 0, busyUs: 0 };

let mixSeq = 0;

export class MediaMix {
  readonly id: string;
  private readonly matrix = new Map<MediaLeg, Set<MediaLeg>>();
  /** Browser legs' ways into the thread's mix. */
  private readonly taps = new Map<MediaLeg, MixTap>();
  private queue: Promise<unknown> = Promise.resolve();
  ended = false;
  /** Set by the call: the mix is over. */
  onEnd: (() => void) | undefined;

  constructor(
    callId: string,
    private readonly ctx: LegContext,
    readonly law: G711Law,
  ) {
    this.id = `${callId}/mix${++mixSeq}`;
  }

  /** The legs in the mix. */
  get legs(): MediaLeg[] {
    return [...this.matrix.keys()];
  }

  has(leg: MediaLeg): boolean {
    return this.matrix.has(leg);
  }

  /** Whom `leg` hears (empty if it is not in the mix). */
  hearsOf(leg: MediaLeg): MediaLeg[] {
    return [...(this.matrix.get(leg) ?? [])];
  }

  /** Whether `leg` hears the mix through a tap (a browser leg): its feed is the mix's, not a bridge's. */
  tapped(leg: MediaLeg): boolean {
    return this.taps.has(leg);
  }

  /** Replace the whole matrix: legs not in it leave the mix. */
  set(matrix: LegHearMatrix): Promise<void> {
    return this.serial(async () => {
      for (const [leg, hears] of matrix) [leg, ...hears].forEach(mixable);
      this.matrix.clear();
      for (const [leg, hears] of matrix) this.matrix.set(leg, new Set(hears));
      await this.push();
    });
  }

  /** Add a leg, or change whom it hears (whisper → barge), live. */
  hear(leg: MediaLeg, hears: readonly MediaLeg[]): Promise<void> {
    return this.serial(async () => {
      [leg, ...hears].forEach(mixable);
      this.matrix.set(leg, new Set(hears));
      await this.push();
    });
  }

  /** Take a leg out (an agent leaving a conference): the others go on hearing each other. */
  remove(leg: MediaLeg): Promise<void> {
    return this.serial(async () => {
      if (!this.matrix.delete(leg)) return;
      for (const h of this.matrix.values()) h.delete(leg);
      if (!this.ended) await this.push();
    });
  }

  /** End the mix; the legs hear nothing until the call bridges or mixes them again. */
  async end(): Promise<RtpMixStats> {
    if (this.ended) return NO_STATS;
    this.ended = true;
    this.matrix.clear();
    this.onEnd?.();
    await this.queue;
    try {
      return await this.ctx.rtpThread.request({ op: 'mixEnd', mix: this.id });
    } finally {
      await this.syncTaps();
    }
  }

  private serial(step: () => Promise<void>): Promise<void> {
    const p = this.queue.then(step);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async push(): Promise<void> {
    if (this.ended) throw new Error('mix ended');
    await this.syncTaps();
    if (this.ended) throw new Error('mix ended');
    const name = (l: MediaLeg): string | undefined => (l.closed ? undefined : l instanceof PlainRtpLeg ? l.id : this.taps.get(l)?.id);
    const hears: Record<string, string[]> = {};
    for (const [leg, h] of this.matrix) {
      const id = name(leg);
      if (id !== undefined) hears[id] = [...h].flatMap((x) => name(x) ?? []);
    }
    await this.ctx.rtpThread.request({ op: 'mix', mix: this.id, law: this.law, hears });
    // Browser legs hear what the thread mixes for them (this replaces a bridge's feed).
    await Promise.all([...this.taps].map(([leg, tap]) => leg.hear(tap.producer)));
  }

  /** Open taps for browser legs that joined; close those of legs that left (they hear nothing then). */
  private async syncTaps(): Promise<void> {
    for (const [leg, tap] of [...this.taps]) {
      if (this.matrix.has(leg) && !leg.closed && tap.live) continue;
      this.taps.delete(leg);
      tap.close();
      if (!leg.closed) await leg.hear(undefined).catch(() => undefined);
    }
    for (const leg of this.matrix.keys()) {
      if (leg instanceof PlainRtpLeg || leg.closed || this.taps.has(leg)) continue;
      this.taps.set(leg, await MixTap.open(leg, this.ctx, this.law));
    }
  }
}

function mixable(leg: MediaLeg): void {
  if (!leg.producer || leg.closed) throw new Error(`mix: ${leg.id} has not negotiated media`);
}
