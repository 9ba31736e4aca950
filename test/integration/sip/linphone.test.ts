/**
 * linphonec (Debian linphone-cli 5.1, belle-sip) against the stack over UDP: digest REGISTER
 * with SHA-256 only (RFC 8760; offered both, belle-sip answers MD5), a call from
 * linphone answered by createUAS and ended by linphone's BYE.
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
import { SipStack } from '../../../server/sip/stack.ts';
import type { Dialog } from '../../../server/sip/dialog.ts';
import { SipRequest, type SipMessage } from '../../../server/sip/message.ts';

const PORT = 25150;
const LIN_PORT = 25151;
const SDP = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40020 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

let sip: SipStack;
let dir: string;
let lin: ChildProcess;
let out = '';
const inbound: Dialog[] = [];
const authHeaders: string[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cmd = (c: string): void => void lin.stdin!.write(`${c}\n`);
async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await cond()) return true;
    await sleep(50);
  }
  return false;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'linphone-'));
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
  await until(() => out.includes('linphonec>') || out.length > 0, 5000);
  await sleep(500);
  // The rc file's sip_port is ignored by linphonec 5.1; the `ports` command works.
  cmd(`ports sip ${LIN_PORT}`);
  cmd('soundcard use files');
  await sleep(300);
});

afterAll(async () => {
  if (lin && lin.exitCode === null) {
    cmd('quit');
    await sleep(500);
    lin.kill('SIGKILL');
  }
  await sip.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('linphonec', () => {
  it('registers with SHA-256 digest', async () => {
    cmd(`register sip:agent2@127.0.0.1:${PORT} sip:127.0.0.1:${PORT} secret2`);
    expect(await until(async () => (await sip.lookup('agent2')).length > 0, 8000), out.slice(-2000)).toBe(true);
    expect(authHeaders.at(-1)).toMatch(/algorithm=SHA-256/i);
  });

  it('calls in and hangs up with BYE', async () => {
    cmd(`call sip:queue@127.0.0.1:${PORT}`);
    expect(await until(() => inbound.length > 0, 8000), out.slice(-2000)).toBe(true);
    const d = inbound[0]!;
    expect(d.remoteSdp).toContain('m=audio');
    const gone = new Promise<string>((r) => d.once('destroy', (_b: unknown, why: string) => r(why)));
    await sleep(300);
    cmd('terminate');
    expect(await gone).toBe('remote-bye');
  });
});
