/**
 * One call's media: a mediasoup Router (on one worker) and the call's legs, with what Node adds on
 * top of forwarding: bridging, prompts and music on hold, DTMF from every source, recording.
 */
import type { DirectTransport, Router } from 'mediasoup/types';
import type { Clock } from '../../lib/clock.ts';
import { log as rootLog } from '../../lib/log.ts';
import { Emitter } from '../../lib/events.ts';
import { DtmfDeduplicator, type DtmfSource } from './dtmf.ts';
import type { G711Law } from '../audio/g711.ts';
import { MediaLeg, type LegContext, type MediaNetwork, type Playback } from './leg.ts';
import { MediaMix, type LegHearMatrix } from './mix.ts';
import { recordingsFailed } from './metrics.ts';
import type { PromptCache } from '../audio/player.ts';
import { PlainRtpLeg } from './plainRtpLeg.ts';
import type { RecordingSummary } from '../audio/recorder.ts';
import type { RtpThread } from '../rtp/rtpThreadPool.ts';
import { WebRtcLeg } from './webRtcLeg.ts';

const log = rootLog.child({ mod: 'media' });

/** Why a call's media ended abnormally: its worker died (CDR disconnect reason). */
export const MEDIA_WORKER_DIED = 'media-worker-died';
/** ... or the caller stopped sending RTP (network gone, far end crashed without a BYE). */
export const MEDIA_RTP_TIMEOUT = 'media-rtp-timeout';

export interface DtmfInfo {
  leg: MediaLeg;
  source: DtmfSource;
}

export interface PlayOptions {
  loop?: boolean;
  /** Stop when the party this plays to presses a key. */
  bargeIn?: boolean;
}

export type { Playback } from './leg.ts';

export interface Recording {
  readonly path: string;
  pause(): void;
  resume(): void;
  stop(): Promise<RecordingSummary>;
}

interface CallDeps {
  router: Router;
  rtpThread: RtpThread;
  network: MediaNetwork;
  clock: Clock;
  prompts: PromptCache;
  onClose: () => void;
}

