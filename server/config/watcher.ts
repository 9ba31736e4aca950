/**
 * Hot reload of the config directory. Files are watched (chokidar); after a burst of changes
 * settles, the whole directory is loaded and checked again. Only a fully valid new version is
 * swapped in ('reload'); an invalid one leaves the running version in place and is reported
 * ('invalid'). Calls already in the IVR hold the FlowSet they started with, so they finish on
 * their own version whatever happens here.
 */
import { Emitter } from '../../lib/events.ts';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { Counter, Gauge } from 'prom-client';
import { SystemClock, type Clock, type TimerHandle } from '../../lib/clock.ts';
import { log as rootLog } from '../../lib/log.ts';
import { metrics } from '../../lib/metrics.ts';
import { compileFlows, type FlowSet } from '../ivr/flow.ts';
import { formatError, type ConfigError } from './errors.ts';
import { loadConfig, type CentreConfig } from './load.ts';

const log = rootLog.child({ mod: 'config' });

const reloads = new Counter({
  name: 'cc_config_reloads_total',
  help: 'Config reload attempts after a file change, by result',
  labelNames: ['result'] as const,
  registers: [metrics],
});
const invalidNow = new Gauge({
  name: 'cc_config_invalid',
  help: '1 while the files on disk are invalid and an older version is running',
  registers: [metrics],
});

export class ConfigLoadError extends Error {
  constructor(readonly errors: ConfigError[]) {
    super(`config invalid:\n${errors.map((e) => formatError(e)).join('\n')}`);
  }
}

export interface ConfigWatcherOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Quiet time after the last change before reloading (editors save in several steps). */
  debounceMs?: number;
  clock?: Clock;
}

export interface ConfigWatcherEvents {
  reload: [config: CentreConfig, previous: CentreConfig];
  invalid: [errors: ConfigError[]];
}

export class ConfigWatcher extends Emitter<ConfigWatcherEvents> {
  private cfg: CentreConfig;
  private compiled: FlowSet;
  private watcher: FSWatcher | undefined;
  private timer: TimerHandle | undefined;
  private readonly clock: Clock;
  /** Errors of the files on disk, while they are invalid. */
  lastErrors: ConfigError[] = [];

  private constructor(
    readonly dir: string,
    initial: CentreConfig,
    private readonly opts: ConfigWatcherOptions,
  ) {
    super();
    this.cfg = initial;
    this.compiled = compileFlows(initial);
    this.clock = opts.clock ?? new SystemClock();
  }

  /** Load the directory (it must be valid) and start watching it. */
  static async start(dir: string, opts: ConfigWatcherOptions = {}): Promise<ConfigWatcher> {
    const r = loadConfig(dir, opts.env ?? {}, opts.cwd);
    if (!r.ok) throw new ConfigLoadError(r.errors);
    const w = new ConfigWatcher(r.config.dir, r.config, opts);
    await w.watch();
    return w;
  }

  /** The version in force. */
  get current(): CentreConfig {
    return this.cfg;
  }
  /** IVR flows of the version in force; give each new call this FlowSet. */
  get flows(): FlowSet {
    return this.compiled;
  }

  private watch(): Promise<void> {
    const schemaDir = path.join(this.dir, 'schema');
    this.watcher = watch(this.dir, {
      ignoreInitial: true,
      // Generated schemas and editor droppings do not change the centre.
      ignored: (p: string) => p.startsWith(schemaDir) || /(~|\.swp|\.swx|\.tmp|#)$/.test(p),
    });
    this.watcher.on('all', () => this.schedule());
    this.watcher.on('error', (e) => log.error({ err: e }, 'config watcher error'));
    return new Promise((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  private schedule(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.reload();
    }, this.opts.debounceMs ?? 250);
  }

  /** Load the files now; swap them in if valid. Returns what happened. */
  reload(): { ok: true; changed: boolean; config: CentreConfig } | { ok: false; errors: ConfigError[] } {
    let r: ReturnType<typeof loadConfig>;
    try {
      r = loadConfig(this.dir, this.opts.env ?? {}, this.opts.cwd);
    } catch (e) {
      // loadConfig reports problems as errors; anything thrown is a bug, and must not stop the centre.
      r = {
        ok: false,
        errors: [{ file: '', line: 0, column: 0, path: [], message: `internal error while loading: ${(e as Error).message}` }],
      };
    }
    if (!r.ok) {
      this.lastErrors = r.errors;
      reloads.inc({ result: 'invalid' });
      invalidNow.set(1);
      log.warn(
        { errors: r.errors.map((e) => formatError(e)), version: this.cfg.version },
        'config change rejected; previous version stays in force',
      );
      this.emit('invalid', r.errors);
      return r;
    }
    this.lastErrors = [];
    invalidNow.set(0);
    if (r.config.version === this.cfg.version) return { ok: true, changed: false, config: this.cfg };
    const previous = this.cfg;
    this.compiled = compileFlows(r.config);
    this.cfg = r.config;
    reloads.inc({ result: 'ok' });
    log.info({ version: r.config.version, previous: previous.version }, 'config reloaded');
    this.emit('reload', r.config, previous);
    return { ok: true, changed: true, config: r.config };
  }

  async close(): Promise<void> {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
