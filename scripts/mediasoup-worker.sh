#!/usr/bin/env bash
# Provide a mediasoup-worker binary for the pinned mediasoup version and print its path.
#
#   scripts/mediasoup-worker.sh            # prints the path of a usable worker, building it if needed
#   scripts/mediasoup-worker.sh --path     # prints where the cached worker lives (no build)
#
# Why this exists: mediasoup's postinstall downloads a prebuilt worker from GitHub and, failing
# that, builds one with a pip-installed meson plus source "wraps" it downloads. Neither works on a
# machine that reaches only the npm and Debian registries. So we build the worker from the C++
# source inside the mediasoup npm tarball against Debian 12 libraries, and cache the binary outside
# the repo, keyed by mediasoup version, so CI and later checkouts reuse it.
#
# Patches applied to the tarball's source (each checked to match exactly once):
#  - subprojects/*.wrap (downloaded by meson) become tiny "shim" subprojects backed by pkg-config.
#  - meson_version '>= 1.1.0' relaxed to 1.0.0 (Debian 12 ships meson 1.0.1).
#  - libsrtp 3 API -> libsrtp 2 API (mediasoup targets a libsrtp 3 fork Debian does not ship).
#  - DtlsTransport.cpp: the outgoing memory-BIO callback returned 1 for every BIO_ctrl(), because
#    it compared operationType == BIO_CB_RETURN although that flag always arrives OR'ed with the
#    operation. Debian's OpenSSL is built with KTLS, so libssl asked BIO_get_ktls_send(wbio), got
#    "yes", skipped allocating its DTLS write buffer and the worker crashed (SIGSEGV) on the first
#    DTLS flight towards a browser. Testing (operationType & BIO_CB_RETURN) fixes it.
set -euo pipefail

VERSION="${MEDIASOUP_VERSION:-3.19.3}"
CACHE_ROOT="${CALLCENTRE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/callcentre}"
OUT_DIR="$CACHE_ROOT/mediasoup-worker-$VERSION"
BIN="$OUT_DIR/mediasoup-worker"

if [ "${1:-}" = "--path" ]; then echo "$BIN"; exit 0; fi
if [ -x "$BIN" ] && [ -s "$BIN" ]; then
  echo "$BIN"; exit 0
fi

log() { echo "[mediasoup-worker] $*" >&2; }
START=$(date +%s)
log "no cached worker for mediasoup $VERSION: building it from the npm package's C++ source (~5 min on 2 cores, once)"
# The compiler's and package manager's lines go to a log file, not the terminal: a newcomer reads
# pages of them as a failure. We print the steps and the compile's progress; on failure, the log's tail.
mkdir -p "$CACHE_ROOT"
BUILD_LOG="$CACHE_ROOT/mediasoup-worker-$VERSION.build.log"
: > "$BUILD_LOG"
failed() { log "build failed; the last lines of $BUILD_LOG:"; tail -n 30 "$BUILD_LOG" >&2; exit 1; }
trap failed ERR

# Build dependencies, from Debian.
need=(g++ pkg-config python3 meson ninja-build flatbuffers-compiler libssl-dev libuv1-dev
      libsrtp2-dev libusrsctp-dev libabsl-dev libflatbuffers-dev)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "step 1/4: installing Debian build packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >>"$BUILD_LOG" 2>&1
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$BUILD_LOG" 2>&1
else
  log "step 1/4: Debian build packages present"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mediasoup-worker.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
log "step 2/4: unpacking mediasoup $VERSION's source from the npm registry"
TGZ=$(npm pack "mediasoup@$VERSION" --silent 2>>"$BUILD_LOG" | tail -1)
tar xzf "$TGZ"
cd package/worker

shim() { # name, meson.build body, [meson_options.txt body]
  rm -f "subprojects/$1.wrap"; mkdir -p "subprojects/$1"
  printf "project('%s', 'c', 'cpp')\n%s\n" "$1" "$2" > "subprojects/$1/meson.build"
  if [ -n "${3:-}" ]; then printf "%s\n" "$3" > "subprojects/$1/meson_options.txt"; fi
}
# The *_lib variables are only used by the Rust-crate library target; empty lists are fine.
shim openssl "openssl_dep = dependency('openssl', version: '>=3.0')
libcrypto_lib = []
libssl_lib = []"
shim libuv "libuv_dep = dependency('libuv')
libuv = []" "option('build_tests', type: 'boolean', value: false)
option('build_benchmarks', type: 'boolean', value: false)"
# Debian's libsrtp2.pc gives no -I for <srtp.h>, which lives in <includedir>/srtp2.
shim libsrtp3 "srtp2 = dependency('libsrtp2', version: '>=2.4')
libsrtp3_dep = declare_dependency(dependencies: srtp2,
  compile_args: '-I' + srtp2.get_variable(pkgconfig: 'includedir') / 'srtp2')
libsrtp3 = []" "option('crypto-library', type: 'string', value: '')
option('crypto-library-kdf', type: 'string', value: '')
option('tests', type: 'string', value: '')"
shim usrsctp "usrsctp_dep = dependency('usrsctp')
usrsctp = []" "option('sctp_build_programs', type: 'boolean', value: false)"
shim abseil-cpp "absl_container_dep = declare_dependency(dependencies: [dependency('absl_flat_hash_map'),
  dependency('absl_flat_hash_set'), dependency('absl_btree'), dependency('absl_inlined_vector')])
