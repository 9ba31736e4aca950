/**
 * Prompt and music-on-hold playback: 8 kHz mono audio → G.711 RTP, one packet per 20 ms.
 * Packets are due at start + n·20 ms (not "20 ms after the last one"), so timer lateness never
 * accumulates into drift; after a stall of the event loop the player catches up with a short
 * burst, or skips ahead (timestamps still advance) if it fell more than 200 ms behind, since a
 * burst that long would overflow the far end's jitter buffer anyway.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { encodeG711, G711_PAYLOAD_TYPE, G711_SILENCE, type G711Law } from './g711.ts';
import { buildRtp, randomSsrc } from '../rtp/rtp.ts';
import { wavToMono8k } from './wav.ts';

const PTIME_MS = 20;
const FRAME = 160;
const MAX_BURST = 10;

export type PlayEnd = 'finished' | 'stopped';

interface PlayerOptions {
  clock: Clock;
  law: G711Law;
  /** Called with each RTP packet, in order. */
  send: (packet: Buffer) => void;
  loop?: boolean;
  ssrc?: number;
  /** First RTP timestamp/sequence number; random by default (RFC 3550 §5.1). */
  timestamp?: number;
  sequenceNumber?: number;
}

export class Player {
  readonly done: Promise<PlayEnd>;
  private resolve!: (e: PlayEnd) => void;
  private readonly payload: Uint8Array;
  private readonly frames: number;
  private readonly start: number;
  private n = 0; // frames due so far (sent or skipped)
  private seq: number;
  private readonly ts0: number;
  private readonly ssrc: number;
  private timer: TimerHandle | undefined;
  private ended = false;
  sent = 0;

  constructor(
    samples: Int16Array,
    private readonly opts: PlayerOptions,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
    this.frames = Math.ceil(samples.length / FRAME);
    this.payload = new Uint8Array(this.frames * FRAME).fill(G711_SILENCE[opts.law]);
    encodeG711(opts.law, samples, this.payload);
    this.ssrc = opts.ssrc ?? randomSsrc();
    this.seq = opts.sequenceNumber ?? Math.floor(Math.random() * 0x10000);
    this.ts0 = opts.timestamp ?? randomSsrc();
    this.start = opts.clock.now();
    if (this.frames === 0) this.finish('finished');
    else this.tick();
  }

  get playing(): boolean {
    return !this.ended;
  }

  stop(): void {
    this.finish('stopped');
  }

  private tick(): void {
    if (this.ended) return;
    const due = Math.floor((this.opts.clock.now() - this.start) / PTIME_MS) + 1;
    if (due - this.n > MAX_BURST) this.n = due - 1; // fell far behind: skip, keep timing
    while (this.n < due) {
      if (!this.opts.loop && this.n >= this.frames) return this.finish('finished');
      const f = this.n % this.frames;
      const packet = buildRtp({
        payloadType: G711_PAYLOAD_TYPE[this.opts.law],
        marker: this.sent === 0,
        sequenceNumber: this.seq++ & 0xffff,
        timestamp: (this.ts0 + this.n * FRAME) >>> 0,
        ssrc: this.ssrc,
        payload: this.payload.subarray(f * FRAME, (f + 1) * FRAME),
      });
      this.n++;
      this.sent++;
      this.opts.send(packet);
    }
    if (!this.opts.loop && this.n >= this.frames) {
      // Let the last frame's 20 ms elapse before reporting the prompt finished.
      this.timer = this.opts.clock.setTimeout(() => this.finish('finished'), PTIME_MS);
      return;
    }
    const next = this.start + this.n * PTIME_MS;
    this.timer = this.opts.clock.setTimeout(() => this.tick(), Math.max(1, next - this.opts.clock.now()));
  }

  private finish(e: PlayEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.resolve(e);
  }
}

/**
 * Decoded prompts, keyed by path and modification time so an admin replacing a file is picked up
 * on the next play without a restart.
 */
export class PromptCache {
  private readonly cache = new Map<string, PromptAudio & { mtimeMs: number }>();

  constructor(private readonly maxEntries = 256) {}

  async load(path: string): Promise<Int16Array> {
    return (await this.audio(path)).samples;
  }

  /** The prompt's samples and a key naming this version of it (path@mtime): RTP threads keep prompts by it. */
  async audio(path: string): Promise<PromptAudio> {
    const st = await stat(path);
    const hit = this.cache.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs) return hit;
    const entry = { key: `${path}@${st.mtimeMs}`, samples: wavToMono8k(await readFile(path)), mtimeMs: st.mtimeMs };
    this.cache.delete(path);
    this.cache.set(path, entry);
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    return entry;
  }
}

/** A decoded prompt and the key of its version. */
export interface PromptAudio {
  readonly key: string;
  readonly samples: Int16Array;
}
