/**
 * baresip (Debian baresip-core 1.0.0, libre) against the stack over UDP: digest REGISTER, a call
 * from baresip answered by createUAS and ended by baresip's BYE, and a call from the stack to the
 * registered baresip (auto-answer) ended by our BYE. Each call's SDP points at a real RTP endpoint
 * of the test's, where baresip's 440 Hz source tone must arrive (checked with Goertzel).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipStack, type Dialog } from '../../../server/sip/index.ts';
import { dominantFrequency } from '../../support/audio.ts';
import { openRtpEndpoint, type RtpEndpoint } from '../../support/rtpEndpoint.ts';
import { waitFor } from '../../support/waitFor.ts';

const PORT = 25140;
const BARESIP_PORT = 25141;
/** Our side of each call: the stack's SDP offers/answers this RTP port, where a test listens. */
const RTP_IN = 40010;
const RTP_OUT = 40012;
const sdp = (rtpPort: number): string =>
  `v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${rtpPort} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;

/** What arrived is baresip's 440 Hz tone: the strongest frequency, far above the rest of the band. */
function expectTone440(rtp: RtpEndpoint, output: string): void {
  const x = rtp.heard();
  expect(x.length, `no PCMU from baresip\n${output.slice(-2000)}`).toBeGreaterThanOrEqual(8000 * 0.5);
  // …sent from baresip's own media ports (its config: rtp_ports 30200-30240).
  const from = rtp.source()!;
  expect(from.port).toBeGreaterThanOrEqual(30200);
  expect(from.port).toBeLessThanOrEqual(30240);
  const d = dominantFrequency(x.subarray(x.length >> 2), 8000, 200, 3400, 10);
  expect(d.freq).toBeCloseTo(440, -1);
  expect(d.ratio).toBeGreaterThan(50);
}

function toneWav(path: string, seconds: number): void {
  const rate = 8000;
  const n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  writeFileSync(path, b);
}

let sip: SipStack;
let dir: string;
const procs: ChildProcess[] = [];
const inbound: Dialog[] = [];

function startBaresip(commands: string[], seconds: number): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const args = ['-f', dir, '-t', String(seconds)];
  for (const c of commands) args.push('-e', c);
  const proc = spawn('baresip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
  return { proc, output: () => out, exited };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'baresip-'));
  toneWav(join(dir, 'tone.wav'), 2);
  writeFileSync(join(dir, 'accounts'), `<sip:agent1@127.0.0.1:${PORT};transport=udp>;auth_pass=secret1;regint=60;answermode=auto\n`);
  writeFileSync(
    join(dir, 'config'),
    [
      `sip_listen 127.0.0.1:${BARESIP_PORT}`,
      `audio_source aufile,${join(dir, 'tone.wav')}`,
      'audio_player aufile,/dev/null',
      'audio_alert aufile,/dev/null',
      'audio_srate 8000',
      'rtp_ports 30200-30240',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module_app account.so',
      'module_app menu.so',
      'module_app contact.so',
      '',
    ].join('\n'),
  );
  sip = new SipStack({ realm: 'cc.test', credentials: (u) => (u === 'agent1' ? 'secret1' : undefined) });
  await sip.listen({ udp: { host: '127.0.0.1', port: PORT } });
  sip.on('invite', async (req, res) => {
    res.send(180);
    const d = await sip.createUAS(req, res, { localSdp: sdp(RTP_IN) });
    inbound.push(d);
  });
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await sip.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('baresip', () => {
  it('registers with digest, calls in with its tone, and hangs up when its audio file ends', async () => {
    const rtp = await openRtpEndpoint(RTP_IN);
    try {
      inbound.length = 0;
      const b = startBaresip([`/dial sip:queue@127.0.0.1:${PORT}`], 8);
      await waitFor(async () => (await sip.lookup('agent1')).length > 0, {
        timeoutMs: 5000,
        what: 'baresip to register',
        detail: b.output,
      });
      const d = await waitFor(() => inbound[0], { timeoutMs: 5000, what: "baresip's INVITE", detail: b.output });
      expect(d.remoteSdp).toContain('m=audio');
      const reason = await new Promise<string>((r) => {
        if (d.state === 'terminated') r('remote-bye');
        else d.once('destroy', (_bye: unknown, why: string) => r(why));
      });
      expect(reason).toBe('remote-bye');
      // Its 2 s file, as 20 ms packets to the port our answer gave (some may be cut at either end).
      expect(rtp.packets()).toBeGreaterThan(50);
      expect(rtp.packets()).toBeLessThanOrEqual(110);
      expectTone440(rtp, b.output());
      b.proc.kill('SIGTERM');
      await b.exited;
    } finally {
      await rtp.close();
    }
  });

  it('receives a call from the stack on its registered contact, sends its tone, and gets our BYE', async () => {
    const rtp = await openRtpEndpoint(RTP_OUT);
    const b = startBaresip([], 10);
    try {
      await waitFor(async () => (await sip.lookup('agent1')).length > 0, {
        timeoutMs: 5000,
        what: 'baresip to register',
        detail: b.output,
      });
      const [binding] = await sip.lookup('agent1');
      const d = await sip.createUAC(binding!.contact, { destination: sip.bindingDestination(binding!), localSdp: sdp(RTP_OUT) });
      expect(d.state).toBe('confirmed');
      expect(d.remoteSdp).toContain('m=audio');
      // Audio flows to the port of our offer: a second of it (its file lasts 2 s) before we hang up.
      await waitFor(() => rtp.packets() >= 50, { timeoutMs: 5000, what: '1 s of RTP from baresip', detail: b.output });
      expectTone440(rtp, b.output());
      await d.destroy();
      await waitFor(() => /closed|terminated|Call closed|BYE/i.test(b.output()), {
        timeoutMs: 3000,
        what: 'baresip to see our BYE',
        detail: b.output,
      });
    } finally {
      b.proc.kill('SIGTERM');
      await b.exited;
      await rtp.close();
    }
  });
});
