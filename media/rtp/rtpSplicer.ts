/**
 * One outgoing RTP stream towards a plain-RTP party, whatever feeds it: the bridged agent (via
 * mediasoup, whose Consumer SSRC changes whenever the bridge is rebuilt), a prompt or music on
 * hold played by Node, RFC 4733 key presses. Carriers and SBCs expect one SSRC per direction with
 * consecutive sequence numbers and a timestamp that keeps pace with real time (RFC 3550 §5.1,
 * RFC 4733 §2.3: events share the audio's SSRC and timestamp clock), so every packet is rewritten:
 *  - SSRC: fixed for the leg;
 *  - sequence number: one counter for everything sent;
 *  - timestamp: within one source, the source's own spacing (so its jitter and gaps survive);
 *    on a switch of source, continued from where the previous source left off plus the real time
 *    elapsed since, with the marker bit set to tell the receiver's jitter buffer to resynchronise;
 *  - events: stamped with the audio timeline at the moment the key press began.
 */

export class RtpSplicer {
  private seq = Math.floor(Math.random() * 0x10000);
  /** Who fed the last audio packet (compared by value: a number keeps the hot path allocation-free). */
  private source: string | number | undefined;
  private tsOffset = 0;
  private lastTs: number;
  private lastAt: number | undefined;

  constructor(
    readonly ssrc: number,
    private readonly now: () => number,
    private readonly clockRate = 8000,
  ) {
    this.lastTs = Math.floor(Math.random() * 0x100000000);
  }

  /** The stream's timestamp for "now" (continuing the last audio packet sent). */
  timeline(): number {
    if (this.lastAt === undefined) return this.lastTs;
    return (this.lastTs + Math.round(((this.now() - this.lastAt) * this.clockRate) / 1000)) >>> 0;
  }

  /** Rewrite an audio packet from `source` in place (header of `raw`). */
  audio(raw: Buffer, source: string | number): void {
    const inTs = raw.readUInt32BE(4);
    if (source !== this.source) {
      this.tsOffset = (this.timeline() - inTs) >>> 0;
      this.source = source;
      raw[1] = raw[1]! | 0x80; // marker: a new talkspurt as far as the receiver knows
    }
    const ts = (inTs + this.tsOffset) >>> 0;
    this.write(raw, ts);
    this.lastTs = ts;
    this.lastAt = this.now();
  }

  /** Rewrite a telephone-event packet of a key press that began at timeline `eventTs`. */
  event(raw: Buffer, eventTs: number): void {
    this.write(raw, eventTs);
  }

  private write(raw: Buffer, ts: number): void {
    raw.writeUInt16BE(this.seq, 2);
    this.seq = (this.seq + 1) & 0xffff;
    raw.writeUInt32BE(ts, 4);
    raw.writeUInt32BE(this.ssrc, 8);
  }
}
