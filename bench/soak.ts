/**
 * `npm run bench -- soak [--rounds N] [--calls N] [--hold S] [--no-netns]`
 *
 * Memory soak (issue #17): rounds of `--calls` callers, each a trunk leg whose party is a socket of
 * the C load generator (50 packets/s in), answered, on music on hold, told its place in the queue
 * (composed announcement), then hung up after `--hold` seconds; after each round every call is
 * closed and the process's memory is read (after a full GC on the main thread): RSS, JS heap,
 * external and ArrayBuffer memory, and what each RTP thread still holds (legs, players, prompts,
 * its heap). Passes when RSS after every round is ≤ RSS after round 1 + max(32 MiB, 10 %): memory
 * outside the JS heap kept after calls end shows up as RSS growing round after round. Runs in a
 * network namespace of its own as root (as onhold does). Bounded to 4 minutes. Prints one JSON line.
 */
import { availableParallelism } from 'node:os';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { announcements, generator, inNamespace, opt, rtploadBinary, sdpFor } from './onhold.ts';

const here = dirname(fileURLToPath(import.meta.url));
const T0 = Date.now();
const DEADLINE = T0 + 220_000;
const MiB = 1024 * 1024;

interface Round {
  round: number;
  calls: number;
  failures: number;
  rss_mib: number;
  heap_mib: number;
  /** The main thread's V8 heap as committed. */
  heap_total_mib: number;
  /** Anonymous RSS (/proc/self/status RssAnon): malloc arenas and V8 heaps, not mapped files. */
  rss_anon_mib: number;
  external_mib: number;
  array_buffers_mib: number;
  thread_legs: number;
  thread_players: number;
  thread_heap_mib: number;
  /** The RTP threads' V8 heaps as committed: the part of RSS they hold, used or not. */
  thread_heap_total_mib: number;
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'warn'; // before the media plane's logger loads
  const inNs = process.env.CC_ONHOLD_IN_NS === '1';
  const rounds = opt('rounds', 5);
  const perRound = opt('calls', inNs ? 400 : 300);
  const holdS = opt('hold', 6);
  const gc = (globalThis as { gc?: () => void }).gc;

  const { MediaPlane, encodeWav } = await import('../media/index.ts');
  const { synthesizeHoldMusic } = await import('../server/ivr/holdMusic.ts');
  const { EspeakTts } = await import('../server/ivr/tts.ts');
  const tmp = join(here, '.tmp', `soak-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const moh = join(tmp, 'moh.wav');
  writeFileSync(moh, encodeWav(8000, 1, synthesizeHoldMusic(16)));
  const { mode, files: announcement } = await announcements(new EspeakTts({ cacheDir: join(tmp, 'tts') }));

  const plane = await MediaPlane.start({
    listenIp: '127.0.0.1',
    rtpMinPort: inNs ? 20000 : 27000,
    rtpMaxPort: inNs ? 29999 : 27999,
    rtcMinPort: inNs ? 40000 : 28000,
    rtcMaxPort: inNs ? 49999 : 28999,
    workerLogLevel: 'none',
  });
  const out: Round[] = [];
  let failures = 0;
  try {
    for (let r = 1; r <= rounds && Date.now() < DEADLINE - (holdS + 15) * 1000; r++) {
      // A fresh generator per round: its sockets end with the round's calls.
      const gen = generator(rtploadBinary());
      const ports = await gen.open(perRound);
      const calls: Awaited<ReturnType<typeof plane.createCall>>[] = [];
      const targets: number[] = [];
      for (let k = 0; k < perRound; k += 25) {
        const made = await Promise.all(
          ports.slice(k, k + 25).map(async (p, j) => {
            try {
              const call = await plane.createCall(`soak-${r}-${k + j}`);
              calls.push(call);
              const leg = await call.createTrunkLeg();
              const answer = await leg.answer(sdpFor(p));
              await call.play(leg, moh, { loop: true });
              // Told its place once, a second in, then the music again.
              setTimeout(() => {
                void announcement(k + j + 1, 120)
                  .then((files) => (files && !call.closed ? call.play(leg, files) : undefined))
                  .then((pb) => pb?.done)
                  .then((e) => (e === 'finished' && !call.closed ? call.play(leg, moh, { loop: true }) : undefined))
                  .catch(() => undefined);
              }, 1000).unref();
              return Number(/m=audio (\d+)/.exec(answer)![1]);
            } catch (e) {
              if (failures++ === 0) console.error(`[bench soak] set-up failed: ${String(e)}`);
              return 0;
            }
          }),
        );
        targets.push(...made);
      }
      await gen.target(targets);
      await new Promise((res) => setTimeout(res, holdS * 1000));
      for (const c of calls) c.close();
      gen.stop();
      await new Promise((res) => setTimeout(res, 2000)); // closes reach the threads and workers
      gc?.();
      await new Promise((res) => setTimeout(res, 500));
      const m = process.memoryUsage();
      let legs = 0;
      let players = 0;
      let threadHeap = 0;
      let threadHeapTotal = 0;
      for (let i = 0; i < plane.rtpThreads.size; i++) {
        const s = await plane.rtpThreads
          .thread(i)
          ?.request({ op: 'stats' })
          .catch(() => undefined);
        legs += s?.legs ?? 0;
        players += s?.players ?? 0;
        threadHeap += s?.heapUsed ?? 0;
        threadHeapTotal += s?.heapTotal ?? 0;
      }
      const row: Round = {
        round: r,
        calls: calls.length,
        failures,
        rss_mib: +(m.rss / MiB).toFixed(1),
        heap_mib: +(m.heapUsed / MiB).toFixed(1),
        heap_total_mib: +(m.heapTotal / MiB).toFixed(1),
        rss_anon_mib: rssAnonMib(),
        external_mib: +(m.external / MiB).toFixed(1),
        array_buffers_mib: +(m.arrayBuffers / MiB).toFixed(1),
        thread_legs: legs,
        thread_players: players,
        thread_heap_mib: +(threadHeap / MiB).toFixed(1),
        thread_heap_total_mib: +(threadHeapTotal / MiB).toFixed(1),
      };
      out.push(row);
      console.error(`[bench soak] ${JSON.stringify(row)}`);
    }
  } finally {
    await plane.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  const first = out[0]?.rss_mib ?? 0;
  const margin = Math.max(32, first * 0.1);
  const worst = Math.max(...out.map((x) => x.rss_mib));
  console.log(
    JSON.stringify({
      bench: 'soak',
      rounds: out.length,
      calls_per_round: perRound,
      failures,
      rss_round1_mib: first,
      rss_max_mib: worst,
      rss_last_mib: out[out.length - 1]?.rss_mib ?? 0,
      margin_mib: +margin.toFixed(1),
      pass: out.length >= 2 && failures === 0 && worst <= first + margin,
      gc: gc !== undefined,
      announce: mode,
      netns: inNs,
      // glibc malloc arenas (set before the process starts): null = glibc's default, 8 per core.
      malloc_arena_max: process.env.MALLOC_ARENA_MAX ?? null,
      // The RTP threads' V8 young generation, MiB (media/rtp/rtpThreadPool.ts; 0 = V8's default).
      rtp_young_mb: Number(process.env.CC_RTP_YOUNG_MB ?? 8),
      cores: availableParallelism(),
      machine: 'shared with other helpers (busy)',
      rounds_detail: out,
    }),
  );
}

function rssAnonMib(): number {
  const kb = /RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kb ? +(Number(kb) / 1024).toFixed(1) : -1;
}

if (!inNamespace('cc-moh-soak', fileURLToPath(import.meta.url), ['--expose-gc'])) await main();
