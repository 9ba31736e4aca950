/**
 * An N-party G.711 audio mixer with a hear matrix: each participant hears the set of others it is
 * given (a conference: everyone else; a supervisor listening: the supervisor hears agent and caller,
 * nobody hears the supervisor; whispering: only the agent does; barging: everyone does).
 *
 * Audio goes in as G.711 payloads of any length (decoded into a short per-participant buffer) and
 * comes out one 20 ms frame (160 samples at 8 kHz) per participant per tick, encoded in the call's
 * law: the 16-bit sum of what the participant hears, saturated. Jitter-tolerant: a participant with
 * nothing buffered this tick contributes silence; one that sends faster than real time (clock drift,
 * a burst after a stall) loses its oldest samples beyond maxBufferedFrames, so latency stays bounded.
 *
 * Pure: no sockets, no timers; whoever owns the clock calls tick() every 20 ms.
 */
import { decodeG711At, encodeG711, type G711Law } from './g711.ts';

/** Samples in one 20 ms frame at 8 kHz. */
export const MIX_FRAME = 160;
/** Ticks a participant may stay more than a frame behind before its backlog is dropped (1 s). */
const BACKLOG_TICKS = 50;

interface Participant {
  id: string;
  hears: Set<string>;
  /** Ring buffer of decoded samples waiting to be mixed. */
  ring: Int16Array;
  read: number;
  count: number;
  /** This tick's frame (silence-padded). */
  frame: Int16Array;
  /** Whether `frame` holds any samples this tick (an all-silent participant costs nothing). */
  live: boolean;
  /** Consecutive ticks that left more than a frame buffered (latency a burst left behind). */
  backlogTicks: number;
  out: Uint8Array;
}

export interface MixerStats {
  ticks: number;
  /** Samples dropped because a participant's buffer was full (it sent faster than real time). */
  overflowSamples: number;
  /** Participant-ticks with no audio buffered (late or lost packets, silence suppression). */
  underruns: number;
}

export class Mixer {
  private readonly parts = new Map<string, Participant>();
  private readonly total = new Int32Array(MIX_FRAME);
  private readonly acc = new Int32Array(MIX_FRAME);
  private readonly pcm = new Int16Array(MIX_FRAME);
  private readonly capacity: number;
  readonly stats: MixerStats = { ticks: 0, overflowSamples: 0, underruns: 0 };

  constructor(
    readonly law: G711Law,
    /** How much audio a participant may have waiting, in frames (5 = 100 ms of jitter absorbed). */
    maxBufferedFrames = 5,
  ) {
    this.capacity = Math.max(1, maxBufferedFrames) * MIX_FRAME;
  }

  get size(): number {
    return this.parts.size;
  }

  has(id: string): boolean {
    return this.parts.has(id);
  }

  ids(): string[] {
    return [...this.parts.keys()];
  }

  hears(id: string): ReadonlySet<string> | undefined {
    return this.parts.get(id)?.hears;
  }

  /** Add a participant hearing `hears` (ids not yet in the mix are allowed: they count once added). */
  add(id: string, hears: Iterable<string>): void {
    if (this.parts.has(id)) throw new Error(`mixer: ${id} is already in the mix`);
    this.parts.set(id, {
      id,
      hears: new Set([...hears].filter((h) => h !== id)),
      ring: new Int16Array(this.capacity),
      read: 0,
      count: 0,
      frame: new Int16Array(MIX_FRAME),
      live: false,
      backlogTicks: 0,
      out: new Uint8Array(MIX_FRAME),
    });
  }

  /** Change whom a participant hears, from the next tick. */
  setHears(id: string, hears: Iterable<string>): void {
    const p = this.parts.get(id);
    if (!p) throw new Error(`mixer: ${id} is not in the mix`);
    p.hears = new Set([...hears].filter((h) => h !== id));
  }

  /** Take a participant out; the others stop hearing it at once. */
  remove(id: string): boolean {
    return this.parts.delete(id);
  }

  /** A participant's audio: `count` G.711 bytes of `src` from `from` (a payload read in place). */
  push(id: string, src: Uint8Array, from = 0, count = src.length - from): void {
    const p = this.parts.get(id);
    if (!p || count <= 0) return;
    const cap = this.capacity;
    if (count > cap) {
      // More than the buffer holds at once: only the newest audio counts.
      this.stats.overflowSamples += count - cap;
      from += count - cap;
      count = cap;
    }
    const over = p.count + count - cap;
    if (over > 0) {
      p.read = (p.read + over) % cap;
      p.count -= over;
      this.stats.overflowSamples += over;
    }
    let write = (p.read + p.count) % cap;
    let left = count;
    while (left > 0) {
      const n = Math.min(left, cap - write);
      decodeG711At(this.law, src, from, n, p.ring, write);
      from += n;
      left -= n;
      write = (write + n) % cap;
    }
    p.count += count;
  }

