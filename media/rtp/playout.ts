/**
 * Everything an RTP thread plays to its plain legs (prompts, announcements, music on hold), on one
 * 20 ms tick for the whole thread instead of one timer per player:
 *  - prompts are encoded to G.711 once per (prompt, law) and kept here (PromptStore), so a play
 *    sends no samples across threads and encodes nothing;
 *  - music on hold is one stream per (prompt, law) — a HoldSource — fanned out to every leg that
 *    waits on it: each gets the same payload bytes at the same moment, only the RTP header (SSRC,
 *    sequence number, timestamp) is its own (fanOutHeader), and all of a tick's packets are sent
 *    in one pass;
 *  - a one-shot prompt plays from its first frame on the tick after it was asked for.
 * Packets are due at start + n·20 ms (never "20 ms after the last one"), so timer lateness does
 * not accumulate; a thread that fell more than MAX_BURST frames behind skips ahead (timestamps still
 * advance) since a longer burst would overflow the far end's jitter buffer anyway.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { encodeG711, G711_PAYLOAD_TYPE, G711_SILENCE, type G711Law } from '../audio/g711.ts';
import type { PlayEnd } from '../audio/player.ts';
import { randomSsrc } from './rtp.ts';

export const PTIME_MS = 20;
export const FRAME = 160;
const HEADER = 12;
const MAX_BURST = 10;

/** Where a player's packets go (the leg's send towards its party). */
export type PacketSink = (packet: Buffer) => void;

/** One receiver's RTP header state; the payload is shared. */
export interface StreamHeader {
  readonly ssrc: number;
  readonly payloadType: number;
  seq: number;
  timestamp: number;
  /** Packets sent so far (the first carries the marker bit). */
  sent: number;
}

export function newStreamHeader(payloadType: number): StreamHeader {
  return { ssrc: randomSsrc(), payloadType, seq: Math.floor(Math.random() * 0x10000), timestamp: randomSsrc(), sent: 0 };
}

/**
 * One packet of a fanned-out frame for the receiver `h`: its own header, the shared payload
 * copied behind it; then `h` moves on by one packet (sequence + 1, timestamp + one frame).
 * `skipped` frames not sent before this one (a stall) still move the timestamp: it keeps real time.
 */
export function fanOutHeader(h: StreamHeader, payload: Uint8Array, skipped = 0): Buffer {
  if (skipped > 0) h.timestamp = (h.timestamp + FRAME * skipped) >>> 0;
  const buf = Buffer.allocUnsafe(HEADER + payload.length);
  buf[0] = 0x80;
  buf[1] = (h.sent === 0 ? 0x80 : 0) | (h.payloadType & 0x7f);
  buf.writeUInt16BE(h.seq, 2);
  buf.writeUInt32BE(h.timestamp >>> 0, 4);
  buf.writeUInt32BE(h.ssrc >>> 0, 8);
  buf.set(payload, HEADER);
  h.seq = (h.seq + 1) & 0xffff;
  h.timestamp = (h.timestamp + FRAME) >>> 0;
  h.sent++;
  return buf;
}

/** Prompts as this thread keeps them: samples by key (path@mtime), G.711 payload by key and law. */
export class PromptStore {
  private readonly samples = new Map<string, Int16Array>();
  private readonly encoded = new Map<string, Uint8Array>();

  has(key: string): boolean {
    return this.samples.has(key);
  }

  put(key: string, samples: Int16Array): void {
    this.samples.set(key, samples);
  }

  drop(key: string): void {
    this.samples.delete(key);
    for (const law of ['PCMU', 'PCMA'] as const) this.encoded.delete(`${law}:${key}`);
  }

  get size(): number {
    return this.samples.size;
  }

  /** The prompt in `law`, padded with silence to whole frames; encoded on first use. */
  payload(key: string, law: G711Law): Uint8Array {
    const k = `${law}:${key}`;
    let p = this.encoded.get(k);
    if (!p) {
      const s = this.samples.get(key);
      if (!s) throw new Error(`prompt ${key} is not on this thread`);
      p = new Uint8Array(Math.ceil(s.length / FRAME) * FRAME).fill(G711_SILENCE[law]);
      encodeG711(law, s, p);
      this.encoded.set(k, p);
    }
    return p;
  }
}

/** A playing prompt or hold music, as its owner (the leg) sees it. */
export interface PlayHandle {
  readonly done: Promise<PlayEnd>;
  stop(): void;
}

interface Ticking {
  /** Send the frames from `from` to `to` (exclusive) of the thread's timeline; false when finished. */
  frames(from: number, to: number, skipped: number): boolean;
}

/** A one-shot prompt (or a sequence of prompts, concatenated) to one leg. */
class OneShot implements Ticking, PlayHandle {
  readonly done: Promise<PlayEnd>;
  private resolve!: (e: PlayEnd) => void;
  private n = 0;
  private readonly header: StreamHeader;
  ended = false;

  constructor(
    private readonly payload: Uint8Array,
    law: G711Law,
    private readonly sink: PacketSink,
    private readonly loop: boolean,
    private readonly onEnd: (p: OneShot) => void,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
    this.header = newStreamHeader(G711_PAYLOAD_TYPE[law]);
  }

  frames(from: number, to: number, skipped: number): boolean {
    const count = this.payload.length / FRAME;
    this.n += skipped;
    for (let t = from; t < to; t++) {
      if (this.n >= count) {
        if (!this.loop) {
          this.finish('finished');
          return false;
        }
        this.n %= count;
      }
      const f = this.n++;
      this.sink(fanOutHeader(this.header, this.payload.subarray(f * FRAME, (f + 1) * FRAME), t === from ? skipped : 0));
    }
    return true;
  }

