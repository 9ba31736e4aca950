/**
 * `npm run bench -- full-path [--rates 20,40,60,80,100,120] [--seconds 6] [--agents 600] [--talk 3]`
 *
 * The whole centre under call load (issue #17): a centre started as `npm start` starts it (startCentre,
 * the demo config plus a bench flow, embedded Postgres) on 127.0.0.1; sipp callers (G.711 µ-law,
 * a 1000 Hz tone this bench writes as a pcap) dial the trunk → a short IVR (a 1 s prompt, then the
 * caller presses 1 as an RFC 4733 event) → the queue `bench` → `--agents` SIP desk phones: one sipp
 * REGISTERs every agent id (digest auth) with its contact on a second sipp, which answers every
 * INVITE, sends a 600 Hz tone for `--talk` seconds and hangs up (BYE) → the caller gets the BYE from
 * the centre. Every connected call is recorded; the CDR (contacts) and recordings rows go to Postgres.
 *
 * A ladder of call rates, each step `--seconds` of arrivals (rate × seconds calls, bounded), one sipp
 * caller process per step; a step holds when every call succeeded at sipp (INVITE answered, key
 * pressed, BYE from the centre after the agent's, within 30 s), was seen talking to an agent (sipp
 * also succeeds when the IVR hangs up on a lost key) and left a valid recording (a WAV spanning at
 * least 80 % of the talk; judged per step after the ladder). The ladder stops at the first step
 * whose calls failed or at the time limit (≤ 4 minutes in all). Also checked: every contact closed
 * in the store (contacts without ended_at), and the first and last valid recordings hold both tones
 * (Goertzel). CPU per step: the centre's main thread, its
 * other threads (the top `rtpThreads` of them by CPU are reported as RTP threads: Node names every
 * thread "node", so they are told apart by load), the mediasoup workers, Postgres (postmaster and
 * backends), the sipp callers and the sipp agents, each in % of one core over the step.
 *
 * Ports: SIP 14060, HTTP 14070 (+1 HTTPS), Postgres 14090, sipp 14061–14062; plain RTP 20000–29999,
 * mediasoup 50000–59999 (two ports a plain leg, loopback side: the test centre's 200 run out at ~100
 * calls), sipp media 44800 (callers) and 44900 (agents). Prints one JSON line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goertzel, goertzelCoefficient } from '../media/audio/goertzel.ts';
import { parseWav } from '../media/audio/wav.ts';

// ------------------------------------------------------------------ pure helpers (unit-tested)

export interface StepResult {
  rate: number;
  calls: number;
  ok: number;
  failed: number;
  /** Calls that reached an agent, when counted: a call that never did (its key lost) fails the step. */
  reached_agent?: number;
  /** Valid recordings of the step's calls, when checked: fewer than the calls that reached an agent fails it. */
  recordings_valid?: number;
}

/**
 * The highest rate of the ladder's leading run of steps that each had every call succeed, reach an
 * agent and leave a valid recording (0: none).
 */
export function heldRate(steps: readonly StepResult[]): number {
  let held = 0;
  for (const s of steps) {
    const reached = s.reached_agent ?? s.calls;
    if (s.failed > 0 || s.ok < s.calls || reached < s.calls || (s.recordings_valid !== undefined && s.recordings_valid < reached)) break;
    held = Math.max(held, s.rate);
  }
  return held;
}

/** A recording's figures: readable WAV, its format and length in seconds; `error` when unreadable. */
export function wavFigures(buf: Buffer): { ok: boolean; seconds: number; rate: number; channels: number; error?: string } {
  try {
    const w = parseWav(buf);
    const n = w.channels[0]?.length ?? 0;
    return {
      ok: n > 0 && w.sampleRate > 0,
      seconds: w.sampleRate > 0 ? n / w.sampleRate : 0,
      rate: w.sampleRate,
      channels: w.channels.length,
    };
  } catch (e) {
    return { ok: false, seconds: 0, rate: 0, channels: 0, error: String(e) };
  }
}

/** Amplitude of `freq` in each 80 ms block (2·√power / N, as test/support/tones.ts judges). */
function blockLevels(x: Int16Array, freq: number, rate: number): number[] {
  const blk = Math.round(rate * 0.08);
  const k = goertzelCoefficient(freq, rate);
  const amps: number[] = [];
  for (let i = 0; i + blk <= x.length; i += blk) amps.push((2 * Math.sqrt(Math.max(0, goertzel(x.subarray(i, i + blk), k)))) / blk);
  return amps;
}

