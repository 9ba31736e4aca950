/**
 * The RTP threads as the main thread sees them: one worker_thread per core by default (see
 * rtpThreadEntry.ts, the code each thread runs, for why), calls spread over them by live call
 * count, request/reply messaging, and the events of each leg delivered to that leg. A thread that
 * dies takes only its calls with it (each is told, as when a mediasoup worker dies) and is
 * replaced.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { log as rootLog } from '../../lib/log.ts';
import { Emitter } from '../../lib/events.ts';
import {
  RTP_THREAD_ROLE,
  type RtpThreadEvent,
  type RtpThreadInbound,
  type RtpThreadOutbound,
  type RtpThreadReplies,
  type RtpThreadRequest,
} from './rtpThreadProtocol.ts';

const log = rootLog.child({ mod: 'media' });

/**
 * Young generation of each RTP thread's V8 heap, MiB (0 = V8's default). Every packet allocates a
 * little; with V8's default the scavenger grows each thread's semi-spaces to their maximum under
 * load and never gives the memory back (soak bench: the threads' committed heaps 51 -> 85 MiB and
 * RSS +81 MiB over five rounds; with 8 MiB: 36 MiB and flat after round 2). CC_RTP_YOUNG_MB
 * overrides it, for measuring.
 */
const RTP_YOUNG_MB = Number(process.env.CC_RTP_YOUNG_MB ?? 8);

/**
 * The thread's entry is TypeScript, and tsx (Node 20) registers its loader on the main thread
 * only: the worker starts from a small script that registers tsx's ESM hooks in the worker, then
 * imports the entry.
 */
function workerSource(entry: URL): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`;
}

type Op = RtpThreadRequest['op'];

/** Prompts kept per thread (see RtpThread.ensurePrompt). */
const MAX_PROMPTS = 256;

export class RtpThread extends Emitter<{ died: [error: Error] }> {
  /** Call ids whose plain legs live here. */
  readonly calls = new Set<string>();
  dead = false;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly legs = new Map<string, (e: RtpThreadEvent) => void>();
  private seq = 0;
  private stopping = false;
  /** Prompts this thread holds (see ensurePrompt), least recently used first. */
  private readonly prompts = new Map<string, true>();

  private constructor(
    readonly index: number,
    private readonly worker: Worker,
  ) {
    super();
    worker.on('message', (m: RtpThreadOutbound) => this.onMessage(m));
    worker.on('error', (e) => log.error({ thread: index, err: e.message, stack: e.stack }, 'RTP thread failed'));
    worker.on('exit', (code) => {
      this.dead = true;
      const err = new Error(`RTP thread ${index} exited (${code})`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.stopping) this.emit('died', err);
    });
  }

  static async start(index: number): Promise<RtpThread> {
    const worker = new Worker(workerSource(new URL('./rtpThreadEntry.ts', import.meta.url)), {
      eval: true,
      workerData: { role: RTP_THREAD_ROLE },
      name: `rtp-${index}`,
      ...(RTP_YOUNG_MB > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: RTP_YOUNG_MB } } : {}),
    });
    const t = new RtpThread(index, worker);
    await t.request({ op: 'ping' }); // loaded and answering (a load error rejects here)
    return t;
  }

  request<K extends Op>(req: Extract<RtpThreadRequest, { op: K }>): Promise<RtpThreadReplies[K]> {
    if (this.dead) return Promise.reject(new Error(`RTP thread ${this.index} is gone`));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, req } satisfies RtpThreadInbound);
    });
  }

  /**
   * Make sure the thread holds a prompt's samples under `key` (path@mtime): sent once per thread,
   * not with every play. Messages are ordered, so a play sent after this finds it there. Beyond
   * MAX_PROMPTS the least recently used is dropped (a hold stream still playing keeps its own copy).
   */
  ensurePrompt(key: string, samples: Int16Array): void {
    if (this.prompts.delete(key)) {
      this.prompts.set(key, true);
      return;
    }
    this.prompts.set(key, true);
    void this.request({ op: 'prompt', key, samples }).catch(() => undefined);
    if (this.prompts.size > MAX_PROMPTS) {
      const oldest = this.prompts.keys().next().value!;
      this.prompts.delete(oldest);
      void this.request({ op: 'dropPrompt', key: oldest }).catch(() => undefined);
    }
  }

  /** Deliver a leg's events (key presses, RTP timeout) to `handler` until `forget`. */
  listen(leg: string, handler: (e: RtpThreadEvent) => void): void {
    this.legs.set(leg, handler);
  }

  forget(leg: string): void {
    this.legs.delete(leg);
  }

  /** End the thread at once, as a crash would (tests; a wedged thread). Its calls are lost. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.dead) return;
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.worker.postMessage('exit');
    // A thread that does not wind down by itself (an open socket) is terminated.
    const t = setTimeout(() => void this.worker.terminate(), 1000);
    await exited;
    clearTimeout(t);
  }

  private onMessage(m: RtpThreadOutbound): void {
    if ('event' in m) {
      this.legs.get(m.leg)?.(m);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error));
  }
}

export class RtpThreadPool extends Emitter<{
  /** A thread died; these calls lost their plain legs. A replacement is being started. */
  threadDied: [index: number, callIds: string[]];
}> {
  private readonly threads: (RtpThread | undefined)[] = [];
  private closed = false;

  private constructor() {
    super();
  }

  static async start(count = availableParallelism()): Promise<RtpThreadPool> {
    const pool = new RtpThreadPool();
    await Promise.all(Array.from({ length: Math.max(1, count) }, (_, i) => pool.spawn(i)));
    return pool;
  }

  get size(): number {
    return this.threads.length;
  }

  /** The live thread with the fewest calls. */
  pick(): RtpThread {
    let best: RtpThread | undefined;
    for (const t of this.threads) if (t && !t.dead && (!best || t.calls.size < best.calls.size)) best = t;
    if (!best) throw new Error('no live RTP thread');
    return best;
  }

  thread(index: number): RtpThread | undefined {
    return this.threads[index];
  }

  load(): { index: number; calls: number }[] {
    return this.threads.flatMap((t) => (t ? [{ index: t.index, calls: t.calls.size }] : []));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.flatMap((t) => (t ? [t.stop()] : [])));
  }

  private async spawn(index: number): Promise<void> {
    const t = await RtpThread.start(index);
    this.threads[index] = t;
    t.once('died', (e) => {
      log.error({ thread: index, calls: t.calls.size, err: e.message }, 'RTP thread died');
      this.threads[index] = undefined;
      this.emit('threadDied', index, [...t.calls]);
      if (this.closed) return;
      this.spawn(index).catch((err: unknown) => log.error({ thread: index, err: String(err) }, 'could not replace RTP thread'));
    });
  }
}
