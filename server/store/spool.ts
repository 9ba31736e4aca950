/**
 * The local durable spool between the call path and Postgres: an append-only file of JSON lines
 * (events.jsonl) plus the byte offset up to which Postgres has confirmed them (events.ack).
 *
 * Every append is fsync'ed before it counts as spooled, so a Postgres outage or a process restart
 * loses nothing that reached the spool; lines past the ack offset are replayed on start. The ack is
 * written to a temporary file, fsync'ed and renamed over the old one, so it is never torn. When
 * everything is acknowledged and the file has grown past compactBytes, it is truncated to zero.
 *
 * Not safe for two processes on one directory; one writer owns a spool (enforced with a lock file).
 */
import { closeSync, openSync, writeSync, unlinkSync, readFileSync, existsSync } from 'node:fs';
import { mkdir, open, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface SpoolOptions {
  /** Truncate the file once fully acknowledged and larger than this. Default 4 MiB. */
  compactBytes?: number;
}

export interface PendingChunk {
  /** Complete lines, oldest first. */
  lines: string[];
  /** Offset just after the last line returned: ack(endOffset) confirms them. */
  endOffset: number;
}

export class Spool {
  private constructor(
    readonly dir: string,
    private fh: FileHandle,
    private size: number,
    private acked: number,
    private readonly compactBytes: number,
    private readonly lockPath: string,
  ) {}

  static async open(dir: string, opts: SpoolOptions = {}): Promise<Spool> {
    await mkdir(dir, { recursive: true });
    const lockPath = join(dir, 'spool.lock');
    takeLock(lockPath);
    try {
      const dataPath = join(dir, 'events.jsonl');
      const fh = await open(dataPath, 'a+');
      let size = (await fh.stat()).size;
      // A crash mid-append can leave a torn last line; cut it so later appends start clean.
      if (size > 0) {
        const tail = Buffer.alloc(Math.min(size, 64 * 1024));
        let end = size;
        let cut = -1;
        while (end > 0 && cut < 0) {
          const len = Math.min(tail.length, end);
          await fh.read(tail, 0, len, end - len);
          const i = tail.subarray(0, len).lastIndexOf(0x0a);
          if (i >= 0) cut = end - len + i + 1;
          else end -= len;
        }
        const keep = cut < 0 ? 0 : cut;
        if (keep !== size) {
          await fh.truncate(keep);
          await fh.sync();
          size = keep;
        }
      }
      let acked = 0;
      try {
        acked = Number.parseInt(readFileSync(join(dir, 'events.ack'), 'utf8').trim(), 10);
      } catch {
        acked = 0;
      }
      // An ack past the end means the file was compacted after the ack was written: all confirmed.
      if (!Number.isSafeInteger(acked) || acked < 0 || acked > size) acked = acked > size ? size : 0;
      return new Spool(dir, fh, size, acked, opts.compactBytes ?? 4 * 1024 * 1024, lockPath);
    } catch (err) {
      releaseLock(lockPath);
      throw err;
    }
  }

  /** Bytes written but not yet confirmed by the database. */
  get pendingBytes(): number {
    return this.size - this.acked;
  }

  get fileBytes(): number {
    return this.size;
  }

  /** Append lines (no newlines inside) and fsync. */
  async append(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const buf = Buffer.from(lines.join('\n') + '\n', 'utf8');
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
    await this.fh.datasync();
    this.size += buf.length;
  }

  /** Up to maxLines unacknowledged lines from the ack offset. */
  async readPending(maxLines: number, maxBytes = 8 * 1024 * 1024): Promise<PendingChunk> {
    const lines: string[] = [];
    let pos = this.acked;
    while (lines.length < maxLines && pos < this.size) {
      const len = Math.min(maxBytes, this.size - pos);
      const buf = Buffer.alloc(len);
      const { bytesRead } = await this.fh.read(buf, 0, len, pos);
      const chunk = buf.subarray(0, bytesRead);
      let start = 0;
      for (;;) {
        if (lines.length >= maxLines) break;
        const nl = chunk.indexOf(0x0a, start);
        if (nl < 0) break;
        lines.push(chunk.toString('utf8', start, nl));
        start = nl + 1;
      }
      if (start === 0) {
        // One line longer than maxBytes: read it whole rather than stall.
        if (bytesRead === this.size - pos) break;
        maxBytes = Math.min(this.size - pos, maxBytes * 2);
        continue;
      }
      pos += start;
    }
    return { lines, endOffset: pos };
  }

  /** Confirm everything before offset; compacts the file when it is all confirmed. */
  async ack(offset: number): Promise<void> {
    if (offset <= this.acked) return;
    this.acked = Math.min(offset, this.size);
    if (this.acked === this.size && this.size >= this.compactBytes) {
      await this.fh.truncate(0);
      await this.fh.sync();
      this.size = 0;
      this.acked = 0;
    }
    const tmp = join(this.dir, 'events.ack.tmp');
    await writeFile(tmp, `${this.acked}\n`, { flush: true });
    await rename(tmp, join(this.dir, 'events.ack'));
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
    releaseLock(this.lockPath);
  }
}

/** A pid lock: a second process on the same spool would interleave appends and double-ack. */
const heldHere = new Set<string>();

function takeLock(path: string): void {
  if (heldHere.has(path)) throw new Error(`spool ${path} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid} ${bootId()}`);
      closeSync(fd);
      heldHere.add(path);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [pidText, boot] = safeRead(path).split(' ');
      const pid = Number.parseInt(pidText ?? '', 10);
      // After a reboot the pid may belong to an unrelated process: only this boot's pids count.
      const sameBoot = boot === undefined || boot === bootId();
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && sameBoot && alive(pid)) {
        throw new Error(`spool ${path} is in use by process ${pid}`);
      }
      // Stale lock from a dead process (or one this process closed without releasing): take over.
      try {
        unlinkSync(path);
      } catch {
        /* raced with another taker; the retry decides */
      }
    }
  }
  throw new Error(`cannot lock spool ${path}`);
}

function releaseLock(path: string): void {
  heldHere.delete(path);
  try {
    if (existsSync(path) && safeRead(path).split(' ')[0] === String(process.pid)) unlinkSync(path);
  } catch {
    /* best effort */
  }
}

let boot: string | undefined;
function bootId(): string {
  boot ??= safeRead('/proc/sys/kernel/random/boot_id') || 'unknown';
  return boot;
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
