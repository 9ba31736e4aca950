/**
 * A real RTP endpoint for signalling tests whose SDP would otherwise point at a port nobody
 * listens on: it binds the port the test's SDP offers, keeps the G.711 µ-law audio a peer sends
 * there (so a test can check a tone with Goertzel), and can send a tone to the peer.
 */
import dgram from 'node:dgram';
import { buildRtp, parseRtp } from '../../media/rtp.ts';
import { decodeG711, encodeG711, tone } from './audio.ts';

export interface RtpEndpoint {
  readonly port: number;
  /** Packets of payload type 0 (PCMU) received so far. */
  packets(): number;
  /** Where the peer's RTP came from (its media address), once a packet has arrived. */
  source(): { address: string; port: number } | undefined;
  /** The received PCMU audio, decoded, in arrival order. */
  heard(): Int16Array;
  /** Send `ms` of a `freq` Hz tone as 20 ms PCMU packets, paced in real time, to host:port. */
  sendTone(host: string, port: number, freq: number, ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function openRtpEndpoint(port: number, host = '127.0.0.1'): Promise<RtpEndpoint> {
  const sock = dgram.createSocket('udp4');
  const payloads: Buffer[] = [];
  let from: { address: string; port: number } | undefined;
  sock.on('message', (msg, rinfo) => {
    const p = parseRtp(msg);
    if (!p || p.payloadType !== 0) return;
    from ??= { address: rinfo.address, port: rinfo.port };
    payloads.push(Buffer.from(p.payload));
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return {
    port,
    packets: () => payloads.length,
    source: () => from,
    heard: () => decodeG711('PCMU', Buffer.concat(payloads)),
    async sendTone(toHost, toPort, freq, ms) {
      const pcmu = encodeG711('PCMU', tone(freq, ms, { amp: 6000 }));
      const ssrc = 0x5eed1234;
      const start = Date.now();
      for (let i = 0, seq = 0; i + 160 <= pcmu.length; i += 160, seq++) {
        const pkt = buildRtp({ payloadType: 0, marker: seq === 0, sequenceNumber: seq, timestamp: i, ssrc, payload: pcmu.subarray(i, i + 160) });
        await new Promise<void>((r) => sock.send(pkt, toPort, toHost, () => r()));
        // Real-time pacing: a jitter buffer drops audio that arrives in one burst.
        const due = start + (seq + 1) * 20;
        await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      }
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}
