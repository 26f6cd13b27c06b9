#!/usr/bin/env bash
# conf_bench.sh: phc conf -n and phc check against postconf -n, same run.
#
# Generates a 5 000-line main.cf (built-in parameters, user parameters with
# $references, continuation lines) and a 500-service master.cf with -o
# options, then times each command RUNS times and prints medians and the
# ratio postconf/phc (> 1 means phc is faster).
#   bench/conf_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
runs=${2:-7}
phc=$build/tools/phc
command -v postconf >/dev/null || { echo "postconf not installed (POSTHASTE_WITH_POSTFIX=1 tools/setup.sh)"; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
lines = ["myhostname = mx.example.com", "mydomain = example.com"]
n = 0
while len(lines) < 4990:
    lines.append("bench_param_%d = value%d $mydomain ${myhostname}" % (n, n))
    lines.append("bench_ref_%d = $bench_param_%d," % (n, n))
    lines.append("    continued_%d" % n)
    n += 1
lines.append("smtpd_banner = $myhostname ESMTP")
lines.append("relayhost = [relay.example.com]:587")
lines.append("smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination")
lines.append("mynetworks = 127.0.0.0/8")
lines.append("bench_use = " + " ".join("$bench_ref_%d" % i for i in range(n)))
lines.append("smtpd_client_restrictions = $bench_use")
open(d + "/main.cf", "w").write("\n".join(lines[:5000]) + "\n")
m = []
for i in range(500):
    m.append("svc%d unix - - n - - smtp\n  -o smtp_helo_name=h%d.$mydomain\n  -o smtp_bind_address=127.0.0.%d" % (i, i, i % 250 + 1))
open(d + "/master.cf", "w").write("\n".join(m) + "\n")
PY

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() {  # prints seconds for one run of "$@"
  local s e
  s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
declare -A med
for name in postconf_n phc_conf_n phc_check; do
  for ((i = 0; i < runs; i++)); do
    case $name in
      postconf_n) timeit postconf -c "$dir" -n ;;
      phc_conf_n) timeit "$phc" conf -c "$dir" -n ;;
      phc_check) timeit "$phc" check -c "$dir" ;;
    esac
  done | median > "$dir/$name.med"
  med[$name]=$(cat "$dir/$name.med")
done
printf 'main.cf lines: %s, master.cf services: 500, runs: %s\n' "$(wc -l < "$dir/main.cf")" "$runs"
printf '%-16s %8.4f s\n' "postconf -n" "${med[postconf_n]}" "phc conf -n" "${med[phc_conf_n]}" "phc check" "${med[phc_check]}"
printf 'ratio postconf -n / phc conf -n: %.2f\n' "$(echo "${med[postconf_n]} / ${med[phc_conf_n]}" | bc -l)"
printf 'ratio postconf -n / phc check:   %.2f\n' "$(echo "${med[postconf_n]} / ${med[phc_check]}" | bc -l)"
