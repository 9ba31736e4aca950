/**
 * A browser (WebRTC) leg's way into its call's mix. The mix runs on the call's RTP thread
 * (media/rtp/rtpMix.ts) and takes the parties' audio from plain legs' relays, which a browser leg
 * has not got: its packets live in mediasoup. A tap gives it one, on loopback:
 *
 *   browser ─SRTP─▶ WebRtcTransport ─Producer─▶ tap PlainTransport (127.0.0.1) ─RTP─▶ relay (RTP thread) ─▶ mix input
 *   browser ◀─SRTP─ WebRtcTransport ◀─Consumer─ tap Producer ◀─RTP─ relay ◀─ mix output for this leg
 *
 * On the thread the tap is an ordinary plain leg whose "far end" is the tap's PlainTransport
 * (opened and negotiated with the same requests as PlainRtpLeg), so the mix treats it like a desk
 * phone. The call's one G.711 law is used both ways, with its static payload type; no key presses
 * (the browser's come as SIP INFO) and no RTP timeout (consent freshness watches the browser).
 *
 * The mix (mix.ts) opens a tap when a browser leg joins it and closes it when the leg leaves, the
 * mix ends or the leg closes; the leg hears the tap's Producer meanwhile.
 */
import type { Consumer, PlainTransport, Producer } from 'mediasoup/types';
import { G711_PAYLOAD_TYPE, type G711Law } from '../audio/g711.ts';
import { randomSsrc } from '../rtp/rtp.ts';
import type { LegContext, MediaLeg } from './leg.ts';

export class MixTap {
  closed = false;

  private constructor(
    /** The tap's name on the RTP thread (what the mix's hear matrix calls the browser leg). */
    readonly id: string,
    private readonly ctx: LegContext,
    private readonly transport: PlainTransport,
    /** Carries what the browser says to the thread. */
    private readonly consumer: Consumer,
    /** Carries what the thread's mix sends the browser: the leg hears this while in the mix. */
    readonly producer: Producer,
  ) {}

  static async open(leg: MediaLeg, ctx: LegContext, law: G711Law): Promise<MixTap> {
    if (!leg.producer || leg.producer.closed) throw new Error(`mix: ${leg.id} has not negotiated media`);
    const id = `${leg.id}/tap`;
    const thread = ctx.rtpThread;
    const net = ctx.network;
    const { port, ssrc } = await thread.request({
      op: 'open',
      leg: id,
      ip: '127.0.0.1',
      range: net.rtpPorts,
      comedia: false,
      ssrc: randomSsrc(),
    });
    let transport: PlainTransport | undefined;
    try {
      transport = await ctx.router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: net.rtcPorts },
        rtcpMux: true,
        comedia: false,
      });
      await transport.connect({ ip: '127.0.0.1', port });
      const here = transport.tuple.localPort;
      const payloadType = G711_PAYLOAD_TYPE[law];
      await thread.request({
        op: 'negotiated',
        leg: id,
        remote: { address: '127.0.0.1', port: here, rtcpAddress: '127.0.0.1', rtcpPort: here, rtcpMux: true },
        law,
        payloadType,
        telephoneEvent: undefined,
        inbandDtmf: false,
        wantsAudio: true,
        rtpTimeoutMs: 0,
      });
      const codecs = (ctx.router.rtpCapabilities.codecs ?? []).filter((c) => c.mimeType === `audio/${law}`);
      const consumer = await transport.consume({ producerId: leg.producer.id, rtpCapabilities: { codecs, headerExtensions: [] } });
      const producer = await transport.produce({
        kind: 'audio',
        rtpParameters: { codecs: [{ mimeType: `audio/${law}`, clockRate: 8000, payloadType }], encodings: [{ ssrc }] },
      });
      return new MixTap(id, ctx, transport, consumer, producer);
    } catch (e) {
      transport?.close();
      void thread.request({ op: 'close', leg: id }).catch(() => undefined);
      throw e;
    }
  }

  /** Whether the tap still carries the leg's current Producer (a closed one ends it). */
  get live(): boolean {
    return !this.closed && !this.consumer.closed && !this.producer.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
    void this.ctx.rtpThread.request({ op: 'close', leg: this.id }).catch(() => undefined);
  }
}
