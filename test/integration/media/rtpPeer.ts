/**
 * A minimal RTP endpoint for integration tests (a stand-in for a carrier or desk phone): sends
 * G.711 audio paced at 20 ms from a UDP socket on 127.0.0.1, RFC 4733 events on request, and keeps
 * what it receives.
 */
import dgram from 'node:dgram';
import { decodeG711, encodeG711, G711_PAYLOAD_TYPE, type G711Law } from '../../../media/audio/g711.ts';
import { buildTelephoneEvent, digitToEvent } from '../../../media/rtp/rfc4733.ts';
import { buildRtp, parseRtp, type RtpPacket } from '../../../media/rtp/rtp.ts';

export class RtpPeer {
  readonly received: RtpPacket[] = [];
  readonly sources = new Set<string>();
  private seq = 1;
  private ts = 1000;
  private readonly ssrc = (Math.random() * 0xffffffff) >>> 0;
  private timer: NodeJS.Timeout | undefined;
  private streamEnded: (() => void) | undefined;
  private target: { ip: string; port: number } | undefined;

  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (m, from) => {
      this.sources.add(`${from.address}:${from.port}`);
      const p = parseRtp(m);
      if (p) this.received.push(p);
    });
  }

  static async open(): Promise<RtpPeer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    return new RtpPeer(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /**
   * A plain SIP-style offer/answer body for this peer. `payloadTypes` gives a law a payload type
   * other than its static one (dynamic, with its rtpmap).
   */
  sdp(
    laws: G711Law[],
    opts: { te?: number; rtcpMux?: boolean; port?: number; payloadTypes?: Partial<Record<G711Law, number>> } = {},
  ): string {
    const ptOf = (l: G711Law) => opts.payloadTypes?.[l] ?? G711_PAYLOAD_TYPE[l];
    const pts = [...laws.map(ptOf), ...(opts.te !== undefined ? [opts.te] : [])];
    return [
      'v=0',
      'o=peer 1 1 IN IP4 127.0.0.1',
      's=peer',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${opts.port ?? this.port} RTP/AVP ${pts.join(' ')}`,
      ...laws.map((l) => `a=rtpmap:${ptOf(l)} ${l}/8000`),
      ...(opts.te !== undefined ? [`a=rtpmap:${opts.te} telephone-event/8000`, `a=fmtp:${opts.te} 0-16`] : []),
      ...(opts.rtcpMux ? ['a=rtcp-mux'] : []),
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n');
  }

  sendTo(ip: string, port: number): void {
    this.target = { ip, port };
  }

  /**
   * Stream `samples` (8 kHz) as 20 ms packets, looping until stop(), or once (`once`). Resolves
   * when the stream ends: after its last packet, or at stop(). `payloadType` overrides the law's
   * static one (a peer that negotiated a dynamic payload type for it).
   */
  stream(law: G711Law, samples: Int16Array, opts: { once?: boolean; payloadType?: number } = {}): Promise<void> {
    this.stop();
    const bytes = encodeG711(law, samples);
    const frames = Math.floor(bytes.length / 160);
    const pt = opts.payloadType ?? G711_PAYLOAD_TYPE[law];
    let off = 0;
    const start = Date.now();
    let n = 0;
    const ended = new Promise<void>((r) => (this.streamEnded = r));
    const tick = () => {
      const due = Math.floor((Date.now() - start) / 20) + 1;
      while (n < due) {
        if (opts.once && n >= frames) return this.stop();
        if (off + 160 > bytes.length) off = 0;
        this.sendRaw(
          buildRtp({
            payloadType: pt,
            marker: n === 0,
            sequenceNumber: this.seq++,
            timestamp: this.ts,
            ssrc: this.ssrc,
            payload: bytes.subarray(off, off + 160),
          }),
        );
        this.ts += 160;
        off += 160;
        n++;
      }
      this.timer = setTimeout(tick, 20 - ((Date.now() - start) % 20));
    };
    tick();
    return ended;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ended = this.streamEnded;
    this.streamEnded = undefined;
    ended?.();
  }

  /** An RFC 4733 key press: 3 progress packets and 3 end packets, 20 ms apart (interleaved with audio). */
  async sendEvent(digit: string, pt: number): Promise<void> {
    const ev = digitToEvent(digit)!;
    const ts = this.ts;
    for (let i = 1; i <= 6; i++) {
      const end = i > 3;
      this.sendRaw(
        buildRtp({
          payloadType: pt,
          marker: i === 1,
          sequenceNumber: this.seq++,
          timestamp: ts,
          ssrc: this.ssrc,
          payload: buildTelephoneEvent({ event: ev, end, volume: 10, duration: Math.min(i, 3) * 160 }),
        }),
      );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  sendRaw(b: Buffer): void {
    if (this.target) this.socket.send(b, this.target.port, this.target.ip);
  }

  /** Decoded audio of the received packets of payload type `law`. */
  audio(law: G711Law): Int16Array {
    const pkts = this.received.filter((p) => p.payloadType === G711_PAYLOAD_TYPE[law]);
    return decodeG711(law, Buffer.concat(pkts.map((p) => p.payload)));
  }

  close(): void {
    this.stop();
    this.socket.close();
  }
}
