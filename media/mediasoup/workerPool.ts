/**
 * mediasoup workers: one per core by default (each is a single-threaded C++ process). Calls go to
 * the worker with the fewest live calls; every call gets its own Router on it. If a worker dies,
 * a replacement is started in its slot and only the calls that were on it are reported lost.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'mediasoup/types';
import { log as rootLog } from '../../lib/log.ts';
import { Emitter } from '../../lib/events.ts';
import { loadMediasoup } from './workerBinary.ts';

const log = rootLog.child({ mod: 'media' });

interface WorkerPoolOptions {
  /** Default: one per core. */
  workers?: number;
  logLevel?: 'debug' | 'warn' | 'error' | 'none';
}

interface WorkerSlot {
  index: number;
  worker: Worker;
  /** Call ids whose router lives on this worker. */
  calls: Set<string>;
}

export class WorkerPool extends Emitter<{
  /** A worker died; these calls lost their media. A replacement is being started. */
  workerDied: [index: number, callIds: string[], error: Error];
  workerReplaced: [index: number];
}> {
  private readonly slots: (WorkerSlot | undefined)[] = [];
  private closed = false;

  private constructor(private readonly opts: WorkerPoolOptions) {
    super();
  }

  static async start(opts: WorkerPoolOptions = {}): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    const n = Math.max(1, opts.workers ?? availableParallelism());
    await Promise.all(Array.from({ length: n }, (_, i) => pool.spawn(i)));
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** The live slot with the fewest calls. */
  pick(): WorkerSlot {
    let best: WorkerSlot | undefined;
    for (const s of this.slots) if (s && !s.worker.died && (!best || s.calls.size < best.calls.size)) best = s;
    if (!best) throw new Error('no live mediasoup worker');
    return best;
  }

  slot(index: number): WorkerSlot | undefined {
    return this.slots[index];
  }

  load(): { index: number; pid: number; calls: number }[] {
    return this.slots.flatMap((s) => (s ? [{ index: s.index, pid: s.worker.pid, calls: s.calls.size }] : []));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) s?.worker.close();
  }

  private async spawn(index: number): Promise<void> {
    const ms = await loadMediasoup();
    const worker = await ms.createWorker({ logLevel: this.opts.logLevel ?? 'warn', appData: { index } });
    const slot: WorkerSlot = { index, worker, calls: new Set() };
    this.slots[index] = slot;
    worker.on('died', (error) => {
      const lost = [...slot.calls];
      slot.calls.clear();
      this.slots[index] = undefined;
      log.error({ worker: index, pid: worker.pid, calls: lost.length, err: error.message }, 'mediasoup worker died');
      this.emit('workerDied', index, lost, error);
      if (this.closed) return;
      this.spawn(index).then(
        () => this.emit('workerReplaced', index),
        (e: unknown) => log.error({ worker: index, err: String(e) }, 'could not replace mediasoup worker'),
      );
    });
    log.info({ worker: index, pid: worker.pid }, 'mediasoup worker started');
  }
}
