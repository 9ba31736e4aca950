/**
 * Call recording: an 8 kHz 16-bit stereo WAV, caller on the left, agent on the right.
 *
 * Each channel's packets are placed by RTP timestamp, so lost or silence-suppressed packets become
 * silence of the right length, and the two channels stay aligned with each other. A channel's RTP
 * timeline is anchored to wall-clock arrival on its first packet, and re-anchored when its SSRC
 * changes (re-INVITE, transfer, prompt vs agent) or its timestamps jump by more than a second.
 *
 * Audio is written a jitter window behind real time. While paused (PCI-DSS: card numbers read
 * out), incoming audio is dropped, so the file holds silence of the paused length. The header's
 * sizes are rewritten about once a second, and `repairWavHeader` fixes a file whose writer died.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { decodeG711At, type G711Law } from './g711.ts';
import { rtpPayloadEnd, rtpPayloadStart, timestampDiff } from '../rtp/rtp.ts';
import { WAV_HEADER_BYTES, wavHeader } from './wav.ts';

const RATE = 8000;
type RecorderChannel = 0 | 1;
export const CALLER: RecorderChannel = 0;
export const AGENT: RecorderChannel = 1;

interface RecorderOptions {
  clock: Clock;
  /** How far behind real time audio is committed, so late packets still land. Default 200 ms. */
  jitterMs?: number;
  /**
   * How often buffered audio is written. Default 500 ms: one write per call per half second
   * instead of one per packet or per 100 ms (each write is a thread-pool round trip on the main
   * thread's event loop); the header is still rewritten about once a second.
   */
  flushMs?: number;
}

export interface RecordingSummary {
  path: string;
  /** Audio length written, in ms. */
  durationMs: number;
  /** Packets dropped because they arrived later than the jitter window. */
  latePackets: number;
  /** Total ms of recording spent paused. */
  pausedMs: number;
}

interface Lane {
  ssrc: number | undefined;
  tsBase: number;
  posBase: number;
  buf: Int16Array; // positions [cursor, cursor + buf.length)
}

export class Recorder {
  private readonly lanes: [Lane, Lane];
  private readonly started: number;
  private cursor = 0; // output position (samples since start) already written
  private written = 0; // data bytes written
  private timer: TimerHandle | undefined;
  /** Every file operation, in order: the open first, then writes, the header, the close. */
  private writing: Promise<void>;
  private fh: FileHandle | undefined;
  private lastHeaderAt = 0;
  private pausedAt: number | undefined;
  private pausedTotal = 0;
  private late = 0;
  private closed = false;
  private failure: Error | undefined;
  private readonly jitter: number;
  private readonly flushMs: number;

  private constructor(
    readonly path: string,
    private readonly clock: Clock,
    opts: RecorderOptions,
  ) {
    this.started = clock.now();
    this.writing = (async () => {
      try {
        const fh = await open(path, 'w');
        this.fh = fh;
        await fh.write(wavHeader(RATE, 2, 0), 0, WAV_HEADER_BYTES, 0);
      } catch (e) {
        this.failure = e instanceof Error ? e : new Error(String(e));
      }
    })();
    this.jitter = Math.round(((opts.jitterMs ?? 200) * RATE) / 1000);
    this.flushMs = opts.flushMs ?? 500;
    const lane = (): Lane => ({ ssrc: undefined, tsBase: 0, posBase: 0, buf: new Int16Array(RATE * 4) });
    this.lanes = [lane(), lane()];
    this.schedule();
  }

  /**
   * Start recording now and create (truncate) `path` behind it: audio is captured from this call
   * on, whatever the disk's latency. Under load opening the file took the RTP thread's thread-pool
   * up to 2 s (full-path bench, 100 calls/s), and a recorder that waited for it missed the start
   * of the talk. A file that cannot be created fails the recording at stop(), not the call.
   */
  static start(path: string, opts: RecorderOptions): Recorder {
    return new Recorder(path, opts.clock, opts);
  }

  /** start(), resolved once the file exists as a valid empty WAV (or rejected if it cannot). */
  static async open(path: string, opts: RecorderOptions): Promise<Recorder> {
    const rec = Recorder.start(path, opts);
    await rec.writing;
    if (rec.failure) throw rec.failure;
    return rec;
  }

  get paused(): boolean {
    return this.pausedAt !== undefined;
  }

  pause(): void {
    if (this.pausedAt === undefined && !this.closed) this.pausedAt = this.clock.now();
  }

  resume(): void {
    if (this.pausedAt === undefined) return;
    this.pausedTotal += this.clock.now() - this.pausedAt;
    this.pausedAt = undefined;
  }

