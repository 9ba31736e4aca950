/**
 * SIP call rate: sipp's built-in uac (INVITE / 200 / ACK / BYE / 200, no pause) against the stack
 * with a minimal answering app, over UDP on 127.0.0.1, and (if Debian's kamailio is installed)
 * against a Kamailio stateful (tm) answering script, in the same run. Each ladder steps the offered
 * rate up and reports the highest rate held for the whole step with zero failed calls.
 *
 * One ladder per side gave figures that swapped between runs (2,400 vs 1,800, then 1,800 vs
 * 2,400). So: several rounds, alternating which side goes first, medians and spread; every step
 * records the CPU of sipp, of the server under test and the machine's load, and each ladder says
 * what stopped it: "capped" (held the top rate: no ceiling found), "sipp" (the generator used
 * ≥ 90 % of a core), "server" (the server did), or "machine" (neither: the two cores were taken
 * by sipp + server + whatever else runs on the box).
 *
 *   npm run bench -- sip-cps [--rounds 3] [--start 900] [--step 300] [--max 3600] [--seconds 3]
 *
 * Before the ladders, `retained_kb_per_call`: the JS heap our stack still holds (after a full GC)
 * right after 3,000 calls at 1,000/s, and `retained_buffers_kb_per_call`: the ArrayBuffers — the
 * state kept for late retransmissions (Timers J and L, 64*T1 over UDP, and ended dialogs), which at
 * a high rate is what the collector has to carry.
 *
 * Prints one JSON line: {"bench":"sip-cps","max_cps":<median>,"kamailio_cps":<median>,...,"rounds":[…]}
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipStack } from '../server/sip/index.ts';
import { log } from '../lib/log.ts';
import { runSipp } from '../test/support/sipp.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : dflt;
};
const ROUNDS = arg('rounds', 3);
const START = arg('start', 900);
const STEP = arg('step', 300);
const MAX = arg('max', 3600);
const SECONDS = arg('seconds', 3);
/** Stop starting rounds after this long (the bench must end within 4 minutes on a shared box). */
const BUDGET_MS = arg('budget', 200) * 1000;
const PORT = 29060;
const KAM_PORT = PORT + 10;
const SDP = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const TICK = 100; // USER_HZ: /proc times are in 1/100 s

/** CPU seconds used so far by reaped children (sipp runs): /proc/self/stat cutime + cstime. */
function childrenCpu(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[13]) + Number(f[14])) / TICK;
}

/** CPU seconds of a process and its live children (Kamailio's workers). */
function treeCpu(pid: number): number {
  let total = 0;
  const pids = [
    pid,
    ...(spawnSync('pgrep', ['-P', String(pid)])
      .stdout?.toString()
      .split('\n')
      .filter(Boolean)
      .map(Number) ?? []),
  ];
  for (const p of pids) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(f[11]) + Number(f[12])) / TICK;
    } catch {
      // gone
    }
  }
  return total;
}

interface Step {
  offered: number;
  achieved: number;
  ok: number;
  failed: number;
  retrans: number;
  /** % of one core over the step. */
  sipp_cpu: number;
  server_cpu: number;
  load1: number;
}

interface Ladder {
  max: number;
  /** What stopped the ladder (see the header). */
  limit: 'capped' | 'sipp' | 'server' | 'machine';
  steps: Step[];
}

async function ladder(target: string, sippPort: number, serverCpu: () => number): Promise<Ladder> {
  const steps: Step[] = [];
  let max = 0;
  for (let rate = START; rate <= MAX; rate += STEP) {
    const c0 = childrenCpu();
    const s0 = serverCpu();
    const t0 = performance.now();
    const calls = rate * SECONDS;
    const r = await runSipp({
      scenario: 'uac',
      remote: target,
      localPort: sippPort,
      calls,
      rate,
      limit: rate * 4,
      transport: 'u1',
      timeoutSec: SECONDS * 4 + 10,
    });
    // sipp's own call-rate figure over the run (calls created / elapsed).
    const achieved = Math.round(Number(r.stats['CallRate(C)'] ?? 0) * 10) / 10;
    const wall = (performance.now() - t0) / 1000;
    const pct = (cpu: number) => Math.round((cpu / wall) * 100);
    const step: Step = {
      offered: rate,
      achieved,
      ok: r.successful,
      failed: r.failed,
      retrans: r.retransmissions,
      sipp_cpu: pct(childrenCpu() - c0),
      server_cpu: pct(serverCpu() - s0),
      load1: Math.round(loadavg()[0]! * 10) / 10,
    };
    steps.push(step);
    process.stderr.write(`${target} ${JSON.stringify(step)}\n`);
    const held = r.exitCode === 0 && r.failed === 0 && r.successful === calls && achieved >= rate * 0.9;
    if (!held) {
      const limit = step.sipp_cpu >= 90 ? 'sipp' : step.server_cpu >= 90 ? 'server' : 'machine';
      return { max, limit, steps };
    }
    max = rate;
    await new Promise((res) => setTimeout(res, 1000));
  }
  return { max, limit: 'capped', steps };
}

/**
 * KB still held per call right after a burst of calls (all within their 64*T1 linger): JS heap, and
 * ArrayBuffers (kept Buffers live outside the heap: a small one pins its shared 8 KB pool slab).
 */
