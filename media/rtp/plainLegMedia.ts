/**
 * What a plain RTP leg (carrier trunk, desk phone) does with each packet, on the RTP thread that
 * owns its relay (see rtpThreadEntry.ts): telephone-events and in-band tones become key presses, the
 * recorder taps both directions, prompts and music on hold are played from here, and the agent's
 * keys go out as RFC 4733 events. The leg's signalling side (SDP, mediasoup transport) stays on
 * the main thread in PlainRtpLeg, which tells this object what was negotiated.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { DtmfDetector } from '../audio/dtmfDetector.ts';
import { decodeG711At, G711_PAYLOAD_TYPE, type G711Law } from '../audio/g711.ts';
import type { PlayEnd } from '../audio/player.ts';
import { AGENT, CALLER, Recorder, type RecordingSummary } from '../audio/recorder.ts';
import { buildTelephoneEvent, digitToEvent, TelephoneEventReceiver } from './rfc4733.ts';
import type { Playout, PlayHandle } from './playout.ts';
import { buildRtp, parseRtp, rtpPayloadEnd, rtpPayloadStart } from './rtp.ts';
import type { RemoteRtpAddress, RtpRelay, RtpRelayStats } from './rtpRelay.ts';

/** Decoding scratch for the in-band detector (a thread handles one packet at a time). */
let scratch = new Int16Array(160);

/** What the main thread negotiated for the leg (sent again on every re-INVITE). */
export interface Negotiated {
  remote: RemoteRtpAddress;
  law: G711Law;
  /** Our payload type for the law, as agreed with the remote (may be dynamic). */
  payloadType: number;
  telephoneEvent: number | undefined;
  inbandDtmf: boolean;
  /** False while the party holds us (sendonly/inactive, c=0.0.0.0): nothing is sent to it. */
  wantsAudio: boolean;
  /** End the call if the party sends no RTP for this long (0: it is not expected to send). */
  rtpTimeoutMs: number;
}

interface PlainLegEvents {
  dtmf(digit: string, source: 'rfc4733' | 'inband'): void;
  /** The party was expected to send RTP and sent none for rtpTimeoutMs. Reported once. */
  rtpTimeout(): void;
}

export class PlainLegMedia {
  closed = false;
  private n: Negotiated | undefined;
  private negotiatedAt = 0;
  private readonly events: TelephoneEventReceiver;
  private detector: DtmfDetector | undefined;
  private recorder: Recorder | undefined;
  /** Players sending to the party; while any plays, mediasoup's stream towards it is held back. */
  private readonly players = new Set<PlayHandle>();
  /** Music on hold this leg listens to (a shared stream); a prompt playing takes precedence. */
  private readonly holds = new Set<PlayHandle>();
  private timedOut = false;
  private readonly dtmfTimers = new Set<TimerHandle>();
  /** While the leg is in a mix (rtpMix.ts): where the party's audio goes instead of the relay. */
  private mixInput: ((raw: Buffer, from: number, count: number) => void) | undefined;

  constructor(
    readonly relay: RtpRelay,
    private readonly clock: Clock,
    private readonly on: PlainLegEvents,
  ) {
    this.events = new TelephoneEventReceiver((d) => on.dtmf(d, 'rfc4733'));
  }

  negotiated(n: Negotiated): void {
    this.n = n;
    this.negotiatedAt = this.clock.now();
    this.relay.setRemote(n.remote);
  }

  setInband(on: boolean): void {
    if (this.n) this.n.inbandDtmf = on;
  }

  /** Relay hook: a packet from the party. Returns true to pass it on (towards mediasoup/peers). */
  fromParty(raw: Buffer): boolean {
    const n = this.n;
    if (!n) return false;
    const pt = raw[1]! & 0x7f;
    if (pt === n.telephoneEvent && n.telephoneEvent !== undefined) {
      const p = parseRtp(raw);
      if (p) this.events.receive(p.ssrc, p.timestamp, p.payload);
      return false;
    }
    if (pt !== n.payloadType) return false; // CN, unknown
    this.recorder?.pushG711(CALLER, n.law, raw);
    if (n.inbandDtmf) this.detectInband(n.law, raw);
    if (this.mixInput) {
      // In a mix: the party's audio is mixed here, not relayed (nobody hears it as it is).
      const start = rtpPayloadStart(raw);
      if (start >= 0) this.mixInput(raw, start, rtpPayloadEnd(raw) - start);
      return false;
    }
    // mediasoup knows the law by its static payload type; a remote using a dynamic one is mapped.
    const staticPt = G711_PAYLOAD_TYPE[n.law];
    if (n.payloadType !== staticPt) raw[1] = (raw[1]! & 0x80) | staticPt;
    return true;
  }

