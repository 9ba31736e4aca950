/**
 * A plain RTP/AVP leg: a carrier trunk (the caller) or a SIP desk phone (an agent). The party talks
 * to our RtpRelay socket; the relay talks to this leg's mediasoup PlainTransport on loopback.
 */
import type { PlainTransport } from 'mediasoup/types';
import { decodeG711, G711_PAYLOAD_TYPE, type G711Law } from './g711.ts';
import { DtmfDetector } from './dtmfDetector.ts';
import { MediaLeg, type LegContext, type LegRole } from './leg.ts';
import { TelephoneEventReceiver, buildTelephoneEvent, digitToEvent } from './rfc4733.ts';
import { buildRtp, parseRtp, randomSsrc, type RtpPacket } from './rtp.ts';
import { countRelay } from './metrics.ts';
import { RtpRelay } from './rtpRelay.ts';
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

export type PlainRole = LegRole;

/** Decoding scratch for the in-band detector (the main thread handles one packet at a time). */
let scratch = new Int16Array(160);

/** Taps on the audio passing a plain leg (recorder, in-band DTMF, player). */
export interface PlainLegTap {
  heard?(p: RtpPacket, law: G711Law): void; // towards the party
  said?(p: RtpPacket, law: G711Law): void; // from the party
}

export class PlainRtpLeg extends MediaLeg {
  readonly kind = 'rtp';
  readonly origin = newOrigin();
  remote: RtpMediaDescription | undefined;
  /** Our payload type for the law and telephone-event, as negotiated with the remote. */
  payloadType: number | undefined;
  telephoneEvent: number | undefined;
  direction: Direction = 'sendrecv';
  /** While Node plays into this leg, mediasoup's stream towards the party is held back. */
  playing = 0;
  tap: PlainLegTap = {};
  /** Whether in-band detection runs (see MediaNetwork.inbandDtmf); off once events arrive. */
  inbandDtmf = false;
  private remoteSince = 0;
  private readonly events: TelephoneEventReceiver;
  private detector: DtmfDetector | undefined;

  private constructor(
    id: string,
    ctx: LegContext,
    readonly role: PlainRole,
    readonly transport: PlainTransport,
    readonly relay: RtpRelay,
    /** The SSRC the relay gives the party's stream, whatever the party uses. */
    private readonly ssrc: number,
  ) {
    super(id, ctx);
    this.events = new TelephoneEventReceiver((d) => ctx.dtmf(this, d, 'rfc4733'));
  }

