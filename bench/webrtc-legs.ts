/**
 * `npm run bench -- webrtc-legs [--max N] [--step N] [--seconds S] [--no-compare]`
 *
 * How many concurrent browser-agent calls the media path carries: each call a WebRTC client (ICE,
 * DTLS-SRTP, G.711 μ-law, 50 packets/s each way) bridged to a plain-RTP party (a carrier trunk),
 * wired as call control wires a browser agent — MediaCall.createTrunkLeg() answering the party's
 * offer, createWebRtcLeg() offering to the client, bridge() — driven directly on the MediaPlane
 * (no SIP), so the figure is the media path's: mediasoup worker (ICE, DTLS, SRTP, the
 * WebRtcTransport ↔ PlainTransport routing) plus the RTP thread relaying the plain leg. CPU per
 * call is that of the mediasoup workers + this Node process (RTP threads), over a measurement
 * window. Load rises step by step until loss reaches 0.1 % or a stream goes silent for a window
 * (re-measured once: the machine is shared) or CPU runs out. Prints one JSON line.
 *
 * The peer, in the same run: Debian's rtpengine (rtpengine-daemon, userspace forwarding) bridging
 * the same calls — plain RTP/AVP offer from the party, offered on to the client as
 * UDP/TLS/RTP/SAVPF with ICE and DTLS — at the number of calls our plane held; the CPU-per-call
 * ratio (ours ÷ rtpengine's; the target is ≤ 1) is reported.
 *
 * Media is checked both ways: every client and every plain party counts the packets it receives
 * (SRTP packets only when they authenticate), and at the end of each backend's run the audio one
 * client and one party received is judged by Goertzel: the party sends a 400 Hz tone, the client
 * 1000 Hz, and each must hear the other's tone (and not its own).
 *
 * The load generator is bench/webrtcload.c (OpenSSL DTLS, libsrtp2, its own STUN), compiled on
 * demand with gcc into ~/.cache/callcentre/bench/webrtcload-<source hash>; it needs Debian's
 * libssl-dev and libsrtp2-dev. Its own CPU is reported next to the system's (`gen_cpu_pct`).
 * Ports: mediasoup 45000–46999, relays 47000–47999, rtpengine 48000–49999, its ng socket 26501.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeG711, goertzel, goertzelCoefficient } from '../media/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const TICK_HZ = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PLAIN_TONE = 400;
const CLIENT_TONE = 1000;

function cpuTicks(pid: number | 'self'): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** CPU ticks of each of this process's threads by thread id (Node names them all "node"). */
function threadTicks(): Map<number, number> {
  const by = new Map<number, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return by;
  }
  for (const tid of tids) {
    try {
      const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      by.set(Number(tid), Number(f[11]) + Number(f[12]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return by;
}

/**
 * A window's thread CPU split: the main JS thread (tid = pid), the `rtpThreads` busiest other threads
 * (told apart by load, as every thread is named "node"), and the rest (libuv pool, V8 helpers).
 */
function threadSplit(t0: Map<number, number>, t1: Map<number, number>, rtpThreads: number, wallS: number) {
  const pct = (ticks: number) => +((ticks / TICK_HZ / wallS) * 100).toFixed(1);
  const d = [...t1].map(([tid, v]) => ({ tid, d: v - (t0.get(tid) ?? 0) }));
  const others = d.filter((x) => x.tid !== process.pid).sort((a, b) => b.d - a.d);
  const sum = (xs: { d: number }[]) => xs.reduce((a, x) => a + x.d, 0);
  return {
    main: pct(d.find((x) => x.tid === process.pid)?.d ?? 0),
    rtp_threads: pct(sum(others.slice(0, rtpThreads))),
    other: pct(sum(others.slice(rtpThreads))),
  };
}

// ------------------------------------------------------------------------------------------
// The generator (bench/webrtcload.c) over its line protocol.

const SRC = join(here, 'webrtcload.c');

function generatorBinary(): string {
  const src = readFileSync(SRC);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const root = process.env.CALLCENTRE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'callcentre');
  const dir = join(root, 'bench');
  const bin = join(dir, `webrtcload-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', ['-O2', '-std=c11', '-Wall', '-o', tmp, SRC, '-lssl', '-lcrypto', '-lsrtp2', '-lm'], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch (e) {
    throw new Error(`could not build bench/webrtcload.c (needs gcc, libssl-dev, libsrtp2-dev): ${String(e)}`);
  }
  renameSync(tmp, bin);
  for (const f of readdirSync(dir)) if (/^webrtcload-[0-9a-f]{16}$/.test(f) && join(dir, f) !== bin) rmSync(join(dir, f), { force: true });
  return bin;
}

interface GenStats {
  sent: number;
  recv: number;
  cpuSec: number;
  dead: number;
  authFail: number;
}

interface Client {
  index: number;
  port: number;
  ufrag: string;
  pwd: string;
  fingerprint: string;
  ssrc: number;
}

class Generator {
  private readonly child: ChildProcess;
  private readonly waiting: { resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  private sockets = 0;

  constructor(bin: string) {
    // Its own session, hence its own scheduler autogroup (Linux sched_autogroup): on a shared
    // machine the generator then competes for CPU beside the system under test, as a load
    // generator on another machine would, not inside its share. It exits when stdin closes.
    this.child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    let buf = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.waiting.shift()?.resolve(line);
      }
    });
    const fail = (e: Error) => {
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    this.child.on('exit', (code, sig) => fail(new Error(`webrtcload exited (${code ?? sig})`)));
    this.child.on('error', fail);
    this.child.stdin!.on('error', () => undefined);
  }

  private ask(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return reject(new Error('webrtcload is not running'));
      this.waiting.push({ resolve, reject });
      this.child.stdin!.write(`${line}\n`);
    });
  }

  private async expect(line: string, head: string): Promise<string[]> {
    const r = await this.ask(line);
    const f = r.split(' ');
    if (f[0] !== head) throw new Error(`webrtcload: ${line.slice(0, 60)} -> ${r}`);
    return f.slice(1);
  }

  /** A plain-RTP party: its generator index and port. */
  async plain(): Promise<{ index: number; port: number }> {
    const [port] = await this.expect('plain 1', 'ports');
    return { index: this.sockets++, port: Number(port) };
  }

  async webrtc(): Promise<Client> {
    const [index, port, ufrag, pwd, fingerprint, ssrc] = await this.expect('webrtc', 'client');
    this.sockets++;
    return { index: Number(index), port: Number(port), ufrag: ufrag!, pwd: pwd!, fingerprint: fingerprint!, ssrc: Number(ssrc) };
  }

  /** ICE + DTLS with the server; milliseconds it took. */
  async connect(c: Client, port: number, ufrag: string, pwd: string, mode: 'controlling' | 'lite'): Promise<number> {
    const [ms] = await this.expect(`connect ${c.index} ${port} ${ufrag} ${pwd} ${mode}`, 'ok');
    return Number(ms);
  }

  async target(index: number, port: number): Promise<void> {
    await this.expect(`target ${index} ${port}`, 'ok');
  }

  async stats(): Promise<GenStats> {
    const [sent, recv, cpuUs, dead, , , authFail] = (await this.expect('stats', 'stats')).map(Number);
    return { sent: sent!, recv: recv!, cpuSec: cpuUs! / 1e6, dead: dead!, authFail: authFail! };
  }

  async recv(): Promise<number[]> {
    return (await this.expect('recv', 'recv')).map(Number);
  }

  /** The last second of μ-law the socket received. */
  async audio(index: number): Promise<Uint8Array> {
    const [hex] = await this.expect(`audio ${index}`, 'audio');
    return Buffer.from(hex ?? '', 'hex');
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.stdin!.end('stop\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

/** The client's answer to the server's offer (one audio stream, PCMU, DTLS client). */
function clientAnswer(c: Client, offer: string, opts: { iceLite: boolean }): string {
  const mid = /a=mid:(\S+)/.exec(offer)?.[1];
  return [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    ...(opts.iceLite ? ['a=ice-lite'] : []),
    ...(mid !== undefined ? [`a=group:BUNDLE ${mid}`] : []),
    `m=audio ${c.port} UDP/TLS/RTP/SAVPF 0`,
    'c=IN IP4 127.0.0.1',
    ...(mid !== undefined ? [`a=mid:${mid}`] : []),
    'a=rtpmap:0 PCMU/8000',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=setup:active',
    `a=fingerprint:sha-256 ${c.fingerprint}`,
    `a=ice-ufrag:${c.ufrag}`,
    `a=ice-pwd:${c.pwd}`,
    `a=candidate:1 1 udp 2130706431 127.0.0.1 ${c.port} typ host`,
    `a=ssrc:${c.ssrc} cname:webrtcload-${c.index}`,
    '',
  ].join('\r\n');
}

/** Where the client must send, from the server's offer: its UDP host candidate on 127.0.0.1. */
function serverIce(offer: string): { port: number; ufrag: string; pwd: string } {
  const cand = /a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/i.exec(offer);
  const port = Number(cand?.[1] ?? /m=audio (\d+)/.exec(offer)?.[1]);
  const ufrag = /a=ice-ufrag:(\S+)/.exec(offer)?.[1];
  const pwd = /a=ice-pwd:(\S+)/.exec(offer)?.[1];
  if (!port || !ufrag || !pwd) throw new Error(`offer without ICE: ${offer}`);
  return { port, ufrag, pwd };
}

const plainSdp = (port: number) =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\na=sendrecv\r\n`;
const portOf = (sdp: string) => Number(/m=audio (\d+)/.exec(sdp)![1]);

// ------------------------------------------------------------------------------------------
// Backends: our media plane and rtpengine. addCall wires one call and starts its media.

interface Backend {
  addCall(gen: Generator): Promise<{ plain: number; client: number; handshakeMs: number }>;
  pids(): number[];
  /** The subset of pids() that are mediasoup workers (reported apart from the Node process). */
  workerPids?(): number[];
  /** How many RTP threads this process runs (ours only). */
  rtpThreads?(): number;
  close(): Promise<void>;
}

async function mediaPlaneBackend(): Promise<Backend> {
  const { MediaPlane } = await import('../media/index.ts');
  const plane = await MediaPlane.start({
    listenIp: '127.0.0.1',
    rtcMinPort: 45000,
    rtcMaxPort: 46999,
    rtpMinPort: 47000,
    rtpMaxPort: 47999,
    webrtcTcp: false,
  });
  let n = 0;
  const calls: { close(): void }[] = [];
  return {
    async addCall(gen) {
      const call = await plane.createCall(`webrtc-bench-${++n}`);
      calls.push(call);
      const party = await gen.plain();
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(plainSdp(party.port));
      const agent = await call.createWebRtcLeg({ tcp: false });
      const client = await gen.webrtc();
      const offer = agent.offer();
      await agent.setAnswer(clientAnswer(client, offer, { iceLite: false }));
      await call.bridge(trunk, agent);
      const ice = serverIce(offer);
      const handshakeMs = await gen.connect(client, ice.port, ice.ufrag, ice.pwd, 'controlling');
      await gen.target(party.index, portOf(answer));
      return { plain: party.index, client: client.index, handshakeMs };
    },
    pids: () => plane.pool.load().map((l) => l.pid),
    workerPids: () => plane.pool.load().map((l) => l.pid),
    rtpThreads: () => plane.rtpThreads.size,
    async close() {
      for (const c of calls) c.close();
      await plane.stop();
    },
  };
}

// rtpengine's ng protocol: bencoded dictionaries over UDP.
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
      for (let k = 0; k < items.length; k += 2)
        o[typeof items[k] === 'string' ? (items[k] as string) : JSON.stringify(items[k])] = items[k + 1]!;
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
  const ngPort = 26501;
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
      '--port-min=48000',
      '--port-max=49999',
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
      const t = setTimeout(() => reject(new Error(`rtpengine did not answer ${JSON.stringify(cmd.command)}: ${stderr}`)), 3000);
      pending.set(id, (v) => {
        clearTimeout(t);
        resolve(v);
      });
      sock.send(`${id} ${bencode(cmd)}`, ngPort, '127.0.0.1');
    });
  for (let i = 0; ; i++) {
    try {
      if ((await ng({ command: 'ping' })).result === 'pong') break;
    } catch (e) {
      if (i > 10) throw e;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  let n = 0;
  return {
    async addCall(gen) {
      const callId = `webrtc-bench-${++n}`;
      const party = await gen.plain();
      const off = await ng({
        command: 'offer',
        'call-id': callId,
        'from-tag': 'party',
        sdp: plainSdp(party.port),
        'transport-protocol': 'UDP/TLS/RTP/SAVPF',
        ICE: 'force',
        SDES: ['off'],
        'rtcp-mux': ['offer'],
        replace: ['origin'],
      });
      if (off.result !== 'ok') throw new Error(`rtpengine offer: ${JSON.stringify(off)}`);
      const offer = off.sdp as string;
      const client = await gen.webrtc();
      const ans = await ng({
        command: 'answer',
        'call-id': callId,
        'from-tag': 'party',
        'to-tag': 'agent',
        sdp: clientAnswer(client, offer, { iceLite: true }),
        replace: ['origin'],
      });
      if (ans.result !== 'ok') throw new Error(`rtpengine answer: ${JSON.stringify(ans)}`);
      const ice = serverIce(offer);
      const handshakeMs = await gen.connect(client, ice.port, ice.ufrag, ice.pwd, 'lite');
      await gen.target(party.index, portOf(ans.sdp as string));
      return { plain: party.index, client: client.index, handshakeMs };
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

// ------------------------------------------------------------------------------------------
// The load runner.

interface Step {
  calls: number;
  loss_pct: number;
  cpu_pct: number;
  cpu_per_call_pct: number;
  /** This Node process (RTP threads; the bench's own driving is idle during the window); 0 for rtpengine. */
  node_cpu_pct: number;
  /** The Node process's CPU by thread (ours only): main JS thread, RTP threads, the rest. */
  node_threads_cpu_pct?: { main: number; rtp_threads: number; other: number };
  /** The mediasoup workers alone (ours only). */
  worker_cpu_pct?: number;
  gen_cpu_pct: number;
  sent_pps: number;
  /** sent_pps as a % of what the calls should send (100 packets/s each): below 97 % the generator
   * fell behind (starved of CPU on the shared machine) and the step does not count. */
  offered_pct: number;
  srtp_auth_fail: number;
  dead_streams?: number;
  retry?: boolean;
}

interface ToneCheck {
  /** What the WebRTC client heard: dominant frequency, and power of the party's tone ÷ its own. */
  client_hears_hz: number;
  client_tone_ratio: number;
  party_hears_hz: number;
  party_tone_ratio: number;
  ok: boolean;
}

function dominant(x: Int16Array): number {
  let best = 0;
  let bestP = -1;
  for (let f = 100; f <= 3800; f += 10) {
    const p = goertzel(x, goertzelCoefficient(f, 8000));
    if (p > bestP) [best, bestP] = [f, p];
  }
  return best;
}

async function toneCheck(gen: Generator, call: { plain: number; client: number }): Promise<ToneCheck> {
  const heard = async (index: number, want: number, not: number) => {
    const ulaw = await gen.audio(index);
    const x = decodeG711('PCMU', ulaw);
    const ratio = goertzel(x, goertzelCoefficient(want, 8000)) / Math.max(1, goertzel(x, goertzelCoefficient(not, 8000)));
    return { hz: x.length >= 4000 ? dominant(x) : 0, ratio: +ratio.toExponential(2) };
  };
  const c = await heard(call.client, PLAIN_TONE, CLIENT_TONE);
  const p = await heard(call.plain, CLIENT_TONE, PLAIN_TONE);
  return {
    client_hears_hz: c.hz,
    client_tone_ratio: c.ratio,
    party_hears_hz: p.hz,
    party_tone_ratio: p.ratio,
    ok: c.hz === PLAIN_TONE && p.hz === CLIENT_TONE && c.ratio > 100 && p.ratio > 100,
  };
}

interface RunResult {
  held: number;
  cpuPerCall: number | null;
  steps: Step[];
  handshake_ms_p50: number | null;
  handshake_ms_max: number | null;
  /** Packets received per stream in the last window: min over all clients and parties. */
  min_stream_pps: number | null;
  /** CPU of one more call: the slope between the first and the last step held (without the fixed
   * cost of an idle plane or daemon). */
  marginal_cpu_per_call_pct: number | null;
  /** Why the load stopped rising: loss, generator behind, out of CPU, max calls, time. */
  stop_reason: string;
  tone: ToneCheck | null;
  error?: string;
}

async function runLoad(
  name: string,
  backend: Backend,
  o: { bin: string; maxCalls: number; step: number; seconds: number; deadline: number; selfIsSut: boolean },
): Promise<RunResult> {
  const gen = new Generator(o.bin);
  const steps: Step[] = [];
  const handshakes: number[] = [];
  const wired: { plain: number; client: number }[] = [];
  let held = 0;
  let cpuPerCall: number | null = null;
  let minPps: number | null = null;
  let tone: ToneCheck | null = null;
  let error: string | undefined;
  let stopReason: string | undefined;
  const heldSteps: Step[] = [];
  try {
    while (wired.length < o.maxCalls && Date.now() < o.deadline) {
      const add = Math.min(o.step, o.maxCalls - wired.length);
      for (let k = 0; k < add; k++) {
        const c = await backend.addCall(gen);
        handshakes.push(c.handshakeMs);
        wired.push(c);
      }
      const calls = wired.length;
      await new Promise((r) => setTimeout(r, 1500)); // settle
      const pids = backend.pids();
      const measure = async (retry: boolean): Promise<{ st: Step; pps: number }> => {
        const r0 = await gen.recv();
        const s0 = await gen.stats();
        const n0 = o.selfIsSut ? cpuTicks('self') : 0;
        const th0 = o.selfIsSut ? threadTicks() : new Map<number, number>();
        const w0 = (backend.workerPids?.() ?? []).reduce((a, p) => a + cpuTicks(p), 0);
        const c0 = n0 + pids.reduce((a, p) => a + cpuTicks(p), 0);
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, o.seconds * 1000));
        const s1 = await gen.stats();
        const n1 = o.selfIsSut ? cpuTicks('self') : 0;
        const th1 = o.selfIsSut ? threadTicks() : new Map<number, number>();
        const w1 = (backend.workerPids?.() ?? []).reduce((a, p) => a + cpuTicks(p), 0);
        const c1 = n1 + pids.reduce((a, p) => a + cpuTicks(p), 0);
        const r1 = await gen.recv();
        const wall = (Date.now() - t0) / 1000;
        const sentD = s1.sent - s0.sent;
        const loss = sentD > 0 ? Math.max(0, (1 - (s1.recv - s0.recv) / sentD) * 100) : 100;
        const cpuPct = ((c1 - c0) / TICK_HZ / wall) * 100;
        const pps = Math.min(...r1.map((v, i) => (v - (r0[i] ?? 0)) / wall));
        const st: Step = {
          calls,
          loss_pct: +loss.toFixed(3),
          cpu_pct: +cpuPct.toFixed(1),
          cpu_per_call_pct: +(cpuPct / calls).toFixed(3),
          node_cpu_pct: +(((n1 - n0) / TICK_HZ / wall) * 100).toFixed(1),
          ...(backend.workerPids ? { worker_cpu_pct: +(((w1 - w0) / TICK_HZ / wall) * 100).toFixed(1) } : {}),
          ...(o.selfIsSut ? { node_threads_cpu_pct: threadSplit(th0, th1, backend.rtpThreads?.() ?? 0, wall) } : {}),
          gen_cpu_pct: +(((s1.cpuSec - s0.cpuSec) / wall) * 100).toFixed(1),
          sent_pps: Math.round(sentD / wall),
          offered_pct: +((sentD / wall / (calls * 100)) * 100).toFixed(1),
          srtp_auth_fail: s1.authFail - s0.authFail,
          ...(s1.dead ? { dead_streams: s1.dead } : {}),
          ...(retry ? { retry: true } : {}),
        };
        steps.push(st);
        console.error(`[bench webrtc-legs] ${name} ${JSON.stringify({ ...st, min_stream_pps: +pps.toFixed(1) })}`);
        return { st, pps };
      };
      const failed = (x: Step) => x.loss_pct >= 0.1 || (x.dead_streams ?? 0) > 0 || x.offered_pct < 97;
      let m = await measure(false);
      if (failed(m.st)) m = await measure(true);
      if (failed(m.st)) {
        stopReason =
          m.st.offered_pct < 97
            ? `generator behind: sent ${m.st.offered_pct} % of the load (CPU-starved)`
            : `loss ${m.st.loss_pct} %${m.st.dead_streams ? `, ${m.st.dead_streams} silent streams` : ''}`;
        break;
      }
      held = calls;
      heldSteps.push(m.st);
      cpuPerCall = m.st.cpu_per_call_pct;
      minPps = +m.pps.toFixed(1);
      if (m.st.cpu_pct + m.st.gen_cpu_pct > availableParallelism() * 100 * 0.9) {
        stopReason = 'out of CPU';
        break;
      }
    }
    stopReason ??= wired.length >= o.maxCalls ? 'max calls' : 'time';
    if (wired.length) tone = await toneCheck(gen, wired[0]!);
  } catch (e) {
    error = String(e);
    console.error(`[bench webrtc-legs] ${name}: ${error}`);
  } finally {
    await gen.stop();
    await backend.close();
  }
  const hs = handshakes.slice().sort((a, b) => a - b);
  return {
    held,
    cpuPerCall,
    steps,
    handshake_ms_p50: hs.length ? hs[Math.floor(hs.length / 2)]! : null,
    handshake_ms_max: hs.length ? hs.at(-1)! : null,
    min_stream_pps: minPps,
    marginal_cpu_per_call_pct:
      heldSteps.length >= 2
        ? +((heldSteps.at(-1)!.cpu_pct - heldSteps[0]!.cpu_pct) / (heldSteps.at(-1)!.calls - heldSteps[0]!.calls)).toFixed(3)
        : null,
    stop_reason: stopReason ?? 'error',
    tone,
    ...(error ? { error } : {}),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const maxCalls = Math.min(opt('max', 600), 900);
  const step = Math.max(5, opt('step', 50));
  const seconds = Math.min(Math.max(3, opt('seconds', 6)), 30);
  process.env.LOG_LEVEL ??= 'error';
  const bin = generatorBinary();
  const started = Date.now();
  const hardStop = setTimeout(() => {
    console.error('[bench webrtc-legs] 4-minute cap reached');
    process.exit(1);
  }, 235_000);
  hardStop.unref();

  const ours = await runLoad('mediasoup', await mediaPlaneBackend(), {
    bin,
    maxCalls,
    step,
    seconds,
    deadline: started + 130_000,
    selfIsSut: true,
  });

  let peer: RunResult | null = null;
  let ratio: number | null = null;
  const rtpengine = args.includes('--no-compare') ? '' : execFileSync('sh', ['-c', 'command -v rtpengine || true']).toString().trim();
  if (rtpengine && ours.held > 0) {
    peer = await runLoad('rtpengine', await rtpengineBackend(rtpengine), {
      bin,
      maxCalls: ours.held,
      step: Math.max(5, Math.ceil(ours.held / 2)), // two steps: a marginal figure as for ours
      seconds,
      deadline: Date.now() + 60_000,
      selfIsSut: false,
    });
    const a = ours.steps.filter((s) => s.calls === ours.held).at(-1);
    const b = peer.steps.at(-1);
    if (a && b && b.cpu_per_call_pct > 0) ratio = +(a.cpu_per_call_pct / b.cpu_per_call_pct).toFixed(2);
  }
  console.log(
    JSON.stringify({
      bench: 'webrtc-legs',
      cores: availableParallelism(),
      generator: 'c (bench/webrtcload.c: OpenSSL DTLS 1.2 client, libsrtp2 AES_CM_128_HMAC_SHA1_80, own ICE)',
      loss_threshold_pct: 0.1,
      calls_held: ours.held,
      cpu_per_call_pct: ours.cpuPerCall,
      /** CPU per call, ours ÷ rtpengine's, at calls_held, same run (target ≤ 1). */
      cpu_ratio_vs_rtpengine: ratio,
      /** The same with marginal CPU per call (slopes), when both have two steps held. */
      marginal_ratio_vs_rtpengine:
        ours.marginal_cpu_per_call_pct && peer?.marginal_cpu_per_call_pct
          ? +(ours.marginal_cpu_per_call_pct / peer.marginal_cpu_per_call_pct).toFixed(2)
          : null,
      /** Where our CPU per call goes at calls_held: mediasoup workers vs this Node process (RTP threads). */
      split_at_held: ours.steps.filter((s) => s.calls === ours.held).at(-1)
        ? (({ worker_cpu_pct, node_cpu_pct, calls }) => ({
            worker_per_call_pct: +((worker_cpu_pct ?? 0) / calls).toFixed(3),
            node_per_call_pct: +(node_cpu_pct / calls).toFixed(3),
          }))(ours.steps.filter((s) => s.calls === ours.held).at(-1)!)
        : null,
      mediasoup: ours,
      rtpengine: rtpengine ? peer : { status: 'not installed' },
      load_avg_at_end: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
      seconds_total: Math.round((Date.now() - started) / 1000),
    }),
  );
  process.exit(0);
}

void main();
