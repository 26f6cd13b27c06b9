#!/usr/bin/env bash
# regen.sh: regenerate the expected.* files of the `phc conf` golden fixtures by
# running the real Postfix `postconf` (Postfix 3.7.11, Debian package).
#
# Opt-in developer tool: the tests never run it and never need Postfix. Review
# the resulting diff like code before committing it.
#
# Usage: tests/golden/conf/regen.sh [FIXTURE_DIR...]
#   With no arguments every NNN-name/ directory next to this script is redone.
#   POSTCONF=/path/to/postconf overrides the binary (default: postconf on PATH,
#   then /usr/sbin/postconf).
#
# For each fixture it runs `postconf -c <abs fixture dir> <args...>` (args read
# one per line from `args`), then writes expected.out, expected.err and
# expected.exit with the absolute fixture path replaced by @DIR@ and, in
# expected.err, a leading "postconf: " replaced by "phc: ".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

postconf_bin="${POSTCONF:-}"
if [[ -z "${postconf_bin}" ]]; then
  postconf_bin="$(command -v postconf || true)"
  if [[ -z "${postconf_bin}" && -x /usr/sbin/postconf ]]; then
    postconf_bin=/usr/sbin/postconf
  fi
fi
if [[ -z "${postconf_bin}" || ! -x "${postconf_bin}" ]]; then
  echo "regen.sh: postconf not found; install Postfix 3.7 (or set POSTCONF=...)" >&2
  exit 2
fi
version="$("${postconf_bin}" -d -h mail_version 2>/dev/null || true)"
if [[ "${version}" != "3.7."* ]]; then
  echo "regen.sh: warning: postconf reports mail_version '${version}', fixtures were made with 3.7.11" >&2
fi
command -v perl >/dev/null || { echo "regen.sh: perl is required" >&2; exit 2; }

if [[ $# -gt 0 ]]; then
  dirs=("$@")
else
  dirs=()
  for d in "${here}"/[0-9][0-9][0-9]-*/; do
    dirs+=("${d%/}")
  done
fi

count=0
for d in "${dirs[@]}"; do
  dir="$(cd "${d}" && pwd)"
  if [[ ! -f "${dir}/args" ]]; then
    echo "regen.sh: ${dir}: no args file" >&2
    exit 1
  fi
  args=()
  while IFS= read -r line || [[ -n "${line}" ]]; do
    args+=("${line}")
  done <"${dir}/args"

  set +e
  # Locale and environment pinned so that the output does not depend on the caller.
  # argv[0] is set to plain "postconf": Postfix prefixes its messages with argv[0].
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C LC_ALL=C \
    bash -c 'exec -a postconf "$0" "$@"' "${postconf_bin}" -c "${dir}" "${args[@]}" >"${dir}/expected.out.tmp" 2>"${dir}/expected.err.tmp"
  status=$?
  set -e

  DIR="${dir}" perl -pe 's/\Q$ENV{DIR}\E/\@DIR\@/g' "${dir}/expected.out.tmp" >"${dir}/expected.out"
  DIR="${dir}" perl -pe 's/\Q$ENV{DIR}\E/\@DIR\@/g; s/^postconf: /phc: /' "${dir}/expected.err.tmp" >"${dir}/expected.err"
  echo "${status}" >"${dir}/expected.exit"
  rm -f "${dir}/expected.out.tmp" "${dir}/expected.err.tmp"
  count=$((count + 1))
done
echo "regen.sh: regenerated ${count} fixture(s) with ${postconf_bin} (${version})" >&2
