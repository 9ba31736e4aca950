/**
 * `npm run bench -- NAME [args]` runs bench/NAME.ts. Each benchmark ends by printing one line of
 * JSON with its figures, e.g. {"bench":"acd","p50_ms":0.1,...}.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
if (!name || !existsSync(join(here, `${name}.ts`))) {
  console.error(`usage: npm run bench -- NAME   (one of: ${available.join(', ') || 'none yet'})`);
  process.exit(2);
}
// Node flags a benchmark needs (heap forces GCs to measure what stays).
const nodeFlags: Record<string, string[]> = { heap: ['--expose-gc'], 'sip-cps': ['--expose-gc'] };
const r = spawnSync(process.execPath, [...(nodeFlags[name] ?? []), '--import', 'tsx', join(here, `${name}.ts`), ...args], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