/**
 * The strongest level of `freq` in any channel, over the blocks where it is present: a channel
 * carries the tone for only part of the call (the agent's after the answer), so the level is
 * judged over the loudest quarter of the blocks.
 */
export function toneInRecording(channels: readonly Int16Array[], freq: number, rate: number): number {
  let best = 0;
  for (const ch of channels) {
    const amps = blockLevels(ch, freq, rate);
    amps.sort((a, b) => b - a);
    const top = amps.slice(0, Math.max(1, Math.floor(amps.length / 4)));
    best = Math.max(best, top.length ? top[top.length - 1]! : 0);
  }
  return best;
}

// ------------------------------------------------------------------ the bench

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const PORTS = { sip: 14060, http: 14070, pg: 14090, rtc: 50000 };
const CALLER_PORT = 14061;
const AGENT_UAS_PORT = 14062;
const CALLER_MEDIA = 44800;
const AGENT_MEDIA = 44900;
const CALLER_HZ = 1000;
const AGENT_HZ = 600;
const TICK = 100; // USER_HZ
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statTicks(path: string): number {
  try {
    const f = readFileSync(path, 'utf8');
    const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(x[11]) + Number(x[12]);
  } catch {
    return 0;
  }
}
/** Reaped children's CPU (the sipp caller processes of a step, once they exited). */
function childrenTicks(): number {
  const f = readFileSync('/proc/self/stat', 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(x[13]) + Number(x[14]);
}
function threadTicks(): Map<number, number> {
  const m = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) m.set(Number(t), statTicks(`/proc/self/task/${t}/stat`));
  return m;
}
/**
 * Postgres's CPU so far: the postmaster's own and its reaped backends' (cutime/cstime), plus each live
 * backend's; a difference of two readings is right whether backends lived across it or not.
 */
function pgTicks(dataDir: string): number {
  const pids = (args: string[]) => (spawnSync('pgrep', args).stdout?.toString() ?? '').split('\n').filter(Boolean).map(Number);
  let ticks = 0;
  for (const root of pids(['-f', dataDir]).filter((p) => p !== process.pid)) {
    try {
      const f = readFileSync(`/proc/${root}/stat`, 'utf8');
      const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
      ticks += Number(x[11]) + Number(x[12]) + Number(x[13]) + Number(x[14]);
    } catch {
      continue;
    }
    for (const kid of pids(['-P', String(root)])) ticks += statTicks(`/proc/${kid}/stat`);
  }
  return ticks;
}

