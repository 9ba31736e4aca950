/**
 * RTP fixed header (RFC 3550 §5.1) parse/build for the packets Node itself produces and consumes
 * (player, recorder, DTMF detection). mediasoup forwards everything else without Node seeing it.
 */

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

const RTP_HEADER_BYTES = 12;

/**
 * Where an RTP packet's payload starts (after CSRCs and any header extension), or -1 if `buf` is
 * not well-formed RTP version 2. The hot path reads payloads in place with this and rtpPayloadEnd,
 * without the object parseRtp builds.
 */
export function rtpPayloadStart(buf: Buffer): number {
  if (buf.length < RTP_HEADER_BYTES) return -1;
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return -1;
  const b1 = buf[1]!;
  // 72..76 would be RTCP SR/RR/SDES/BYE/APP sharing a muxed port (RFC 5761 §4).
  if (b1 >= 200 && b1 <= 204) return -1;
  let off = RTP_HEADER_BYTES + (b0 & 0x0f) * 4;
  if (b0 & 0x10) {
    if (off + 4 > buf.length) return -1;
    off += 4 + buf.readUInt16BE(off + 2) * 4;
  }
  return off > rtpPayloadEnd(buf) ? -1 : off;
}

/** Where an RTP packet's payload ends (before any padding, RFC 3550 §5.1 P bit). */
export function rtpPayloadEnd(buf: Buffer): number {
  return buf[0]! & 0x20 ? buf.length - buf[buf.length - 1]! : buf.length;
}

/** Parse an RTP packet; returns undefined for anything that is not well-formed RTP version 2. */
export function parseRtp(buf: Buffer): RtpPacket | undefined {
  const off = rtpPayloadStart(buf);
  if (off < 0) return undefined;
  const b1 = buf[1]!;
  return {
    payloadType: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(off, rtpPayloadEnd(buf)),
  };
}

/** Build a header-only-plus-payload RTP packet (no CSRCs, no extensions, no padding). */
export function buildRtp(p: Omit<RtpPacket, 'payload'> & { payload: Uint8Array }): Buffer {
  const buf = Buffer.allocUnsafe(RTP_HEADER_BYTES + p.payload.length);
  buf[0] = 0x80;
  buf[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  buf.writeUInt16BE(p.sequenceNumber & 0xffff, 2);
  buf.writeUInt32BE(p.timestamp >>> 0, 4);
  buf.writeUInt32BE(p.ssrc >>> 0, 8);
  buf.set(p.payload, RTP_HEADER_BYTES);
  return buf;
}

/** Signed distance b - a between two 32-bit RTP timestamps, wrap-around aware. */
export function timestampDiff(a: number, b: number): number {
  return (b - a) | 0;
}

/** Signed distance b - a between two 16-bit sequence numbers (RFC 1982 serial arithmetic). */
export function sequenceDiff(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

export function randomSsrc(): number {
  return (Math.random() * 0xffffffff) >>> 0;
}
