/**
 * Runs sipp (Debian `sip-tester`) for integration tests and benchmarks: a bounded run of a
 * built-in (-sn) or XML (-sf) scenario with its exit code and final statistics parsed from the
 * -trace_stat CSV. Every run is bounded by call count (-m) and a global timeout; stdin is off.
 *
 *   const r = await runSipp({ scenario: 'uac', remote: '127.0.0.1:15060', localPort: 15061, calls: 30 });
 *   expect(r.failed).toBe(0);
 *
 *   const uas = startSipp({ scenario: 'uas', localPort: 15070, calls: 5 });  // background peer
 *   ... ; const r = await uas.done;  // or uas.stop()
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SippOptions {
  /** Built-in scenario name (uac, uas, uac_pcap, branchc, ...) or a path to an XML file. */
  scenario: string;
  /** host:port to send to (omit for a pure uas). */
  remote?: string;
  localPort: number;
  localIp?: string;
  /** u1 (UDP, one socket), un (UDP per call), t1 (TCP one connection), tn (TCP per call), l1 (TLS). */
  transport?: 'u1' | 'un' | 't1' | 'tn' | 'l1' | 'ln';
  /** Stop after this many calls (-m). Required: every run is bounded. */
  calls: number;
  /** Call rate per second (-r) and concurrency cap (-l). */
  rate?: number;
  ratePeriodMs?: number;
  limit?: number;
  /** Percentage of packets lost on purpose (-lost). */
  lost?: number;
  /** Request-URI user (-s). */
  service?: string;
  /** Call duration ms (-d) for scenarios that pause. */
  durationMs?: number;
  /** Overall time bound in seconds (-timeout with -timeout_error). Default 60. */
  timeoutSec?: number;
  /** Extra raw arguments. */
  args?: string[];
  cwd?: string;
  /** Scenario variables for -key / -set. */
  keys?: Record<string, string>;
}

export interface SippResult {
  /** sipp exit code: 0 all calls ok, 1 some failed, 97 internal exit, 99 no calls, 255/254 fatal. */
  exitCode: number;
  successful: number;
  failed: number;
  retransmissions: number;
  /** Calls created (outgoing for uac, incoming for uas). */
  created: number;
  /** Wall time of the run in ms. */
  elapsedMs: number;
  /** Column name -> last value from the statistics CSV. */
  stats: Record<string, string>;
  stdout: string;
  stderr: string;
  errors: string;
}

export interface SippHandle {
  readonly pid: number | undefined;
  readonly done: Promise<SippResult>;
  /** Terminate early (SIGTERM, then SIGKILL after 2 s). */
  stop(): Promise<SippResult>;
}

function buildArgs(o: SippOptions, statFile: string, errFile: string): string[] {
  const a: string[] = [];
  if (o.remote) a.push(o.remote);
  if (o.scenario.endsWith('.xml')) a.push('-sf', o.scenario);
  else a.push('-sn', o.scenario);
  a.push('-i', o.localIp ?? '127.0.0.1', '-p', String(o.localPort));
  a.push('-t', o.transport ?? 'u1');
  a.push('-m', String(o.calls));
  if (o.rate !== undefined) a.push('-r', String(o.rate));
  if (o.ratePeriodMs !== undefined) a.push('-rp', `${o.ratePeriodMs}`);
  if (o.limit !== undefined) a.push('-l', String(o.limit));
  if (o.lost !== undefined) a.push('-lost', String(o.lost));
  if (o.service !== undefined) a.push('-s', o.service);
  if (o.durationMs !== undefined) a.push('-d', String(o.durationMs));
  for (const [k, v] of Object.entries(o.keys ?? {})) a.push('-key', k, v);
  a.push('-timeout', `${o.timeoutSec ?? 60}s`, '-timeout_error', '-nostdin');
  a.push('-trace_stat', '-stf', statFile, '-fd', '1');
  a.push('-trace_err', '-error_file', errFile);
  a.push(...(o.args ?? []));
  return a;
}

function parseStats(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const header = lines[0]?.split(';') ?? [];
  const last = lines.at(-1)?.split(';') ?? [];
  if (lines.length < 2) return {};
  const out: Record<string, string> = {};
  header.forEach((h, i) => {
    if (h) out[h] = last[i] ?? '';
  });
  return out;
}

export function startSipp(o: SippOptions): SippHandle {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const statFile = join(dir, 'stat.csv');
  const errFile = join(dir, 'errors.log');
  const started = Date.now();
  const child = spawn('sipp', buildArgs(o, statFile, errFile), {
    cwd: o.cwd ?? dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // Keep only the tail: sipp redraws its screen constantly.
  child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-20_000)));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  const hardLimit = setTimeout(() => child.kill('SIGKILL'), ((o.timeoutSec ?? 60) + 15) * 1000);
  const done = new Promise<SippResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(hardLimit);
      const stats = parseStats(statFile);
      const num = (k: string): number => Number(stats[k] ?? 0) || 0;
      let errors = '';
      try {
        errors = existsSync(errFile) ? readFileSync(errFile, 'utf8').slice(-5000) : '';
      } catch {
        /* ignore */
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({
        exitCode: code ?? (signal ? 128 : -1),
        successful: num('SuccessfulCall(C)'),
        failed: num('FailedCall(C)'),
        retransmissions: num('Retransmissions(C)'),
        created: num('TotalCallCreated') || num('OutgoingCall(C)') + num('IncomingCall(C)'),
        elapsedMs: Date.now() - started,
        stats,
        stdout,
        stderr,
        errors,
      });
    });
    child.on('error', (err) => {
      clearTimeout(hardLimit);
      resolve({
        exitCode: -1,
        successful: 0,
        failed: 0,
        retransmissions: 0,
        created: 0,
        elapsedMs: Date.now() - started,
        stats: {},
        stdout,
        stderr: String(err),
        errors: '',
      });
    });
  });
  return {
    pid: child.pid,
    done,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        const r = await done;
        clearTimeout(t);
        return r;
      }
      return done;
    },
  };
}

export function runSipp(o: SippOptions): Promise<SippResult> {
  return startSipp(o).done;
}

/** The scenarios the integration tests play (test/integration/call/scenarios/). */
export const SIPP_SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), '..', 'integration', 'call', 'scenarios');

/**
 * The carrier behind the centre's outbound trunk as the tests play it: sipp with
 * scenarios/carrier-answer.xml (digest 401, then answers and plays `cwd`/tone.pcap from
 * `mediaPort`, and waits for our BYE), one call, 60 s at most.
 */
export function startCarrier(o: { port: number; mediaPort: number; cwd: string }): SippHandle {
  return startSipp({
    scenario: join(SIPP_SCENARIOS, 'carrier-answer.xml'),
    localPort: o.port,
    calls: 1,
    cwd: o.cwd,
    timeoutSec: 60,
    args: ['-mp', String(o.mediaPort)],
  });
}
