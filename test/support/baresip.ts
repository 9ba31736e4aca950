/**
 * baresip (Debian `baresip-core`) as a SIP desk phone: registers with digest over UDP, answers
 * automatically, speaks a WAV, and dumps what it hears (sndfile module) so tests can check tones.
 * Pitfalls (see shared research): the call ends when the source WAV ends, so the tone is long;
 * aufile cannot be the player in 1.0, so sndfile records instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWav } from '../../media/audio/wav.ts';
import { tone } from './audio.ts';

export interface DeskPhone {
  readonly dir: string;
  /** Path of the WAV of what the phone heard (after the call), or undefined. */
  heardWav(): string | undefined;
  stop(): Promise<void>;
  output(): string;
  /** Type a command on baresip's console (stdio module), e.g. `/hold`, `/resume`. */
  command(line: string): void;
}

export async function startDeskPhone(o: {
  dir: string;
  user: string;
  password: string;
  registrar: string;
  listenPort: number;
  rtpPorts: [number, number];
  toneHz: number;
  /** Registration interval asked for, seconds (default 60). */
  regint?: number;
  /** 'manual': the phone rings and is never answered (default 'auto'). */
  answermode?: 'auto' | 'manual';
}): Promise<DeskPhone> {
  mkdirSync(join(o.dir, 'rec'), { recursive: true });
  writeFileSync(join(o.dir, 'tone.wav'), encodeWav(8000, 1, tone(o.toneHz, 120_000, { amp: 6000 })));
  writeFileSync(
    join(o.dir, 'accounts'),
    `<sip:${o.user}@${o.registrar};transport=udp>;auth_pass=${o.password};regint=${o.regint ?? 60};answermode=${o.answermode ?? 'auto'}\n`,
  );
  writeFileSync(
    join(o.dir, 'config'),
    [
      `sip_listen 127.0.0.1:${o.listenPort}`,
      `audio_source aufile,${join(o.dir, 'tone.wav')}`,
      `audio_player aufile,${join(o.dir, 'unused.wav')}`,
      'audio_srate 8000',
      'audio_channels 1',
      `rtp_ports ${o.rtpPorts[0]}-${o.rtpPorts[1]}`,
      'module_path /usr/lib/baresip/modules',
      ...['stdio', 'g711', 'aufile', 'sndfile', 'account', 'menu'].map((m) => `module ${m}.so`),
      `snd_path ${join(o.dir, 'rec')}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('baresip', ['-f', o.dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const add = (b: Buffer) => (out = (out + b.toString()).slice(-50_000));
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`baresip did not register:\n${out.slice(-2000)}`)), 15_000);
    const check = setInterval(() => {
      if (/200 OK|registered successfully|\{0\/UDP\/v4\}.*OK/i.test(out)) {
        clearTimeout(t);
        clearInterval(check);
        resolve();
      }
    }, 100);
    child.once('exit', () => {
      clearTimeout(t);
      clearInterval(check);
      reject(new Error(`baresip exited:\n${out.slice(-2000)}`));
    });
  });
  return {
    dir: o.dir,
    output: () => out,
    command: (line: string) => void child.stdin?.write(`${line}\n`),
    heardWav() {
      const f = readdirSync(join(o.dir, 'rec')).find((x) => x.endsWith('-dec.wav'));
      return f ? join(o.dir, 'rec', f) : undefined;
    },
    // SIGTERM makes baresip un-register first; with the centre already gone that takes a whole
    // transaction timeout (32 s), so it gets 2 s before SIGKILL.
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
