/**
 * What every leg of a call has in common: a mediasoup transport on the call's router, the
 * Producer carrying what its party says, and the Consumer carrying what its party hears (its
 * "feed": the other party when bridged, a prompt when one plays through the worker).
 *
 * What differs by kind (where prompts play, whether the leg can be recorded or hear key presses
 * as RFC 4733 events, relay-to-relay routing) is a method here that each kind implements, so the
 * call (call.ts) never asks which kind a leg is.
 */
import type { Consumer, DirectTransport, Producer, Router, RtpCapabilities, Transport } from 'mediasoup/types';
import type { Clock } from '../../lib/clock.ts';
import type { G711Law } from '../audio/g711.ts';
import type { PlayEnd, PromptAudio } from '../audio/player.ts';
import type { RecordingSummary } from '../audio/recorder.ts';
import type { PortRange } from '../rtp/rtpRelay.ts';
import type { RtpThread } from '../rtp/rtpThreadPool.ts';

export interface MediaNetwork {
  /** Address the far-end-facing sockets bind to (0.0.0.0 for all). */
  listenIp: string;
  /** Address written into SDP when listenIp is not reachable as-is (NAT, 0.0.0.0). */
  announcedAddress?: string;
  /** Ports for plain RTP legs (carrier, desk phone); RTP even, RTCP odd. */
  rtpPorts: PortRange;
  /** Ports for mediasoup transports (WebRTC legs and the loopback side of plain legs). */
  rtcPorts: PortRange;
  /** Symmetric RTP: send to where the remote's packets come from (callers behind NAT). */
  comedia: boolean;
  /**
   * In-band DTMF detection on plain legs: 'auto' (only when the remote did not negotiate
   * telephone-event, as Asterisk's dtmfmode=auto), 'always', or 'never'.
   */
  inbandDtmf: 'auto' | 'always' | 'never';
  /**
   * End a call whose caller has sent no RTP for this long while it should be sending (the far
   * end vanished without a BYE). 0 turns it off.
   */
  rtpTimeoutMs: number;
  /** RFC 7675 consent freshness for browser legs, seconds (mediasoup's default 30). */
  iceConsentTimeoutSec: number;
}

export interface LegContext {
  readonly callId: string;
  readonly router: Router;
  readonly network: MediaNetwork;
  readonly clock: Clock;
  /** The thread that carries the call's plain RTP legs (all of them: bridges stay on it). */
  readonly rtpThread: RtpThread;
  /** The call's G.711 law once a leg has negotiated one. */
  readonly law: G711Law | undefined;
  fixLaw(law: G711Law): void;
  dtmf(leg: MediaLeg, digit: string, source: 'rfc4733' | 'inband'): void;
  /** A leg's transport failed underneath (browser gone: ICE consent lost, DTLS failed). */
  legFailed(leg: MediaLeg, reason: string): void;
  /** A caller's RTP stopped while it should be sending (network gone, no BYE). */
  rtpTimedOut(leg: MediaLeg): void;
  /** A leg's feed changed (the call re-routes plain-to-plain audio). */
  feedChanged?(leg: MediaLeg): void;
  /** The call's DirectTransport, for prompts played through the worker (created on first use). */
  directTransport(): Promise<DirectTransport>;
}

/** A prompt or music on hold playing to a leg. */
export interface Playback {
  readonly done: Promise<PlayEnd>;
  stop(): void;
}

/** A leg's recording: its party on the left, what the party hears on the right. */
export interface LegRecording {
  pause(): void;
  resume(): void;
  stop(): Promise<RecordingSummary>;
}

export const MID_EXTENSION_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';

export type LegRole = 'caller' | 'agent';

export abstract class MediaLeg {
  abstract readonly kind: 'rtp' | 'webrtc';
  /** The caller (carrier side) or an agent (browser, desk phone). */
  abstract readonly role: LegRole;
  /** Set by the call: forget the leg when it closes. */
  onClose: (() => void) | undefined;
  abstract readonly transport: Transport;
  producer: Producer | undefined;
  feed: Consumer | undefined;
  law: G711Law | undefined;
  closed = false;

  constructor(
    readonly id: string,
    protected readonly ctx: LegContext,
  ) {}

  /** RTP capabilities this leg's remote can receive: the call's law (and telephone-event). */
  protected capabilities(): RtpCapabilities {
    const law = this.law ?? this.ctx.law;
    const codecs = (this.ctx.router.rtpCapabilities.codecs ?? []).filter((c) => c.mimeType === `audio/${law}`);
    return { codecs, headerExtensions: [] };
  }

  /** The mid to give this leg's Consumer (WebRTC needs the one in its SDP). */
  protected consumerMid(): string | undefined {
    return undefined;
  }

  /**
   * What the call wants this leg's party to hear (the other party when bridged, or nothing). A
   * leg whose prompts play through its feed takes it up when the prompt ends.
   */
  hear(producer: Producer | undefined): Promise<void> {
    return this.setFeed(producer);
  }

  /**
   * Play prompts (8 kHz, in order) to the party; what it heard before is held back meanwhile.
   * One looped prompt is music on hold: legs that can share it (plain legs on one RTP thread)
   * hear one stream, fanned out.
   */
  abstract play(prompts: readonly PromptAudio[], law: G711Law, loop: boolean): Promise<Playback>;

  /** Whether record() works on this leg (it needs both directions' packets in Node). */
  readonly recordable: boolean = false;

  /** Record this leg: its party on the left, what the party hears on the right. */
  record(_path: string): Promise<LegRecording> {
    return Promise.reject(new Error(`record: a ${this.kind} leg cannot be recorded`));
  }

  /** Send a key to the party as RFC 4733 events; false where the leg cannot (or did not negotiate them). */
  sendDtmf(_digit: string, _durationMs?: number): boolean {
    return false;
  }

  /** The party signalled a key explicitly (RFC 4733, SIP INFO): in-band detection, if any, can stop. */
  explicitDtmfSeen(): void {}

  /** Re-plan how this leg's packets travel, given all the call's legs (see PlainRtpLeg). */
  reroute(_legs: readonly MediaLeg[]): void {}

  /** Make this leg hear `producer` (or nothing). */
  async setFeed(producer: Producer | undefined): Promise<void> {
    if (this.feed?.producerId === producer?.id && this.feed && !this.feed.closed) return;
    if (this.feed) {
      this.feed.close();
      this.feed = undefined;
      this.ctx.feedChanged?.(this);
    }
    if (!producer || this.closed || producer.closed) return;
    const mid = this.consumerMid();
    this.feed = await this.transport.consume({
      producerId: producer.id,
      rtpCapabilities: this.capabilities(),
      ...(mid !== undefined ? { mid } : {}),
    });
    this.ctx.feedChanged?.(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
    this.onClose?.();
  }
}
