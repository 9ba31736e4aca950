/**
 * `npm run bench -- media [--max N] [--step N] [--seconds S] [--no-record] [--no-compare] [--generator c|c-eager|node]`
 *
 * How many concurrent bridged G.711 calls (trunk leg ↔ desk-phone agent leg, both plain RTP:
 * relay to relay on an RTP thread (worker_thread), mediasoup holding idle Consumers; a browser agent's audio
 * would go through the worker) this machine holds with < 0.1 % packet loss, recording
 * each call to a stereo WAV, and the CPU each call costs. A generator process plays both parties:
 * two UDP sockets per call, 50 packets/s each way, spread evenly over each 20 ms. Load is raised
 * step by step until loss reaches 0.1 % or a stream receives nothing for a whole window (in two
 * windows running: the machine is shared, one spoiled window is re-measured) or CPU runs out;
 * everything is bounded by count and time. Prints
 * one JSON line; `"generator"` says which generator ran.
 *
 * The generator is C (bench/rtpload.c, compiled on demand with gcc into
 * ~/.cache/callcentre/bench/rtpload-<source hash>, outside the repo) when gcc is installed, else
 * the Node one below (`generator()`, forked). Why: the Node generator cost about 0.19 % of a core
 * per call (87 % of a core at 450 calls), as much as the system under test, on the 2 cores it
 * shares with it; the C one costs well under half of that (about 0.07–0.10 %), close to what the
 * kernel itself charges for its sends and receives. Both sit behind one small interface,
 * LoadGenerator.
 *
 * Where Debian's rtpengine (rtpengine-daemon) is installed, the same load (at the number of calls
 * our plane held) is also sent through rtpengine in userspace mode, and through our plane without
 * recording, and the CPU-per-call ratio is reported. With the C generator it then measures the
 * loopback floor (`loopback_floor_cpu_pct`): the packets of `calls_held` calls sent socket to
 * socket inside the generator with no relay in between, 4 streams × 50 packets/s per call (the 2
 * the generator sends into the relay and the 2 the relay sends back), i.e. 200 loopback
 * send+recv pairs per call per second: the CPU the kernel alone costs for that traffic, which
 * generator + system under test can't go below. `--no-compare` skips all that: quicker sweeps.
 */
