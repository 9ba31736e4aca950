/**
 * The analytics worker: after a call, off the call path, each finished recording is analysed
 * (analytics.ts), the flag rules are applied, and flagged calls join the review queue. It runs in
 * the centre's process at low priority: one recording at a time, every scanSec, yielding to the
 * event loop between recordings, on a timer that does not keep the process alive. Postgres is
 * the queue (recordings without a qa_analytics row), so a restart loses nothing and a recording
 * that cannot be read is marked with its error rather than retried forever.
 */
import { readFile } from 'node:fs/promises';
import type { Clock } from '../../lib/clock.ts';
import { log } from '../../lib/log.ts';
import type { CcEvent } from '../kpi/events.ts';
import type { Audit } from '../store/audit.ts';
import type { QaStore } from '../store/qa.ts';
import { isInside, type RecordingRow } from '../store/recordings.ts';
import { analyseWav, flagCall, type Interval } from './analytics.ts';
import type { QaConfig } from './config.ts';

const wlog = log.child({ mod: 'qa-worker' });

/** Hold intervals of a call in ms from the recording's start (hold.start/hold.end from the event log). */
export function holdIntervals(events: readonly CcEvent[], recordingStartMs: number, recordingEndMs: number): Interval[] {
  const out: Interval[] = [];
  let open: number | undefined;
  for (const e of events) {
    if (e.type === 'hold.start' && open === undefined) open = e.ts;
    else if (e.type === 'hold.end' && open !== undefined) {
      out.push({ startMs: open - recordingStartMs, endMs: e.ts - recordingStartMs });
      open = undefined;
    }
  }
  if (open !== undefined) out.push({ startMs: open - recordingStartMs, endMs: recordingEndMs - recordingStartMs });
  return out.filter((h) => h.endMs > h.startMs);
}

export interface QaWorkerOptions {
  qa: QaStore;
  recordingsDir: string;
  config: () => QaConfig;
  clock: Clock;
  audit?: Audit | undefined;
}

export class QaWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Recordings analysed since start (for tests and logs). */
  analysed = 0;

  constructor(private readonly opts: QaWorkerOptions) {}

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const sec = this.opts.config().analytics.scanSec;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((e: unknown) => wlog.warn({ err: String(e) }, 'QA analytics scan failed; retried at the next scan'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, sec * 1000);
    this.timer.unref();
  }

  /** Analyse every pending recording now (one at a time); returns how many were done. */
  async runOnce(): Promise<number> {
    const cfg = this.opts.config();
    if (!cfg.analytics.enabled) return 0;
    let n = 0;
    for (let round = 0; round < 100 && !this.stopped; round++) {
      const pending = await this.opts.qa.pendingRecordings(10);
      if (pending.length === 0) break;
      for (const rec of pending) {
        if (this.stopped) break;
        await this.analyseOne(rec, cfg);
        n++;
        // Low priority: let calls' work run between recordings.
        await new Promise((r) => setImmediate(r));
      }
    }
    this.analysed += n;
    return n;
  }

  private async analyseOne(rec: RecordingRow, cfg: QaConfig): Promise<void> {
    const { qa } = this.opts;
    try {
      if (!isInside(this.opts.recordingsDir, rec.path)) throw new Error('recording file is outside the recordings directory');
      const wav = await readFile(rec.path);
      const events = await qa.contactEvents(rec.contactId);
      const started =
        events.find((e) => e.type === 'recording.started' && e.recordingId === rec.recordingId)?.ts ?? Date.parse(rec.startedAt);
      const stopped = rec.stoppedAt ? Date.parse(rec.stoppedAt) : this.opts.clock.now();
      const a = analyseWav(wav, holdIntervals(events, started, stopped), cfg.analytics.vad);
      const csat = events.flatMap((e) => (e.type === 'survey.answer' && e.question === 'csat' ? [e.value] : []));
      const flags = flagCall(a, { csat, hoursSincePreviousCall: await qa.hoursSincePreviousCall(rec.contactId) }, cfg.flags);
      await qa.saveAnalytics(rec.recordingId, rec.contactId, a, flags);
      if (flags.length > 0) {
        await qa.enqueueReview(rec.contactId, 'flag', flags);
        this.opts.audit?.({ actor: 'system', action: 'qa.flag', target: rec.contactId, detail: { recordingId: rec.recordingId, flags } });
      }
      wlog.debug({ recordingId: rec.recordingId, ...a, flags: flags.map((f) => f.flag) }, 'recording analysed');
    } catch (e) {
      wlog.warn({ recordingId: rec.recordingId, err: (e as Error).message }, 'recording could not be analysed');
      await qa.saveAnalytics(rec.recordingId, rec.contactId, undefined, [], (e as Error).message.slice(0, 500));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
