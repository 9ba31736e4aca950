/**
 * Where the mediasoup-worker binary is. mediasoup reads MEDIASOUP_WORKER_BIN once, when its module
 * is first loaded, so this must run before anything imports mediasoup: `loadMediasoup()` resolves
 * the binary, sets the variable and only then imports mediasoup dynamically.
 *
 * Order: MEDIASOUP_WORKER_BIN if already set → the prebuilt worker mediasoup's postinstall put in
 * node_modules (machines with GitHub access) → the binary scripts/mediasoup-worker.sh built and
 * cached per mediasoup version (machines without).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export class MediaWorkerMissing extends Error {
  override name = 'MediaWorkerMissing';
}

const require = createRequire(import.meta.url);

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function mediasoupVersion(): string {
  const pkg = JSON.parse(readFileSync(join(mediasoupRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function mediasoupRoot(): string {
  // mediasoup's "main" is node/lib/index.js: its package root is three levels up.
  return dirname(dirname(dirname(require.resolve('mediasoup'))));
}

/** The cache path scripts/mediasoup-worker.sh uses (keep the two in step). */
function cachedWorkerPath(version = mediasoupVersion()): string {
  const root = process.env.CALLCENTRE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'callcentre');
  return join(root, `mediasoup-worker-${version}`, 'mediasoup-worker');
}

/** Resolve the worker binary and export MEDIASOUP_WORKER_BIN; throws MediaWorkerMissing. */
export function resolveWorkerBinary(): string {
  const fromEnv = process.env.MEDIASOUP_WORKER_BIN;
  if (fromEnv) {
    if (!executable(fromEnv)) throw new MediaWorkerMissing(`MEDIASOUP_WORKER_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const candidates = [join(mediasoupRoot(), 'worker', 'out', 'Release', 'mediasoup-worker'), cachedWorkerPath()];
  const found = candidates.find(executable);
  if (!found) {
    throw new MediaWorkerMissing(
      `no mediasoup-worker binary found (looked in ${candidates.join(', ')}); run \`npm run setup\` to build it`,
    );
  }
  process.env.MEDIASOUP_WORKER_BIN = found;
  return found;
}

type Mediasoup = typeof import('mediasoup');
let loaded: Promise<Mediasoup> | undefined;

/** Import mediasoup with MEDIASOUP_WORKER_BIN set. Use this instead of a static import. */
export function loadMediasoup(): Promise<Mediasoup> {
  if (!loaded) {
    resolveWorkerBinary();
    loaded = import('mediasoup');
  }
  return loaded;
}
