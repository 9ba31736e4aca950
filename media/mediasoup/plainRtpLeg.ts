/**
 * A plain RTP/AVP leg: a carrier trunk (the caller) or a SIP desk phone (an agent). The party talks
 * to an RtpRelay socket on the call's RTP thread; the relay talks to this leg's mediasoup
 * PlainTransport on loopback (or straight to a bridged plain leg's relay). This object is the
 * leg's signalling side on the main thread: SDP, the mediasoup transport and Producer, and what it
 * tells the thread's PlainLegMedia (negotiated law and payload types, hold, prompts, recording).
 */
import type { PlainTransport } from 'mediasoup/types';
import { G711_PAYLOAD_TYPE, type G711Law } from '../audio/g711.ts';
import { MediaLeg, type LegContext, type LegRecording, type LegRole, type Playback } from './leg.ts';
import { countRelay } from './metrics.ts';
import type { PlayEnd, PromptAudio } from '../audio/player.ts';
import { digitToEvent } from '../rtp/rfc4733.ts';
import { randomSsrc } from '../rtp/rtp.ts';
import type { RtpThread } from '../rtp/rtpThreadPool.ts';
import {
  answerDirection,
  buildRtpDescription,
  chooseLaw,
  newOrigin,
  parseRtpDescription,
  SdpError,
  TELEPHONE_EVENT_PT,
  type Direction,
  type RtpMediaDescription,
} from './sdp.ts';

let playSeq = 0;

export class PlainRtpLeg extends MediaLeg {
  readonly kind = 'rtp';
  /** The relay on the leg's RTP thread sees both directions' packets. */
  override readonly recordable = true;
  readonly origin = newOrigin();
  remote: RtpMediaDescription | undefined;
  /** Our payload type for the law and telephone-event, as negotiated with the remote. */
  payloadType: number | undefined;
  telephoneEvent: number | undefined;
  direction: Direction = 'sendrecv';
  /** Whether in-band detection runs (see MediaNetwork.inbandDtmf); off once events arrive. */
  private inband = false;

  private constructor(
    id: string,
    ctx: LegContext,
    readonly role: LegRole,
    readonly transport: PlainTransport,
    private readonly thread: RtpThread,
    /** The far-end-facing RTP port (RTCP is the next one). */
    readonly port: number,
    /** The SSRC the relay gives the party's stream, whatever the party uses. */
    private readonly ssrc: number,
  ) {
    super(id, ctx);
  }

