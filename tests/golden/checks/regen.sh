#!/usr/bin/env bash
# regen.sh: regenerate the expected.* files of the header_checks / body_checks
# golden fixtures (`phc map` on regexp: and pcre: tables: `-q KEY`, `-q -`, and
# the message scans `-h`, `-b`, `-m` with the message on stdin) by running the
# real Postfix `postmap` (Postfix 3.7.11, Debian packages postfix and
# postfix-pcre).
#
# Opt-in developer tool: the tests never run it and never need Postfix. Review
# the resulting diff like code before committing it (see ../README.md).
#
# Usage: tests/golden/checks/regen.sh [FIXTURE_DIR...]
#   With no arguments every NNN-name/ directory next to this script is redone.
#   POSTMAP=/path/to/postmap overrides the binary (default: on PATH, then
#   /usr/sbin). REGEN_JOBS=N sets parallelism (default: nproc).
#
# A fixture directory holds `commands` (one or more commands separated by a
# line `--`; one argument per line; first line `postmap`; `@DIR@`
# stands for the working directory), an optional `stdin` (fed to every
# command), main.cf and the table sources. Each run copies the fixture's input
# files (everything but expected.*) into a fresh temporary directory, runs the
# commands in order there (cwd = that directory, @DIR@ = its absolute path),
# and concatenates what they print. Then:
#   expected.out   all stdout, the work dir replaced by @DIR@ (exactly the
#                  same rules as tests/golden/map; the YP_LAST_MODIFIED rule is
#                  kept for symmetry, no fixture here triggers it)
#   expected.err   all stderr, the work dir replaced by @DIR@, `postmap: ` (and
#                  `postalias: `) at line start replaced by `phc: `
#   expected.exit  one exit status per command, one per line
#
# Each fixture is run three times and regen.sh fails on any fixture whose
# output differs between runs: such a fixture cannot be golden.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

find_tool() {
  local name="$1" bin="$2"
  if [[ -z "${bin}" ]]; then
    bin="$(command -v "${name}" || true)"
    if [[ -z "${bin}" && -x "/usr/sbin/${name}" ]]; then bin="/usr/sbin/${name}"; fi
  fi
  if [[ -z "${bin}" || ! -x "${bin}" ]]; then
    echo "regen.sh: ${name} not found; install Postfix 3.7 (or set ${name^^}=...)" >&2
    exit 2
  fi
  echo "${bin}"
}

# run_fixture DIR RESULT_DIR: one run of all commands of DIR; writes
# RESULT_DIR/{out,err,exit} already normalized.
run_fixture() {
  local dir="$1" res="$2"
  local work
  work="$(mktemp -d)/w"
  mkdir "${work}"
  local f
  for f in "${dir}"/*; do
    case "$(basename "${f}")" in
      expected.out | expected.err | expected.exit) ;;
      *) cp -p "${f}" "${work}/" ;;
    esac
  done
  local input=/dev/null
  if [[ -f "${dir}/stdin" ]]; then input="${dir}/stdin"; fi
  : >"${res}/out.raw"
  : >"${res}/err.raw"
  : >"${res}/exit"
  local -a cmd=()
  local line status
  run_cmd() {
    if [[ ${#cmd[@]} -eq 0 ]]; then
      echo "regen.sh: ${dir}: empty command in commands" >&2
      return 1
    fi
    local tool
    case "${cmd[0]}" in
      postmap) tool="${POSTMAP}" ;;
      *) echo "regen.sh: ${dir}: command must start with postmap, not '${cmd[0]}'" >&2
         return 1 ;;
    esac
    set +e
    # Clean environment and locale; argv[0] is the plain tool name because
    # Postfix prefixes its messages with it.
    (cd "${work}" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C LC_ALL=C \
      bash -c 'exec -a "$0" "$@"' "${cmd[0]}" "${tool}" "${cmd[@]:1}" \
      <"${input}" >>"${res}/out.raw" 2>>"${res}/err.raw")
    status=$?
    set -e
    echo "${status}" >>"${res}/exit"
    cmd=()
  }
  while IFS= read -r line || [[ -n "${line}" ]]; do
    if [[ "${line}" == "--" ]]; then
      run_cmd || return 1
    else
      cmd+=("${line//@DIR@/${work}}")
    fi
  done <"${dir}/commands"
  run_cmd || return 1
  WORK="${work}" perl -pe 's/\Q$ENV{WORK}\E/\@DIR\@/g; s/^(YP_LAST_MODIFIED:?\t)\d+$/$1\@TIME\@/' \
    "${res}/out.raw" >"${res}/out"
  WORK="${work}" perl -pe 's/\Q$ENV{WORK}\E/\@DIR\@/g; s/^(postmap|postalias): /phc: /' \
    "${res}/err.raw" >"${res}/err"
  rm -rf "$(dirname "${work}")"
}

# regen_one DIR: regenerate one fixture (called through xargs).
regen_one() {
  local dir
  dir="$(cd "$1" && pwd)"
  if [[ ! -f "${dir}/commands" ]]; then
    echo "regen.sh: ${dir}: no commands file" >&2
    return 1
  fi
  local tmp
  tmp="$(mktemp -d)"
  local i
  for i in 1 2 3; do
    mkdir "${tmp}/${i}"
    run_fixture "${dir}" "${tmp}/${i}" || { rm -rf "${tmp}"; return 1; }
  done
  for i in 2 3; do
    if ! cmp -s "${tmp}/1/out" "${tmp}/${i}/out" || ! cmp -s "${tmp}/1/err" "${tmp}/${i}/err" ||
       ! cmp -s "${tmp}/1/exit" "${tmp}/${i}/exit"; then
      echo "regen.sh: ${dir}: output differs between runs (hash order?); fix the fixture" >&2
      rm -rf "${tmp}"
      return 1
    fi
  done
  cp "${tmp}/1/out" "${dir}/expected.out"
  cp "${tmp}/1/err" "${dir}/expected.err"
  cp "${tmp}/1/exit" "${dir}/expected.exit"
  rm -rf "${tmp}"
}

if [[ "${1:-}" == "--one" ]]; then
  regen_one "$2"
  exit $?
fi

POSTMAP="$(find_tool postmap "${POSTMAP:-}")"
export POSTMAP
postconf_bin="$(dirname "${POSTMAP}")/postconf"
version="$(env -i "${postconf_bin}" -d -h mail_version 2>/dev/null || true)"
if [[ "${version}" != 3.7.* ]]; then
  echo "regen.sh: warning: postconf reports mail_version '${version}'; fixtures were made with 3.7.11" >&2
fi
cfg_tmp="$(mktemp -d)"
: >"${cfg_tmp}/main.cf"
types="$(env -i "${postconf_bin}" -c "${cfg_tmp}" -m 2>/dev/null || true)"
rm -rf "${cfg_tmp}"
if ! grep -qx pcre <<<"${types}"; then
  echo "regen.sh: postconf -m does not list pcre; install postfix-pcre" >&2
  exit 2
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
  echo "regen.sh: regenerated ${#dirs[@]} fixture(s) with ${POSTMAP} (${version})" >&2
else
  echo "regen.sh: FAILED for some fixtures (see above)" >&2
  exit 1
fi
