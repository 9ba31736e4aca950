/**
 * libpcap capture files holding RTP over UDP/IPv4: writing them (sipp's play_pcap_audio sends the
 * RTP of a capture file, so a generated tone becomes a caller's voice) and reading them (a tcpdump
 * capture of what a peer received becomes samples to check by tone detection).
 *
 * Format: a 24-byte global header, then per packet a 16-byte record header and the frame. We write
 * and read Ethernet (LINKTYPE_ETHERNET, what tcpdump gives on Linux loopback) and Linux cooked
 * captures (LINKTYPE_LINUX_SLL, what `-i any` gives).
 */
import { buildRtp, parseRtp, randomSsrc, type RtpPacket } from '../rtp/rtp.ts';
import { encodeG711, G711_PAYLOAD_TYPE, type G711Law } from './g711.ts';

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;

interface UdpDatagram {
  /** Capture time, ms. */
  at: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  payload: Buffer;
}

function ip4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** UDP/IPv4 datagrams in a capture; anything else (ARP, IPv6, TCP, truncated) is skipped. */
export function readPcapUdp(file: Buffer): UdpDatagram[] {
  if (file.length < 24) return [];
  const magicLE = file.readUInt32LE(0);
  const le = magicLE === MAGIC_US || magicLE === MAGIC_NS;
  const magic = le ? magicLE : file.readUInt32BE(0);
  if (magic !== MAGIC_US && magic !== MAGIC_NS) throw new Error('not a pcap file');
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const nano = magic === MAGIC_NS;
  const linkType = u32(20);
  const out: UdpDatagram[] = [];
  for (let o = 24; o + 16 <= file.length;) {
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    const frame = o + 16;
    o = frame + incl;
    if (o > file.length) break;
    let ipAt: number;
    if (linkType === LINKTYPE_ETHERNET) {
      if (file.readUInt16BE(frame + 12) !== 0x0800) continue;
      ipAt = frame + 14;
    } else if (linkType === LINKTYPE_LINUX_SLL) {
      if (file.readUInt16BE(frame + 14) !== 0x0800) continue;
      ipAt = frame + 16;
    } else continue;
    const ihl = ((file[ipAt] ?? 0) & 0x0f) * 4;
    if ((file[ipAt] ?? 0) >> 4 !== 4 || file[ipAt + 9] !== 17) continue;
    const udpAt = ipAt + ihl;
    const udpLen = file.readUInt16BE(udpAt + 4);
    const end = Math.min(udpAt + udpLen, o);
    out.push({
      at: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3),
      srcIp: ip4(file, ipAt + 12),
      dstIp: ip4(file, ipAt + 16),
      srcPort: file.readUInt16BE(udpAt),
      dstPort: file.readUInt16BE(udpAt + 2),
      payload: file.subarray(udpAt + 8, end),
    });
  }
  return out;
}

/** RTP packets sent to a port, in sequence order (for audio checks of what a peer heard). */
export function rtpFromPcap(file: Buffer, dstPort: number): RtpPacket[] {
  const pkts: RtpPacket[] = [];
  for (const d of readPcapUdp(file)) {
    if (d.dstPort !== dstPort) continue;
    const p = parseRtp(d.payload);
    if (p) pkts.push(p);
  }
  return pkts;
}

function ipChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** A capture file of UDP datagrams on Ethernet, 127.0.0.1 → 127.0.0.1, one every `intervalMs`. */
function writePcapUdp(payloads: Buffer[], opts: { srcPort: number; dstPort: number; intervalMs: number }): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(MAGIC_US, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [global];
  payloads.forEach((payload, i) => {
    const t = i * opts.intervalMs;
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + payload.length, 2);
    ip[8] = 64;
    ip[9] = 17;
    Buffer.from([127, 0, 0, 1]).copy(ip, 12);
    Buffer.from([127, 0, 0, 1]).copy(ip, 16);
    ip.writeUInt16BE(ipChecksum(ip), 10);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(opts.srcPort, 0);
    udp.writeUInt16BE(opts.dstPort, 2);
    udp.writeUInt16BE(8 + payload.length, 4);
    const rec = Buffer.alloc(16);
    const len = 14 + 20 + 8 + payload.length;
    rec.writeUInt32LE(Math.floor(t / 1000), 0);
    rec.writeUInt32LE(Math.round((t % 1000) * 1000), 4);
    rec.writeUInt32LE(len, 8);
    rec.writeUInt32LE(len, 12);
    parts.push(rec, eth, ip, udp, payload);
  });
  return Buffer.concat(parts);
}

/** 8 kHz samples as a G.711 RTP stream in 20 ms packets, as a capture file sipp can play. */
export function g711Pcap(pcm: Int16Array, law: G711Law): Buffer {
  const ssrc = randomSsrc();
  const payloads: Buffer[] = [];
  for (let i = 0, n = 0; i + 160 <= pcm.length; i += 160, n++) {
    payloads.push(
      buildRtp({
        marker: n === 0,
        payloadType: G711_PAYLOAD_TYPE[law],
        sequenceNumber: n & 0xffff,
        timestamp: (n * 160) >>> 0,
        ssrc,
        payload: encodeG711(law, pcm.subarray(i, i + 160)),
      }),
    );
  }
  return writePcapUdp(payloads, { srcPort: 30000, dstPort: 30002, intervalMs: 20 });
}
