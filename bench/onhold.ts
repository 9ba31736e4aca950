/**
 * `npm run bench -- onhold [--max N] [--start N] [--step N] [--seconds S] [--announce-every S] [--no-netns]`
 *
 * How many callers can wait on music on hold at once (issue #17). Each caller is a trunk leg on the
 * media plane (as the centre answers a carrier's call) whose party is a socket of the C load
 * generator (bench/rtpload.c): it sends 50 G.711 packets/s, as a caller does, and counts what it
 * receives. Every caller hears the music on hold (one shared stream per RTP thread and law, see
 * media/rtp/playout.ts), and every `--announce-every` seconds (first within 3 s of joining: the
 * first wave) its place in the queue, composed from prompts rendered ahead by espeak-ng
 * (server/ivr/announcement.ts), then the music again. No agents. Callers are added in steps; each
 * step is measured over a window: callers held, set-up failures, loss (packets the relays sent vs
 * packets the callers got), packets/s per caller (the MINIMUM over callers), CPU of the system under
 * test (this process: main thread and RTP threads, plus the mediasoup workers) per caller, the
 * generator's CPU apart, and the main event loop's p99 lag. The ladder stops at the first step that
 * fails (loss ≥ 0.1 %, a caller below 45 packets/s, a set-up failure) after one re-measure (the
 * machine is shared), or at 90 % of the cores, or at the time limit (4 minutes in all).
 *
 * 1,500 callers need 3,000 RTP ports and 1,500 mediasoup ports: as root the bench runs itself in a
 * network namespace of its own (cc-moh-ns, deleted after), where no port is anyone else's; with
 * --no-netns (or not root) it stays in ports 27000–28999 and so at most ~480 callers. The
 * generator runs in the same namespace. Prints one JSON line.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
export const opt = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
export const sdpFor = (port: number): string =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp-mux\r\n`;
const NS = 'cc-moh-ns';
const T0 = Date.now();
const DEADLINE = T0 + 225_000; // ≤ 4 min with set-up and teardown

// ---------------------------------------------------------------------------------------------

/**
 * As root with `ip`: run `script` again inside a fresh namespace `ns` (lo up; deleted after) and
 * return true; false when this process should run the bench itself (already inside, --no-netns,
 * not root).
 */
export function inNamespace(ns: string, script: string, nodeFlags: string[]): boolean {
  if (process.env.CC_ONHOLD_IN_NS || argv.includes('--no-netns') || process.getuid?.() !== 0 || !hasIp()) return false;
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...nodeFlags, '--import', 'tsx', script, ...argv], {
      stdio: 'inherit',
      env: { ...process.env, CC_ONHOLD_IN_NS: '1' },
      timeout: 240_000,
    });
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
  return true;
}

