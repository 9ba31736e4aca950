#!/usr/bin/env bash
# Idempotent setup for a fresh clone: npm dependencies and a mediasoup worker.
# `npm start` and `npm test` both run it first, so a fresh machine needs no other step.
#
# mediasoup's own postinstall downloads a prebuilt worker. Where that works, nothing extra runs.
# Where it cannot (no GitHub: only the npm and Debian registries are reachable), we build the
# worker from the npm package's C++ source (scripts/mediasoup-worker.sh, ~5 min once, cached
# outside the repo) and install again with MEDIASOUP_WORKER_BIN pointing at it.
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=0; [ "${1:-}" = "--quiet" ] && quiet=1
say() { [ $quiet = 1 ] || echo "[setup] $*" >&2; }

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then echo "[setup] Node.js >= 20 is needed (found $(node -v))" >&2; exit 1; fi

cached=$(bash scripts/mediasoup-worker.sh --path)
if [ -z "${MEDIASOUP_WORKER_BIN:-}" ] && [ -x "$cached" ]; then export MEDIASOUP_WORKER_BIN="$cached"; fi

installed_ok() {
  # npm writes node_modules/.package-lock.json on every successful install.
  [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]
}
worker_ok() {
  [ -x node_modules/mediasoup/worker/out/Release/mediasoup-worker ] || [ -x "${MEDIASOUP_WORKER_BIN:-/nonexistent}" ]
}
npm_install() { npm ci --no-audit --no-fund --loglevel=error >&2; }
# Can mediasoup's postinstall fetch its prebuilt worker (from GitHub)? Asked first, in at most 8 s,
# because where it cannot, npm prints some 60 lines of errors and pip retries before giving up,
# which a newcomer reads as a failed install.
prebuilt_reachable() {
  node -e 'fetch("https://github.com/versatica/mediasoup/releases", { method: "HEAD", signal: AbortSignal.timeout(8000) })
    .then((r) => process.exit(r.status < 500 ? 0 : 1), () => process.exit(1))' 2>/dev/null
}

if ! installed_ok; then
  if [ -z "${MEDIASOUP_WORKER_BIN:-}" ] && ! worker_ok && ! prebuilt_reachable; then
    say "mediasoup's prebuilt workers (GitHub) are not reachable from here: building the worker from source first"
    MEDIASOUP_WORKER_BIN=$(bash scripts/mediasoup-worker.sh); export MEDIASOUP_WORKER_BIN
  fi
  say "installing npm dependencies"
  if ! npm_install; then
    if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then echo "[setup] npm ci failed" >&2; exit 1; fi
    say "mediasoup could not fetch a prebuilt worker; building one from source"
    MEDIASOUP_WORKER_BIN=$(bash scripts/mediasoup-worker.sh); export MEDIASOUP_WORKER_BIN
    npm_install
  fi
fi
if ! worker_ok; then
  say "no mediasoup worker found; building one from source"
  MEDIASOUP_WORKER_BIN=$(bash scripts/mediasoup-worker.sh); export MEDIASOUP_WORKER_BIN
fi
# Text prompts and queue-position announcements are spoken by espeak-ng (Debian). Without it the
# centre runs, and says so in its log each time it has to skip an announcement.
if ! command -v espeak-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    say "installing espeak-ng (text-to-speech)"
    (export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq --no-install-recommends espeak-ng >&2 ||
      { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends espeak-ng >&2; }) ||
      echo "[setup] could not install espeak-ng; announcements will be skipped" >&2
  else
    echo "[setup] espeak-ng is missing (sudo apt-get install espeak-ng); announcements will be skipped" >&2
  fi
fi
say "ready"
