/**
 * An agent in a browser (sip.js's standard Web SessionDescriptionHandler, or any RTCPeerConnection):
 * a mediasoup WebRtcTransport (ICE-lite, DTLS-SRTP, rtcp-mux), with SDP written from and read
 * into mediasoup's parameters. Either side may offer: we offer when the server calls the agent,
 * the browser offers when the agent dials out.
 */
import type { DtlsRole, Producer, WebRtcTransport } from 'mediasoup/types';
import { log as rootLog } from '../../lib/log.ts';
import { G711_PAYLOAD_TYPE, type G711Law } from '../audio/g711.ts';
import { Player, type PromptAudio } from '../audio/player.ts';
import { randomSsrc } from '../rtp/rtp.ts';
import { MediaLeg, MID_EXTENSION_URI, type LegContext, type Playback } from './leg.ts';
import { buildWebRtcOffer, chooseLaw, newOrigin, parseWebRtcDescription, SdpError, type WebRtcRemoteDescription } from './sdp.ts';

const log = rootLog.child({ mod: 'media' });

export class WebRtcLeg extends MediaLeg {
  readonly kind = 'webrtc';
  readonly role = 'agent';
  readonly origin = newOrigin();
  private mid = '0';
  private connected = false;
  /**
   * Whether our stream carries the mid header extension. Only when we offer: as answerer we must
   * keep the browser's extension ids, and mediasoup's Consumer uses the Router's (mid = 1).
   */
  private midExtension = true;
  /**
   * Prompts play through the worker: a DirectTransport Producer becomes the feed while one plays.
   * `wanted` is what the call wants the browser to hear meanwhile (a bridge made during a prompt
   * updates it), restored when the prompt that is playing ends; `prompt` is that prompt.
   */
  private wanted: Producer | undefined;
  private prompt: Player | undefined;

  private constructor(
    id: string,
    ctx: LegContext,
    readonly transport: WebRtcTransport,
  ) {
    super(id, ctx);
  }

  static async create(id: string, ctx: LegContext, opts: { tcp?: boolean } = {}): Promise<WebRtcLeg> {
    const n = ctx.network;
    const info = (protocol: 'udp' | 'tcp') => ({
      protocol,
      ip: n.listenIp,
      ...(n.announcedAddress ? { announcedAddress: n.announcedAddress } : {}),
      portRange: n.rtcPorts,
    });
    const transport = await ctx.router.createWebRtcTransport({
      listenInfos: opts.tcp ? [info('udp'), info('tcp')] : [info('udp')],
      iceConsentTimeout: n.iceConsentTimeoutSec,
    });
    const leg = new WebRtcLeg(id, ctx, transport);
    // An agent whose browser vanished (tab closed, network gone) without a BYE.
    transport.on('icestatechange', (s) => {
      if (s === 'disconnected' && !leg.closed) ctx.legFailed(leg, 'ice-disconnected');
    });
    transport.on('dtlsstatechange', (s) => {
      if (s === 'failed' && !leg.closed) ctx.legFailed(leg, 'dtls-failed');
    });
    return leg;
  }

  override async hear(producer: Producer | undefined): Promise<void> {
    this.wanted = producer;
    if (!this.prompt) await this.setFeed(producer);
  }

