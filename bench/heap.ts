/**
 * Node heap per active call, by stage: in the IVR, queued, talking to an agent (issue #17).
 *
 *   npm run bench -- heap [--calls 60] [--rate 20]
 *
 * A whole centre (the demo config through startCentre, as `npm start` runs it, with its embedded
 * Postgres) on ports 29100–29799. Callers are one sipp process per stage (G.711 with RFC 4733
 * keys, as a carrier's calls): `--calls` of them dial the main number and then
 * - ivr: press nothing (they sit in the menu, which waits and repeats);
 * - queued: press 1 (sales) with no agent ready (the queue keeps them, music on hold);
 * - talking: press 1 with as many desk-phone agents registered (one sipp REGISTERs them all with
 *   digest auth, then another sipp on the same port answers every INVITE to them), so each caller
 *   is put through and talks.
 * Each caller hangs up (BYE) 12 s after the last one of its stage arrived. For each stage: once
 * every call has reached it, two forced GCs (node --expose-gc, which run.ts passes to this bench),
 * heapUsed less heapUsed before the stage, divided by the calls up at that moment. Then, once the
 * callers have hung up and the calls are gone, the heap again (what the calls left behind; this
 * includes the SIP stack's ended dialogs and transactions, which it keeps 32 s for retransmissions).
 * Every run is bounded (4 minutes in all). Prints one JSON line; bytes are per call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { SIPP_PCAP_DIR } from '../server/call/demoCaller.ts';
import { startTestCentre } from '../test/support/centre.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt;
};
const CALLS = arg('calls', 60);
const RATE = arg('rate', 20);
const DEADLINE = Date.now() + 230_000;
/** How long each caller stays: every call of a stage is up for a while after the last one arrives. */
const HOLD_MS = Math.round((CALLS / RATE) * 1000) + 12_000;
const PORTS = { sip: 29100, http: 29110, pg: 29120, rtc: 29600 };
const CALLER_PORT = 29130;
const CALLER_MEDIA = 29140;
/** The desk phones' one UDP port: registered from, then answered on. */
const AGENT_PORT = 29150;
const AGENT_MEDIA = 29160;
/** --snapshots DIR: heap snapshots of the idle centre and after the IVR stage's calls are gone. */
const SNAPSHOTS = (() => {
  const i = process.argv.indexOf('--snapshots');
  return i >= 0 ? process.argv[i + 1] : undefined;
})();

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench -- heap does)');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const dir = mkdtempSync(join(tmpdir(), 'cc-heap-'));
const pcap = join(dir, 'pcap');
symlinkSync(SIPP_PCAP_DIR, pcap);

