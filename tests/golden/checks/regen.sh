#!/usr/bin/env bash
# regen.sh: regenerate the expected.* files of the regexp:/pcre: golden fixtures
# (postmap -q, -q -, -h, -b, -m) by running the real Postfix `postmap` (3.7.11,
# Debian packages postfix and postfix-pcre).
#
# Opt-in developer tool: the tests never run it and never need Postfix. The
# fixture format and the procedure are those of ../map/regen.sh, which does the
# work; this wrapper only points it at these fixtures and checks that Postfix
# can serve pcre: tables.
#
# Usage: tests/golden/checks/regen.sh [FIXTURE_DIR...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
postconf_bin="$(command -v postconf || echo /usr/sbin/postconf)"
if [ ! -x "${postconf_bin}" ]; then
  echo "regen.sh: postconf not found; install Debian's postfix package" >&2
  exit 2
fi
cfg_tmp="$(mktemp -d)"
: >"${cfg_tmp}/main.cf"
types="$(env -i "${postconf_bin}" -c "${cfg_tmp}" -m 2>/dev/null || true)"
rm -rf "${cfg_tmp}"
if ! grep -qx pcre <<<"${types}"; then
  echo "regen.sh: postconf -m does not list pcre; install postfix-pcre" >&2
  exit 2
fi
if [ $# -eq 0 ]; then
  set -- "${here}"/[0-9][0-9][0-9]-*/
fi
exec "${here}/../map/regen.sh" "$@"