import { fork, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const TICK_HZ = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function cpuTicks(pid: number | 'self'): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

// ------------------------------------------------------------------------------------------
// Node generator (forked child process): both parties of every call. The fallback when gcc is
// missing (`--generator node` forces it).
type GenMsg = { cmd: 'open'; count: number } | { cmd: 'target'; targets: number[] } | { cmd: 'stats' } | { cmd: 'stop' };

async function generator(): Promise<void> {
  const socks: dgram.Socket[] = [];
  const targets: number[] = [];
  const sent: number[] = [];
  const recv: number[] = [];
  const payload = Buffer.alloc(160, 0xff);
  const seq: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const start = Date.now();
  let slot = 0;
  const SLOTS = 10; // a 20 ms period cut into 2 ms slots
  const tick = () => {
    const due = Math.floor((Date.now() - start) / 2);
    while (slot <= due) {
      const s = slot % SLOTS;
      const frame = Math.floor(slot / SLOTS);
      for (let i = s; i < socks.length; i += SLOTS) {
        const port = targets[i];
        if (!port) continue;
        const pkt = Buffer.allocUnsafe(172);
        pkt[0] = 0x80;
        pkt[1] = 0;
        pkt.writeUInt16BE(seq[i]! & 0xffff, 2);
        pkt.writeUInt32BE((frame * 160) >>> 0, 4);
        pkt.writeUInt32BE(0x1000 + i, 8);
        payload.copy(pkt, 12);
        seq[i]!++;
        sent[i]!++;
        socks[i]!.send(pkt, port, '127.0.0.1');
      }
      slot++;
    }
    timer = setTimeout(tick, 1);
  };
  const onMessage = async (m: GenMsg): Promise<void> => {
    if (m.cmd === 'open') {
      const ports: number[] = [];
      for (let k = 0; k < m.count; k++) {
        const i = socks.length;
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
        s.on('message', (b) => {
          if (b[1] === 0) recv[i]!++;
        });
        socks.push(s);
        sent.push(0);
        recv.push(0);
        seq.push(Math.floor(Math.random() * 60000));
        ports.push(s.address().port);
      }
      process.send!({ ports });
    } else if (m.cmd === 'target') {
      const base = targets.length;
      m.targets.forEach((t, k) => (targets[base + k] = t));
      if (!timer) tick();
      process.send!({ ok: true });
    } else if (m.cmd === 'stats') {
      process.send!({
        sent: sent.reduce((a, b) => a + b, 0),
        recv: recv.reduce((a, b) => a + b, 0),
        cpu: cpuTicks('self'),
        perStream: recv.slice(),
      });
    } else {
      if (timer) clearTimeout(timer);
      for (const s of socks) s.close();
      process.exit(0);
    }
  };
  // A failed command ends the generator: the parent sees it exit and reports the step as failed.
  process.on(
    'message',
    (m: GenMsg) =>
      void onMessage(m).catch((e: unknown) => {
        console.error(e);
        process.exit(1);
      }),
  );
}

// ------------------------------------------------------------------------------------------
// The generator as the load runner sees it: the C one (bench/rtpload.c) or the Node one above.

interface GenStats {
  sent: number;
  recv: number;
  /** The generator's own CPU time (user + system), seconds. */
  cpuSec: number;
  /** Streams that received nothing since the previous stats() call. */
  dead: number;
}

interface LoadGenerator {
  /** Bind `count` more sockets; their ports, in order. */
  open(count: number): Promise<number[]>;
  /** Targets of the sockets opened so far without one, in order (0 = does not send); starts sending. */
  target(targets: number[]): Promise<void>;
  stats(): Promise<GenStats>;
  /** C only: `calls` calls' worth of streams socket to socket, no relay (the loopback floor). */
  pair?(calls: number): Promise<void>;
  stop(): Promise<void>;
}

const RTPLOAD_SRC = join(here, 'rtpload.c');

/** Path of the compiled C generator (cached outside the repo, keyed by the source's hash), or null
 * when gcc is not installed. A compile error is thrown: that is a bug, not a missing tool. */
function rtploadBinary(): string | null {
  const src = readFileSync(RTPLOAD_SRC);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const root = process.env.CALLCENTRE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'callcentre');
  const dir = join(root, 'bench');
  const bin = join(dir, `rtpload-${hash}`);
  if (existsSync(bin)) return bin;
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  execFileSync('gcc', ['-O2', '-std=c11', '-Wall', '-o', tmp, RTPLOAD_SRC], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(tmp, bin);
  for (const f of readdirSync(dir)) if (/^rtpload-[0-9a-f]{16}$/.test(f) && join(dir, f) !== bin) rmSync(join(dir, f), { force: true }); // older sources
  return bin;
}

/** Talks to one child over a line protocol: each command gets exactly one reply line, in order. */
function lineChannel(child: ChildProcess): (line: string) => Promise<string> {
  const waiting: { resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.resolve(line);
    }
  });
  const fail = (e: Error) => {
    for (const w of waiting.splice(0)) w.reject(e);
  };
  child.on('exit', (code, sig) => fail(new Error(`rtpload exited (${code ?? sig}) before answering`)));
  child.on('error', fail);
  child.stdin!.on('error', () => undefined); // EPIPE after a crash: reported by 'exit' above
  return (line) =>
    new Promise<string>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error('rtpload is not running'));
      waiting.push({ resolve, reject });
      child.stdin!.write(`${line}\n`);
    });
}

