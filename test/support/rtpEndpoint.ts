/**
 * A real RTP endpoint for signalling tests whose SDP would otherwise point at a port nobody
 * listens on: it binds the port the test's SDP offers and keeps the G.711 µ-law audio a peer sends
 * there, so a test can check a tone with Goertzel.
 */
import dgram from 'node:dgram';
import { parseRtp } from '../../media/rtp/rtp.ts';
import { decodeG711 } from './audio.ts';

export interface RtpEndpoint {
  readonly port: number;
  /** Packets of payload type 0 (PCMU) received so far. */
  packets(): number;
  /** Where the peer's RTP came from (its media address), once a packet has arrived. */
  source(): { address: string; port: number } | undefined;
  /** The received PCMU audio, decoded, in arrival order. */
  heard(): Int16Array;
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
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}