async function retainedPerCall(): Promise<{ heap: number; buffers: number } | null> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  const calls = 3000;
  gc();
  const m0 = process.memoryUsage();
  const r = await runSipp({
    scenario: 'uac',
    remote: `127.0.0.1:${PORT}`,
    localPort: PORT + 1,
    calls,
    rate: 1000,
    limit: 4000,
    transport: 'u1',
    timeoutSec: 30,
  });
  await new Promise((res) => setTimeout(res, 200));
  gc();
  const m1 = process.memoryUsage();
  const mb = (b: number) => Math.round(b / 1e6);
  process.stderr.write(
    `retained: ${r.successful} calls, heap ${mb(m0.heapUsed)} -> ${mb(m1.heapUsed)} MB, buffers ${mb(m0.arrayBuffers)} -> ${mb(m1.arrayBuffers)} MB\n`,
  );
  const per = (d: number) => Math.round((d / r.successful / 1024) * 10) / 10;
  return r.successful ? { heap: per(m1.heapUsed - m0.heapUsed), buffers: per(m1.arrayBuffers - m0.arrayBuffers) } : null;
}

/** Our stack with a minimal answering app, for the whole bench. */
async function startOurs(): Promise<{ run: () => Promise<Ladder>; close: () => Promise<void> }> {
  // The limits are off: the ladder drives thousands of calls a second from one address on purpose.
  const sip = new SipStack({ log: log.child({ mod: 'sip' }).child({}, { level: 'warn' }), guard: false });
  await sip.listen({ udp: { host: '127.0.0.1', port: PORT } });
  sip.on('invite', (req, res) => {
    sip.createUAS(req, res, { localSdp: SDP }).catch(() => undefined);
  });
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  return { run: () => ladder(`127.0.0.1:${PORT}`, PORT + 1, cpu), close: () => sip.close() };
}

/** Kamailio as a stateful UAS: t_reply 200 to INVITE, absorb ACK, 200 to BYE (tm module). */
async function startKamailio(): Promise<{ run: () => Promise<Ladder>; close: () => Promise<void> } | undefined> {
  if (spawnSync('which', ['kamailio']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kam-'));
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(
    cfg,
    `#!KAMAILIO
children=2
listen=udp:127.0.0.1:${KAM_PORT}
log_stderror=yes
debug=0
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
request_route {
  if (is_method("ACK")) { t_check_trans(); exit; }
  if (!t_newtran()) { sl_reply_error(); exit; }
  if (is_method("INVITE")) { append_to_reply("Contact: <sip:kam@127.0.0.1:${KAM_PORT}>\\r\\n"); t_reply("200", "OK"); exit; }
  t_reply("200", "OK");
}
`,
  );
  // 256 MB shared memory so transaction state, not the default 64 MB pool, is what is measured.
  const k = spawn('kamailio', ['-f', cfg, '-DD', '-E', '-m', '256', '-M', '16', '-w', dir, '-P', join(dir, 'k.pid')], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1500));
  const pid = k.pid!;
  return {
    run: () => ladder(`127.0.0.1:${KAM_PORT}`, KAM_PORT + 1, () => treeCpu(pid)),
    close: async () => {
      k.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      if (k.exitCode === null) k.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const started = performance.now();
const ours = await startOurs();
const kam = await startKamailio();
const rounds: { first: 'ours' | 'kamailio'; ours: Ladder; kamailio: Ladder | null }[] = [];
let retained: { heap: number; buffers: number } | null = null;
try {
  retained = await retainedPerCall();
  for (let i = 0; i < ROUNDS; i++) {
    if (i > 0 && performance.now() - started > BUDGET_MS) break;
    // Alternate who goes first: the first ladder of a run meets a cold JIT and a cooler CPU.
    const first = i % 2 === 0 ? 'ours' : 'kamailio';
    let o: Ladder;
    let k: Ladder | null = null;
    if (first === 'ours' || !kam) {
      o = await ours.run();
      if (kam) k = await kam.run();
    } else {
      k = await kam.run();
      o = await ours.run();
    }
    rounds.push({ first, ours: o, kamailio: k });
  }
} finally {
  await ours.close();
  await kam?.close();
}
const oursMax = rounds.map((r) => r.ours.max);
const kamMax = rounds.flatMap((r) => (r.kamailio ? [r.kamailio.max] : []));
const om = median(oursMax);
const km = median(kamMax);
console.log(
  JSON.stringify({
    bench: 'sip-cps',
    transport: 'udp',
    seconds_per_step: SECONDS,
    rounds_run: rounds.length,
    // Medians over the rounds, and the spread (lowest, highest).
    max_cps: om,
    max_cps_spread: [Math.min(...oursMax), Math.max(...oursMax)],
    kamailio_cps: km,
    kamailio_cps_spread: kamMax.length ? [Math.min(...kamMax), Math.max(...kamMax)] : null,
    ratio: om !== null && km ? Math.round((om / km) * 100) / 100 : null,
    retained_kb_per_call: retained?.heap ?? null,
    retained_buffers_kb_per_call: retained?.buffers ?? null,
    // Rounds in which our stack held at least Kamailio's rate.
    ours_ge_kamailio: kam ? rounds.filter((r) => r.kamailio && r.ours.max >= r.kamailio.max).length : null,
    // The top of the ladder: a side that held it ("capped") has a ceiling above it.
    ladder_top: MAX,
    limits: { ours: rounds.map((r) => r.ours.limit), kamailio: rounds.map((r) => r.kamailio?.limit ?? null) },
    target_cps: 300,
    load1: Math.round(loadavg()[0]! * 10) / 10,
    rounds,
  }),
);