async function stopChild(child: ChildProcess, send: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  send();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function cGenerator(bin: string, eager = false): LoadGenerator {
  const child = spawn(bin, eager ? ['--eager'] : [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ask = lineChannel(child);
  const expect = async (line: string, head: string): Promise<string[]> => {
    const r = await ask(line);
    const f = r.split(' ');
    if (f[0] !== head) throw new Error(`rtpload: ${line.slice(0, 40)} -> ${r}`);
    return f.slice(1);
  };
  return {
    open: async (count) => (await expect(`open ${count}`, 'ports')).map(Number),
    target: async (targets) => void (await expect(`target ${targets.join(' ')}`, 'ok')),
    pair: async (calls) => void (await expect(`pair ${calls}`, 'ok')),
    async stats() {
      const [sent, recv, cpuUs, dead] = (await expect('stats', 'stats')).map(Number);
      return { sent: sent!, recv: recv!, cpuSec: cpuUs! / 1e6, dead: dead! };
    },
    stop: () => stopChild(child, () => child.stdin.end('stop\n')),
  };
}

function nodeGenerator(): LoadGenerator {
  const gen = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, MEDIA_BENCH_ROLE: 'generator' },
  });
  const ask = <T>(m: GenMsg) =>
    new Promise<T>((r) => {
      gen.once('message', (x) => r(x as T));
      gen.send(m);
    });
  let lastPerStream: number[] = [];
  return {
    open: async (count) => (await ask<{ ports: number[] }>({ cmd: 'open', count })).ports,
    target: async (targets) => void (await ask({ cmd: 'target', targets })),
    async stats() {
      const s = await ask<{ sent: number; recv: number; cpu: number; perStream: number[] }>({ cmd: 'stats' });
      const dead = s.perStream.filter((v, i) => v === (lastPerStream[i] ?? 0)).length;
      lastPerStream = s.perStream;
      return { sent: s.sent, recv: s.recv, cpuSec: s.cpu / TICK_HZ, dead };
    },
    stop: () => stopChild(gen, () => gen.send({ cmd: 'stop' } satisfies GenMsg)),
  };
}

/** `c-eager` (rtpload --eager: wakes for every packet) is only there to compare with. */
type GeneratorChoice = { kind: 'c' | 'c-eager'; bin: string } | { kind: 'node' };

function chooseGenerator(want: string | undefined): GeneratorChoice {
  if (want !== undefined && want !== 'c' && want !== 'c-eager' && want !== 'node')
    throw new Error(`--generator ${want}: c, c-eager or node`);
  if (want === 'node') return { kind: 'node' };
  const bin = rtploadBinary();
  if (bin) return { kind: want === 'c-eager' ? 'c-eager' : 'c', bin };
  if (want) throw new Error(`--generator ${want}: gcc is not installed`);
  console.error('[bench media] gcc not found: using the Node generator (it costs about as much CPU as the system under test)');
  return { kind: 'node' };
}

const startGenerator = (g: GeneratorChoice): LoadGenerator =>
  g.kind === 'node' ? nodeGenerator() : cGenerator(g.bin, g.kind === 'c-eager');

/** The kernel's share: `calls` calls' worth of packets (200 send+recv pairs per call per second)
 * socket to socket inside the C generator, no relay; one window. */
async function loopbackFloor(
  bin: string,
  calls: number,
  seconds: number,
): Promise<{ calls: number; cpu_pct: number; loss_pct: number; dead_streams: number }> {
  const gen = cGenerator(bin);
  try {
    await gen.pair!(calls);
    await new Promise((r) => setTimeout(r, 1000));
    const s0 = await gen.stats();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const s1 = await gen.stats();
    const wall = (Date.now() - t0) / 1000;
    const sentD = s1.sent - s0.sent;
    const r = {
      calls,
      cpu_pct: +(((s1.cpuSec - s0.cpuSec) / wall) * 100).toFixed(1),
      loss_pct: +(sentD > 0 ? Math.max(0, (1 - (s1.recv - s0.recv) / sentD) * 100) : 100).toFixed(3),
      dead_streams: s1.dead,
    };
    console.error(`[bench media] loopback floor ${JSON.stringify(r)}`);
    return r;
  } finally {
    await gen.stop();
  }
}

// ------------------------------------------------------------------------------------------
// Server side: a load runner shared by the media plane and rtpengine.

interface Step {
  calls: number;
  loss_pct: number;
  cpu_pct: number;
  cpu_per_call_pct: number;
  /** The Node process (relays, recorder, DTMF) alone; 0 for rtpengine. */
  node_cpu_pct: number;
  gen_cpu_pct: number;
  /** Packets/s the generator actually sent (calls × 100 when it keeps up). */
  sent_pps: number;
  /** Streams that received nothing in the window. Any fails the window like loss does: a
   * saturated plane or generator can drain a backlog into the window and hide its loss. */
  dead_streams?: number;
  /** This window re-measured a step whose first window failed (loss ≥ 0.1 % or dead streams). */
  retry?: boolean;
}

