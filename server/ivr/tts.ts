/**
 * Text-to-speech for `{text}` prompts. The engine only names the text and language; the media
 * layer asks a TtsProvider for a file to play. The local provider runs Debian's espeak-ng and
 * keeps the result, resampled to 8 kHz mono, in a cache keyed by a hash of voice and text, so a
 * prompt is synthesized once however many calls play it. Syntheses run one at a time at nice 19
 * (off the media path: position announcements are composed from parts rendered ahead, see
 * announcement.ts).
 */
import { execFile } from 'node:child_process';
import { setPriority } from 'node:os';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeWav, wavToMono8k } from '../../media/index.ts';

/**
 * Run espeak-ng at the lowest CPU priority (nice 19): synthesis must never take CPU from media
 * (RTP threads, mediasoup) or signalling, whatever asks for it.
 */
function runNiced(file: string, args: string[], timeout: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout }, (err: Error | null) => (err ? reject(err) : resolve()));
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, 19);
      } catch {
        // Already gone, or not allowed: it still runs, at normal priority.
      }
    }
  });
}

export interface TtsProvider {
  /** Absolute path of an 8 kHz mono 16-bit WAV speaking `text`. */
  render(text: string, lang: string): Promise<string>;
}

export interface EspeakOptions {
  cacheDir: string;
  /** Words per minute; espeak's default 175 is fast for callers. */
  speed?: number;
  binary?: string;
}

export class EspeakTts implements TtsProvider {
  private readonly inFlight = new Map<string, Promise<string>>();
  /** Syntheses run one at a time (a burst of new texts queues here instead of forking hundreds of espeak-ng). */
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly opts: EspeakOptions) {}

  /** Where `text` in `lang` is (or will be) cached. */
  cachePath(text: string, lang: string): string {
    const speed = this.opts.speed ?? 150;
    const key = createHash('sha256').update(`espeak-ng\0${lang}\0${speed}\0${text}`).digest('hex').slice(0, 20);
    return path.join(this.opts.cacheDir, `${key}.wav`);
  }

  render(text: string, lang: string): Promise<string> {
    if (!/^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(lang)) return Promise.reject(new Error(`bad language code "${lang}"`));
    const file = this.cachePath(text, lang);
    if (existsSync(file)) return Promise.resolve(file);
    let p = this.inFlight.get(file);
    if (!p) {
      const run = this.queue.then(() => this.synthesize(text, lang, file));
      this.queue = run.catch(() => undefined);
      p = run.finally(() => this.inFlight.delete(file));
      this.inFlight.set(file, p);
    }
    return p;
  }

  private async synthesize(text: string, lang: string, file: string): Promise<string> {
    await mkdir(this.opts.cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    try {
      // execFile passes the text as one argv entry: no shell, so caller-supplied variables are inert.
      await runNiced(this.opts.binary ?? 'espeak-ng', ['-v', lang, '-s', String(this.opts.speed ?? 150), '-w', tmp, '--', text], 20_000);
      await writeFile(tmp, encodeWav(8000, 1, wavToMono8k(await readFile(tmp))));
      await rename(tmp, file);
      return file;
    } catch (e) {
      await rm(tmp, { force: true });
      const msg =
        (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'espeak-ng not installed (apt-get install -y espeak-ng)' : (e as Error).message;
      throw new Error(`TTS failed for "${text.slice(0, 40)}": ${msg}`);
    }
  }
}