function writeScenarios(dir: string, talkMs: number): { caller: string; agent: string; register: string } {
  const caller = join(dir, 'caller.xml');
  writeFileSync(
    caller,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="full-path caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Load" <sip:1555[call_number]@[local_ip]:[local_port]>;tag=[pid]FP[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:load@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP4 [media_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Load" <sip:1555[call_number]@[local_ip]:[local_port]>;tag=[pid]FP[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="1300"/>
  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_1.pcap"/></action></nop>
  <pause milliseconds="400"/>
  <nop><action><exec play_pcap_audio="caller.pcap"/></action></nop>
  <recv request="BYE" timeout="30000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
`,
  );
  const agent = join(dir, 'agent.xml');
  writeFileSync(
    agent,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="full-path desk phone">
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="rfrom"/>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="lto"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]AG[call_number]
      [last_Record-Route:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:agent@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP4 [media_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
    ]]>
  </send>
  <recv request="ACK"/>
  <nop><action><exec play_pcap_audio="agent.pcap"/></action></nop>
  <pause milliseconds="${talkMs}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$lto];tag=[pid]AG[call_number]
      To: [$rfrom]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
`,
  );
  const register = join(dir, 'register.xml');
  const reg = (auth: string, cseq: number) => `  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:[field0]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: ${cseq} REGISTER
      Contact: <sip:[field0]@[local_ip]:${AGENT_UAS_PORT}>${auth ? `\n      ${auth}` : ''}
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>`;
  writeFileSync(
    register,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="desk phones register">
${reg('', 1)}
  <recv response="401" auth="true"/>
${reg('[field1]', 2)}
  <recv response="200"/>
</scenario>
`,
  );
  return { caller, agent, register };
}

interface Step extends StepResult {
  /** Calls seen talking to an agent (sampled every 200 ms; a call talks for --talk seconds). */
  reached_agent: number;
  /** Recording rows of the calls that reached an agent, the valid ones, and their length range in seconds. */
  recordings?: number;
  recording_s?: [number, number];
  /** Answer (queue.connect) → recording started, median and max in ms: audio before it is not recorded. */
  recording_delay_ms?: [number, number];
  wall_s: number;
  peak_calls: number;
  peak_connected: number;
  peak_queued: number;
  sipp_exit: number;
  /** % of one core over the step. */
  cpu: {
    main: number;
    rtp_threads: number;
    other_threads: number;
    mediasoup: number;
    postgres: number;
    sipp_callers: number;
    sipp_agents: number;
  };
  load1: number;
  timeout?: boolean;
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'warn';
  const T0 = Date.now();
  const DEADLINE = T0 + 225_000;
  const rates = (argv.includes('--rates') ? argv[argv.indexOf('--rates') + 1]! : '20,40,60,80,100,120,150')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const seconds = arg('seconds', 6);
  const nAgents = Math.floor(arg('agents', 600));
  const talkMs = Math.round(arg('talk', 3) * 1000);

  const { startTestCentre } = await import('../test/support/centre.ts');
  const { SIPP_PCAP_DIR } = await import('../server/call/demoCaller.ts');
  const { g711Pcap } = await import('../media/audio/pcap.ts');
  const { tone } = await import('../test/support/audio.ts');

  const dir = mkdtempSync(join(tmpdir(), 'cc-fullpath-'));
  symlinkSync(SIPP_PCAP_DIR, join(dir, 'pcap'));
  writeFileSync(join(dir, 'caller.pcap'), g711Pcap(tone(CALLER_HZ, 12_000, { amp: 6000 }), 'PCMU'));
  writeFileSync(join(dir, 'agent.pcap'), g711Pcap(tone(AGENT_HZ, talkMs + 500, { amp: 6000 }), 'PCMU'));
  const sc = writeScenarios(dir, talkMs);

  const agentIds = Array.from({ length: nAgents }, (_, i) => String(3001 + i));
  writeFileSync(
    join(dir, 'agents.csv'),
    `SEQUENTIAL\n${agentIds.map((id) => `${id};[authentication username=${id} password=pw${id}];`).join('\n')}\n`,
  );
  const agentEntries = agentIds
    .map((id) => `  - id: "${id}"\n    name: Load ${id}\n    password: pw${id}\n    skills: { sales: 1 }\n`)
    .join('');
  const benchFlow = `description: full-path bench - a 1 s prompt, press 1, the bench queue
start: menu
nodes:
  menu:
    type: menu
    prompt: bench-menu
    choices:
      "1": queue
    timeout: 5
    retries: 1
    onFail: nokey
  queue:
    type: queue
    queue: ${process.env.FP_QUEUE ?? 'bench'}
    full: bye
    timeout: bye
    closed: bye
  bye:
    type: hangup
    prompt: goodbye
    reason: queue-exit
  nokey:
    type: hangup
    prompt: goodbye
    reason: no-key
`;
  // The demo config with: the bench flow on the always-open number 200, its queue (no wrap-up, room
  // for every caller), a short prompt, and the load agents.
  const cfgSrc = join(dir, 'config-src');
  spawnSync('cp', ['-r', 'config', cfgSrc]);
  writeFileSync(join(cfgSrc, 'ivr', 'bench.yaml'), benchFlow);

  const tc = await startTestCentre(PORTS, {
    configFrom: cfgSrc,
    env: { CC_RTP_MIN_PORT: '20000', CC_RTP_MAX_PORT: '29999', CC_RTC_MIN_PORT: '50000', CC_RTC_MAX_PORT: '59999' },
    edits: {
      'centre.yaml': [['flow: demo', 'flow: bench']],
      'queues.yaml': [
        [
          '\nqueues:\n',
          `\nqueues:\n  bench:\n    skills: [{ skill: sales }]\n    strategy: longest-idle\n    wrapUp: 0\n    maxLength: 5000\n    maxWait: 60\n    moh: hold-music\n`,
        ],
      ],
      'prompts.yaml': [['\nprompts:\n', '\nprompts:\n  bench-menu:\n    file: prompts/goodbye.wav\n    text: (bench) Press 1.\n']],
      'agents.yaml': [['\nagents:\n', `\nagents:\n${agentEntries}`]],
    },
  });
  const { centre } = tc;
  const children: ChildProcess[] = [];
  const steps: Step[] = [];
  /** Each contact that reached an agent → its step (recordings are judged per step). */
  const stepOf = new Map<string, Step>();
  let registered = 0;
  let ready = 0;
  const out: Record<string, unknown> = {};
  try {
    // Desk phones: one sipp registers them all from the port the answering sipp then listens on (the
    // centre sends a desk phone's INVITEs to where its REGISTER came from, not to its Contact)...
    const regCode = await new Promise<number>((resolve) => {
      const p = spawn(
        'sipp',
        [
          `127.0.0.1:${PORTS.sip}`,
          ...['-sf', sc.register, '-inf', join(dir, 'agents.csv'), '-i', '127.0.0.1', '-p', String(AGENT_UAS_PORT)],
          ...['-m', String(nAgents), '-r', '50', '-nostdin', '-timeout', '40s', '-timeout_error'],
          ...['-trace_err', '-error_file', join(dir, 'register-err.log')],
        ],
        { cwd: dir, stdio: 'ignore' },
      );
      p.on('exit', (code) => resolve(code ?? 1));
    });
    // ...then the answering sipp on that same port.
    const agents = spawn(
      'sipp',
      [
        ...['-sf', sc.agent, '-i', '127.0.0.1', '-p', String(AGENT_UAS_PORT), '-mi', '127.0.0.1', '-mp', String(AGENT_MEDIA)],
        ...['-m', '1000000', '-nostdin', '-timeout', '230s', '-trace_err', '-error_file', join(dir, 'agents-err.log')],
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    children.push(agents);
    const readyCount = () => agentIds.filter((id) => centre.acd.agentView(id)?.state === 'available').length;
    for (let t = Date.now() + 8000; Date.now() < t && readyCount() < nAgents;) await sleep(250);
    ready = readyCount();
    registered = ready;
    out.register_exit = regCode;
    console.error(
      `[bench full-path] ${ready}/${nAgents} desk phones ready (sipp register exit ${regCode}), ${((Date.now() - T0) / 1000).toFixed(0)} s in`,
    );
    if (ready === 0) throw new Error('no desk-phone agent came ready');

    const plane = centre.media;
    const rtpN = plane.rtpThreads.size;
    let callerSeq = 0;
    for (const rate of rates) {
      const calls = Math.round(rate * seconds);
      // Arrivals + IVR (~2 s) + talk + a margin; stop the ladder when a step may not fit.
      const stepBound = seconds + 2 + talkMs / 1000 + 30;
      if (Date.now() + stepBound * 1000 > DEADLINE) {
        console.error(`[bench full-path] no time left for ${rate}/s`);
        break;
      }
      const workers = plane.pool.load().map((l) => l.pid);
      const snap = () => ({
        threads: threadTicks(),
        workers: workers.reduce((a, p) => a + statTicks(`/proc/${p}/stat`), 0),
        pg: pgTicks(tc.dataDir),
        children: childrenTicks(),
        agents: statTicks(`/proc/${agents.pid}/stat`),
      });
      const s0 = snap();
      const t0 = Date.now();
      const caller = spawn(
        'sipp',
        [
          `127.0.0.1:${PORTS.sip}`,
          ...['-sf', sc.caller, '-s', '200', '-i', '127.0.0.1', '-p', String(CALLER_PORT), '-mi', '127.0.0.1', '-mp', String(CALLER_MEDIA)],
          ...['-m', String(calls), '-r', String(rate), '-l', String(Math.max(50, rate * 20)), '-nostdin'],
          ...[
            '-timeout',
            `${Math.round(stepBound)}s`,
            '-timeout_error',
            '-trace_stat',
            '-stf',
            join(dir, `stat-${callerSeq}.csv`),
            '-fd',
            '1',
          ],
          ...['-trace_err', '-error_file', join(dir, `caller-err-${callerSeq}.log`)],
        ],
        { cwd: dir, stdio: 'ignore' },
      );
      const statFile = join(dir, `stat-${callerSeq++}.csv`);
      children.push(caller);
      const exited = new Promise<number>((resolve) => caller.on('exit', (code) => resolve(code ?? 1)));
      const reached = new Set<string>();
      let peak = 0;
      let peakConnected = 0;
      let peakQueued = 0;
      let exitCode: number | undefined;
      void exited.then((c) => (exitCode = c));
      while (exitCode === undefined && Date.now() - t0 < (stepBound + 5) * 1000) {
        let connected = 0;
        let queued = 0;
        for (const c of centre.calls.values()) {
          if (c.phase === 'connected') {
            connected++;
            reached.add(c.contactId);
          } else if (c.phase === 'queued') queued++;
        }
        peak = Math.max(peak, centre.calls.size);
        peakConnected = Math.max(peakConnected, connected);
        peakQueued = Math.max(peakQueued, queued);
        await sleep(200);
      }
      if (exitCode === undefined) caller.kill('SIGKILL');
      const code = exitCode ?? (await exited);
      const wall = (Date.now() - t0) / 1000;
      const s1 = snap();
      const stats = parseStat(statFile);
      const ok = Number(stats['SuccessfulCall(C)'] ?? 0);
      const failed = Number(stats['FailedCall(C)'] ?? 0);
      const pct = (ticks: number) => +(((ticks / TICK) * 100) / wall).toFixed(1);
      const deltas = [...s1.threads].map(([tid, v]) => ({ tid, d: v - (s0.threads.get(tid) ?? 0) }));
      const mainD = deltas.find((x) => x.tid === process.pid)?.d ?? 0;
      const others = deltas.filter((x) => x.tid !== process.pid).sort((a, b) => b.d - a.d);
      const rtpD = others.slice(0, rtpN).reduce((a, x) => a + x.d, 0);
      const restD = others.slice(rtpN).reduce((a, x) => a + x.d, 0);
      const step: Step = {
        rate,
        calls,
        ok,
        failed: failed + Math.max(0, calls - ok - failed),
        reached_agent: reached.size,
        wall_s: +wall.toFixed(1),
        peak_calls: peak,
        peak_connected: peakConnected,
        peak_queued: peakQueued,
        sipp_exit: code,
        cpu: {
          main: pct(mainD),
          rtp_threads: pct(rtpD),
          other_threads: pct(restD),
          mediasoup: pct(s1.workers - s0.workers),
          postgres: pct(s1.pg - s0.pg),
          sipp_callers: pct(s1.children - s0.children),
          sipp_agents: pct(s1.agents - s0.agents),
        },
        load1: +loadavg()[0]!.toFixed(2),
        ...(exitCode === undefined ? { timeout: true } : {}),
      };
      steps.push(step);
      for (const id of reached) stepOf.set(id, step);
      console.error(`[bench full-path] ${JSON.stringify(step)}`);
      // Let the calls of the step end in the centre before the next one.
      for (let t = Date.now() + 15_000; Date.now() < t && centre.calls.size > 0;) await sleep(200);
      if (step.failed > 0 || step.ok < step.calls || step.reached_agent < step.calls) {
        try {
          const err = readFileSync(join(dir, `caller-err-${callerSeq - 1}.log`), 'utf8');
          console.error(`[bench full-path] sipp caller errors (tail): ${err.slice(-1500)}`);
        } catch {
          /* none */
        }
        break;
      }
    }

    // The store: every contact closed, every recording a valid file.
    const pool = centre.store.pool;
    const totalCalls = steps.reduce((a, s) => a + s.calls, 0);
    let open = -1;
    let contacts = 0;
    for (let t = Date.now() + 20_000; Date.now() < t;) {
      const r = await pool.query<{ n: string; open: string }>(
        'SELECT count(*) AS n, count(*) FILTER (WHERE ended_at IS NULL) AS open FROM contacts',
      );
      contacts = Number(r.rows[0]!.n);
      open = Number(r.rows[0]!.open);
      if (open === 0 && contacts >= totalCalls) break;
      await sleep(500);
    }
    const recs = await pool.query<{ contact_id: string; path: string; stopped_at: Date | null }>(
      'SELECT contact_id, path, stopped_at FROM recordings ORDER BY started_at',
    );
    let valid = 0;
    const bad: string[] = [];
    const validPaths: string[] = [];
    for (const st of steps) Object.assign(st, { recordings: 0, recordings_valid: 0 });
    for (const row of recs.rows) {
      const st = stepOf.get(row.contact_id);
      if (st) st.recordings!++;
      const f = existsSync(row.path) ? wavFigures(readFileSync(row.path)) : { ok: false, seconds: 0, error: 'missing' };
      if (st && f.ok)
        st.recording_s = [Math.min(st.recording_s?.[0] ?? Infinity, f.seconds), Math.max(st.recording_s?.[1] ?? 0, f.seconds)];
      // The agent talks `talk` seconds from the answer: the recording spans most of it and not much more.
      if (f.ok && f.seconds >= (talkMs / 1000) * 0.8 && f.seconds <= talkMs / 1000 + 10 && row.stopped_at) {
        valid++;
        if (st) st.recordings_valid!++;
        validPaths.push(row.path);
      } else bad.push(`${row.path.split('/').at(-1)}: ${f.error ?? `${f.seconds.toFixed(2)} s${row.stopped_at ? '' : ', not stopped'}`}`);
    }
    // Both tones in the first and the last valid recording.
    const checked = [...new Set([validPaths[0], validPaths.at(-1)])].flatMap((path) => {
      if (!path) return [];
      const w = parseWav(readFileSync(path));
      return [
        {
          file: path.split('/').at(-1)!,
          seconds: +((w.channels[0]?.length ?? 0) / w.sampleRate).toFixed(2),
          caller_tone: Math.round(toneInRecording(w.channels, CALLER_HZ, w.sampleRate)),
          agent_tone: Math.round(toneInRecording(w.channels, AGENT_HZ, w.sampleRate)),
        },
      ];
    });
    for (const st of steps) if (st.recording_s) st.recording_s = [+st.recording_s[0].toFixed(2), +st.recording_s[1].toFixed(2)];
    const delays = await pool.query<{ contact_id: string; ms: string }>(
      `SELECT r.contact_id, 1000 * extract(epoch FROM r.started_at - l.started_at) AS ms
       FROM recordings r JOIN legs l ON l.contact_id = r.contact_id AND l.party_kind = 'agent'`,
    );
    const byStep = new Map<Step, number[]>();
    for (const r of delays.rows) {
      const st = stepOf.get(r.contact_id);
      if (st) byStep.set(st, [...(byStep.get(st) ?? []), Number(r.ms)]);
    }
    for (const [st, ms] of byStep) {
      ms.sort((x, y) => x - y);
      st.recording_delay_ms = [Math.round(ms[Math.floor(ms.length / 2)]!), Math.round(ms.at(-1)!)];
    }
    // How the calls never seen with an agent ended (ended_by/end_cause), e.g. an IVR timeout on a lost key.
    const ends = await pool.query<{ contact_id: string; ended_by: string | null; end_cause: string | null }>(
      'SELECT contact_id, ended_by, end_cause FROM contacts',
    );
    const unreached: Record<string, number> = {};
    for (const r of ends.rows) {
      if (stepOf.has(r.contact_id)) continue;
      const k = `${r.ended_by ?? '-'}/${r.end_cause ?? '-'}`;
      unreached[k] = (unreached[k] ?? 0) + 1;
    }
    const connectedCalls = steps.reduce((a, s) => a + s.reached_agent, 0);
    Object.assign(out, {
      contacts,
      contacts_open: open,
      unreached_ends: unreached,
      recordings: recs.rows.length,
      recordings_valid: valid,
      recordings_expected: connectedCalls,
      recordings_bad: bad.slice(0, 5),
      tone_check: checked,
      tones_ok: checked.length > 0 && checked.every((c) => c.caller_tone > 1500 && c.agent_tone > 1500),
    });
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (argv.includes('--keep')) await tc.centre.stop().catch(() => undefined);
    else await tc.stop().catch(() => undefined);
    if (argv.includes('--keep')) console.error(`[bench full-path] kept ${dir} and ${tc.dataDir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  const best = steps.filter((s) => s.rate === heldRate(steps)).at(-1);
  console.log(
    JSON.stringify({
      bench: 'full-path',
      held_cps: heldRate(steps),
      target_cps: 100,
      concurrency_at_held: best ? { calls: best.peak_calls, connected: best.peak_connected, queued: best.peak_queued } : null,
      cpu_at_held_pct_of_core: best?.cpu ?? null,
      agents_ready: ready,
      agents: nAgents,
      registered,
      talk_s: talkMs / 1000,
      step_seconds: seconds,
      ...out,
      cores: availableParallelism(),
      machine: '2-core VM shared with other helpers (busy)',
      run_s: Math.round((Date.now() - T0) / 1000),
      steps,
    }),
  );
}

function parseStat(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  if (lines.length < 2) return {};
  const header = lines[0]!.split(';');
  const last = lines.at(-1)!.split(';');
  return Object.fromEntries(header.map((h, i) => [h, last[i] ?? '']));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
  process.exit(0);
}
