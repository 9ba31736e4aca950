/**
 * A call's legs mixed with a hear matrix (three-way conference, a supervisor listening, whispering
 * or barging): the main thread's handle on the mix its RTP thread runs (media/rtp/rtpMix.ts). Each
 * change sends the whole matrix, so the thread's mix is always exactly what this object holds.
 *
 * Only plain RTP legs (trunk, desk phones) can be mixed: their packets already pass through the
 * thread, which decodes, sums and encodes them there. A browser (WebRTC) leg would need its audio
 * taken out of and put back into mediasoup (a DirectTransport on the main thread): not done yet, so
 * mixing one is refused with an error the caller of the API can report.
 */
import type { G711Law } from '../audio/g711.ts';
import type { MediaLeg } from './leg.ts';
import { PlainRtpLeg } from './plainRtpLeg.ts';
import type { RtpMixStats } from '../rtp/rtpMix.ts';
import type { RtpThread } from '../rtp/rtpThreadPool.ts';

export type { RtpMixStats } from '../rtp/rtpMix.ts';
export { conferenceHears, monitorHears, type MonitorMode } from '../audio/mixer.ts';

/** Whom each leg hears. */
export type LegHearMatrix = Map<MediaLeg, readonly MediaLeg[]>;

let mixSeq = 0;

export class MediaMix {
  readonly id: string;
  private readonly matrix = new Map<PlainRtpLeg, Set<PlainRtpLeg>>();
  ended = false;
  /** Set by the call: the mix is over. */
  onEnd: (() => void) | undefined;

  constructor(
    callId: string,
    private readonly thread: RtpThread,
    readonly law: G711Law,
  ) {
    this.id = `${callId}/mix${++mixSeq}`;
  }

  /** The legs in the mix. */
  get legs(): PlainRtpLeg[] {
    return [...this.matrix.keys()];
  }

  has(leg: MediaLeg): boolean {
    return this.matrix.has(leg as PlainRtpLeg);
  }

  /** Whom `leg` hears (empty if it is not in the mix). */
  hearsOf(leg: MediaLeg): MediaLeg[] {
    return [...(this.matrix.get(leg as PlainRtpLeg) ?? [])];
  }

  /** Replace the whole matrix: legs not in it leave the mix. */
  async set(matrix: LegHearMatrix): Promise<void> {
    const next = new Map<PlainRtpLeg, Set<PlainRtpLeg>>();
    for (const [leg, hears] of matrix) next.set(mixable(leg), new Set(hears.map(mixable)));
    this.matrix.clear();
    for (const [k, v] of next) this.matrix.set(k, v);
    await this.push();
  }

  /** Add a leg, or change whom it hears (whisper → barge), live. */
  async hear(leg: MediaLeg, hears: readonly MediaLeg[]): Promise<void> {
    this.matrix.set(mixable(leg), new Set(hears.map(mixable)));
    await this.push();
  }

  /** Take a leg out (an agent leaving a conference): the others go on hearing each other. */
  async remove(leg: MediaLeg): Promise<void> {
    if (!this.matrix.delete(leg as PlainRtpLeg)) return;
    for (const h of this.matrix.values()) h.delete(leg as PlainRtpLeg);
    if (!this.ended) await this.push();
  }

  /** End the mix; the legs hear nothing until the call bridges or mixes them again. */
  async end(): Promise<RtpMixStats> {
    if (this.ended) return { ticks: 0, underruns: 0, overflowSamples: 0, sent: 0, busyUs: 0 };
    this.ended = true;
    this.matrix.clear();
    this.onEnd?.();
    return this.thread.request({ op: 'mixEnd', mix: this.id });
  }

  private async push(): Promise<void> {
    if (this.ended) throw new Error('mix ended');
    const hears: Record<string, string[]> = {};
    for (const [leg, h] of this.matrix) if (!leg.closed) hears[leg.id] = [...h].filter((x) => !x.closed).map((x) => x.id);
    await this.thread.request({ op: 'mix', mix: this.id, law: this.law, hears });
  }
}

function mixable(leg: MediaLeg): PlainRtpLeg {
  if (!(leg instanceof PlainRtpLeg)) throw new Error(`mix: ${leg.id} is a ${leg.kind} leg; only plain RTP legs can be mixed`);
  if (!leg.producer || leg.closed) throw new Error(`mix: ${leg.id} has not negotiated media`);
  return leg;
}
