/**
 * A call's mix on its RTP thread (conference, supervisor listen / whisper / barge): the plain legs
 * in it hand what their party says to a Mixer (media/audio/mixer.ts) instead of relaying it, and
 * every 20 ms each leg's party is sent the mix of whom it hears, as a stream of our own that the
 * leg's splicer joins to what it sent before (prompts, the bridge). The per-packet work (decode,
 * sum, encode) stays off the main thread, with the relays it replaces.
 *
 * Ticks are due at start + n·20 ms, as the Player's (no drift from timer lateness); after a stall
 * the mix catches up with a short burst, or skips ahead if it fell more than 200 ms behind.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { G711_PAYLOAD_TYPE, type G711Law } from '../audio/g711.ts';
import { MIX_FRAME, Mixer } from '../audio/mixer.ts';
import type { PlainLegMedia } from './plainLegMedia.ts';
import { buildRtp, randomSsrc } from './rtp.ts';

const PTIME_MS = 20;
const MAX_BURST = 10;

/** What a mix reports when it ends: its Mixer's counters and the thread time it took. */
export interface RtpMixStats {
  ticks: number;
  underruns: number;
  overflowSamples: number;
  /** Packets sent to the parties. */
  sent: number;
  /** Thread time spent mixing (decode, sum, encode, send), microseconds. */
  busyUs: number;
}

interface Output {
  media: PlainLegMedia;
  ssrc: number;
  seq: number;
  ts: number;
}

export class RtpMix {
  readonly mixer: Mixer;
  private readonly outputs = new Map<string, Output>();
  private readonly start: number;
  private n = 0;
  private timer: TimerHandle | undefined;
  private ended = false;
  private sent = 0;
  private busyNs = 0n;

  constructor(
    law: G711Law,
    private readonly clock: Clock,
  ) {
    this.mixer = new Mixer(law);
    this.start = clock.now();
    this.schedule();
  }

  get law(): G711Law {
    return this.mixer.law;
  }

  /**
   * Set who is in the mix and whom each hears (legs missing from `hears` leave it). `legs` finds a
   * leg's media on the thread; a leg that is gone is left out.
   */
  set(hears: Record<string, string[]>, legs: (id: string) => PlainLegMedia | undefined): void {
    for (const id of this.mixer.ids()) if (!(id in hears)) this.leave(id);
    for (const [id, h] of Object.entries(hears)) {
      if (this.mixer.has(id)) {
        this.mixer.setHears(id, h);
        continue;
      }
      const media = legs(id);
      if (!media || media.closed) continue;
      this.mixer.add(id, h);
      this.outputs.set(id, { media, ssrc: randomSsrc(), seq: Math.floor(Math.random() * 0x10000), ts: randomSsrc() });
      media.joinMix((raw, from, count) => this.mixer.push(id, raw, from, count));
    }
  }

  leave(id: string): void {
    this.mixer.remove(id);
    this.outputs.get(id)?.media.leaveMix();
    this.outputs.delete(id);
  }

  end(): RtpMixStats {
    if (!this.ended) {
      this.ended = true;
      if (this.timer) this.clock.clearTimeout(this.timer);
      for (const id of [...this.outputs.keys()]) this.leave(id);
    }
    const s = this.mixer.stats;
    return {
      ticks: s.ticks,
      underruns: s.underruns,
      overflowSamples: s.overflowSamples,
      sent: this.sent,
      busyUs: Number(this.busyNs / 1000n),
    };
  }

  private schedule(): void {
    const next = this.start + this.n * PTIME_MS;
    this.timer = this.clock.setTimeout(() => this.run(), Math.max(1, next - this.clock.now()));
  }

  private run(): void {
    if (this.ended) return;
    const t0 = process.hrtime.bigint();
    const due = Math.floor((this.clock.now() - this.start) / PTIME_MS) + 1;
    if (due - this.n > MAX_BURST) {
      // Fell far behind: skip ahead (timestamps still advance, the far ends resynchronise).
      const skipped = due - 1 - this.n;
      for (const o of this.outputs.values()) o.ts = (o.ts + skipped * MIX_FRAME) >>> 0;
      this.n = due - 1;
    }
    while (this.n < due) {
      this.n++;
      this.mixer.tick((id, frame) => this.send(id, frame));
    }
    this.busyNs += process.hrtime.bigint() - t0;
    this.schedule();
  }

  private send(id: string, frame: Uint8Array): void {
    const o = this.outputs.get(id);
    if (!o) return;
    const packet = buildRtp({
      payloadType: G711_PAYLOAD_TYPE[this.mixer.law],
      marker: false,
      sequenceNumber: o.seq,
      timestamp: o.ts,
      ssrc: o.ssrc,
      payload: frame,
    });
    o.seq = (o.seq + 1) & 0xffff;
    o.ts = (o.ts + MIX_FRAME) >>> 0;
    if (o.media.sendMixed(packet)) this.sent++;
  }
}