  /** Play 8 kHz audio to the browser through the worker; the feed is restored when it ends. */
  override async play(prompts: readonly PromptAudio[], law: G711Law, loop: boolean): Promise<Playback> {
    const samples = prompts.length === 1 ? prompts[0]!.samples : concatSamples(prompts.map((p) => p.samples));
    const direct = await this.ctx.directTransport();
    const ssrc = randomSsrc();
    const producer = await direct.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: `audio/${law}`, clockRate: 8000, payloadType: G711_PAYLOAD_TYPE[law] }],
        encodings: [{ ssrc }],
      },
    });
    const player = new Player(samples, { clock: this.ctx.clock, law, ssrc, loop, send: (b) => !producer.closed && producer.send(b) });
    // A prompt replacing a prompt: the old one's end must not restore the feed under the new one.
    this.prompt?.stop();
    this.prompt = player;
    void player.done.then(async () => {
      producer.close();
      if (this.prompt !== player) return; // replaced by a newer prompt: it restores
      this.prompt = undefined;
      if (this.closed) return;
      await this.setFeed(this.wanted).catch((e: unknown) => log.warn({ leg: this.id, err: String(e) }, 'restore feed after prompt'));
    });
    await this.setFeed(producer);
    return { done: player.done, stop: () => player.stop() };
  }

  override close(): void {
    this.prompt?.stop();
    super.close();
  }

  protected override consumerMid(): string {
    return this.mid;
  }

  protected override capabilities() {
    const caps = super.capabilities();
    if (!this.midExtension) return caps;
    // The mid header extension lets the browser demultiplex our stream before it knows its SSRC
    // (we offer before the caller is bridged, and the SSRC changes if the feed changes).
    caps.headerExtensions = [{ kind: 'audio', uri: MID_EXTENSION_URI, preferredId: 1, direction: 'sendrecv' }];
    return caps;
  }

  /** The stream we send the browser (the current feed's SSRC and CNAME), if any. */
  private sendParams(): { ssrc: number; cname: string } | undefined {
    return this.feed
      ? { ssrc: this.feed.rtpParameters.encodings?.[0]?.ssrc ?? 0, cname: this.feed.rtpParameters.rtcp?.cname ?? 'callcentre' }
      : undefined;
  }

  /** Our SDP towards the browser (offer or answer), carrying the stream we send it, if any. */
  private description(law: G711Law, setup: 'actpass' | 'active' | 'passive', midExtension?: false): string {
    const send = this.sendParams();
    return buildWebRtcOffer({
      origin: this.origin,
      local: this.transport,
      law,
      mid: this.mid,
      ...(midExtension === false ? { midExtension } : {}),
      ...(send && send.ssrc ? { send } : {}),
      setup,
    });
  }

  /** Our offer to the browser, for the call's law (or `law`). */
  offer(opts: { law?: G711Law } = {}): string {
    const law = opts.law ?? this.ctx.law;
    if (!law) throw new SdpError('no law fixed for the call yet: pass { law }');
    return this.description(law, 'actpass');
  }

  /** The browser's answer to our offer. Throws CodecMismatch if it dropped the call's law. */
  async setAnswer(sdp: string): Promise<void> {
    const desc = parseWebRtcDescription(sdp);
    if (desc.setup === 'actpass') throw new SdpError('an answer must not say a=setup:actpass');
    await this.accept(desc, desc.setup === 'active' ? 'client' : 'server');
  }

  /** The browser offers (agent dials out): answer with ICE-lite, and we take the DTLS server role. */
  async answer(offerSdp: string): Promise<string> {
    const desc = parseWebRtcDescription(offerSdp);
    this.mid = desc.mid;
    this.midExtension = false;
    // actpass → we are passive (DTLS server), a common choice for ICE-lite servers.
    const remoteRole: DtlsRole = desc.setup === 'passive' ? 'server' : 'client';
    const law = chooseLaw(desc, this.ctx.law).law;
    await this.accept(desc, remoteRole);
    return this.description(law, remoteRole === 'client' ? 'passive' : 'active', false);
  }

  private async accept(desc: WebRtcRemoteDescription, remoteRole: DtlsRole): Promise<void> {
    const pick = chooseLaw(desc, this.ctx.law);
    this.ctx.fixLaw(pick.law);
    if (!this.connected) {
      this.connected = true;
      await this.transport.connect({
        dtlsParameters: {
          role: remoteRole,
          fingerprints: [{ algorithm: desc.fingerprint.algorithm as 'sha-256', value: desc.fingerprint.value }],
        },
      });
    }
    if (this.producer || desc.direction === 'recvonly' || desc.direction === 'inactive') {
      this.law = pick.law;
      return;
    }
    if (desc.ssrc === undefined && desc.midExtensionId === undefined)
      throw new SdpError('browser SDP has neither a=ssrc nor the mid extension');
    this.law = pick.law;
    this.producer = await this.transport.produce({
      kind: 'audio',
      rtpParameters: {
        mid: desc.mid,
        codecs: [{ mimeType: `audio/${pick.law}`, clockRate: 8000, payloadType: pick.payloadType ?? G711_PAYLOAD_TYPE[pick.law] }],
        headerExtensions: desc.midExtensionId !== undefined ? [{ uri: MID_EXTENSION_URI, id: desc.midExtensionId }] : [],
        encodings: desc.ssrc !== undefined ? [{ ssrc: desc.ssrc }] : [{}],
        rtcp: { cname: desc.cname ?? `browser-${this.id}`, reducedSize: true },
      },
    });
  }
}

function concatSamples(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