  /**
   * Mix one 20 ms frame. `send` gets, for each participant, the G.711 frame of what it hears (the
   * buffer is reused on the next tick: send or copy it before then).
   */
  tick(send: (id: string, frame: Uint8Array) => void): void {
    this.stats.ticks++;
    const total = this.total;
    total.fill(0);
    const parts = [...this.parts.values()];
    for (const p of parts) {
      this.take(p);
      if (!p.live) continue;
      const f = p.frame;
      for (let i = 0; i < MIX_FRAME; i++) total[i]! += f[i]!;
    }
    for (const p of parts) {
      // Sum what it hears, or the whole mix less what it does not hear, whichever adds fewer frames.
      let heard = 0;
      for (const q of parts) if (q !== p && q.live && p.hears.has(q.id)) heard++;
      let unheard = 0;
      for (const q of parts) if ((q === p || !p.hears.has(q.id)) && q.live) unheard++;
      const acc = this.acc;
      if (unheard < heard) {
        acc.set(total);
        for (const q of parts) if ((q === p || !p.hears.has(q.id)) && q.live) subtract(acc, q.frame);
      } else {
        acc.fill(0);
        for (const q of parts) if (q !== p && q.live && p.hears.has(q.id)) add(acc, q.frame);
      }
      const pcm = this.pcm;
      for (let i = 0; i < MIX_FRAME; i++) {
        const s = acc[i]!;
        pcm[i] = s > 32767 ? 32767 : s < -32768 ? -32768 : s;
      }
      encodeG711(this.law, pcm, p.out);
      send(p.id, p.out);
    }
  }

  /** Move up to one frame out of the participant's buffer (silence-padded). */
  private take(p: Participant): void {
    const n = Math.min(p.count, MIX_FRAME);
    p.live = n > 0;
    if (!p.live) {
      this.stats.underruns++;
      return;
    }
    const cap = this.capacity;
    for (let i = 0; i < n; i++) p.frame[i] = p.ring[(p.read + i) % cap]!;
    if (n < MIX_FRAME) p.frame.fill(0, n);
    p.read = (p.read + n) % cap;
    p.count -= n;
    // A burst (a stall on the sender's side) leaves audio queued for good, since it arrives as fast
    // as it is taken: after a second of it, drop back to one frame of latency.
    p.backlogTicks = p.count > MIX_FRAME ? p.backlogTicks + 1 : 0;
    if (p.backlogTicks >= BACKLOG_TICKS) {
      const drop = p.count - MIX_FRAME;
      p.read = (p.read + drop) % cap;
      p.count = MIX_FRAME;
      p.backlogTicks = 0;
      this.stats.overflowSamples += drop;
    }
  }
}

function add(acc: Int32Array, f: Int16Array): void {
  for (let i = 0; i < MIX_FRAME; i++) acc[i]! += f[i]!;
}
function subtract(acc: Int32Array, f: Int16Array): void {
  for (let i = 0; i < MIX_FRAME; i++) acc[i]! -= f[i]!;
}

/** Who hears whom: participant (an id, or a leg) → those it hears. */
export type HearMatrix<T = string> = Map<T, T[]>;

/** A conference: everyone hears everyone else. */
export function conferenceHears<T>(ids: readonly T[]): HearMatrix<T> {
  return new Map(ids.map((id) => [id, ids.filter((o) => o !== id)]));
}

export type MonitorMode = 'listen' | 'whisper' | 'barge';

/**
 * A supervisor on a call: the parties (caller, agent, anyone conferenced) hear each other; the
 * supervisor hears all of them; who hears the supervisor depends on the mode: nobody (listen), the
 * coached agent only (whisper), everyone (barge).
 */
export function monitorHears<T>(mode: MonitorMode, o: { parties: readonly T[]; supervisor: T; agent: T }): HearMatrix<T> {
  const m = conferenceHears(o.parties);
  for (const [id, hears] of m) if (mode === 'barge' || (mode === 'whisper' && id === o.agent)) hears.push(o.supervisor);
  m.set(o.supervisor, [...o.parties]);
  return m;
}