function hasIp(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
const TICK_HZ = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
export function cpuTicks(pid: number | 'self'): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** The C generator (compiled on demand, cached outside the repo by source hash, as bench/media.ts does). */
export function rtploadBinary(): string {
  const src = readFileSync(join(here, 'rtpload.c'));
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const root = process.env.CALLCENTRE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'callcentre');
  const dir = join(root, 'bench');
  const bin = join(dir, `rtpload-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  execFileSync('gcc', ['-O2', '-std=c11', '-Wall', '-o', tmp, join(here, 'rtpload.c')], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(tmp, bin);
  return bin;
}

export function generator(bin: string) {
  const child: ChildProcess = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const ask = async (line: string, head: string): Promise<number[]> => {
    const r = await new Promise<string>((res) => {
      waiting.push(res);
      child.stdin!.write(`${line}\n`);
    });
    const f = r.split(' ');
    if (f[0] !== head) throw new Error(`rtpload: ${line.slice(0, 30)} -> ${r.slice(0, 100)}`);
    return f.slice(1).map(Number);
  };
  return {
    open: (n: number) => ask(`open ${n}`, 'ports'),
    target: (t: number[]) => ask(`target ${t.join(' ')}`, 'ok'),
    async stats() {
      const [sent, recv, cpuUs] = await ask('stats', 'stats');
      return { sent: sent!, recv: recv!, cpuSec: cpuUs! / 1e6 };
    },
    recv: () => ask('recv', 'recv'),
    stop: () => {
      child.stdin!.end('stop\n');
      setTimeout(() => child.kill('SIGKILL'), 1000).unref();
    },
  };
}

/**
 * Announcements: composed from parts rendered ahead (this tree), else (an older tree, for a
 * "before" figure) the sentence synthesised on demand, as the centre used to.
 */
export async function announcements(tts: { render(text: string, lang: string): Promise<string> }): Promise<{
  mode: string;
  prerenderS: number;
  files: (position: number, ewtSeconds: number) => Promise<string[] | string | undefined>;
}> {
  let mod: typeof import('../server/ivr/announcement.ts') | undefined;
  try {
    mod = await import('../server/ivr/announcement.ts');
  } catch {
    mod = undefined;
  }
  if (!mod) {
    return {
      mode: 'on-demand',
      prerenderS: 0,
      files: (position, ewtSeconds) =>
        tts.render(
          `You are number ${position} in the queue. Your expected wait is about ${Math.max(1, Math.round(ewtSeconds / 60))} minutes.` +
            ' To be called back without losing your place, press 1.',
          'en',
        ),
    };
  }
  const announcer = new mod.PositionAnnouncer(tts);
  const t = performance.now();
  await announcer.prepare();
  if (!announcer.ready) throw new Error(`announcement parts: ${announcer.error}`);
  return {
    mode: 'composed',
    prerenderS: +((performance.now() - t) / 1000).toFixed(1),
    files: (position, ewtSeconds) => Promise.resolve(announcer.files({ position, ewtSeconds, callbackKey: '1' })),
  };
}

interface Step {
  callers: number;
  failures: number;
  loss_pct: number;
  min_pps: number;
  p1_pps: number;
  cpu_pct: number;
  cpu_per_caller_pct: number;
  node_cpu_pct: number;
  worker_cpu_pct: number;
  gen_cpu_pct: number;
  loop_lag_p99_ms: number;
  announcements: number;
  retry?: boolean;
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'warn'; // before the media plane's logger loads
  const inNs = process.env.CC_ONHOLD_IN_NS === '1';
  const max = opt('max', inNs ? 2500 : 480);
  const start = opt('start', 250);
  const stepN = opt('step', 250);
  const seconds = opt('seconds', 8);
  const announceEvery = opt('announce-every', 20) * 1000;

  const { MediaPlane, encodeWav } = await import('../media/index.ts');
  const { synthesizeHoldMusic } = await import('../server/ivr/holdMusic.ts');
  const { EspeakTts } = await import('../server/ivr/tts.ts');
  const tmp = join(here, '.tmp', `onhold-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const moh = join(tmp, 'moh.wav');
  writeFileSync(moh, encodeWav(8000, 1, synthesizeHoldMusic(16)));

  const tts = new EspeakTts({ cacheDir: join(tmp, 'tts') });
  const { mode: announceMode, prerenderS, files } = await announcements(tts);

  const plane = await MediaPlane.start({
    listenIp: '127.0.0.1',
    rtpMinPort: inNs ? 20000 : 27000,
    rtpMaxPort: inNs ? 29999 : 27999,
    rtcMinPort: inNs ? 40000 : 28000,
    rtcMaxPort: inNs ? 49999 : 28999,
    workerLogLevel: 'none',
  });
  const gen = generator(rtploadBinary());
  type Caller = {
    call: Awaited<ReturnType<typeof plane.createCall>>;
    leg: Awaited<ReturnType<Awaited<ReturnType<typeof plane.createCall>>['createTrunkLeg']>>;
  };
  const callers: Caller[] = [];
  let failures = 0;
  let announced = 0;
  let stopping = false;
  const timers = new Set<NodeJS.Timeout>();
  const music = async (c: Caller) => {
    if (!stopping && !c.call.closed) await c.call.play(c.leg, moh, { loop: true });
  };
  const announce = async (c: Caller, position: number) => {
    if (stopping || c.call.closed) return;
    const f = await files(position, position * 30);
    if (!f || stopping || c.call.closed) return;
    announced++;
    const pb = await c.call.play(c.leg, f);
    if ((await pb.done) === 'finished') await music(c);
  };
  const schedule = (c: Caller, position: number, first: boolean) => {
    const t = setTimeout(
      () => {
        timers.delete(t);
        void announce(c, position)
          .catch(() => undefined)
          .finally(() => !stopping && schedule(c, position, false));
      },
      first ? Math.random() * 3000 : announceEvery,
    );
    timers.add(t);
  };

  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const threadStats = async () => {
    let rtpOut = 0;
    try {
      for (let i = 0; i < plane.rtpThreads.size; i++) {
        const s = (await plane.rtpThreads.thread(i)?.request({ op: 'stats' })) as { rtpOut?: number } | undefined;
        if (s?.rtpOut === undefined) return undefined;
        rtpOut += s.rtpOut;
      }
    } catch {
      return undefined; // an older tree: loss against 50 packets/s per caller instead
    }
    return rtpOut;
  };
  const steps: Step[] = [];
  /** Generator socket index of each caller set up (a failed set-up's socket sends nothing). */
  const sockets: number[] = [];
  let opened = 0;
  let held = 0;
  let best: Step | undefined;
  try {
    for (let n = start; n <= max && Date.now() < DEADLINE - (seconds + 20) * 1000; n += stepN) {
      const add = n - callers.length;
      const ports = await gen.open(add);
      const targets: number[] = [];
      if (add <= 0) break;
      const base = opened; // call ids by generator socket: unique across steps
      for (let k = 0; k < add; k += 25) {
        const batch = ports.slice(k, k + 25);
        const made = await Promise.all(
          batch.map(async (p, j) => {
            try {
              const call = await plane.createCall(`hold-${base + k + j}`);
              const leg = await call.createTrunkLeg();
              const answer = await leg.answer(sdpFor(p));
              const c = { call, leg };
              await music(c);
              return { c, port: Number(/m=audio (\d+)/.exec(answer)![1]) };
            } catch (e) {
              if (failures++ === 0) console.error(`[bench onhold] set-up failed: ${String(e)}`);
              return { c: undefined, port: 0 };
            }
          }),
        );
        for (const m of made) {
          targets.push(m.port);
          const socket = opened++;
          if (m.c) {
            sockets.push(socket);
            callers.push(m.c);
            schedule(m.c, callers.length, true);
          }
        }
      }
      await gen.target(targets);
      await new Promise((r) => setTimeout(r, 2000)); // latching, the first wave of announcements
      const measure = async (retry: boolean): Promise<Step> => {
        const pids = plane.pool.load().map((l) => l.pid);
        const a0 = announced;
        const [g0, r0, o0] = [await gen.stats(), await gen.recv(), await threadStats()];
        const n0 = cpuTicks('self');
        const w0 = pids.reduce((a, p) => a + cpuTicks(p), 0);
        lag.reset();
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, seconds * 1000));
        const [g1, r1, o1] = [await gen.stats(), await gen.recv(), await threadStats()];
        const wall = (Date.now() - t0) / 1000;
        const n1 = cpuTicks('self');
        const w1 = pids.reduce((a, p) => a + cpuTicks(p), 0);
        const sorted = sockets.map((i) => (r1[i]! - (r0[i] ?? 0)) / wall).sort((a, b) => a - b);
        const sent = o1 !== undefined && o0 !== undefined ? o1 - o0 : sockets.length * 50 * wall;
        const got = g1.recv - g0.recv;
        const node = (((n1 - n0) / TICK_HZ) * 100) / wall;
        const workers = (((w1 - w0) / TICK_HZ) * 100) / wall;
        const st: Step = {
          callers: callers.length,
          failures,
          loss_pct: +(sent > 0 ? Math.max(0, (1 - got / sent) * 100) : 100).toFixed(3),
          min_pps: +(sorted[0] ?? 0).toFixed(1),
          p1_pps: +(sorted[Math.floor(sorted.length * 0.01)] ?? 0).toFixed(1),
          cpu_pct: +(node + workers).toFixed(1),
          cpu_per_caller_pct: +((node + workers) / callers.length).toFixed(3),
          node_cpu_pct: +node.toFixed(1),
          worker_cpu_pct: +workers.toFixed(1),
          gen_cpu_pct: +(((g1.cpuSec - g0.cpuSec) / wall) * 100).toFixed(1),
          loop_lag_p99_ms: +(lag.percentile(99) / 1e6).toFixed(1),
          announcements: announced - a0,
          ...(retry ? { retry: true } : {}),
        };
        steps.push(st);
        console.error(`[bench onhold] ${JSON.stringify(st)}`);
        return st;
      };
      const failed = (s: Step) => s.failures > 0 || s.loss_pct >= 0.1 || s.min_pps < 45;
      let st = await measure(false);
      if (failed(st) && st.failures === 0) st = await measure(true);
      if (failed(st)) break;
      held = st.callers;
      best = st;
      if (st.cpu_pct + st.gen_cpu_pct > availableParallelism() * 100 * 0.9) break; // out of CPU
    }
  } finally {
    stopping = true;
    for (const t of timers) clearTimeout(t);
    gen.stop();
    for (const c of callers) c.call.close();
    await plane.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(
    JSON.stringify({
      bench: 'onhold',
      callers_held: held,
      failures,
      loss_pct: best?.loss_pct ?? null,
      min_pps_per_caller: best?.min_pps ?? null,
      cpu_per_caller_pct: best?.cpu_per_caller_pct ?? null,
      loop_lag_p99_ms: best?.loop_lag_p99_ms ?? null,
      announce: announceMode,
      announce_every_s: announceEvery / 1000,
      prerender_s: prerenderS,
      netns: inNs,
      cores: availableParallelism(),
      machine: 'shared with other helpers (busy)',
      steps,
    }),
  );
}

// Run as a script (not imported by soak.ts): re-run inside a network namespace of our own (root only). soak.ts shares this file's helpers.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!inNamespace(NS, fileURLToPath(import.meta.url), [])) await main();
}
