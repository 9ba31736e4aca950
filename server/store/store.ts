/**
 * The store: one object the rest of the server talks to for persistence and reporting. It owns
 * the Postgres server (embedded or external), runs migrations at start, owns the event writer and
 * its spool, and answers reports by loading events and running the pure KPI engine, so every
 * figure comes from one computation whichever output shows it.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import pg from 'pg';
import { SystemClock, type Clock } from '../../lib/clock.ts';
import type { CcEvent } from '../kpi/events.ts';
import {
  callDetails,
  computeReport,
  contactChain,
  type CallDetail,
  type ContactSummary,
  type KpiReport,
  type ReportRequest,
} from '../kpi/report.ts';
import { DEFAULT_KPI_SETTINGS, KpiSettingsSchema, type KpiSettings } from '../kpi/settings.ts';
import { log } from '../../lib/log.ts';
import { AuditTrail, listAudit, PgAuditSink, type Audit, type AuditQuery, type AuditRow } from './audit.ts';
import {
  AGENT_LOOKBACK_MS,
  loadAgentEvents,
  loadChainEvents,
  loadEvents,
  loadPlacedEvents,
  PgEventSink,
  reportWindow,
} from './eventLog.ts';
import { migrate } from './migrate.ts';
import { redact, startPostgres, type EmbeddedOptions, type PostgresServer } from './postgres.ts';
import { getRecording, listRecordings, purgeRecordings, startRetention, type PurgeResult, type RecordingRow } from './recordings.ts';
import { Spool } from './spool.ts';
import { EventWriter, type WriterOptions, type WriterStats } from './writer.ts';
import { Node, type NodeOptions } from './node.ts';
import type { RecoveryReport } from './recovery.ts';
import { rollupReport } from './rollupReport.ts';
import { loadOverlapping, loadSurveyed, markingSink, startRefresher } from './rollups.ts';
import { recordIndexes } from '../kpi/rollup.ts';

const slog = log.child({ mod: 'store' });

export interface StoreOptions {
  /** External Postgres (DATABASE_URL). When absent an embedded Postgres is started. */
  url?: string;
  embedded?: EmbeddedOptions;
  /** Database name for the embedded server. Default callcentre. */
  database?: string;
  /** Spool directory. Default ./data/spool. */
  spoolDir?: string;
  /** Root under which recordings live; downloads and deletions outside it are refused. */
  recordingsDir?: string;
  /** Delete recording audio older than this many days (hourly). 0 or absent: keep forever. */
  retentionDays?: number;
  kpi?: Partial<KpiSettings>;
  clock?: Clock;
  writer?: Partial<Pick<WriterOptions, 'batchSize' | 'flushDelayMs' | 'retryMinMs' | 'retryMaxMs'>>;
  /** Reporting only (CLI): no spool, no writer, no retention timer. */
  readOnly?: boolean;
  /** How often dirty KPI rollup intervals are computed in the background (ms; default 10 s, 0 = never). */
  rollupRefreshMs?: number;
  /** This process as a node (heartbeat, crash recovery); name defaults to host and spool dir. */
  node?: Partial<NodeOptions>;
}

export interface CallQuery {
  from: number;
  to: number;
  queue?: string;
  agentId?: string;
  contactId?: string;
}

export interface ContactDetail {
  contacts: ContactSummary[];
  calls: CallDetail[];
  recordings: RecordingRow[];
  /** Events of the chain the engine set aside or read through a fallback (see facts.ts Anomaly). */
  anomalies: string[];
}

