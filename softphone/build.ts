/**
 * Bundles the agent desktop (sip.js + our page code) into softphone/dist with esbuild. The server
 * calls buildSoftphone() at start when the bundle is missing or older than its sources, so
 * `npm start` on a fresh clone needs no separate build step.
 */
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
export const softphoneDist = join(root, 'dist');
const WALLBOARD_FILES = ['wallboard.html', 'wallboard.css'];

function newestMtime(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    t = Math.max(t, f.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

export async function buildSoftphone(opts: { force?: boolean } = {}): Promise<string> {
  const out = join(softphoneDist, 'app.js');
  const srcTime = Math.max(
    newestMtime(join(root, 'src')),
    statSync(join(root, 'index.html')).mtimeMs,
    statSync(join(root, 'style.css')).mtimeMs,
    // The QA workspace (qa.html, src/qa.ts): a second page and bundle.
    statSync(join(root, 'qa.html')).mtimeMs,
    statSync(join(root, 'qa.css')).mtimeMs,
    ...WALLBOARD_FILES.map((f) => statSync(join(root, f)).mtimeMs),
  );
  const qaOut = join(softphoneDist, 'qa.js');
  const fresh = (f: string): boolean => existsSync(f) && statSync(f).mtimeMs >= srcTime;
  if (!opts.force && fresh(out) && fresh(qaOut)) return softphoneDist;
  mkdirSync(softphoneDist, { recursive: true });
  await build({
    entryPoints: [join(root, 'src', 'main.ts')],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    outfile: out,
    sourcemap: true,
    logLevel: 'warning',
  });
  await build({
    entryPoints: [join(root, 'src', 'qa.ts')],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    outfile: qaOut,
    sourcemap: true,
    logLevel: 'warning',
  });
  copyFileSync(join(root, 'qa.html'), join(softphoneDist, 'qa.html'));
  copyFileSync(join(root, 'qa.css'), join(softphoneDist, 'qa.css'));
  // The supervisors' wallboard: a second page, its own bundle (no sip.js).
  await build({
    entryPoints: [join(root, 'src', 'wallboard.ts')],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    outfile: join(softphoneDist, 'wallboard.js'),
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const f of WALLBOARD_FILES) copyFileSync(join(root, f), join(softphoneDist, f));
  copyFileSync(join(root, 'index.html'), join(softphoneDist, 'index.html'));
  copyFileSync(join(root, 'style.css'), join(softphoneDist, 'style.css'));
  return softphoneDist;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildSoftphone({ force: true });
  console.log(`softphone built in ${softphoneDist}`);
}
