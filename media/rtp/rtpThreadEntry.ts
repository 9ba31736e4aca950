/**
 * What runs inside an RTP thread (a worker_thread; rtpThreadPool.ts is the main thread's side):
 * the thread owns the sockets of plain RTP legs (RtpRelay) and does everything per packet for
 * them (PlainLegMedia: key presses, recording, prompts). Node's main thread saturates at about 500
 * relayed calls (each packet costs a UDP receive and send through libuv); with legs spread over
 * one thread per core the media plane uses every core, while SIP, call control and mediasoup's
 * channel stay on the main thread.
 *
 * All legs of one call live on one thread, so a bridge between two plain legs stays relay to relay
 * (RtpRelay.route) without crossing threads. The main thread talks to it with RtpThreadRequest
 * messages and hears RtpThreadEvent messages back (rtpThreadProtocol.ts).
 *
 * This file is the thread's entry point: the pool's boot script imports it by path.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SystemClock } from '../../lib/clock.ts';
import { PlainLegMedia } from './plainLegMedia.ts';
import { Playout, type PlayHandle } from './playout.ts';
import { RtpMix } from './rtpMix.ts';
import { RtpRelay } from './rtpRelay.ts';
import {
  RTP_THREAD_ROLE,
  type RtpThreadEvent,
  type RtpThreadInbound,
  type RtpThreadOutbound,
  type RtpThreadRequest,
} from './rtpThreadProtocol.ts';

/** How often legs are checked for RTP inactivity. */
const SWEEP_MS = 200;

class RtpThreadHost {
  private readonly legs = new Map<string, PlainLegMedia>();
  private readonly players = new Map<number, PlayHandle>();
  private readonly mixes = new Map<string, RtpMix>();
  private readonly clock = new SystemClock();
  private readonly playout = new Playout(this.clock);
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly emit: (e: RtpThreadEvent) => void) {
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const l of this.legs.values()) l.checkActivity(now);
    }, SWEEP_MS);
  }

  async handle(r: RtpThreadRequest): Promise<unknown> {
    switch (r.op) {
      case 'ping':
        return null;
      case 'open': {
        // The relay's hooks need the leg's media, which needs the relay: filled in just below.
        const made: { media?: PlainLegMedia } = {};
        const relay = await RtpRelay.open({
          ip: r.ip,
          range: r.range,
          comedia: r.comedia,
          ssrc: r.ssrc,
          clock: this.clock,
          hooks: { inbound: (raw) => made.media?.fromParty(raw) ?? false, outbound: (raw) => made.media?.toParty(raw) ?? false },
        });
        const leg = r.leg;
        const media = new PlainLegMedia(relay, this.clock, {
          dtmf: (digit, source) => this.emit({ event: 'dtmf', leg, digit, source }),
          rtpTimeout: () => this.emit({ event: 'rtpTimeout', leg }),
        });
        made.media = media;
        this.legs.set(leg, media);
        return { port: relay.port, innerPort: relay.innerPort, ssrc: relay.outSsrc };
      }
      case 'inner':
        await this.leg(r.leg).relay.setInner(r.ip, r.port);
        return null;
      case 'negotiated': {
        const { op: _op, leg, ...n } = r;
        this.leg(leg).negotiated(n);
        return null;
      }
      case 'inband':
        this.leg(r.leg).setInband(r.on);
        return null;
      case 'route': {
        // A leg closed meanwhile simply drops out of the route.
        const direct = r.direct.flatMap((id) => {
          const l = this.legs.get(id);
          return l ? [l.relay] : [];
        });
        this.legs.get(r.leg)?.relay.route(direct, r.toInner, r.source);
        return null;
      }
      case 'prompt':
        this.playout.prompts.put(r.key, r.samples);
        return null;
      case 'dropPrompt':
        this.playout.prompts.drop(r.key);
        return null;
      case 'play': {
        const leg = this.leg(r.leg);
        return leg.play(this.playout, r.keys, r.law, r.loop, (p) => this.players.set(r.play, p)).finally(() => this.players.delete(r.play));
      }
      case 'hold': {
        const leg = this.leg(r.leg);
        return leg.hold(this.playout, r.key, r.law, (p) => this.players.set(r.play, p)).finally(() => this.players.delete(r.play));
      }
      case 'stats': {
        const m = process.memoryUsage();
        let rtpOut = 0;
        for (const l of this.legs.values()) rtpOut += l.relay.stats.rtpOut;
        return {
          legs: this.legs.size,
          rtpOut,
          players: this.players.size,
          mixes: this.mixes.size,
          prompts: this.playout.prompts.size,
          playout: this.playout.snapshot(),
          heapUsed: m.heapUsed,
          heapTotal: m.heapTotal,
          arrayBuffers: m.arrayBuffers,
        };
      }
      case 'stopPlay':
        this.players.get(r.play)?.stop();
        return null;
      case 'sendDtmf':
        return this.leg(r.leg).sendDtmf(r.digit, r.durationMs);
      case 'record':
        this.leg(r.leg).record(r.path);
        return null;
      case 'pauseRecording':
        this.leg(r.leg).pauseRecording();
        return null;
      case 'resumeRecording':
        this.leg(r.leg).resumeRecording();
        return null;
      case 'stopRecording':
        return this.leg(r.leg).stopRecording();
      case 'mix': {
        let mix = this.mixes.get(r.mix);
        if (mix && mix.law !== r.law) throw new Error(`mix ${r.mix} is ${mix.law}, not ${r.law}`);
        if (!mix) this.mixes.set(r.mix, (mix = new RtpMix(r.law, this.clock)));
        mix.set(r.hears, (id) => this.legs.get(id));
        return null;
      }
      case 'mixEnd': {
        const mix = this.mixes.get(r.mix);
        this.mixes.delete(r.mix);
        return mix?.end() ?? { ticks: 0, underruns: 0, overflowSamples: 0, sent: 0, busyUs: 0 };
      }
      case 'close': {
        const leg = this.legs.get(r.leg);
        this.legs.delete(r.leg);
        for (const m of this.mixes.values()) m.leave(r.leg);
        return leg?.close() ?? { rtpIn: 0, rtpOut: 0, rtcpIn: 0, rtcpOut: 0, rejected: 0 };
      }
    }
  }

  close(): void {
    clearInterval(this.sweep);
    this.playout.close();
    for (const m of this.mixes.values()) m.end();
    this.mixes.clear();
    for (const l of this.legs.values()) l.close();
    this.legs.clear();
  }

  private leg(id: string): PlainLegMedia {
    const l = this.legs.get(id);
    if (!l) throw new Error(`no RTP leg ${id} on this thread`);
    return l;
  }
}

// Worker entry: one host per thread; each request is answered when it completes.
if (parentPort && (workerData as { role?: string } | null)?.role === RTP_THREAD_ROLE) {
  const port = parentPort;
  const host = new RtpThreadHost((e) => port.postMessage(e satisfies RtpThreadOutbound));
  port.on('message', (m: RtpThreadInbound | 'exit') => {
    if (m === 'exit') {
      host.close();
      port.close();
      return;
    }
    host.handle(m.req).then(
      (value) => port.postMessage({ id: m.id, ok: true, value } satisfies RtpThreadOutbound),
      (e: unknown) =>
        port.postMessage({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies RtpThreadOutbound),
    );
  });
}