/** sipp callers: INVITE with G.711 SDP, ACK, optionally key 1 after the welcome, then wait. */
function callers(digits: string, calls: number): ChildProcess {
  const key = digits ? `  <pause milliseconds="1500"/>\n  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_1.pcap"/></action></nop>` : '';
  const xml = join(dir, `caller-${digits || 'none'}.xml`);
  writeFileSync(
    xml,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="heap caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Heap" <sip:1555[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:heap@[local_ip]:[local_port]>
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
      From: "Heap" <sip:1555[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
${key}
  <pause milliseconds="${HOLD_MS}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Heap" <sip:1555[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      [routes]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" optional="true"/>
</scenario>
`,
  );
  return spawn(
    'sipp',
    [
      `127.0.0.1:${PORTS.sip}`,
      ...['-sf', xml, '-s', '100', '-i', '127.0.0.1', '-p', String(CALLER_PORT), '-mi', '127.0.0.1', '-mp', String(CALLER_MEDIA)],
      ...['-m', String(calls), '-r', String(RATE), '-l', String(calls), '-nostdin', '-timeout', '220s'],
    ],
    { cwd: dir, stdio: 'ignore' },
  );
}

/**
 * Desk phones: one sipp registers agent ids 2001… (digest auth), then another answers their calls
 * on the same port. A UDP binding is reached where it registered from (the registrar keeps the
 * source, as behind a NAT), so the answering sipp must take over the registering one's port once
 * it has exited: with the answerer on another port every offer went to a closed port and no call
 * was ever put through.
 */
function agents(n: number): { answer: () => ChildProcess; register: () => Promise<number> } {
  const csv = join(dir, 'agents.csv');
  // sipp expands no [field] inside [authentication …]; a field may hold the whole keyword instead.
  const line = (id: number) => `${id};[authentication username=${id} password=pw${id}];`;
  writeFileSync(csv, `SEQUENTIAL\n${Array.from({ length: n }, (_, i) => line(2001 + i)).join('\n')}\n`);
  const reg = join(dir, 'register.xml');
  const register = (auth: string, cseq: number) => `  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:[field0]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: ${cseq} REGISTER
      Contact: <sip:[field0]@[local_ip]:${AGENT_PORT}>${auth ? `\n      ${auth}` : ''}
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>`;
  writeFileSync(
    reg,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="desk phones register">
${register('', 1)}
  <recv response="401" auth="true"/>
${register('[field1]', 2)}
  <recv response="200"/>
</scenario>
`,
  );
  const answer = (): ChildProcess =>
    spawn(
      'sipp',
      [
        ...['-sn', 'uas', '-i', '127.0.0.1', '-p', String(AGENT_PORT), '-mi', '127.0.0.1', '-mp', String(AGENT_MEDIA)],
        ...['-m', String(n), '-nostdin', '-timeout', '220s'],
      ],
      { cwd: dir, stdio: 'ignore' },
    );
  return {
    answer,
    register: () =>
      new Promise((resolve) => {
        const p = spawn(
          'sipp',
          [
            `127.0.0.1:${PORTS.sip}`,
            ...['-sf', reg, '-inf', csv, '-i', '127.0.0.1', '-p', String(AGENT_PORT), '-m', String(n), '-r', '50'],
            ...['-nostdin', '-timeout', '30s', '-timeout_error'],
          ],
          { cwd: dir, stdio: 'ignore' },
        );
        p.on('exit', (code) => resolve(code ?? 1));
      }),
  };
}

const agentEntries = Array.from(
  { length: CALLS },
  (_, i) => `  - id: "${2001 + i}"\n    name: Load ${2001 + i}\n    password: pw${2001 + i}\n    skills: { sales: 1 }\n`,
).join('');
const tc = await startTestCentre(PORTS, {
  env: { CC_RTP_MIN_PORT: '29200', CC_RTP_MAX_PORT: '29599' },
  edits: {
    // Room for every caller in the queue; desk-phone agents for the talking stage.
    'queues.yaml': [['maxLength: 20', `maxLength: ${CALLS * 4}`]],
    'agents.yaml': [['\nagents:\n', `\nagents:\n${agentEntries}`]],
  },
});
const { centre } = tc;
const inPhase = (phase: string) => [...centre.calls.values()].filter((c) => c.phase === phase).length;

interface Stage {
  calls: number;
  /** Calls up when measured, and how many of them were in the stage. */
  alive: number;
  reached: number;
  bytes_per_call: number | null;
  left_bytes_per_call: number | null;
}

/** Start `calls` callers, wait for them all to reach `phase`, measure, stop them, measure again. */
async function stage(phase: 'ivr' | 'queued' | 'connected', digits: string, base: number): Promise<Stage> {
  const p = callers(digits, CALLS);
  const until = Math.min(DEADLINE, Date.now() + (CALLS / RATE) * 1000 + 25_000);
  let reached = 0;
  let shown = 0;
  while (Date.now() < until) {
    reached = inPhase(phase);
    if (reached >= CALLS) break;
    if (Date.now() - shown > 2000) {
      shown = Date.now();
      const phases: Record<string, number> = {};
      for (const c of centre.calls.values()) phases[c.phase] = (phases[c.phase] ?? 0) + 1;
      process.stderr.write(`${phase}: ${JSON.stringify(phases)}\n`);
    }
    await sleep(250);
  }
  reached = inPhase(phase);
  const alive = centre.calls.size;
  const during = heap();
  const gone = Math.min(DEADLINE, Date.now() + HOLD_MS + 20_000);
  while (Date.now() < gone && (centre.calls.size > 0 || p.exitCode === null)) await sleep(250);
  p.kill('SIGKILL');
  await sleep(500);
  const after = heap();
  const per = (h: number) => (alive > 0 ? Math.round((h - base) / alive) : null);
  return { calls: CALLS, alive, reached, bytes_per_call: per(during), left_bytes_per_call: per(after) };
}

const results: Record<string, Stage | string> = {};
let base = 0;
try {
  // Warm up: one call through the IVR into the queue loads prompts, flows and lazy modules.
  const warm = callers('1', 1);
  const warmUntil = Date.now() + HOLD_MS + 15_000;
  while (Date.now() < warmUntil && warm.exitCode === null) await sleep(250);
  warm.kill('SIGKILL');
  await sleep(1000);
  base = heap();
  if (SNAPSHOTS) writeHeapSnapshot(join(SNAPSHOTS, 'idle.heapsnapshot'));
  results.ivr = await stage('ivr', '', base);
  if (SNAPSHOTS) writeHeapSnapshot(join(SNAPSHOTS, 'after-ivr.heapsnapshot'));
  results.queued = await stage('queued', '1', heap());
  const desk = agents(CALLS);
  const code = await desk.register();
  const uas = desk.answer();
  const readyCount = () => [...Array(CALLS).keys()].filter((i) => centre.acd.agentView(String(2001 + i))?.state === 'available').length;
  const readyBy = Date.now() + 5000;
  while (Date.now() < readyBy && readyCount() < CALLS) await sleep(250);
  const ready = readyCount();
  results.agents_ready = String(ready);
  if (ready === 0) results.talking = `no desk-phone agent came ready (sipp register exit ${code})`;
  else results.talking = await stage('connected', '1', heap());
  uas.kill('SIGKILL');
} finally {
  await tc.stop();
  rmSync(dir, { recursive: true, force: true });
}
const kb = (s: Stage | string | undefined) =>
  typeof s === 'object' && s.bytes_per_call !== null ? Math.round(s.bytes_per_call / 102.4) / 10 : null;
console.log(
  JSON.stringify({
    bench: 'heap',
    calls: CALLS,
    base_heap_mb: Math.round(base / 104857.6) / 10,
    ivr_kb_per_call: kb(results.ivr),
    queued_kb_per_call: kb(results.queued),
    talking_kb_per_call: kb(results.talking),
    target_kb: 100,
    stages: results,
  }),
);
process.exit(0);
