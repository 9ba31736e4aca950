/**
 * `npm run bench -- media [--max N] [--step N] [--seconds S] [--no-record]`
 *
 * How many concurrent bridged G.711 calls (trunk leg ↔ desk-phone agent leg, both plain RTP,
 * through mediasoup and the Node relays) this machine holds with < 0.1 % packet loss, recording
 * each call to a stereo WAV, and the CPU each call costs. A generator process (this file, forked)
 * plays both parties: two UDP sockets per call, 50 packets/s each way, spread evenly over each
 * 20 ms. Load is raised step by step until loss reaches 0.1 % or CPU runs out; everything is
 * bounded by count and time. Prints one JSON line.
 *
 * rtpengine comparison: reported as null unless Debian's rtpengine is installed (it is not driven
 * yet; see media README).
 */
import { fork, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
// Generator (child process): both parties of every call.
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
  process.on('message', async (m: GenMsg) => {
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
      process.send!({ sent: sent.reduce((a, b) => a + b, 0), recv: recv.reduce((a, b) => a + b, 0), cpu: cpuTicks('self'), perStream: recv.slice() });
    } else {
      if (timer) clearTimeout(timer);
      for (const s of socks) s.close();
      process.exit(0);
    }
  });
}

// ------------------------------------------------------------------------------------------
// Server side (this process): the media plane under test.
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
  const deadline = Date.now() + 240_000;

  process.env.LOG_LEVEL ??= 'error';
  const { MediaPlane } = await import('../media/index.ts');
  const recDir = join(here, '.tmp', 'media-bench');
  rmSync(recDir, { recursive: true, force: true });
  mkdirSync(recDir, { recursive: true });
  const plane = await MediaPlane.start({ listenIp: '127.0.0.1', rtpMinPort: 20000, rtpMaxPort: 29999, rtcMinPort: 40000, rtcMaxPort: 49999 });
  const gen = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, MEDIA_BENCH_ROLE: 'generator' } });
  const ask = <T>(m: GenMsg) => new Promise<T>((r) => { gen.once('message', (x) => r(x as T)); gen.send(m); });

  const calls: Awaited<ReturnType<typeof plane.createCall>>[] = [];
  const recs: { stop(): Promise<unknown> }[] = [];
  const steps: { calls: number; loss_pct: number; cpu_pct: number; cpu_per_call_pct: number; node_cpu_pct: number; gen_cpu_pct: number }[] = [];
  let held = 0;
  let heldCpuPerCall: number | undefined;
  const sdp = (port: number) => `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp-mux\r\n`;
  try {
    while (calls.length < maxCalls && Date.now() < deadline) {
      const add = Math.min(step, maxCalls - calls.length);
      const { ports } = await ask<{ ports: number[] }>({ cmd: 'open', count: add * 2 });
      const targets: number[] = [];
      for (let k = 0; k < add; k++) {
        const call = await plane.createCall(`bench-${calls.length}`);
        const trunk = await call.createTrunkLeg();
        const a = await trunk.answer(sdp(ports[2 * k]!));
        const agent = await call.createRtpLeg();
        const o = agent.offer();
        await agent.setAnswer(sdp(ports[2 * k + 1]!));
        await call.bridge(trunk, agent);
        if (record) recs.push(await call.record(join(recDir, `${call.callId}.wav`)));
        calls.push(call);
        targets.push(Number(/m=audio (\d+)/.exec(a)![1]), Number(/m=audio (\d+)/.exec(o)![1]));
      }
      await ask({ cmd: 'target', targets });
      await new Promise((r) => setTimeout(r, 1500)); // settle (latching, first packets)
      const pids = plane.pool.load().map((l) => l.pid);
      const s0 = await ask<{ sent: number; recv: number; cpu: number }>({ cmd: 'stats' });
      const n0 = cpuTicks('self');
      const c0 = n0 + pids.reduce((a, p) => a + cpuTicks(p), 0);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const s1 = await ask<{ sent: number; recv: number; cpu: number }>({ cmd: 'stats' });
      const n1 = cpuTicks('self');
      const c1 = n1 + pids.reduce((a, p) => a + cpuTicks(p), 0);
      const wall = (Date.now() - t0) / 1000;
      if (process.env.MEDIA_BENCH_DEBUG) {
        const p0 = (s0 as unknown as { perStream: number[] }).perStream;
        const p1 = (s1 as unknown as { perStream: number[] }).perStream;
        const dead = p1.map((v, i) => (v - (p0[i] ?? 0) === 0 ? i : -1)).filter((i) => i >= 0);
        console.error(`[bench media] dead streams: ${dead.length} ${dead.slice(0, 20).join(',')}`);
      }
      const sentD = s1.sent - s0.sent;
      const recvD = s1.recv - s0.recv;
      const loss = sentD > 0 ? Math.max(0, (1 - recvD / sentD) * 100) : 100;
      const cpuPct = ((c1 - c0) / TICK_HZ / wall) * 100;
      const st = {
        calls: calls.length,
        loss_pct: +loss.toFixed(3),
        cpu_pct: +cpuPct.toFixed(1),
        cpu_per_call_pct: +(cpuPct / calls.length).toFixed(3),
        node_cpu_pct: +((((n1 - n0) / TICK_HZ) / wall) * 100).toFixed(1),
        gen_cpu_pct: +((((s1.cpu - s0.cpu) / TICK_HZ) / wall) * 100).toFixed(1),
      };
      steps.push(st);
      console.error(`[bench media] ${JSON.stringify(st)}`);
      if (loss >= 0.1) break;
      held = calls.length;
      heldCpuPerCall = st.cpu_per_call_pct;
      if (cpuPct > availableParallelism() * 100 * 0.9) break; // out of CPU
    }
  } finally {
    await Promise.all(recs.map((r) => r.stop().catch(() => undefined)));
    for (const c of calls) c.close();
    gen.send({ cmd: 'stop' } satisfies GenMsg);
    await new Promise((r) => setTimeout(r, 200));
    gen.kill();
    await plane.stop();
    rmSync(recDir, { recursive: true, force: true });
  }
  let rtpengine: string | null = null;
  try {
    rtpengine = execFileSync('sh', ['-c', 'command -v rtpengine || true']).toString().trim() || null;
  } catch {
    rtpengine = null;
  }
  console.log(
    JSON.stringify({
      bench: 'media',
      cores: availableParallelism(),
      recording: record,
      calls_held: held,
      cpu_per_call_pct: heldCpuPerCall ?? null,
      loss_threshold_pct: 0.1,
      target_calls: 1000,
      rtpengine_ratio: null,
      rtpengine: rtpengine ? 'installed, not driven' : 'not installed',
      load_avg_at_end: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
      steps,
    }),
  );
  process.exit(0);
}

if (process.env.MEDIA_BENCH_ROLE === 'generator') void generator();
else void main();