export interface Store {
  readonly url: string;
  /** The centre's KPI settings: defaults for every report; requests may override them. */
  readonly settings: KpiSettings;
  /**
   * Replace the KPI settings (a config reload: the kpi: section, queue objectives, time zone).
   * Throws on invalid settings and keeps the old ones.
   */
  configure(kpi: Partial<KpiSettings>): void;
  readonly recordingsDir: string;
  /** Days recording audio is kept (hourly purge); 0: forever. */
  readonly retentionDays: number;
  readonly postgres: PostgresServer;
  readonly pool: pg.Pool;
  /** Hand one event to storage. Synchronous; false if invalid (logged) or read-only. */
  emit(event: unknown): boolean;
  /** Resolves when everything emitted so far is in Postgres. */
  flush(timeoutMs?: number): Promise<void>;
  stats(): WriterStats | undefined;
  /** Events the engine needs for [from, to) (see eventLog.loadEvents), in no particular order. */
  events(from: number, to: number, settings?: KpiSettings): Promise<CcEvent[]>;
  /** The events of the contacts answering a survey in [from, to) and of their chains: the survey report's. */
  surveyedEvents(from: number, to: number): Promise<CcEvent[]>;
  /** The events of the calls the centre placed (outbound, callback) that arrived in [from, to): the outbound report's. */
  placedEvents(from: number, to: number): Promise<CcEvent[]>;
  /** One agent's state events for [from, to) and its last state before (see eventLog.loadAgentEvents). */
  agentEvents(agentId: string, from: number, to: number): Promise<CcEvent[]>;
  report(req: ReportRequest, overrides?: Partial<KpiSettings>): Promise<KpiReport>;
  calls(q: CallQuery, overrides?: Partial<KpiSettings>): Promise<CallDetail[]>;
  /** One customer call's whole chain (transfers, callbacks), its queue calls and recordings. */
  contact(contactId: string): Promise<ContactDetail | undefined>;
  listRecordings(q: { contactId?: string; from?: number; to?: number; limit?: number }): Promise<RecordingRow[]>;
  getRecording(recordingId: string): Promise<RecordingRow | undefined>;
  /** Purge now with retentionDays (default the store's); 0 or less purges nothing. */
  purgeRecordings(retentionDays?: number): Promise<PurgeResult>;
  /** This process in cc_nodes (undefined when read-only): its id stamps its streams. */
  readonly node: { readonly id: string; readonly name: string } | undefined;
  /**
   * Close what dead nodes (my previous boot, stopped or stale nodes) left open, at the last time
   * the log proves (recovery.ts). Run once the media plane has repaired the recordings; waits for
   * the previous run's spool to reach Postgres first, so appended events get the next seq.
   */
  recover(): Promise<RecoveryReport[]>;
  /**
   * Record who did what in the append-only audit_log (see audit.ts for the actions). Synchronous,
   * never throws; written in the background, in order, retried while Postgres is away.
   */
  readonly audit: Audit;
  /** Resolves when every audit entry so far is stored (or after timeoutMs). */
  flushAudit(timeoutMs?: number): Promise<void>;
  listAudit(q: AuditQuery): Promise<AuditRow[]>;
  close(): Promise<void>;
}

