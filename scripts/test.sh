#!/usr/bin/env bash
# `npm test`: set up, install the Debian test peers when missing, run every test (unit, then
# integration against real sipp/baresip/linphonec/Chromium/Postgres) after ESLint and Prettier, and
# end with one plain summary line "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Debian packages the integration tests drive: sipp, baresip, linphonec, Chromium, espeak-ng, sox,
# tcpdump (to capture what sipp, which cannot analyse audio, hears), and Debian's PostgreSQL 15 (the
# external server of test/integration/store/external.test.ts, which fails without it); nftables and
# iproute2 for the network namespaces where an agent machine's network is cut (test/support/netns.ts).
need=(sip-tester baresip-core linphone-cli chromium espeak-ng sox tcpdump openssl postgresql nftables iproute2)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[test] installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Lint and format check (eslint.config.js, .prettierrc.json). A finding fails `npm test`, but the
# tests still run, so one run reports both; each failed check counts as one failure in the summary.
# SKIP_LINT=1 skips them (for a quick local run of one test file; CI never sets it).
lint_failed=()
if [ "${SKIP_LINT:-}" != 1 ]; then
  echo "[test] eslint" >&2
  npx eslint --max-warnings=0 . || lint_failed+=(eslint)
  echo "[test] prettier --check" >&2
  npx prettier --check --log-level=warn . || lint_failed+=(prettier)
fi

mkdir -p test/.tmp
rm -f test/.tmp/results.json
rc=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test/.tmp/results.json "$@" || rc=$?
if [ ${#lint_failed[@]} -gt 0 ]; then
  echo "[test] lint failed: ${lint_failed[*]} (npm run lint to see it again; npm run format fixes layout)" >&2
  [ $rc != 0 ] || rc=1
fi
LINT_FAILED=${#lint_failed[@]} node -e '
  const fs = require("fs");
  const lint = Number(process.env.LINT_FAILED);
  let r; try { r = JSON.parse(fs.readFileSync("test/.tmp/results.json", "utf8")); } catch { r = null; }
  if (!r) { console.log(`tests: 0 passed, ${1 + lint} failed (no results written)`); process.exit(0); }
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + lint} failed, ${skipped} skipped`);
'
exit $rc
