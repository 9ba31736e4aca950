/** Read the RTP packets out of a classic libpcap file (Ethernet/Linux-cooked/raw IPv4, UDP). */
import { readFileSync } from 'node:fs';
import { parseRtp, type RtpPacket } from '../../../media/rtp/rtp.ts';

export function readPcapRtp(path: string): RtpPacket[] {
  const b = readFileSync(path);
  const link = b.readUInt32LE(20);
  const l2 = link === 1 ? 14 : link === 113 ? 16 : 0;
  const out: RtpPacket[] = [];
  for (let off = 24; off + 16 <= b.length;) {
    const incl = b.readUInt32LE(off + 8);
    const pkt = b.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    const ihl = (pkt[l2]! & 15) * 4;
    const p = parseRtp(Buffer.from(pkt.subarray(l2 + ihl + 8)));
    if (p) out.push(p);
  }
  return out;
}
