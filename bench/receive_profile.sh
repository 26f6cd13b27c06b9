#!/usr/bin/env bash
# receive_profile.sh: where posthasted's CPU goes while it receives mail.
#
#   bench/receive_profile.sh [BUILD_DIR]      (as root; needs perf: Debian's linux-perf)
#
# Env (defaults): MSGS=20000 SIZE=4096 SESSIONS=20 PH_PORT=2535 STRACE= BENCH_TMP=/var/tmp
#
# Starts posthasted with receive_bench.sh's configuration (every message held), sends 500
# messages to warm it up, then MSGS messages with smtp-source while `perf record` samples
# the posthasted process (cpu-clock, 999 Hz, call graphs). Prints: msg/s, CPU per message
# per thread (from /proc/PID/task), voluntary context switches per message, the profile
# summed into categories by bench/perf_categories.py, and the top symbols. STRACE=1 adds
# a second, shorter pass under `strace -c -f` for system calls per message (strace slows
# the server down a lot: its rate is not a measurement).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:-$root/build}" && pwd)
source "$root/bench/mta_lib.sh"
MSGS=${MSGS:-20000}; SIZE=${SIZE:-4096}; SESSIONS=${SESSIONS:-20}; PH_PORT=${PH_PORT:-2535}
command -v perf >/dev/null || { log "perf not found (apt-get install linux-perf)"; exit 2; }

mta_init
echo "# receive_profile  msgs=$MSGS size=$SIZE sessions=$SESSIONS  $(date -Is)"
machine_facts
ph_create hold "$PH_PORT" 2599 || exit 1
ph_start fresh || exit 1
src "127.0.0.1:$PH_PORT" 500 "$SIZE" "$SESSIONS" >/dev/null 2>&1

thread_stats() {  # per thread: "name ticks voluntary_switches"
  local t
  for t in /proc/"$PH_PID"/task/*; do
    echo "$(basename "$t") $(awk '{print $14+$15}' "$t/stat") $(awk '/^voluntary_ctxt_switches/{print $2}' "$t/status")"
  done
}
thread_stats >"$WORK/threads0"
perf record -e cpu-clock -F 999 -g -p "$PH_PID" -o "$WORK/perf.data" >/dev/null 2>"$WORK/perf.err" &
PERF_PID=$!
sleep 0.5
src_timed "$WORK/src.out" "127.0.0.1:$PH_PORT" "$MSGS" "$SIZE" "$SESSIONS" || log "smtp-source failed"
kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null
thread_stats >"$WORK/threads1"
echo "rate: $(calc "f'{$MSGS/$SRC_WALL:.0f}'") msg/s (under perf), smtp-source $(calc "f'{1e6*$SRC_CPU/$MSGS:.0f}'") us/msg, loadavg $(loadavg)"
echo "## per thread: CPU us/msg, voluntary context switches/msg (main: the first event-loop thread; the others: a second event-loop thread, the two name-lookup threads and the queue commit thread)"
hz=$(getconf CLK_TCK)
join "$WORK/threads0" "$WORK/threads1" | awk -v m="$MSGS" -v hz="$hz" -v main="$PH_PID" '
  { cpu = 1e6 * ($4 - $2) / hz / m; sw = ($5 - $3) / m; tc += cpu; ts += sw
    printf "  thread %s%s  %6.1f us/msg  %5.2f switches/msg\n", $1, ($1 == main ? " (main)" : ""), cpu, sw }
  END { printf "  total          %6.1f us/msg  %5.2f switches/msg\n", tc, ts }'
echo "## profile by category (self samples)"
perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
  python3 "$root/bench/perf_categories.py"
echo "## top symbols (self)"
perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
  grep -E '^\s+[0-9.]+%' | head -25 | cut -c1-150

if [ -n "${STRACE:-}" ] && command -v strace >/dev/null; then
  n=$((MSGS / 10))
  strace -c -f -p "$PH_PID" -o "$WORK/strace.txt" 2>/dev/null &
  ST_PID=$!
  sleep 1
  src "127.0.0.1:$PH_PORT" "$n" "$SIZE" "$SESSIONS" >/dev/null 2>&1
  sleep 0.5
  kill -INT "$ST_PID"; wait "$ST_PID" 2>/dev/null
  echo "## system calls per message (strace -c over $n messages)"
  awk -v m="$n" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ {printf "  %-16s %6.2f\n", $NF, $4 / m}' "$WORK/strace.txt" | sort -k2 -rn | head -20
fi