  static async create(id: string, ctx: LegContext, role: PlainRole): Promise<PlainRtpLeg> {
    const net = ctx.network;
    let leg: PlainRtpLeg | undefined;
    const ssrc = randomSsrc();
    const relay = await RtpRelay.open({
      ip: net.listenIp,
      range: net.rtpPorts,
      comedia: net.comedia,
      ssrc,
      clock: ctx.clock,
      hooks: { inbound: (raw) => leg?.fromParty(raw) ?? false, outbound: (raw) => leg?.toParty(raw) ?? false },
    });
    try {
      const transport = await ctx.router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: net.rtcPorts },
        rtcpMux: true,
        comedia: false,
      });
      await transport.connect({ ip: '127.0.0.1', port: relay.innerPort });
      await relay.setInner('127.0.0.1', transport.tuple.localPort);
      leg = new PlainRtpLeg(id, ctx, role, transport, relay, ssrc);
      return leg;
    } catch (e) {
      relay.close();
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
      port: this.relay.port,
      laws: [pick],
      ...(offer.telephoneEvent !== undefined ? { telephoneEvent: offer.telephoneEvent } : {}),
      rtcpMux: offer.rtcpMux,
      rtcpPort: this.relay.rtcpPort,
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
      port: this.relay.port,
      laws,
      telephoneEvent: TELEPHONE_EVENT_PT,
      rtcpMux: true,
      rtcpPort: this.relay.rtcpPort,
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

  /**
   * Send a key to the party as RFC 4733 events (false if it did not negotiate them): one packet
   * per 20 ms while the key is "held", the last with the E bit, sent three times (§2.5.1.4).
   */
  sendDtmf(digit: string, durationMs = 160): boolean {
    const ev = digitToEvent(digit);
    const pt = this.telephoneEvent;
    if (ev === undefined || pt === undefined) return false;
    const ts = this.relay.timeline(); // events share the audio's timestamp clock (RFC 4733 §2.3)
    const steps = Math.max(1, Math.round(durationMs / 20));
    let i = 1;
    const next = () => {
      if (this.closed) return;
      const end = i >= steps;
      this.relay.sendEventToRemote(
        buildRtp({
          payloadType: pt,
          marker: i === 1,
          sequenceNumber: 0, // the splicer numbers and stamps it
          timestamp: ts,
          ssrc: 0,
          payload: buildTelephoneEvent({ event: ev, end, volume: 10, duration: Math.min(i, steps) * 160 }),
        }),
        ts,
      );
      if (++i <= steps + 2) this.ctx.clock.setTimeout(next, i > steps ? 0 : 20);
    };
    next();
    return true;
  }

  override close(): void {
    if (this.closed) return;
    super.close();
    this.relay.close();
    countRelay(this.relay.stats);
  }

  private async apply(desc: RtpMediaDescription, law: G711Law, pt: number, te: number | undefined): Promise<void> {
    if (this.law && this.law !== law) throw new SdpError(`leg is ${this.law}, cannot change to ${law}`);
    this.ctx.fixLaw(law);
    this.remote = desc;
    this.payloadType = pt;
    this.telephoneEvent = te;
    this.direction = desc.direction;
    this.remoteSince = this.ctx.clock.now();
    this.relay.setRemote(desc);
    const policy = this.ctx.network.inbandDtmf;
    this.inbandDtmf = policy === 'always' || (policy === 'auto' && te === undefined);
    if (!this.law) {
      this.law = law;
      this.producer = await this.transport.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: `audio/${law}`, clockRate: 8000, payloadType: G711_PAYLOAD_TYPE[law] }],
          encodings: [{ ssrc: this.ssrc }],
        },
      });
    }
  }

  /** Relay hook: a packet from the party. */
  private fromParty(raw: Buffer): boolean {
    const pt = raw[1]! & 0x7f;
    if (pt === this.telephoneEvent && this.telephoneEvent !== undefined) {
      const p = parseRtp(raw);
      if (p) this.events.receive(p.ssrc, p.timestamp, p.payload);
      return false;
    }
    if (pt !== this.payloadType || !this.law) return false; // CN, unknown
    // Parsing is skipped when nothing looks at the audio (most packets of most calls).
    if (!this.tap.said && !this.inbandDtmf) return this.mapPt(raw);
    const p = parseRtp(raw);
    if (!p) return false;
    this.tap.said?.(p, this.law);
    if (this.inbandDtmf) {
      this.detector ??= new DtmfDetector((d) => this.ctx.dtmf(this, d.digit, 'inband'));
      // The detector copies what it is given: one scratch array serves every leg.
      const n = p.payload.length;
      if (scratch.length < n) scratch = new Int16Array(n);
      this.detector.process(decodeG711(this.law, p.payload, scratch.length === n ? scratch : scratch.subarray(0, n)));
    }
    return this.mapPt(raw);
  }

  /** mediasoup knows the law by its static payload type; a remote using a dynamic one is mapped. */
  private mapPt(raw: Buffer): boolean {
    const pt = G711_PAYLOAD_TYPE[this.law!];
    if (this.payloadType !== pt) raw[1] = (raw[1]! & 0x80) | pt;
    return true;
  }

  /** Relay hook: a packet from mediasoup towards the party. */
  private toParty(raw: Buffer): boolean {
    if (this.playing > 0 || !this.law || !this.wantsAudio) return false;
    if (this.tap.heard) {
      const p = parseRtp(raw);
      if (p) this.tap.heard(p, this.law);
    }
    return true;
  }

  /** When the party last sent RTP (or, before any, when its SDP arrived). */
  lastHeardAt(): number {
    return Math.max(this.relay.lastInboundAt, this.remoteSince);
  }

  /** False while the party has put us on hold (its SDP says sendonly/inactive, or c=0.0.0.0). */
  get wantsAudio(): boolean {
    return this.direction !== 'sendonly' && this.direction !== 'inactive' && this.remote?.address !== '0.0.0.0';
  }

  /** Send a packet built in Node (prompt) to the party. */
  sendFromNode(packet: Buffer, p: RtpPacket): void {
    if (!this.wantsAudio) return;
    if (this.law) this.tap.heard?.(p, this.law);
    this.relay.sendToRemote(packet);
  }
}