interface Backend {
  /** Set up one call between two generator ports; return the two ports they must send to. */
  addCall(callerPort: number, agentPort: number): Promise<[number, number]>;
  /** Processes whose CPU counts as the system under test. */
  pids(): number[];
  close(): Promise<void>;
}

const sdpFor = (port: number) =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp-mux\r\n`;
const portOf = (sdp: string) => Number(/m=audio (\d+)/.exec(sdp)![1]);

async function runLoad(
  name: string,
  backend: Backend,
  o: { maxCalls: number; step: number; seconds: number; deadline: number; selfIsSut: boolean; generator: GeneratorChoice },
): Promise<{ held: number; cpuPerCall: number | null; steps: Step[] }> {
  const gen = startGenerator(o.generator);
  const steps: Step[] = [];
  let calls = 0;
  let held = 0;
  let cpuPerCall: number | null = null;
  try {
    while (calls < o.maxCalls && Date.now() < o.deadline) {
      const add = Math.min(o.step, o.maxCalls - calls);
      const ports = await gen.open(add * 2);
      const targets: number[] = [];
      for (let k = 0; k < add; k++) targets.push(...(await backend.addCall(ports[2 * k]!, ports[2 * k + 1]!)));
      calls += add;
      await gen.target(targets);
      await new Promise((r) => setTimeout(r, 1500)); // settle (latching, first packets)
      const pids = backend.pids();
      // One measurement window. The machine is shared: a window spoiled by someone else's burst is
      // measured once more before the step counts as failed (both windows are reported).
      const measure = async (retry: boolean): Promise<Step> => {
        const s0 = await gen.stats();
        const n0 = o.selfIsSut ? cpuTicks('self') : 0;
        const c0 = n0 + pids.reduce((a, p) => a + cpuTicks(p), 0);
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, o.seconds * 1000));
        const s1 = await gen.stats();
        const n1 = o.selfIsSut ? cpuTicks('self') : 0;
        const c1 = n1 + pids.reduce((a, p) => a + cpuTicks(p), 0);
        const wall = (Date.now() - t0) / 1000;
        const sentD = s1.sent - s0.sent;
        const recvD = s1.recv - s0.recv;
        const loss = sentD > 0 ? Math.max(0, (1 - recvD / sentD) * 100) : 100;
        const cpuPct = ((c1 - c0) / TICK_HZ / wall) * 100;
        const dead = s1.dead; // streams silent since s0
        const st: Step = {
          calls,
          loss_pct: +loss.toFixed(3),
          cpu_pct: +cpuPct.toFixed(1),
          cpu_per_call_pct: +(cpuPct / calls).toFixed(3),
          node_cpu_pct: +(((n1 - n0) / TICK_HZ / wall) * 100).toFixed(1),
          gen_cpu_pct: +(((s1.cpuSec - s0.cpuSec) / wall) * 100).toFixed(1),
          sent_pps: Math.round(sentD / wall),
          ...(dead ? { dead_streams: dead } : {}),
          ...(retry ? { retry: true } : {}),
        };
        steps.push(st);
        console.error(`[bench media] ${name} ${JSON.stringify(st)}`);
        return st;
      };
      const failed = (x: Step) => x.loss_pct >= 0.1 || (x.dead_streams ?? 0) > 0;
      let st = await measure(false);
      if (failed(st)) st = await measure(true);
      const cpuPct = st.cpu_pct;
      if (failed(st)) break;
      held = calls;
      cpuPerCall = st.cpu_per_call_pct;
      if (cpuPct > availableParallelism() * 100 * 0.9) break; // out of CPU
    }
  } finally {
    await gen.stop();
    await backend.close();
  }
  return { held, cpuPerCall, steps };
}

async function mediaPlaneBackend(record: boolean): Promise<Backend> {
  const { MediaPlane } = await import('../media/index.ts');
  const recDir = join(here, '.tmp', 'media-bench');
  rmSync(recDir, { recursive: true, force: true });
  mkdirSync(recDir, { recursive: true });
  const plane = await MediaPlane.start({
    listenIp: '127.0.0.1',
    rtpMinPort: 20000,
    rtpMaxPort: 29999,
    rtcMinPort: 40000,
    rtcMaxPort: 49999,
  });
  const calls: { close(): void }[] = [];
  const recs: { stop(): Promise<unknown> }[] = [];
  return {
    async addCall(callerPort, agentPort) {
      const call = await plane.createCall(`bench-${calls.length}`);
      calls.push(call);
      const trunk = await call.createTrunkLeg();
      const a = await trunk.answer(sdpFor(callerPort));
      const agent = await call.createRtpLeg();
      const o = agent.offer();
      await agent.setAnswer(sdpFor(agentPort));
      await call.bridge(trunk, agent);
      if (record) recs.push(await call.record(join(recDir, `${call.callId}.wav`)));
      return [portOf(a), portOf(o)];
    },
    pids: () => plane.pool.load().map((l) => l.pid),
    async close() {
      await Promise.all(recs.map((r) => r.stop().catch(() => undefined)));
      for (const c of calls) c.close();
      await plane.stop();
      rmSync(recDir, { recursive: true, force: true });
    },
  };
}

// --- rtpengine (Debian rtpengine-daemon, userspace forwarding), driven by its ng protocol ---
type Bencoded = string | number | Bencoded[] | { [k: string]: Bencoded };
function bencode(v: Bencoded): string {
  if (typeof v === 'number') return `i${Math.trunc(v)}e`;
  if (typeof v === 'string') return `${Buffer.byteLength(v)}:${v}`;
  if (Array.isArray(v)) return `l${v.map(bencode).join('')}e`;
  return `d${Object.keys(v)
    .sort()
    .map((k) => bencode(k) + bencode(v[k]!))
    .join('')}e`;
}
function bdecode(b: Buffer): Bencoded {
  let i = 0;
  const next = (): Bencoded => {
    const c = String.fromCharCode(b[i]!);
    if (c === 'i') {
      const e = b.indexOf(0x65, i);
      const n = Number(b.toString('latin1', i + 1, e));
      i = e + 1;
      return n;
    }
    if (c === 'l' || c === 'd') {
      i++;
      const items: Bencoded[] = [];
      while (b[i] !== 0x65) items.push(next());
      i++;
      if (c === 'l') return items;
      const o: Record<string, Bencoded> = {};
      for (let k = 0; k < items.length; k += 2) {
        const key = items[k];
        o[typeof key === 'string' ? key : JSON.stringify(key)] = items[k + 1]!;
      }
      return o;
    }
    const colon = b.indexOf(0x3a, i);
    const len = Number(b.toString('latin1', i, colon));
    const str = b.toString('utf8', colon + 1, colon + 1 + len);
    i = colon + 1 + len;
    return str;
  };
  return next();
}

async function rtpengineBackend(bin: string): Promise<Backend> {
  const { spawn } = await import('node:child_process');
  const ngPort = 22299;
  const proc = spawn(
    bin,
    [
      '--config-file=none',
      '--foreground',
      '--log-stderr',
      '--log-level=3',
      '--table=-1',
      '--interface=127.0.0.1',
      `--listen-ng=127.0.0.1:${ngPort}`,
      '--port-min=50000',
      '--port-max=59999',
      `--num-threads=${availableParallelism()}`,
      '--pidfile=/dev/null',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  let cookie = 0;
  const pending = new Map<string, (v: Record<string, Bencoded>) => void>();
  sock.on('message', (m) => {
    const sp = m.indexOf(0x20);
    const id = m.toString('latin1', 0, sp);
    pending.get(id)?.(bdecode(m.subarray(sp + 1)) as Record<string, Bencoded>);
    pending.delete(id);
  });
  const ng = (cmd: Record<string, Bencoded>) =>
    new Promise<Record<string, Bencoded>>((resolve, reject) => {
      const id = `c${++cookie}`;
      pending.set(id, resolve);
      const t = setTimeout(() => reject(new Error(`rtpengine did not answer ${JSON.stringify(cmd.command)}: ${stderr}`)), 3000);
      pending.set(id, (v) => {
        clearTimeout(t);
        resolve(v);
      });
      sock.send(`${id} ${bencode(cmd)}`, ngPort, '127.0.0.1');
    });
  for (let i = 0; ; i++) {
    try {
      const r = await ng({ command: 'ping' });
      if (r.result === 'pong') break;
    } catch (e) {
      if (i > 10) throw e;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  let n = 0;
  return {
    async addCall(callerPort, agentPort) {
      const callId = `bench-${++n}`;
      const off = await ng({
        command: 'offer',
        'call-id': callId,
        'from-tag': 'a',
        sdp: sdpFor(callerPort),
        replace: ['origin'],
        'rtcp-mux': ['accept'],
      });
      if (off.result !== 'ok') throw new Error(`rtpengine offer: ${JSON.stringify(off)}`);
      const ans = await ng({
        command: 'answer',
        'call-id': callId,
        'from-tag': 'a',
        'to-tag': 'b',
        sdp: sdpFor(agentPort),
        replace: ['origin'],
        'rtcp-mux': ['accept'],
      });
      if (ans.result !== 'ok') throw new Error(`rtpengine answer: ${JSON.stringify(ans)}`);
      // The caller sends to the port in the answer it gets back; the agent to the one in the offer.
      return [portOf(ans.sdp as string), portOf(off.sdp as string)];
    },
    pids: () => [proc.pid!],
    async close() {
      sock.close();
      proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const maxCalls = Math.min(opt('max', 1000), 1500);
  const step = Math.max(10, opt('step', 50));
  const seconds = Math.min(Math.max(3, opt('seconds', 8)), 30);
  const record = !args.includes('--no-record');
  const gi = args.indexOf('--generator');
  const generator = chooseGenerator(gi >= 0 ? args[gi + 1] : undefined);
  process.env.LOG_LEVEL ??= 'error';
  console.error(`[bench media] generator: ${generator.kind}`);

  const ours = await runLoad(`mediasoup${record ? '+recording' : ''}`, await mediaPlaneBackend(record), {
    maxCalls,
    step,
    seconds,
    deadline: Date.now() + 240_000,
    selfIsSut: true,
    generator,
  });

  // rtpengine at the load our plane held (no recording: rtpengine records through its separate
  // recording daemon), next to our plane without recording at the same load.
  const noCompare = args.includes('--no-compare');
  const bin = noCompare ? '' : execFileSync('sh', ['-c', 'command -v rtpengine || true']).toString().trim();
  let rtpengine: Record<string, unknown> = { status: noCompare ? 'not run (--no-compare)' : 'not installed' };
  let ratio: number | null = null;
  if (bin && ours.held > 0) {
    const fixed = { maxCalls: ours.held, step: ours.held, seconds, deadline: Date.now() + 120_000, generator };
    const re = await runLoad('rtpengine', await rtpengineBackend(bin), { ...fixed, selfIsSut: false });
    const plain = await runLoad('mediasoup', await mediaPlaneBackend(false), { ...fixed, selfIsSut: true });
    const reStep = re.steps.at(-1);
    const plainStep = plain.steps.at(-1);
    rtpengine = { status: 'measured', calls: ours.held, rtpengine: reStep ?? null, mediasoup_no_recording: plainStep ?? null };
    if (reStep && plainStep && reStep.cpu_per_call_pct > 0) ratio = +(plainStep.cpu_per_call_pct / reStep.cpu_per_call_pct).toFixed(2);
  }
  // The kernel alone: the packets of `calls_held` calls socket to socket with no relay (C generator
  // only; skipped with --no-compare).
  const floor =
    !args.includes('--no-compare') && generator.kind !== 'node' && ours.held > 0 ? await loopbackFloor(generator.bin, ours.held, 5) : null;
  console.log(
    JSON.stringify({
      bench: 'media',
      cores: availableParallelism(),
      generator: generator.kind,
      recording: record,
      calls_held: ours.held,
      cpu_per_call_pct: ours.cpuPerCall,
      /** CPU (% of one core) of calls_held calls' packets sent and received socket to socket with no
       * relay: 4 streams × 50 packets/s per call, i.e. 200 loopback send+recv pairs per call per
       * second, as many as generator + system under test handle per call in the real run. */
      loopback_floor_cpu_pct: floor?.cpu_pct ?? null,
      loopback_floor: floor,
      loss_threshold_pct: 0.1,
      target_calls: 1000,
      /** CPU per call, our plane (no recording) ÷ rtpengine, same load, same run. */
      cpu_ratio_vs_rtpengine: ratio,
      rtpengine,
      load_avg_at_end: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
      steps: ours.steps,
    }),
  );
  process.exit(0);
}

if (process.env.MEDIA_BENCH_ROLE === 'generator') void generator();
else void main();