  /** In-band key detection on a packet's payload, read in place (no parsed packet per packet). */
  private detectInband(law: G711Law, raw: Buffer): void {
    const start = rtpPayloadStart(raw);
    if (start < 0) return;
    const len = rtpPayloadEnd(raw) - start;
    this.detector ??= new DtmfDetector((d) => this.on.dtmf(d.digit, 'inband'));
    // The detector copies what it is given: one scratch array serves every leg of the thread.
    if (scratch.length < len) scratch = new Int16Array(len);
    decodeG711At(law, raw, start, len, scratch, 0);
    this.detector.process(scratch.length === len ? scratch : scratch.subarray(0, len));
  }

  /** Relay hook: a packet towards the party (from mediasoup or a bridged plain leg). */
  toParty(raw: Buffer): boolean {
    const n = this.n;
    if (this.players.size > 0 || this.holds.size > 0 || this.mixInput || !n || !n.wantsAudio) return false;
    this.recorder?.pushG711(AGENT, n.law, raw);
    return true;
  }

  /** Play prompts (by key, in order) to the party, from the thread's playout. Resolves when it ends. */
  play(playout: Playout, keys: readonly string[], law: G711Law, loop: boolean, registered: (p: PlayHandle) => void): Promise<PlayEnd> {
    const player = playout.play(keys, law, loop, (b) => this.sendFromNode(b));
    this.players.add(player);
    registered(player);
    return player.done.finally(() => this.players.delete(player));
  }

  /** Music on hold: listen to the thread's shared stream of `key` until stopped. */
  hold(playout: Playout, key: string, law: G711Law, registered: (p: PlayHandle) => void): Promise<PlayEnd> {
    const l = playout.hold(key, law, (b) => {
      if (this.players.size === 0) this.sendFromNode(b);
    });
    this.holds.add(l);
    registered(l);
    return l.done.finally(() => this.holds.delete(l));
  }

  /** Join a mix: the party's audio goes to `input`, and it hears only what sendMixed sends. */
  joinMix(input: (raw: Buffer, from: number, count: number) => void): void {
    this.mixInput = input;
  }

  leaveMix(): void {
    this.mixInput = undefined;
  }

  /** A packet of the mix towards the party; false if not sent (a prompt plays, or the party holds us). */
  sendMixed(packet: Buffer): boolean {
    if (this.closed || this.players.size > 0 || this.holds.size > 0 || !this.mixInput) return false;
    const n = this.n;
    if (!n || !n.wantsAudio) return false;
    this.recorder?.pushG711(AGENT, n.law, packet);
    this.relay.sendToRemote(packet);
    return true;
  }

  private sendFromNode(packet: Buffer): void {
    const n = this.n;
    if (!n || !n.wantsAudio) return;
    this.recorder?.pushG711(AGENT, n.law, packet);
    this.relay.sendToRemote(packet);
  }

  /**
   * Send a key to the party as RFC 4733 events (false if it did not negotiate them): one packet
   * per 20 ms while the key is "held", the last with the E bit, sent three times (§2.5.1.4).
   */
  sendDtmf(digit: string, durationMs: number): boolean {
    const ev = digitToEvent(digit);
    const pt = this.n?.telephoneEvent;
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
      if (++i <= steps + 2) {
        const t = this.clock.setTimeout(
          () => {
            this.dtmfTimers.delete(t);
            next();
          },
          i > steps ? 0 : 20,
        );
        this.dtmfTimers.add(t);
      }
    };
    next();
    return true;
  }

  /** Record this leg: what the party says on the left, what it hears (agent, prompts) on the right. */
  record(path: string): void {
    if (this.recorder) throw new Error('already recording');
    if (this.closed) throw new Error('leg closed');
    // Capture from now on; the file is created behind it (Recorder.start).
    this.recorder = Recorder.start(path, { clock: this.clock });
  }

  pauseRecording(): void {
    this.recorder?.pause();
  }

  resumeRecording(): void {
    this.recorder?.resume();
  }

  async stopRecording(): Promise<RecordingSummary> {
    const rec = this.recorder;
    if (!rec) throw new Error('not recording');
    this.recorder = undefined;
    return rec.stop();
  }

  /** Called by the thread's sweep: report once if the party stopped sending while it should. */
  checkActivity(now: number): void {
    const n = this.n;
    if (!n || n.rtpTimeoutMs <= 0 || this.timedOut) return;
    if (now - Math.max(this.relay.lastInboundAt, this.negotiatedAt) > n.rtpTimeoutMs) {
      this.timedOut = true;
      this.on.rtpTimeout();
    }
  }

  /** Close the sockets; a recording still running is finished (its summary is lost). */
  close(): RtpRelayStats {
    if (!this.closed) {
      this.closed = true;
      for (const p of [...this.players, ...this.holds]) p.stop();
      for (const t of this.dtmfTimers) this.clock.clearTimeout(t);
      if (this.recorder) void this.recorder.stop().catch(() => undefined);
      this.recorder = undefined;
      this.relay.close();
    }
    return this.relay.stats;
  }
}
