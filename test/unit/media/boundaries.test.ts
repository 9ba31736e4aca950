/**
 * media/ stands on lib/ and its npm packages only: it never reaches into server/ (call control
 * depends on media, not the other way round), and it announces things through lib/events.ts's
 * Emitter, not Node's EventEmitter (one event mechanism, listeners isolated).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const mediaDir = join(root, 'media');
const files = readdirSync(mediaDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(mediaDir, f));

/** Every module specifier in a file: static imports and re-exports, dynamic import(), new URL(). */
function specifiers(src: string): string[] {
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)['"]([^'"]+)['"]/g;
  return [...src.matchAll(re)].map((m) => m[1]!);
}

describe('media/ boundaries', () => {
  it('finds the media sources', () => {
    expect(files.map((f) => relative(mediaDir, f))).toEqual(
      expect.arrayContaining(['index.ts', join('mediasoup', 'call.ts'), join('rtp', 'rtpThreadEntry.ts')]),
    );
  });

  it('imports nothing from server/', () => {
    const reaching = files.flatMap((f) =>
      specifiers(readFileSync(f, 'utf8'))
        .filter((s) => s.startsWith('.'))
        .map((s) => relative(root, resolve(dirname(f), s)))
        .filter((target) => target.startsWith('server/'))
        .map((target) => `${relative(root, f)} → ${target}`),
    );
    expect(reaching).toEqual([]);
  });

  it("uses lib/events.ts's Emitter, not node:events", () => {
    const users = files.filter((f) => specifiers(readFileSync(f, 'utf8')).some((s) => s === 'node:events' || s === 'events'));
    expect(users.map((f) => relative(root, f))).toEqual([]);
  });
});
