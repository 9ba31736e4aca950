/**
 * linphonec (Debian linphone-cli 5.1, belle-sip) against the stack over UDP: digest REGISTER
 * with SHA-256 only (RFC 8760; offered both, belle-sip answers MD5), a call from
 * linphone answered by createUAS and ended by linphone's BYE. linphonec runs in file mode and
 * plays a 700 Hz tone; the call's SDP answer points at a real RTP endpoint of the test's, where
 * that tone must arrive (checked with Goertzel).
 *
 * Calls *to* linphonec are not tested: linphonec 5.1 headless answers every incoming INVITE with
 * 503 ("Linphone core global state is not on" in its -d 5 log) whatever the caller; calls to
 * registered phones are covered by the baresip, sip.js and sipp uas tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipRequest, SipStack, type Dialog, type SipMessage } from '../../../server/sip/index.ts';
import { dominantFrequency, encodeWav, tone } from '../../support/audio.ts';
import { openRtpEndpoint } from '../../support/rtpEndpoint.ts';
import { waitFor } from '../../support/waitFor.ts';

const PORT = 25150;
const LIN_PORT = 25151;
/** Our RTP port in the SDP answer: the test listens there. */
const RTP_PORT = 40020;
const SDP = `v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${RTP_PORT} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;
const TONE_HZ = 700;

let sip: SipStack;
let dir: string;
let lin: ChildProcess;
let out = '';
const inbound: Dialog[] = [];
const authHeaders: string[] = [];

const cmd = (c: string): void => void lin.stdin!.write(`${c}\n`);
/** Wait for linphonec to print `text` (its answer to a command) after `from` characters of output. */
const printed = (text: string, from = 0) =>
  waitFor(() => out.indexOf(text, from) >= 0, { timeoutMs: 10_000, what: `linphonec to print "${text}"`, detail: () => out.slice(-2000) });

// Shared state: one linphonec for the file, in file mode playing the tone. The call test does not
// need the registration test's binding: linphonec calls the stack's address directly.
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'linphone-'));
  writeFileSync(join(dir, 'tone.wav'), encodeWav(8000, 1, tone(TONE_HZ, 20_000, { amp: 6000 })));
  writeFileSync(join(dir, 'rc'), `[sip]\nregister_only_when_network_is_up=0\n[rtp]\naudio_rtp_port=30300\n`);
  // SHA-256 only: with both offered belle-sip answers MD5, so this is how a real peer proves SHA-256.
  sip = new SipStack({ realm: 'cc.test', digestAlgorithms: ['SHA-256'], credentials: (u) => (u === 'agent2' ? 'secret2' : undefined) });
  await sip.listen({ udp: { host: '127.0.0.1', port: PORT } });
  sip.transport.on('message', (m: SipMessage) => {
    if (m instanceof SipRequest && m.method === 'REGISTER') authHeaders.push(...m.getAll('authorization'));
  });
  sip.on('invite', async (req, res) => {
    res.send(180);
    inbound.push(await sip.createUAS(req, res, { localSdp: SDP }));
  });
  lin = spawn('linphonec', ['-c', join(dir, 'rc')], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } });
  lin.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  lin.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await printed('linphonec>');
  // The rc file's sip_port is ignored by linphonec 5.1; the `ports` command works.
  cmd(`ports sip ${LIN_PORT}`);
  await printed(`Setting sip port to ${LIN_PORT}`);
  cmd('soundcard use files');
  await printed('Using wav files instead of soundcard');
  // In file mode, calls send this file instead of a microphone.
  cmd(`play ${join(dir, 'tone.wav')}`);
});

afterAll(async () => {
  if (lin && lin.exitCode === null) {
    const exited = new Promise((r) => lin.once('exit', r));
    cmd('quit');
    // quit un-registers first; with nobody to answer that could take a transaction timeout.
    const kill = setTimeout(() => lin.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(kill);
  }
  await sip.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('linphonec', () => {
  it('registers with SHA-256 digest', async () => {
    cmd(`register sip:agent2@127.0.0.1:${PORT} sip:127.0.0.1:${PORT} secret2`);
    await waitFor(async () => (await sip.lookup('agent2')).length > 0, {
      timeoutMs: 8000,
      what: 'linphonec to register',
      detail: () => out.slice(-2000),
    });
    expect(authHeaders.at(-1)).toMatch(/algorithm=SHA-256/i);
  });

  it('calls in, sends its tone to the port of our answer, and hangs up with BYE', async () => {
    const rtp = await openRtpEndpoint(RTP_PORT);
    try {
      inbound.length = 0;
      cmd(`call sip:queue@127.0.0.1:${PORT}`);
      const d = await waitFor(() => inbound[0], { timeoutMs: 8000, what: "linphonec's INVITE", detail: () => out.slice(-2000) });
      expect(d.remoteSdp).toContain('m=audio');
      const gone = new Promise<string>((r) => d.once('destroy', (_b: unknown, why: string) => r(why)));
      // A second of audio (50 packets of 20 ms); its last half must be the 700 Hz tone.
      await waitFor(() => rtp.packets() >= 50, { timeoutMs: 8000, what: '1 s of PCMU from linphonec', detail: () => out.slice(-2000) });
      expect(rtp.source()?.port).toBe(30300); // linphonec's audio_rtp_port: the audio is its
      const x = rtp.heard();
      const f = dominantFrequency(x.subarray(x.length >> 1), 8000, 200, 3400, 10);
      expect(f.freq).toBeCloseTo(TONE_HZ, -1);
      expect(f.ratio).toBeGreaterThan(50);
      cmd('terminate');
      expect(await gone).toBe('remote-bye');
    } finally {
      await rtp.close();
    }
  });
});