  /**
   * Feed one G.711 RTP packet of a channel, as received (header and all). Decoded straight into
   * the channel's buffer: nothing is allocated per packet.
   */
  pushG711(channel: RecorderChannel, law: G711Law, raw: Buffer): void {
    if (this.pausedAt !== undefined || this.closed) return;
    const start = rtpPayloadStart(raw);
    if (start < 0) return;
    const n = this.place(channel, raw.readUInt32BE(8), raw.readUInt32BE(4), rtpPayloadEnd(raw) - start);
    if (n <= 0) return;
    decodeG711At(law, raw, start + this.placedFrom, n, this.lanes[channel].buf, this.placedAt);
  }

  /** Feed 8 kHz linear samples that start at RTP `timestamp` of stream `ssrc`. */
  push(channel: RecorderChannel, ssrc: number, timestamp: number, samples: Int16Array): void {
    if (this.pausedAt !== undefined || this.closed) return;
    const n = this.place(channel, ssrc, timestamp, samples.length);
    if (n <= 0) return;
    const from = this.placedFrom;
    this.lanes[channel].buf.set(from === 0 && n === samples.length ? samples : samples.subarray(from, from + n), this.placedAt);
  }

  /** Where a packet's samples go: from sample `placedFrom` of it, at buffer index `placedAt`. */
  private placedFrom = 0;
  private placedAt = 0;

  /**
   * Place `length` samples of stream `ssrc` starting at RTP `timestamp` on a channel's timeline;
   * returns how many of them to store (from placedFrom, at placedAt), 0 if none (too late).
   */
  private place(channel: RecorderChannel, ssrc: number, timestamp: number, length: number): number {
    const lane = this.lanes[channel];
    const arrival = this.position();
    let pos = lane.posBase + timestampDiff(lane.tsBase, timestamp);
    if (lane.ssrc !== ssrc || Math.abs(pos - arrival) > RATE) {
      lane.ssrc = ssrc;
      lane.tsBase = timestamp;
      lane.posBase = Math.max(arrival, this.cursor);
      pos = lane.posBase;
    }
    let from = 0;
    let off = pos - this.cursor;
    if (off < 0) {
      from = -off;
      off = 0;
      if (from >= length) {
        this.late++;
        return 0;
      }
    }
    this.placedFrom = from;
    this.placedAt = off;
    return Math.min(length - from, lane.buf.length - off);
  }

  /** Stop, write everything buffered, finalise the header, close the file. */
  async stop(): Promise<RecordingSummary> {
    if (!this.closed) {
      this.resume();
      this.closed = true;
      if (this.timer) this.clock.clearTimeout(this.timer);
      this.commit(this.position());
      this.writing = this.writing.then(async () => {
        if (!this.fh) return; // never opened: failure says why
        try {
          if (!this.failure) await this.writeHeader(this.written);
        } finally {
          await this.fh.close();
        }
      });
    }
    await this.writing;
    if (this.failure) throw this.failure;
    return {
      path: this.path,
      durationMs: Math.round((this.written / 4 / RATE) * 1000),
      latePackets: this.late,
      pausedMs: this.pausedTotal,
    };
  }

  private position(): number {
    return Math.floor(((this.clock.now() - this.started) * RATE) / 1000);
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      if (this.closed) return;
      this.commit(this.position() - this.jitter);
      this.schedule();
    }, this.flushMs);
  }

  /** Interleave and queue for writing everything before output position `upTo`. */
  private commit(upTo: number): void {
    while (upTo > this.cursor) {
      const [l, r] = this.lanes;
      const n = Math.min(upTo - this.cursor, l.buf.length);
      const frames = new Int16Array(n * 2); // WAV is little-endian, as is every host we run on
      for (let i = 0; i < n; i++) {
        frames[2 * i] = l.buf[i]!;
        frames[2 * i + 1] = r.buf[i]!;
      }
      const out = Buffer.from(frames.buffer);
      for (const lane of this.lanes) {
        lane.buf.copyWithin(0, n);
        lane.buf.fill(0, lane.buf.length - n);
      }
      this.cursor += n;
      const at = WAV_HEADER_BYTES + this.written;
      this.written += out.length;
      const now = this.clock.now();
      const header = now - this.lastHeaderAt >= 1000 ? this.written : undefined;
      if (header !== undefined) this.lastHeaderAt = now;
      this.writing = this.writing.then(async () => {
        if (this.failure || !this.fh) return;
        try {
          await this.fh.write(out, 0, out.length, at);
          if (header !== undefined) await this.writeHeader(header);
        } catch (e) {
          this.failure = e instanceof Error ? e : new Error(String(e));
        }
      });
    }
  }

  private async writeHeader(dataBytes: number): Promise<void> {
    const h = wavHeader(RATE, 2, dataBytes);
    await this.fh?.write(h, 0, WAV_HEADER_BYTES, 0);
  }
}
