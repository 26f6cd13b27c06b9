#!/bin/sh
# harvest_params.sh: regenerate tables/params.def, tables/programs.def and
# tables/params.md from the installed Postfix package.
#
# Developer tool (not used by the build). Needs the Debian postfix package
# (postconf and its manual pages) and python3; g++ with GoogleTest to refresh
# tables/params.md. Hand-kept inputs live in tools/harvest/:
#   source_types.tsv        kinds and bounds from the Postfix source tables
#                           (refreshed only when POSTFIX_SRC names a source tree)
#   param_overrides.tsv     corrections: types, bounds, host-dependent rows
#   param_descriptions.tsv  one-line summaries, in our own words
# Checks afterwards that the registry names equal the built-in names printed
# by `postconf -d`, and, when run as root with unshare(1), that every default
# that changes with the host name or the network interfaces is marked
# host-dependent.
#
# Usage: tools/harvest_params.sh            (from anywhere in the tree)
#        POSTFIX_SRC=/path/to/postfix-3.7.11 tools/harvest_params.sh
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
harvest="$root/tools/harvest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${POSTFIX_SRC:-}" ]; then
  python3 "$harvest/extract_source_types.py" "$POSTFIX_SRC" > "$tmp/source_types.tsv"
  mv "$tmp/source_types.tsv" "$harvest/source_types.tsv"
fi

python3 "$harvest/harvest_params.py" --out-dir "$root/tables"

# Built-in names only: an empty config directory has no master.cf, so no
# service-derived names appear.
: > "$tmp/main.cf"
postconf -c "$tmp" -d 2>/dev/null | sed 's/ =.*//' | LC_ALL=C sort > "$tmp/postconf.names"
# Listed names only: legacy rows (last column true) are known but unlisted.
awk '/^POSTHASTE_PARAM\("/ { match($0, /"[^"]*"/); name = substr($0, RSTART + 1, RLENGTH - 2) }
     /\)$/ && name != "" { if ($0 !~ /true\)$/) print name; name = "" }' "$root/tables/params.def" \
  | LC_ALL=C sort > "$tmp/registry.names"
if ! cmp -s "$tmp/postconf.names" "$tmp/registry.names"; then
  echo "harvest: registry names differ from postconf -d:" >&2
  diff "$tmp/postconf.names" "$tmp/registry.names" >&2 || true
  exit 1
fi
echo "harvest: $(wc -l < "$tmp/registry.names") names match postconf -d" >&2

# Host dependence: compare defaults on this host with those in a fresh UTS
# and network namespace under another host name.
if [ "$(id -u)" = 0 ] && command -v unshare > /dev/null; then
  postconf -c "$tmp" -d 2>/dev/null > "$tmp/here"
  if ! unshare -un sh -c "hostname probe.example.net && ip link set lo up &&
        postconf -c '$tmp' -d 2>/dev/null" > "$tmp/there"; then
    echo "harvest: unshare failed; cannot check host-dependent defaults" >&2
    exit 1
  fi
  diff "$tmp/here" "$tmp/there" | sed -n 's/^< \([^ ]*\) =.*/\1/p' > "$tmp/changed" || true
  for name in $(cat "$tmp/changed"); do
    if ! grep -q "^$name	host_dependent	yes" "$harvest/param_overrides.tsv"; then
      echo "harvest: default of $name depends on the host; mark it in param_overrides.tsv" >&2
      exit 1
    fi
  done
  echo "harvest: host-dependent defaults: $(cat "$tmp/changed" | tr '\n' ' ')" >&2
else
  echo "harvest: not root or no unshare; skipped the host-dependence check" >&2
fi

# Refresh tables/params.md through the registry test's opt-in rewrite.
if command -v g++ > /dev/null; then
  g++ -std=c++20 -I"$root" -DPOSTHASTE_SOURCE_DIR="\"$root\"" \
    "$root/tables/param_registry.cc" "$root/tables/param_docs.cc" \
    "$root/tests/tables/param_registry_test.cc" \
    -lgtest -lgtest_main -pthread -o "$tmp/param_registry_test"
  POSTHASTE_REGEN=1 "$tmp/param_registry_test" --gtest_brief=1 > /dev/null
  "$tmp/param_registry_test" --gtest_brief=1
else
  echo "harvest: no g++; tables/params.md not refreshed" >&2
fi
