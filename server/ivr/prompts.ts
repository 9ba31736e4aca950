/**
 * Makes the recorded prompts of a config directory from their transcripts: every prompt in
 * prompts.yaml with both `file` and `text` whose file is missing (or all with `force`) is spoken
 * by the TTS provider into an 8 kHz mono WAV; the music-on-hold prompt is synthesized as a tone
 * sequence. Lets an admin draft a tree before the studio recordings exist.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { PromptsFileSchema } from '../config/schema.ts';
import type { TtsProvider } from './tts.ts';
import { encodeWav } from '../../media/index.ts';
import { synthesizeHoldMusic } from './holdMusic.ts';

export interface GeneratedPrompt {
  name: string;
  file: string;
  how: 'tts' | 'music' | 'kept';
}

export async function generatePrompts(
  configDir: string,
  tts: TtsProvider,
  opts: { force?: boolean; lang?: string } = {},
): Promise<GeneratedPrompt[]> {
  const raw: unknown = parse(await readFile(path.join(configDir, 'prompts.yaml'), 'utf8'));
  const file = PromptsFileSchema.parse(raw);
  const out: GeneratedPrompt[] = [];
  const jobs: { name: string; file: string; text: string; lang: string }[] = [];
  for (const [name, p] of Object.entries(file.prompts)) {
    const variants = [
      { file: p.file, text: p.text, lang: opts.lang ?? 'en' },
      ...Object.entries(p.languages ?? {}).map(([lang, v]) => ({ ...v, lang })),
    ];
    for (const v of variants) {
      if (v.file === undefined) continue;
      const abs = path.resolve(configDir, v.file);
      if (existsSync(abs) && !opts.force) {
        out.push({ name, file: v.file, how: 'kept' });
        continue;
      }
      await mkdir(path.dirname(abs), { recursive: true });
      if (name === file.musicOnHold) {
        await writeFile(abs, encodeWav(8000, 1, synthesizeHoldMusic()));
        out.push({ name, file: v.file, how: 'music' });
      } else if (v.text !== undefined) {
        jobs.push({ name, file: abs, text: v.text, lang: v.lang });
      }
    }
  }
  for (const j of jobs) {
    await copyFile(await tts.render(j.text, j.lang), j.file);
    out.push({ name: j.name, file: path.relative(configDir, j.file), how: 'tts' });
  }
  return out;
}
