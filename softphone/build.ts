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
/**
 * The pages: each its own bundle (only the agent desktop carries sip.js) and the static files
 * beside it. The agent desktop, the QA workspace, the supervisors' wallboard, the work orders.
 */
const PAGES: readonly { entry: string; out: string; files: readonly string[] }[] = [
  { entry: 'main.ts', out: 'app.js', files: ['index.html', 'style.css', 'audio.css', 'myday.css'] },
  { entry: 'qa.ts', out: 'qa.js', files: ['qa.html', 'qa.css'] },
  { entry: 'wallboard.ts', out: 'wallboard.js', files: ['wallboard.html', 'wallboard.css'] },
  { entry: 'workorders.ts', out: 'workorders.js', files: ['workorders.html', 'workorders.css'] },
];

function newestMtime(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    t = Math.max(t, f.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

export async function buildSoftphone(opts: { force?: boolean } = {}): Promise<string> {
  const srcTime = Math.max(newestMtime(join(root, 'src')), ...PAGES.flatMap((p) => p.files.map((f) => statSync(join(root, f)).mtimeMs)));
  const fresh = (f: string): boolean => existsSync(f) && statSync(f).mtimeMs >= srcTime;
  if (!opts.force && PAGES.every((p) => fresh(join(softphoneDist, p.out)))) return softphoneDist;
  mkdirSync(softphoneDist, { recursive: true });
  for (const page of PAGES) {
    await build({
      entryPoints: [join(root, 'src', page.entry)],
      bundle: true,
      format: 'iife',
      target: 'es2020',
      outfile: join(softphoneDist, page.out),
      sourcemap: true,
      logLevel: 'warning',
    });
    for (const f of page.files) copyFileSync(join(root, f), join(softphoneDist, f));
  }
  return softphoneDist;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildSoftphone({ force: true });
  console.log(`softphone built in ${softphoneDist}`);
}
