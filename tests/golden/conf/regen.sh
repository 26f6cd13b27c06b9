#!/usr/bin/env bash
# regen.sh: regenerate the expected.* files of the `phc conf` golden fixtures by
# running the real Postfix `postconf` (Postfix 3.7.11, Debian package).
#
# Opt-in developer tool: the tests never run it and never need Postfix. Review
# the resulting diff like code before committing it (see ../README.md).
#
# Usage: tests/golden/conf/regen.sh [FIXTURE_DIR...]
#   With no arguments every NNN-name/ directory next to this script is redone.
#   POSTCONF=/path/to/postconf overrides the binary (default: postconf on PATH,
#   then /usr/sbin/postconf). REGEN_JOBS=N sets parallelism (default: nproc).
#
# For each fixture it runs `postconf -c <abs fixture dir> <args...>` (args read
# one per line from `args`), then writes expected.out, expected.err and
# expected.exit with the absolute fixture path replaced by @DIR@ and, in
# expected.err, a leading "postconf: " replaced by "phc: ".
#
# Postfix randomizes its hash tables per process, so the order of some warnings
# (e.g. several "unused parameter" lines) changes from run to run. Each fixture
# is therefore run three times and regen.sh fails on any fixture whose output
# differs between runs: such a fixture cannot be golden and must be changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

find_postconf() {
  local bin="${POSTCONF:-}"
  if [[ -z "${bin}" ]]; then
    bin="$(command -v postconf || true)"
    if [[ -z "${bin}" && -x /usr/sbin/postconf ]]; then bin=/usr/sbin/postconf; fi
  fi
  if [[ -z "${bin}" || ! -x "${bin}" ]]; then
    echo "regen.sh: postconf not found; install Postfix 3.7 (or set POSTCONF=...)" >&2
    exit 2
  fi
  echo "${bin}"
}

# run_postconf DIR OUT ERR: one run; prints the exit status.
run_postconf() {
  local dir="$1" out="$2" err="$3" status
  local -a args=()
  local line
  while IFS= read -r line || [[ -n "${line}" ]]; do
    args+=("${line}")
  done <"${dir}/args"
  set +e
  # Clean environment and locale; argv[0] is plain "postconf" because Postfix
  # prefixes its messages with argv[0].
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C LC_ALL=C \
    bash -c 'exec -a postconf "$0" "$@"' "${POSTCONF}" -c "${dir}" "${args[@]}" >"${out}" 2>"${err}"
  status=$?
  set -e
  echo "${status}"
}

# regen_one DIR: regenerate one fixture (called through xargs).
regen_one() {
  local dir
  dir="$(cd "$1" && pwd)"
  if [[ ! -f "${dir}/args" ]]; then
    echo "regen.sh: ${dir}: no args file" >&2
    return 1
  fi
  local tmp
  tmp="$(mktemp -d)"
  local s1 s2 s3
  s1="$(run_postconf "${dir}" "${tmp}/out1" "${tmp}/err1")"
  s2="$(run_postconf "${dir}" "${tmp}/out2" "${tmp}/err2")"
  s3="$(run_postconf "${dir}" "${tmp}/out3" "${tmp}/err3")"
  if [[ "${s1}" != "${s2}" || "${s1}" != "${s3}" ]] ||
     ! cmp -s "${tmp}/out1" "${tmp}/out2" || ! cmp -s "${tmp}/out1" "${tmp}/out3" ||
     ! cmp -s "${tmp}/err1" "${tmp}/err2" || ! cmp -s "${tmp}/err1" "${tmp}/err3"; then
    echo "regen.sh: ${dir}: postconf output differs between runs (hash order); fix the fixture" >&2
    rm -rf "${tmp}"
    return 1
  fi
  DIR="${dir}" perl -pe 's/\Q$ENV{DIR}\E/\@DIR\@/g' "${tmp}/out1" >"${dir}/expected.out"
  DIR="${dir}" perl -pe 's/\Q$ENV{DIR}\E/\@DIR\@/g; s/^postconf: /phc: /' "${tmp}/err1" >"${dir}/expected.err"
  echo "${s1}" >"${dir}/expected.exit"
  rm -rf "${tmp}"
}

if [[ "${1:-}" == "--one" ]]; then
  regen_one "$2"
  exit $?
fi

POSTCONF="$(find_postconf)"
export POSTCONF
version="$(env -i "${POSTCONF}" -d -h mail_version 2>/dev/null || true)"
if [[ "${version}" != 3.7.* ]]; then
  echo "regen.sh: warning: postconf reports mail_version '${version}'; fixtures were made with 3.7.11" >&2
fi
command -v perl >/dev/null || { echo "regen.sh: perl is required" >&2; exit 2; }

dirs=()
if [[ $# -gt 0 ]]; then
  dirs=("$@")
else
  for d in "${here}"/[0-9][0-9][0-9]-*/; do dirs+=("${d%/}"); done
fi

jobs="${REGEN_JOBS:-$(nproc 2>/dev/null || echo 4)}"
if printf '%s\0' "${dirs[@]}" | xargs -0 -n 1 -P "${jobs}" "${BASH_SOURCE[0]}" --one; then
  echo "regen.sh: regenerated ${#dirs[@]} fixture(s) with ${POSTCONF} (${version})" >&2
else
  echo "regen.sh: FAILED for some fixtures (see above)" >&2
  exit 1
fi
