#!/usr/bin/env bash
# header_checks_bench.sh: 10 000 header_checks rules, posthaste against Postfix.
#
# Generates N rules (default 10 000) in the shape admins write (anchored on a
# header name, a distinctive word or domain per rule; none matches the test
# headers, the common and the worst case) as regexp: and pcre: tables, and a
# corpus of realistic header lines. Then, in the same run:
#   1. build/bench/pattern_bench: in-process lookups/s, RE2::Set path against
#      rule-by-rule evaluation (both posthaste), load times;
#   2. the whole command: `postmap -q - -h pcre:RULES < message` (Postfix
#      3.7.11) against `phc map -q - -h pcre:RULES < message`, RUNS times,
#      medians (includes reading and compiling the table).
#   bench/header_checks_bench.sh [BUILD_DIR] [RUNS] [NRULES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
runs=${2:-5}
n=${3:-10000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
: > "$dir/main.cf"
awk -v n="$n" 'BEGIN {
  for (i = 0; i < n; i++) {
    k = i % 6
    if (k == 0) p = "^Subject:.*spamword" i
    if (k == 1) p = "^From:.*@spamdomain" i "\\.example"
    if (k == 2) p = "^Received:.*\\[203\\." (i % 250) "\\." (int(i / 250) % 250) "\\.[0-9]+\\]"
    if (k == 3) p = "^X-Mailer:.*(bulkmailer|massmail)" i
    if (k == 4) p = "^Message-ID:.*@spamhost" i "\\."
    if (k == 5) p = "^Subject:.*(win|free|cheap) offer" i
    printf "/%s/ REJECT rule %d\n", p, i
  } }' > "$dir/rules"
awk 'BEGIN {
  srand(7)
  for (i = 0; i < 2000; i++) {
    k = i % 6
    if (k == 0) print "Subject: meeting notes for week " i
    if (k == 1) print "From: Alice Example <alice" i "@example.org>"
    if (k == 2) print "Received: from mx" i ".example.net (mx" i ".example.net [192.0.2." (i % 250) "]) by mail.example.com"
    if (k == 3) print "X-Mailer: Thunderbird 115." i
    if (k == 4) print "Message-ID: <" i ".abc@mail.example.org>"
    if (k == 5) print "To: bob" i "@example.com"
  } }' > "$dir/headers"
{ head -n 500 "$dir/headers"; echo; echo "body"; } > "$dir/message"
echo "rules: $n, header lines: $(wc -l < "$dir/headers")"
for type in regexp pcre; do
  "$build/bench/pattern_bench" "$type" "$dir/rules" "$dir/headers" "$runs" 2>/dev/null
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 < "$dir/message" || true; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
for ((i = 0; i < runs; i++)); do
  seconds postmap -c "$dir" -q - -h "pcre:$dir/rules" >> "$dir/pm.t"
  seconds "$build/tools/phc" map -c "$dir" -q - -h "pcre:$dir/rules" >> "$dir/phc.t"
done
pm=$(median < "$dir/pm.t"); ph=$(median < "$dir/phc.t")
printf 'postmap -q - -h pcre: (500 headers)  %7.3f s\n' "$pm"
printf 'phc map -q - -h pcre: (500 headers)  %7.3f s   (%.1fx faster)\n' "$ph" "$(echo "$pm / $ph" | bc -l)"
