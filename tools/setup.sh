#!/usr/bin/env bash
# setup.sh: install the Debian packages posthaste needs, then configure and build.
#
# Used by both README commands and by .ci/run. Idempotent: when every package is
# present it installs nothing and prints nothing about packages.
#
#   tools/setup.sh [BUILD_DIR] [extra cmake args...]
#
# Environment:
#   POSTHASTE_WITH_POSTFIX=0  skip Debian's postfix package. By default it is
#                             installed as a test peer (its tools only: postconf,
#                             postmap; its sample configs; never started)
#   POSTHASTE_NO_BUILD=1      install packages only
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true

packages=(
  build-essential cmake pkg-config ninja-build
  antlr4 libantlr4-runtime-dev
  libcdb-dev libabsl-dev libssl-dev libgtest-dev libgmock-dev
  libre2-dev libpcre2-dev liblmdb-dev libasio-dev libc-ares-dev libicu-dev
  clang libclang-rt-14-dev
  # Real peers the tests talk to: swaks (SMTP client), pflogsumm (log summaries), python3.
  swaks pflogsumm python3
)
if [ "${POSTHASTE_WITH_POSTFIX:-1}" = 1 ]; then
  packages+=(postfix postfix-cdb postfix-pcre postfix-lmdb tinycdb)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  if printf '%s\n' "${missing[@]}" | grep -qx postfix; then
    echo "postfix postfix/main_mailer_type select No configuration" |
      "${sudo_cmd[@]}" debconf-set-selections
  fi
  "${sudo_cmd[@]}" apt-get update -qq >/dev/null
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${POSTHASTE_NO_BUILD:-0}" = 1 ] && exit 0

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
fi
cmake --build "$build" -j2