absl_strings_dep = dependency('absl_strings')
absl_types_dep = declare_dependency(dependencies: [dependency('absl_optional'), dependency('absl_memory')])
absl_container_lib = []"
shim flatbuffers "flatbuffers_dep = dependency('flatbuffers')
flatbuffers_lib = []"
shim catch2 "catch2_dep = dependency('', required: false)"
rm -f subprojects/liburing.wrap subprojects/wingetopt.wrap

sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" meson.build

python3 - <<'PY'
import re, sys
def once(pattern, repl, text, what, flags=re.S):
    new, n = re.subn(pattern, repl, text, flags=flags)
    if n != 1:
        sys.exit(f'patch {what}: expected 1 match, got {n}')
    return new

# libsrtp 3 protect(ctx, in, in_len, out, &out_len, mki) -> libsrtp 2 protect(ctx, buf, &len) in place.
p = 'src/RTC/SrtpSession.cpp'; s = open(p).read()
for fn in ('srtp_protect', 'srtp_protect_rtcp'):
    s = once(r'const srtp_err_status_t err = ' + fn + r'\(\s*/\*srtp_t ctx\*/ this->session,.*?mki_index\*/ 0\);',
             'std::memcpy(encryptBuffer, *data, *len);\n'
             '\t\tint srtp2Len = static_cast<int>(*len);\n'
             '\t\tconst srtp_err_status_t err = ' + fn + '(this->session, encryptBuffer, &srtp2Len);\n'
             '\t\tencryptLen = static_cast<size_t>(srtp2Len);', s, fn)
for fn in ('srtp_unprotect', 'srtp_unprotect_rtcp'):
    s = once(r'const srtp_err_status_t err = ' + fn + r'\(\s*/\*srtp_t ctx\*/ this->session,[^;]*?std::addressof\(decryptLen\)\);',
             'int srtp2Len = static_cast<int>(*len);\n'
             '\t\tconst srtp_err_status_t err = ' + fn + '(this->session, data, &srtp2Len);\n'
             '\t\tdecryptLen = static_cast<size_t>(srtp2Len);', s, fn)
open(p, 'w').write(s)

p = 'src/DepLibSRTP.cpp'; s = open(p).read()
for code in ('srtp_err_status_buffer_small', 'srtp_err_status_cryptex_err'):  # libsrtp 3 only
    s = once(r'\n\t\{ ' + code + r',[^\n]*', '', s, code)
open(p, 'w').write(s)

p = 'include/RTC/SrtpSession.hpp'; s = open(p).read()
s = once(r'srtp_stream_remove\(', 'srtp_remove_stream(', s, 'srtp_stream_remove')
open(p, 'w').write(s)

# DTLS with a KTLS-enabled OpenSSL: pass BIO_ctrl()/write return values through.
p = 'src/RTC/DtlsTransport.cpp'; s = open(p).read()
old = '(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;'
new = '((operationType & BIO_CB_RETURN) != 0) ? static_cast<long>(ret) : 1;'
if s.count(old) != 1:
    sys.exit('patch DtlsTransport: expected 1 match, got %d' % s.count(old))
open(p, 'w').write(s.replace(old, new))
PY

log "step 3/4: configuring (meson)"
meson setup out --buildtype release -Db_ndebug=true -Dms_disable_liburing=true --wrap-mode=nodownload >>"$BUILD_LOG" 2>&1
# The generated flatbuffers headers are not declared dependencies of the C++ objects; generate first.
meson compile -C out flatbuffers-generator >>"$BUILD_LOG" 2>&1
log "step 4/4: compiling (the long step; full output in $BUILD_LOG)"
# ninja prefixes each line with NINJA_STATUS; we read "[done/total]" from it and print the progress
# every 10 % with an estimate of the time left (elapsed × remaining / done).
COMPILE_START=$(date +%s)
NINJA_STATUS="[%f/%t] " ninja -C out -j"${JOBS:-$(nproc)}" mediasoup-worker 2>&1 | tee -a "$BUILD_LOG" | {
  next=10
  while IFS= read -r line; do
    [[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]] || continue
    done_=${BASH_REMATCH[1]}; total=${BASH_REMATCH[2]}
    pct=$(( done_ * 100 / total ))
    if [ "$pct" -ge "$next" ]; then
      elapsed=$(( $(date +%s) - COMPILE_START ))
      left=$(( elapsed * (total - done_) / (done_ > 0 ? done_ : 1) ))
      log "  compiled $done_/$total ($pct %), about $(( (left + 59) / 60 )) min left"
      next=$(( (pct / 10 + 1) * 10 ))
    fi
  done
}
[ "${PIPESTATUS[0]}" = 0 ] || failed
mkdir -p "$OUT_DIR"
install -m 0755 out/mediasoup-worker "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
trap - ERR
log "built $BIN in $(( $(date +%s) - START ))s"
echo "$BIN"