  stop(): void {
    this.finish('stopped');
  }

  finish(e: PlayEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    this.resolve(e);
  }
}

/** One leg listening to a hold source. */
class Listener implements PlayHandle {
  readonly done: Promise<PlayEnd>;
  private resolve!: (e: PlayEnd) => void;
  readonly header: StreamHeader;
  ended = false;

  constructor(
    readonly sink: PacketSink,
    law: G711Law,
    private readonly onStop: (l: Listener) => void,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
    this.header = newStreamHeader(G711_PAYLOAD_TYPE[law]);
  }

  stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.onStop(this);
    this.resolve('stopped');
  }
}

/** Music on hold for one (prompt, law): one position in the loop, every listener hears it. */
class HoldSource implements Ticking {
  readonly listeners: Listener[] = [];
  private n = 0;

  constructor(private readonly payload: Uint8Array) {}

  frames(from: number, to: number, skipped: number): boolean {
    const count = this.payload.length / FRAME;
    this.n = (this.n + skipped) % count;
    const ls = this.listeners;
    for (let t = from; t < to; t++) {
      const f = this.n;
      this.n = (this.n + 1) % count;
      const frame = this.payload.subarray(f * FRAME, (f + 1) * FRAME);
      const gap = t === from ? skipped : 0;
      for (let i = 0; i < ls.length; i++) ls[i]!.sink(fanOutHeader(ls[i]!.header, frame, gap));
    }
    return ls.length > 0;
  }
}

export interface PlayoutStats {
  ticks: number;
  /** Frames skipped because the thread fell more than MAX_BURST frames behind. */
  skipped: number;
  holdSources: number;
  listeners: number;
  oneShots: number;
}

/** The thread's playout: one tick for all, hold sources shared by key and law. */
export class Playout {
  readonly prompts = new PromptStore();
  private readonly oneShots = new Set<OneShot>();
  private readonly holds = new Map<string, HoldSource>();
  private timer: TimerHandle | undefined;
  private start = 0;
  /** Frames of the timeline done so far. */
  private done = 0;
  readonly stats: PlayoutStats = { ticks: 0, skipped: 0, holdSources: 0, listeners: 0, oneShots: 0 };

  constructor(private readonly clock: Clock) {}

  /** Play prompts (by key, in order) once, or looped, to one leg. */
  play(keys: readonly string[], law: G711Law, loop: boolean, sink: PacketSink): PlayHandle {
    const parts = keys.map((k) => this.prompts.payload(k, law));
    const payload = parts.length === 1 ? parts[0]! : concat(parts);
    const p = new OneShot(payload, law, sink, loop, (x) => this.oneShots.delete(x));
    if (payload.length === 0) {
      p.finish('finished');
      return p;
    }
    this.oneShots.add(p);
    this.ensureTicking();
    return p;
  }

  /** Music on hold: the leg joins the shared stream of `key` in `law`. */
  hold(key: string, law: G711Law, sink: PacketSink): PlayHandle {
    const id = `${law}:${key}`;
    let src = this.holds.get(id);
    if (!src) {
      const payload = this.prompts.payload(key, law);
      if (payload.length === 0) {
        const l = new Listener(sink, law, () => undefined);
        l.stop();
        return l;
      }
      this.holds.set(id, (src = new HoldSource(payload)));
    }
    const source = src;
    const l = new Listener(sink, law, (x) => {
      const i = source.listeners.indexOf(x);
      if (i >= 0) {
        // Order does not matter: swap with the last, O(1).
        source.listeners[i] = source.listeners[source.listeners.length - 1]!;
        source.listeners.pop();
      }
      if (source.listeners.length === 0 && this.holds.get(id) === source) this.holds.delete(id);
    });
    source.listeners.push(l);
    this.ensureTicking();
    return l;
  }

  snapshot(): PlayoutStats {
    let listeners = 0;
    for (const h of this.holds.values()) listeners += h.listeners.length;
    return { ...this.stats, holdSources: this.holds.size, listeners, oneShots: this.oneShots.size };
  }

  close(): void {
    for (const p of [...this.oneShots]) p.stop();
    for (const h of [...this.holds.values()]) for (const l of [...h.listeners]) l.stop();
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private ensureTicking(): void {
    if (this.timer) return;
    // Start the timeline so the first frame goes out on the next tick.
    this.start = this.clock.now() - PTIME_MS;
    this.done = 0;
    this.timer = this.clock.setTimeout(() => this.tick(), 0);
  }

  private tick(): void {
    this.timer = undefined;
    this.stats.ticks++;
    const due = Math.floor((this.clock.now() - this.start) / PTIME_MS);
    let skipped = 0;
    if (due - this.done > MAX_BURST) {
      skipped = due - 1 - this.done;
      this.stats.skipped += skipped;
      this.done = due - 1;
    }
    const from = this.done;
    if (due > from) {
      for (const h of this.holds.values()) h.frames(from, due, skipped);
      for (const p of this.oneShots) p.frames(from, due, skipped);
      this.done = due;
    }
    if (this.oneShots.size === 0 && this.holds.size === 0) return; // idle: no timer at all
    const next = this.start + (this.done + 1) * PTIME_MS;
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(1, next - this.clock.now()));
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