  static async create(id: string, ctx: LegContext, role: LegRole): Promise<PlainRtpLeg> {
    const net = ctx.network;
    const thread = ctx.rtpThread;
    const ssrc = randomSsrc();
    const { port, innerPort } = await thread.request({
      op: 'open',
      leg: id,
      ip: net.listenIp,
      range: net.rtpPorts,
      comedia: net.comedia,
      ssrc,
    });
    let leg: PlainRtpLeg | undefined;
    try {
      const transport = await ctx.router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: net.rtcPorts },
        rtcpMux: true,
        comedia: false,
      });
      await transport.connect({ ip: '127.0.0.1', port: innerPort });
      await thread.request({ op: 'inner', leg: id, ip: '127.0.0.1', port: transport.tuple.localPort });
      leg = new PlainRtpLeg(id, ctx, role, transport, thread, port, ssrc);
      thread.listen(id, (e) => {
        if (e.event === 'dtmf') ctx.dtmf(leg!, e.digit, e.source);
        else ctx.rtpTimedOut(leg!);
      });
      return leg;
    } catch (e) {
      void thread.request({ op: 'close', leg: id }).catch(() => undefined);
      throw e;
    }
  }

  private get address(): string {
    const n = this.ctx.network;
    if (n.announcedAddress) return n.announcedAddress;
    if (n.listenIp === '0.0.0.0' || n.listenIp === '::') throw new SdpError('listenIp is a wildcard: set announcedAddress');
    return n.listenIp;
  }

  /** Answer the party's offer. Throws CodecMismatch (488) if its laws do not include the call's. */
  async answer(offerSdp: string): Promise<string> {
    const offer = parseRtpDescription(offerSdp);
    const pick = chooseLaw(offer, this.ctx.law);
    await this.apply(offer, pick.law, pick.payloadType, offer.telephoneEvent);
    return buildRtpDescription({
      origin: this.origin,
      address: this.address,
      port: this.port,
      laws: [pick],
      ...(offer.telephoneEvent !== undefined ? { telephoneEvent: offer.telephoneEvent } : {}),
      rtcpMux: offer.rtcpMux,
      rtcpPort: this.port + 1,
      direction: answerDirection(offer.direction),
    });
  }

  /** Our offer (outbound call to a carrier or desk phone): the call's law, or both if not fixed. */
  offer(opts: { law?: G711Law } = {}): string {
    const law = opts.law ?? this.ctx.law;
    const laws = (law ? [law] : (['PCMU', 'PCMA'] as const)).map((l) => ({ law: l, payloadType: G711_PAYLOAD_TYPE[l] }));
    return buildRtpDescription({
      origin: this.origin,
      address: this.address,
      port: this.port,
      laws,
      telephoneEvent: TELEPHONE_EVENT_PT,
      rtcpMux: true,
      rtcpPort: this.port + 1,
    });
  }

  /** The party's answer to our offer. */
  async setAnswer(answerSdp: string): Promise<void> {
    const ans = parseRtpDescription(answerSdp);
    const pick = chooseLaw(ans, this.ctx.law);
    await this.apply(ans, pick.law, pick.payloadType, ans.telephoneEvent);
  }

  /** A re-INVITE (hold, new address): same law required. Returns our answer. */
  async update(offerSdp: string): Promise<string> {
    this.origin.version++;
    return this.answer(offerSdp);
  }

  /** Send a key to the party as RFC 4733 events; false if it did not negotiate them. */
  override sendDtmf(digit: string, durationMs = 160): boolean {
    if (this.telephoneEvent === undefined || digitToEvent(digit) === undefined || this.closed) return false;
    this.thread.request({ op: 'sendDtmf', leg: this.id, digit, durationMs }).catch(() => undefined);
    return true;
  }

  /** Play 8 kHz audio to the party from its RTP thread; mediasoup's stream is held back meanwhile. */
  override async play(prompts: readonly PromptAudio[], law: G711Law, loop: boolean): Promise<Playback> {
    const play = ++playSeq;
    for (const p of prompts) this.thread.ensurePrompt(p.key, p.samples);
    const leg = this.id;
    const done = (
      loop && prompts.length === 1
        ? this.thread.request({ op: 'hold', leg, play, key: prompts[0]!.key, law })
        : this.thread.request({ op: 'play', leg, play, keys: prompts.map((p) => p.key), law, loop })
    ).catch((): PlayEnd => 'stopped');
    return { done, stop: () => void this.thread.request({ op: 'stopPlay', play }).catch(() => undefined) };
  }

  /** Record this leg: the party on the left, what it hears on the right. */
  override async record(path: string): Promise<LegRecording> {
    await this.thread.request({ op: 'record', leg: this.id, path });
    const leg = this.id;
    const t = this.thread;
    return {
      pause: () => void t.request({ op: 'pauseRecording', leg }).catch(() => undefined),
      resume: () => void t.request({ op: 'resumeRecording', leg }).catch(() => undefined),
      stop: () => t.request({ op: 'stopRecording', leg }),
    };
  }

  /** Turn in-band key detection off (an explicit signal was seen) or on. */
  set inbandDtmf(on: boolean) {
    if (this.inband === on || this.closed) return;
    this.inband = on;
    void this.thread.request({ op: 'inband', leg: this.id, on }).catch(() => undefined);
  }

  get inbandDtmf(): boolean {
    return this.inband;
  }

  override explicitDtmfSeen(): void {
    this.inbandDtmf = false;
  }

  /**
   * Plain legs hearing a plain leg get its packets from relay to relay, not through mediasoup's
   * loopback round trip (what the party hears is the same: the splicer rewrites every packet
   * either way, keyed by the feed Consumer's SSRC as it would be). The mediasoup Consumers stay,
   * idle, so feeds keep one meaning; the worker gets the packets only while a browser leg consumes
   * them (a caller alone in the IVR or on hold costs no loopback send and worker receive per
   * packet). All of a call's plain legs share its RTP thread.
   */
  override reroute(legs: readonly MediaLeg[]): void {
    if (this.closed) return;
    const plain = legs.filter((l): l is PlainRtpLeg => l instanceof PlainRtpLeg && !l.closed);
    const hears = (l: MediaLeg, producerId: string) =>
      !l.closed && l.feed !== undefined && !l.feed.closed && l.feed.producerId === producerId;
    const pid = this.producer?.id;
    const targets = pid === undefined ? [] : plain.filter((l) => l !== this && hears(l, pid));
    const others = pid !== undefined && legs.some((l) => !(l instanceof PlainRtpLeg) && hears(l, pid));
    const from = plain.find((p) => p !== this && p.producer !== undefined && hears(this, p.producer.id));
    const source = from ? (this.feed?.rtpParameters.encodings?.[0]?.ssrc ?? 2 ** 32) : undefined;
    this.route(targets, others, source);
  }

  /** Tell the relay where this leg's packets go (see reroute). */
  private route(direct: PlainRtpLeg[], toInner: boolean, source: number | undefined): void {
    if (this.closed) return;
    void this.thread.request({ op: 'route', leg: this.id, direct: direct.map((l) => l.id), toInner, source }).catch(() => undefined);
  }

  override close(): void {
    if (this.closed) return;
    super.close();
    this.thread.forget(this.id);
    this.thread.request({ op: 'close', leg: this.id }).then(countRelay, () => undefined);
  }

  private async apply(desc: RtpMediaDescription, law: G711Law, pt: number, te: number | undefined): Promise<void> {
    if (this.law && this.law !== law) throw new SdpError(`leg is ${this.law}, cannot change to ${law}`);
    this.ctx.fixLaw(law);
    this.remote = desc;
    this.payloadType = pt;
    this.telephoneEvent = te;
    this.direction = desc.direction;
    const policy = this.ctx.network.inbandDtmf;
    this.inband = policy === 'always' || (policy === 'auto' && te === undefined);
    // Only a caller is watched for silence on the wire, and not while it holds us.
    const expectsRtp = this.role === 'caller' && desc.direction !== 'recvonly' && desc.direction !== 'inactive';
    await this.thread.request({
      op: 'negotiated',
      leg: this.id,
      remote: { address: desc.address, port: desc.port, rtcpAddress: desc.rtcpAddress, rtcpPort: desc.rtcpPort, rtcpMux: desc.rtcpMux },
      law,
      payloadType: pt,
      telephoneEvent: te,
      inbandDtmf: this.inband,
      wantsAudio: this.wantsAudio,
      rtpTimeoutMs: expectsRtp ? this.ctx.network.rtpTimeoutMs : 0,
    });
    if (!this.law) {
      this.law = law;
      this.producer = await this.transport.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: `audio/${law}`, clockRate: 8000, payloadType: G711_PAYLOAD_TYPE[law] }],
          encodings: [{ ssrc: this.ssrc }],
        },
      });
      // Route now that there is a Producer: a leg nobody hears yet (a caller in the IVR, on hold)
      // keeps its packets off the loopback to mediasoup (the relay starts with toInner on).
      this.ctx.feedChanged?.(this);
    }
  }

  /** False while the party has put us on hold (its SDP says sendonly/inactive, or c=0.0.0.0). */
  get wantsAudio(): boolean {
    return this.direction !== 'sendonly' && this.direction !== 'inactive' && this.remote?.address !== '0.0.0.0';
  }
}