export class MediaCall
  extends Emitter<{
    /** A key pressed by the caller (RFC 4733, in-band, or SIP INFO fed to injectDtmf). */
    dtmf: [digit: string, info: DtmfInfo];
    /**
     * A key pressed by an agent (desk phone). Not for the IVR; if the agent is bridged to the
     * caller it has already been passed on to the caller as RFC 4733 events.
     */
    agentDtmf: [digit: string, info: DtmfInfo];
    /** One leg's media failed (browser gone: ICE consent lost, DTLS failed); the call goes on. */
    legFailed: [leg: MediaLeg, reason: string];
    /** Media ended underneath the call (worker died): the call should be torn down. */
    lost: [reason: string];
    closed: [];
  }>
  implements LegContext
{
  readonly router: Router;
  readonly network: MediaNetwork;
  readonly clock: Clock;
  readonly rtpThread: RtpThread;
  law: G711Law | undefined;
  readonly legs: MediaLeg[] = [];
  closed = false;
  private seq = 0;
  private bridged: [MediaLeg, MediaLeg] | undefined;
  private readonly dedupe = new DtmfDeduplicator();
  /** What plays to each leg (each leg kind restores what it heard before when it ends). */
  private readonly playbacks = new Map<MediaLeg, { player: Playback; bargeIn: boolean }>();
  private recorder: Recording | undefined;
  private direct: Promise<DirectTransport> | undefined;
  private mixing: MediaMix | undefined;

  constructor(
    readonly callId: string,
    private readonly deps: CallDeps,
  ) {
    super();
    this.router = deps.router;
    this.network = deps.network;
    this.clock = deps.clock;
    this.rtpThread = deps.rtpThread;
    this.router.once('workerclose', () => this.lose(MEDIA_WORKER_DIED));
    // The death of the RTP thread carrying the plain legs is reported by the plane (lose()).
    this.router.observer.once('close', () => {
      if (!this.closed) this.lose('media-router-closed');
    });
  }

  fixLaw(law: G711Law): void {
    if (this.law && this.law !== law) throw new Error(`call is ${this.law}, a leg chose ${law}`);
    this.law = law;
  }

  /** The carrier side (the caller): plain RTP. */
  createTrunkLeg(): Promise<PlainRtpLeg> {
    return this.add(PlainRtpLeg.create(`${this.callId}/trunk${++this.seq}`, this, 'caller'));
  }

  /** An agent on a SIP desk phone: plain RTP. */
  createRtpLeg(): Promise<PlainRtpLeg> {
    return this.add(PlainRtpLeg.create(`${this.callId}/phone${++this.seq}`, this, 'agent'));
  }

  /** An agent in a browser: WebRTC. */
  createWebRtcLeg(opts: { tcp?: boolean } = {}): Promise<WebRtcLeg> {
    return this.add(WebRtcLeg.create(`${this.callId}/webrtc${++this.seq}`, this, opts));
  }

  private async add<L extends MediaLeg>(p: Promise<L>): Promise<L> {
    this.assertOpen();
    const leg = await p;
    if (this.closed) {
      leg.close();
      throw new Error('call closed');
    }
    this.legs.push(leg);
    leg.onClose = () => {
      const i = this.legs.indexOf(leg);
      if (i >= 0) this.legs.splice(i, 1);
      if (this.bridged?.includes(leg)) this.bridged = undefined;
      void this.mixing?.remove(leg).catch(() => undefined);
      this.playbacks.get(leg)?.player.stop();
      this.route();
    };
    return leg;
  }

  /** Connect two legs both ways (ending a mix, if any). Both must have negotiated (same law by construction). */
  async bridge(a: MediaLeg, b: MediaLeg): Promise<void> {
    this.assertOpen();
    if (!a.producer || !b.producer) throw new Error('bridge: both legs must have negotiated media first');
    await this.endMix();
    this.bridged = [a, b];
    await Promise.all([a.hear(b.producer), b.hear(a.producer)]);
  }

  async unbridge(): Promise<void> {
    const pair = this.bridged;
    this.bridged = undefined;
    if (pair) await Promise.all(pair.map((l) => l.hear(undefined)));
  }

  /**
   * Mix legs with a hear matrix (conference, supervisor listen / whisper / barge; see mix.ts):
   * the bridge, if any, gives way to the mix; a mix already running takes the new matrix. Change
   * it live with the returned mix's hear() and remove(); bridge() or endMix() ends it.
   */
  async mix(matrix: LegHearMatrix): Promise<MediaMix> {
    this.assertOpen();
    if (!this.law) throw new Error('mix: the call has no negotiated law yet');
    let mix = this.mixing;
    if (!mix) {
      mix = new MediaMix(this.callId, this, this.law);
      const made = mix;
      made.onEnd = () => {
        if (this.mixing === made) this.mixing = undefined;
      };
      this.mixing = mix;
    }
    try {
      await mix.set(matrix);
    } catch (e) {
      if (mix.legs.length === 0) void this.endMix();
      throw e;
    }
    // The legs' relays stop forwarding to each other once in the mix; the mediasoup feeds go too,
    // except a browser leg's, which the mix has just made its tap (mixTap.ts).
    const pair = this.bridged;
    this.bridged = undefined;
    if (pair) await Promise.all(pair.filter((l) => !mix.tapped(l)).map((l) => l.hear(undefined)));
    return mix;
  }

  /** The mix running now, if any. */
  get currentMix(): MediaMix | undefined {
    return this.mixing;
  }

  /** End the mix, if any: its legs hear nothing until bridged again. */
  async endMix(): Promise<void> {
    const mix = this.mixing;
    this.mixing = undefined;
    if (!mix) return;
    const stats = await mix.end().catch(() => undefined);
    if (stats) log.debug({ call: this.callId, ...stats }, 'mix ended');
  }

  /**
   * Play a WAV file (any rate/channels; converted to 8 kHz G.711) to a leg, or several in a row
   * as one prompt (an announcement composed of recorded parts). A looped single file is music on
   * hold: every plain leg on the RTP thread waiting on it hears one shared stream.
   */
  async play(leg: MediaLeg, path: string | readonly string[], opts: PlayOptions = {}): Promise<Playback> {
    this.assertOpen();
    const law = leg.law ?? this.law;
    if (!law) throw new Error('play: leg has no negotiated law yet');
    const paths = typeof path === 'string' ? [path] : path;
    const prompts = await Promise.all(paths.map((p) => this.deps.prompts.audio(p)));
    this.assertOpen();
    this.playbacks.get(leg)?.player.stop();
    const player = await leg.play(prompts, law, opts.loop ?? false);
    const entry = { player, bargeIn: opts.bargeIn ?? false };
    this.playbacks.set(leg, entry);
    void player.done.then(() => {
      if (this.playbacks.get(leg) === entry) this.playbacks.delete(leg);
    });
    return player;
  }

  /**
   * Record the call: caller (the first trunk leg, else the first plain leg) on the left, what that
   * party hears (the agent, or prompts) on the right.
   */
  async record(path: string): Promise<Recording> {
    this.assertOpen();
    if (this.recorder) throw new Error('already recording');
    const leg = this.legs.find((l) => l.recordable && l.role === 'caller') ?? this.legs.find((l) => l.recordable);
    if (!leg) throw new Error('record: the call has no plain RTP leg to record');
    // The call may end while the recorder is starting (a talk shorter than a loaded RTP thread's
    // answer): closing the leg stops the recorder and finishes the file, whichever the thread saw
    // first ('leg closed' from the start, or a stop later finding no leg). Not an error: the file
    // is there and finished, and there is nothing left to stop.
    const rec = await leg.record(path).catch((e: unknown) => {
      if (this.closed) return undefined;
      throw e;
    });
    if (!rec || this.closed) {
      const summary = { path, durationMs: 0, latePackets: 0, pausedMs: 0 };
      return { path, pause: () => undefined, resume: () => undefined, stop: () => Promise.resolve(summary) };
    }
    const recording: Recording = {
      path,
      pause: () => rec.pause(),
      resume: () => rec.resume(),
      stop: () => {
        if (this.recorder === recording) this.recorder = undefined;
        return rec.stop().catch((e: unknown) => {
          recordingsFailed.inc();
          throw e;
        });
      },
    };
    this.recorder = recording;
    return recording;
  }

  /** The recording running now, if any (recordingPause.ts pauses and resumes it). */
  get recording(): Recording | undefined {
    return this.recorder;
  }

  /** DTMF reported by signalling (SIP INFO): deduplicated with the media sources. */
  injectDtmf(digit: string, source: DtmfSource = 'info', leg?: MediaLeg): void {
    const l = leg ?? this.legs.find((x) => x.role === 'caller') ?? this.legs[0];
    if (l) this.report(l, digit, source);
  }

  /** Called by legs. */
  feedChanged(): void {
    this.route();
  }

  /** Called by legs: prompts to browser legs play through the worker, from this transport. */
  directTransport(): Promise<DirectTransport> {
    this.direct ??= this.router.createDirectTransport();
    return this.direct;
  }

  /** Who hears whom changed: each leg re-plans how its packets travel (PlainRtpLeg.reroute). */
  private route(): void {
    for (const l of this.legs) l.reroute(this.legs);
  }

  /** Called by legs. */
  legFailed(leg: MediaLeg, reason: string): void {
    if (this.closed) return;
    log.warn({ call: this.callId, leg: leg.id, reason }, 'leg media failed');
    this.emit('legFailed', leg, reason);
  }

  /** Called by legs. */
  rtpTimedOut(_leg: MediaLeg): void {
    this.lose(MEDIA_RTP_TIMEOUT);
  }

  /** Called by legs. */
  dtmf(leg: MediaLeg, digit: string, source: 'rfc4733' | 'inband'): void {
    this.report(leg, digit, source);
  }

  private report(leg: MediaLeg, digit: string, source: DtmfSource): void {
    if (this.closed) return;
    if (!this.dedupe.accept({ digit, leg: leg.id, source, at: this.deps.clock.now() })) return;
    if (source !== 'inband') leg.explicitDtmfSeen();
    const pb = this.playbacks.get(leg);
    if (pb?.bargeIn) pb.player.stop();
    if (leg.role === 'caller') {
      this.emit('dtmf', digit, { leg, source });
      return;
    }
    // An agent's key goes to the far end (an outside IVR, a conference PIN), as a desk phone would.
    this.bridged?.find((l) => l !== leg)?.sendDtmf(digit);
    this.emit('agentDtmf', digit, { leg, source });
  }

  /** End the call's media. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pb of this.playbacks.values()) pb.player.stop();
    this.playbacks.clear();
    void this.endMix();
    if (this.recorder) void this.recorder.stop().catch((e: unknown) => log.error({ call: this.callId, err: String(e) }, 'recording close'));
    for (const l of [...this.legs]) l.close();
    this.router.close();
    this.deps.onClose();
    this.emit('closed');
  }

  /** Media died underneath (worker crash): tell the owner, then clean up what is left. */
  lose(reason: string): void {
    if (this.closed) return;
    log.warn({ call: this.callId, reason }, 'call media lost');
    this.emit('lost', reason);
    this.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`call ${this.callId} media is closed`);
  }
}
