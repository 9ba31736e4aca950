/**
 * The media plane's front door: workers, one Router per call, shared prompt cache, metrics, and
 * repair of recordings left half-written by a previous run.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemClock, type Clock } from '../../lib/clock.ts';
import { log as rootLog } from '../../lib/log.ts';
import { Emitter } from '../../lib/events.ts';
import { MEDIA_WORKER_DIED, MediaCall } from './call.ts';
export { MEDIA_RTP_TIMEOUT, MEDIA_WORKER_DIED } from './call.ts';
import type { MediaNetwork } from './leg.ts';
import { callsActive, callsLost, dtmfTotal, workerDeaths } from './metrics.ts';
import { PromptCache } from '../audio/player.ts';
import { repairWavHeader } from '../audio/wav.ts';
import { RtpThreadPool } from '../rtp/rtpThreadPool.ts';
import { WorkerPool } from './workerPool.ts';

const log = rootLog.child({ mod: 'media' });

export interface MediaPlaneOptions {
  /** mediasoup workers; default one per core. */
  workers?: number;
  /** Threads carrying plain RTP legs (relays, recorders, prompts, DTMF); default one per core. */
  rtpThreads?: number;
  listenIp?: string;
  announcedAddress?: string;
  /** Ports for mediasoup (WebRTC). Default 40000-44999. */
  rtcMinPort?: number;
  rtcMaxPort?: number;
  /** Ports for plain RTP towards carriers and desk phones. Default 20000-29999. */
  rtpMinPort?: number;
  rtpMaxPort?: number;
  /** Symmetric RTP latching for plain legs. Default true. */
  comedia?: boolean;
  /** In-band DTMF detection on plain legs: 'auto' (default: when no telephone-event), 'always', 'never'. */
  inbandDtmf?: 'auto' | 'always' | 'never';
  /** End calls whose caller sent no RTP for this long (callLost 'media-rtp-timeout'). Default 60000; 0 = off. */
  rtpTimeoutMs?: number;
  /** Browser legs: seconds without ICE consent before 'legFailed' (RFC 7675). 10–60, default 30. */
  iceConsentTimeoutSec?: number;
  /** Browser legs also listen on TCP (ICE-TCP) for networks that block UDP. Default true. */
  webrtcTcp?: boolean;
  /** Directory of recordings: half-written WAVs there are repaired at start. */
  recordingsDir?: string;
  clock?: Clock;
  workerLogLevel?: 'debug' | 'warn' | 'error' | 'none';
}

export class MediaPlane extends Emitter<{ callLost: [callId: string, reason: string] }> {
  private readonly calls = new Map<string, MediaCall>();
  readonly prompts = new PromptCache();

  private constructor(
    readonly pool: WorkerPool,
    readonly rtpThreads: RtpThreadPool,
    readonly network: MediaNetwork,
    private readonly clock: Clock,
  ) {
    super();
    // Each call hears its router's 'workerclose' and reports itself lost (see MediaCall).
    pool.on('workerDied', () => workerDeaths.inc());
    // An RTP thread is a media worker too: its calls are lost the same way.
    rtpThreads.on('threadDied', (_index, callIds) => {
      workerDeaths.inc();
      for (const id of callIds) this.calls.get(id)?.lose(MEDIA_WORKER_DIED);
    });
  }

  static async start(opts: MediaPlaneOptions = {}): Promise<MediaPlane> {
    const network: MediaNetwork = {
      listenIp: opts.listenIp ?? '127.0.0.1',
      ...(opts.announcedAddress ? { announcedAddress: opts.announcedAddress } : {}),
      rtcPorts: { min: opts.rtcMinPort ?? 40000, max: opts.rtcMaxPort ?? 44999 },
      rtpPorts: { min: opts.rtpMinPort ?? 20000, max: opts.rtpMaxPort ?? 29999 },
      comedia: opts.comedia ?? true,
      inbandDtmf: opts.inbandDtmf ?? 'auto',
      rtpTimeoutMs: opts.rtpTimeoutMs ?? 60_000,
      iceConsentTimeoutSec: Math.min(60, Math.max(10, opts.iceConsentTimeoutSec ?? 30)), // mediasoup's bounds
      webrtcTcp: opts.webrtcTcp ?? true,
    };
    for (const [name, r] of [
      ['rtc', network.rtcPorts],
      ['rtp', network.rtpPorts],
    ] as const) {
      if (!(r.min >= 1024 && r.max <= 65535 && r.min < r.max)) throw new Error(`bad ${name} port range ${r.min}-${r.max}`);
    }
    if ((network.listenIp === '0.0.0.0' || network.listenIp === '::') && !network.announcedAddress) {
      throw new Error(`media listenIp ${network.listenIp} needs announcedAddress (the address peers send to)`);
    }
    if (opts.recordingsDir) await repairRecordings(opts.recordingsDir);
    const pool = await WorkerPool.start({
      ...(opts.workers ? { workers: opts.workers } : {}),
      ...(opts.workerLogLevel ? { logLevel: opts.workerLogLevel } : {}),
    });
    let threads: RtpThreadPool;
    try {
      threads = await RtpThreadPool.start(opts.rtpThreads);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return new MediaPlane(pool, threads, network, opts.clock ?? new SystemClock());
  }

  /** A call's media on the least-loaded worker. */
  async createCall(callId: string): Promise<MediaCall> {
    if (this.calls.has(callId)) throw new Error(`media for call ${callId} already exists`);
    const slot = this.pool.pick();
    const thread = this.rtpThreads.pick();
    slot.calls.add(callId);
    thread.calls.add(callId);
    try {
      const router = await slot.worker.createRouter({
        mediaCodecs: [
          { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 },
          { kind: 'audio', mimeType: 'audio/PCMA', clockRate: 8000, preferredPayloadType: 8 },
          { kind: 'audio', mimeType: 'audio/telephone-event', clockRate: 8000, preferredPayloadType: 101 },
        ],
      });
      const call = new MediaCall(callId, {
        router,
        rtpThread: thread,
        network: this.network,
        clock: this.clock,
        prompts: this.prompts,
        onClose: () => {
          slot.calls.delete(callId);
          thread.calls.delete(callId);
          this.calls.delete(callId);
          callsActive.set(this.calls.size);
        },
      });
      call.on('dtmf', (_d, info) => dtmfTotal.inc({ source: info.source }));
      call.on('lost', (reason) => {
        callsLost.inc({ reason });
        this.emit('callLost', callId, reason);
      });
      this.calls.set(callId, call);
      callsActive.set(this.calls.size);
      return call;
    } catch (e) {
      slot.calls.delete(callId);
      thread.calls.delete(callId);
      throw e;
    }
  }

  getCall(callId: string): MediaCall | undefined {
    return this.calls.get(callId);
  }

  get callCount(): number {
    return this.calls.size;
  }

  async stop(): Promise<void> {
    for (const c of [...this.calls.values()]) c.close();
    await this.rtpThreads.close();
    await this.pool.close();
  }
}

/** Fix the headers of WAVs whose writer died (see Recorder). Returns the files repaired. */
export async function repairRecordings(dir: string): Promise<string[]> {
  const fixed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir, { recursive: true });
  } catch {
    return fixed; // no directory yet: nothing to repair
  }
  for (const n of names) {
    if (!n.endsWith('.wav')) continue;
    try {
      if (repairWavHeader(join(dir, n))) fixed.push(join(dir, n));
    } catch (e) {
      log.warn({ file: n, err: String(e) }, 'could not check recording');
    }
  }
  if (fixed.length) log.warn({ files: fixed.length }, 'repaired recordings left open by a previous run');
  return fixed;
}
