#!/usr/bin/env bash
# `npm test`: set up, install the Debian test peers when missing, run every test (unit, then
# integration against real sipp/baresip/linphonec/Chromium/Postgres), and end with one plain
# summary line "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Debian packages the integration tests drive: sipp, baresip, linphonec, Chromium, espeak-ng, sox,
# tcpdump (to capture what sipp, which cannot analyse audio, hears), and Debian's PostgreSQL 15 (the
# external server of test/integration/store/external.test.ts, which fails without it).
need=(sip-tester baresip-core linphone-cli chromium espeak-ng sox tcpdump openssl postgresql)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[test] installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

mkdir -p test/.tmp
rc=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test/.tmp/results.json "$@" || rc=$?
node -e '
  const fs = require("fs");
  let r; try { r = JSON.parse(fs.readFileSync("test/.tmp/results.json", "utf8")); } catch { r = null; }
  if (!r) { console.log("tests: 0 passed, 1 failed (no results written)"); process.exit(0); }
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
'
exit $rc
