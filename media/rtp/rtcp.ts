/**
 * RTCP (RFC 3550 §6) towards a plain-RTP party, written by the relay itself. The relay rewrites
 * SSRCs in both directions, so mediasoup's own reports would describe streams the party never sees;
 * instead the relay sends its own compound SR/RR + SDES every few seconds, describing the stream
 * the party actually receives (RtpSplicer) and the one it sends (ReceptionStats).
 */

/** Reception statistics of the party's stream (RFC 3550 Appendix A.1/A.3). */
export class ReceptionStats {
  ssrc: number | undefined;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  /** Middle 32 bits of the NTP time of the party's last SR, and when (ms) it arrived. */
  private lsr = 0;
  private lsrAt = 0;

  packet(ssrc: number, seq: number): void {
    if (ssrc !== this.ssrc) {
      this.ssrc = ssrc;
      this.baseSeq = seq;
      this.maxSeq = seq;
      this.cycles = 0;
      this.received = 0;
      this.expectedPrior = 0;
      this.receivedPrior = 0;
    }
    const delta = (seq - this.maxSeq) & 0xffff;
    if (delta > 0 && delta < 0x8000) {
      if (seq < this.maxSeq) this.cycles += 0x10000;
      this.maxSeq = seq;
    }
    this.received++;
  }

  senderReport(buf: Buffer, nowMs: number): void {
    if (buf.length >= 20) {
      this.lsr = (((buf.readUInt32BE(8) & 0xffff) << 16) | (buf.readUInt32BE(12) >>> 16)) >>> 0;
      this.lsrAt = nowMs;
    }
  }

  /** A 24-byte report block, advancing the "since last report" counters. */
  reportBlock(nowMs: number): Buffer | undefined {
    if (this.ssrc === undefined) return undefined;
    const extMax = this.cycles + this.maxSeq;
    const expected = extMax - this.baseSeq + 1;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, expected - this.received));
    const expInt = expected - this.expectedPrior;
    const recInt = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInt = expInt - recInt;
    const fraction = expInt <= 0 || lostInt <= 0 ? 0 : Math.min(255, Math.floor((lostInt << 8) / expInt));
    const b = Buffer.alloc(24);
    b.writeUInt32BE(this.ssrc, 0);
    b.writeUInt32BE(((fraction << 24) | (lost & 0xffffff)) >>> 0, 4);
    b.writeUInt32BE(extMax >>> 0, 8);
    b.writeUInt32BE(0, 12); // interarrival jitter: not computed (needs per-packet arrival clock)
    b.writeUInt32BE(this.lsr, 16);
    b.writeUInt32BE(this.lsr ? Math.round(((nowMs - this.lsrAt) / 1000) * 65536) >>> 0 : 0, 20);
    return b;
  }
}

interface SenderInfo {
  ssrc: number;
  /** RTP timestamp corresponding to `nowMs`. */
  rtpTimestamp: number;
  packets: number;
  octets: number;
}

const NTP_EPOCH_OFFSET = 2208988800; // seconds from 1900 to 1970

/** A compound RTCP packet: SR (if we sent anything) or RR, then SDES with our CNAME. */
export function buildCompoundRtcp(p: { ssrc: number; cname: string; nowMs: number; sender?: SenderInfo; block?: Buffer }): Buffer {
  const blocks = p.block ? [p.block] : [];
  let first: Buffer;
  if (p.sender) {
    first = Buffer.alloc(28 + 24 * blocks.length);
    first[0] = 0x80 | blocks.length;
    first[1] = 200;
    const secs = Math.floor(p.nowMs / 1000) + NTP_EPOCH_OFFSET;
    const frac = Math.floor(((p.nowMs % 1000) / 1000) * 0x100000000);
    first.writeUInt32BE(p.ssrc >>> 0, 4);
    first.writeUInt32BE(secs >>> 0, 8);
    first.writeUInt32BE(frac >>> 0, 12);
    first.writeUInt32BE(p.sender.rtpTimestamp >>> 0, 16);
    first.writeUInt32BE(p.sender.packets >>> 0, 20);
    first.writeUInt32BE(p.sender.octets >>> 0, 24);
    blocks.forEach((b, i) => b.copy(first, 28 + 24 * i));
  } else {
    first = Buffer.alloc(8 + 24 * blocks.length);
    first[0] = 0x80 | blocks.length;
    first[1] = 201;
    first.writeUInt32BE(p.ssrc >>> 0, 4);
    blocks.forEach((b, i) => b.copy(first, 8 + 24 * i));
  }
  first.writeUInt16BE(first.length / 4 - 1, 2);
  const cname = Buffer.from(p.cname, 'utf8').subarray(0, 255);
  const itemLen = 2 + cname.length + 1; // CNAME item + END
  const chunkLen = 4 + Math.ceil(itemLen / 4) * 4;
  const sdes = Buffer.alloc(4 + chunkLen);
  sdes[0] = 0x81;
  sdes[1] = 202;
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  sdes.writeUInt32BE(p.ssrc >>> 0, 4);
  sdes[8] = 1;
  sdes[9] = cname.length;
  cname.copy(sdes, 10);
  return Buffer.concat([first, sdes]);
}
