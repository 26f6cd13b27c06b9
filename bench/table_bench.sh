#!/usr/bin/env bash
# table_bench.sh: building and querying a 1 M-key table, against Postfix and tinycdb.
#
# Same run, same machine: builds the same 1 000 000-line source with
#   phc map cdb:FILE     (ours)
#   postmap cdb:FILE     (Debian's Postfix 3.7.11 with postfix-cdb)
#   cdb -m FILE.cdb      (tinycdb's own command-line builder)
# RUNS times each and prints the median build times and ratios; then runs
# build/bench/table_lookup_bench on our file (lookups/s vs raw tinycdb,
# hits and misses, and address-form searches).
#   bench/table_bench.sh [BUILD_DIR] [RUNS] [NKEYS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
runs=${2:-5}
nkeys=${3:-1000000}
for tool in postmap cdb; do
  command -v $tool >/dev/null || { echo "$tool missing: tools/setup.sh installs postfix-cdb and tinycdb"; exit 2; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
: > "$dir/main.cf"
awk -v n="$nkeys" 'BEGIN { for (i = 0; i < n; i++) printf "user%d@d%d.example relay:[mx%d.example.net]:25\n", i, i % 1000, i % 97 }' > "$dir/src"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
for ((i = 0; i < runs; i++)); do
  seconds "$build/tools/phc" map -c "$dir" "cdb:$dir/src" >> "$dir/phc.t"
  cp "$dir/src.cdb" "$dir/ours.cdb"
  seconds postmap -c "$dir" "cdb:$dir/src" >> "$dir/postmap.t"
  seconds sh -c "cdb -c -m '$dir/raw.cdb' < '$dir/src'" >> "$dir/cdbm.t"
done
phc=$(median < "$dir/phc.t"); pm=$(median < "$dir/postmap.t"); cm=$(median < "$dir/cdbm.t")
printf 'keys: %s, runs: %s (medians)\n' "$nkeys" "$runs"
printf 'build  phc map cdb:   %7.3f s\n' "$phc"
printf 'build  postmap cdb:   %7.3f s   (phc is %.2fx faster)\n' "$pm" "$(echo "$pm / $phc" | bc -l)"
printf 'build  cdb -m:        %7.3f s   (phc takes %.2fx the time of cdb -m)\n' "$cm" "$(echo "$phc / $cm" | bc -l)"
"$build/bench/table_lookup_bench" "$dir/ours.cdb" "$nkeys" "$runs"
