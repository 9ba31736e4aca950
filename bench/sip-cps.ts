/**
 * SIP call rate: sipp's built-in uac (INVITE / 200 / ACK / BYE / 200, no pause) against the stack
 * with a minimal answering app, over UDP on 127.0.0.1. Steps the offered rate up and reports the
 * highest rate held for the whole step with zero failed calls. If Debian's kamailio is installed,
 * the same steps run against a Kamailio stateful (tm) answering script and `ratio` compares us.
 *
 *   npm run bench -- sip-cps [--start 300] [--step 300] [--max 2400] [--seconds 5]
 *
 * Prints one JSON line: {"bench":"sip-cps","max_cps":…,"steps":[…],"kamailio_cps":…,"ratio":…}
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipStack } from '../server/sip/index.ts';
import { log } from '../lib/log.ts';
import { runSipp } from '../test/support/sipp.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : dflt;
};
const START = arg('start', 300);
const STEP = arg('step', 300);
const MAX = arg('max', 2400);
const SECONDS = arg('seconds', 5);
const PORT = 26060;
const SDP = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

interface Step {
  offered: number;
  achieved: number;
  ok: number;
  failed: number;
  retrans: number;
}

async function ladder(target: string, sippPort: number): Promise<{ max: number; steps: Step[] }> {
  const steps: Step[] = [];
  let max = 0;
  for (let rate = START; rate <= MAX; rate += STEP) {
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
    const step = { offered: rate, achieved, ok: r.successful, failed: r.failed, retrans: r.retransmissions };
    steps.push(step);
    process.stderr.write(`${target} ${JSON.stringify(step)}\n`);
    const held = r.exitCode === 0 && r.failed === 0 && r.successful === calls && achieved >= rate * 0.9;
    if (!held) break;
    max = rate;
    await new Promise((res) => setTimeout(res, 1000));
  }
  return { max, steps };
}

async function benchOurs(): Promise<{ max: number; steps: Step[] }> {
  // The limits are off: the ladder drives thousands of calls a second from one address on purpose.
  const sip = new SipStack({ log: log.child({ mod: 'sip' }).child({}, { level: 'warn' }), guard: false });
  await sip.listen({ udp: { host: '127.0.0.1', port: PORT } });
  sip.on('invite', (req, res) => {
    sip.createUAS(req, res, { localSdp: SDP }).catch(() => undefined);
  });
  try {
    return await ladder(`127.0.0.1:${PORT}`, PORT + 1);
  } finally {
    await sip.close();
  }
}

/** Kamailio as a stateful UAS: t_reply 200 to INVITE, absorb ACK, 200 to BYE (tm module). */
async function benchKamailio(): Promise<{ max: number; steps: Step[] } | undefined> {
  if (spawnSync('which', ['kamailio']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kam-'));
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(
    cfg,
    `#!KAMAILIO
children=2
listen=udp:127.0.0.1:${PORT + 10}
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
  if (is_method("INVITE")) { append_to_reply("Contact: <sip:kam@127.0.0.1:${PORT + 10}>\\r\\n"); t_reply("200", "OK"); exit; }
  t_reply("200", "OK");
}
`,
  );
  // 256 MB shared memory so transaction state, not the default 64 MB pool, is what is measured.
  const k = spawn('kamailio', ['-f', cfg, '-DD', '-E', '-m', '256', '-M', '16', '-w', dir, '-P', join(dir, 'k.pid')], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1500));
  try {
    return await ladder(`127.0.0.1:${PORT + 10}`, PORT + 11);
  } finally {
    k.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    if (k.exitCode === null) k.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const ours = await benchOurs();
const kam = await benchKamailio();
console.log(
  JSON.stringify({
    bench: 'sip-cps',
    transport: 'udp',
    seconds_per_step: SECONDS,
    max_cps: ours.max,
    // true when the rate held at the top of the ladder: the real ceiling is higher (raise --max).
    max_capped: ours.max >= MAX,
    target_cps: 300,
    steps: ours.steps,
    kamailio_cps: kam ? kam.max : null,
    kamailio_capped: kam ? kam.max >= MAX : null,
    ratio: kam && kam.max > 0 ? Math.round((ours.max / kam.max) * 100) / 100 : null,
  }),
);