/** Start (or reach) Postgres, migrate, replay the spool, and return the store. */
export async function openStore(opts: StoreOptions = {}): Promise<Store> {
  const clock = opts.clock ?? new SystemClock();
  let settings = KpiSettingsSchema.parse({ ...DEFAULT_KPI_SETTINGS, ...opts.kpi });
  const postgres = await startPostgres({
    ...(opts.url !== undefined ? { url: opts.url } : {}),
    ...(opts.embedded !== undefined ? { embedded: opts.embedded } : {}),
    ...(opts.database !== undefined ? { database: opts.database } : {}),
  });
  let pool: pg.Pool | undefined;
  let spool: Spool | undefined;
  try {
    await migrate(postgres.url);
    pool = new pg.Pool({ connectionString: postgres.url, max: 4, connectionTimeoutMillis: 3_000, idleTimeoutMillis: 10_000 });
    // An idle client whose server went away emits 'error'; unhandled it would kill the process.
    pool.on('error', (err) => slog.warn({ err: err.message }, 'idle Postgres connection lost'));
    const recordingsDir = resolve(opts.recordingsDir ?? './data/recordings');
    let writer: EventWriter | undefined;
    let node: Node | undefined;
    let stopRetention: (() => void) | undefined;
    let stopRollups: (() => void) | undefined;
    const retentionDays = opts.retentionDays ?? 0;
    const auditTrail = new AuditTrail({ sink: new PgAuditSink(pool), clock });
    if (!opts.readOnly) {
      const spoolDir = resolve(opts.spoolDir ?? './data/spool');
      spool = await Spool.open(spoolDir);
      // KPI rollups (#17): each stored batch marks the report intervals it changes dirty.
      const sink = markingSink(
        new PgEventSink(pool),
        pool,
        () => settings,
        () => clock.now(),
      );
      const w = (writer = new EventWriter({ spool, sink, clock, ...opts.writer }));
      // Two live processes cannot share a spool directory, so host + spool names this node.
      node = await Node.register(pool, clock, (e) => w.emit(e), { name: `${hostname()}:${spoolDir}`, ...opts.node });
      if (retentionDays > 0) {
        stopRetention = startRetention(pool, { retentionDays, recordingsDir, clock });
      }
      // KPI rollups (#17): dirty intervals are computed again in the background (any node).
      const pr = pool;
      if (opts.rollupRefreshMs !== 0)
        stopRollups = startRefresher(
          pr,
          () => settings,
          () => clock.now(),
          opts.rollupRefreshMs,
        );
    }
    const p = pool;
    const sp = spool;
    const merged = (o?: Partial<KpiSettings>) => (o ? KpiSettingsSchema.parse({ ...settings, ...o }) : settings);
    const events = (from: number, to: number, s: KpiSettings = settings) => loadEvents(p, reportWindow(from, to, s.fcrWindowSec));
    slog.info({ url: redact(postgres.url), embedded: postgres.embedded, readOnly: !!opts.readOnly }, 'store open');
    return {
      url: postgres.url,
      get settings() {
        return settings;
      },
      configure: (kpi) => {
        settings = KpiSettingsSchema.parse({ ...DEFAULT_KPI_SETTINGS, ...kpi });
      },
      recordingsDir,
      retentionDays,
      postgres,
      pool: p,
      emit: (e) => (writer ? writer.emit(e) : false),
      flush: async (t) => writer?.flush(t),
      stats: () => writer?.stats(),
      events,
      placedEvents: (from, to) => loadPlacedEvents(p, from, to),
      surveyedEvents: (from, to) => loadSurveyed(p, from, to),
      agentEvents: (agentId, from, to) => loadAgentEvents(p, agentId, from, to, AGENT_LOOKBACK_MS),
      report: async (req, o) => {
        const s = merged(o);
        const asOf = Math.min(req.asOf ?? req.to, clock.now());
        // KPI rollups (#17): stored interval records where clean, the raw log (bounded by each
        // contact's span) for edges and the rest, so today's board reads the day's records and only
        // the last minutes raw; thresholds the records carry in any order or subset (the centre's
        // and STORED_THRESHOLDS_SEC); other thresholds, another short abandon or FCR window: the
        // raw log for the whole range.
        const report = recordIndexes(settings, s)
          ? await rollupReport(p, { ...req, asOf }, s, { now: clock.now(), centre: settings })
          : computeReport(await events(req.from, req.to, s), { ...req, asOf }, s);
        if (report.anomalies.count > 0) {
          // The figures stand (the engine's fallbacks keep counts right), but whoever reads them
          // should know some calls' detail rests on a fallback: see report.anomalies.
          slog.warn(
            { from: report.from, to: report.to, anomalies: report.anomalies.count, examples: report.anomalies.examples },
            'report met events out of order or unexpected; fallbacks used (see anomalies in the report)',
          );
        }
        return report;
      },
      calls: async (q, o) => {
        const s = merged(o);
        // Calls entering [from, to) have an event inside it: the contacts overlapping the range
        // (with chains and FCR arrivals) are enough, and one contact needs only its own chain. The
        // raw window (every contact within a day either side) took seconds per QA list at scale.
        const evs =
          q.contactId !== undefined
            ? await loadChainEvents(p, q.contactId, s.fcrWindowSec * 1000)
            : await loadOverlapping(p, q.from, q.to, s);
        return callDetails(evs, { ...q, asOf: Math.min(q.to, clock.now()) }, s);
      },
      contact: async (id) => {
        const s = settings;
        const found = contactChain(await loadChainEvents(p, id, s.fcrWindowSec * 1000), id, clock.now(), s);
        if (!found) return undefined;
        const recordings = (await Promise.all(found.contacts.map((c) => listRecordings(p, { contactId: c.contactId })))).flat();
        return { ...found, recordings };
      },
      listRecordings: (q) => listRecordings(p, q),
      getRecording: (id) => getRecording(p, id),
      purgeRecordings: async (days = retentionDays) =>
        // 0 means keep forever, never "everything older than now".
        days > 0 ? purgeRecordings(p, { retentionDays: days, recordingsDir, now: clock.now() }) : { purged: 0, missing: 0, refused: 0 },
      node: node ? { id: node.id, name: node.name } : undefined,
      recover: async () => {
        if (!node || !writer) return [];
        // The previous run's spool first: its events must be in cc_events before we read the
        // streams, or our closing events would take their seq numbers.
        await writer.flush(30_000);
        return node.recover(recordingsDir);
      },
      audit: auditTrail.record,
      flushAudit: (t) => auditTrail.flush(t),
      listAudit: (q) => listAudit(p, q),
      close: async () => {
        stopRetention?.();
        stopRollups?.();
        await auditTrail.close();
        await node?.stop();
        if (writer) {
          // Give the database a moment to take what is spooled; the rest waits in the spool.
          await writer.flush(2_000).catch(() => {});
          await writer.close();
        }
        await sp?.close();
        await p.end().catch(() => {});
        await postgres.stop();
      },
    };
  } catch (err) {
    await spool?.close();
    await pool?.end().catch(() => {});
    await postgres.stop();
    throw err;
  }
}
