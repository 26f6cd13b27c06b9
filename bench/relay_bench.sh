#!/usr/bin/env bash
# relay_bench.sh: end-to-end relay msg/s, smtp-source -> MTA -> smtp-sink, posthasted
# against Postfix 3.7 in the same run.
#
#   bench/relay_bench.sh [BUILD_DIR]          (as root; BUILD_DIR default: build)
#
# Env (defaults): RUNS=5 MSGS=10000 WARMUP=500 SESSIONS=20 SIZES="4096 32768"
#   PF_PORT=2525 PH_PORT=2535 SINK_PORT=2526 TIMEOUT=300 BENCH_TMP=/var/tmp KEEP_WORK=
#   PH_OPTS="" (extra posthasted options, e.g. "--threads 1")
#   SRC_OPTS="" (extra smtp-source options, e.g. "-d": one connection per session)
#
# Both MTAs run the same main.cf settings and master.cf service lines (bench/mta_lib.sh):
# relay-permit 127.0.0.0/8 (permit_mynetworks, reject_unauth_destination) and
# relayhost = [127.0.0.1]:SINK_PORT, every other setting at its default (Postfix's
# default_destination_concurrency_limit = 20 etc.; fsync of the queue on both).
#
# Per run and size the two MTAs take turns (odd runs Postfix first). For each: wait until
# its queue is empty, start smtp-sink on SINK_PORT, time smtp-source sending MSGS messages
# over SESSIONS sessions (one message per connection), and the moment the sink has counted
# MSGS messages. e2e msg/s = MSGS / (time until the sink has every message); recv msg/s =
# MSGS / smtp-source's wall time. CPU per message: the MTA's own processes (as in
# receive_bench.sh). Prints per-run lines, medians and the ratio posthasted/Postfix of the
# medians.
#
# Before measuring, each MTA relays one probe message; an MTA whose probe does not reach
# the sink within 30 s is reported and left out (posthasted before its queue manager and
# smtp delivery agent existed).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:-$root/build}" && pwd)
source "$root/bench/mta_lib.sh"
RUNS=${RUNS:-5}; MSGS=${MSGS:-10000}; WARMUP=${WARMUP:-500}; SESSIONS=${SESSIONS:-20}
SIZES=${SIZES:-4096 32768}; PF_PORT=${PF_PORT:-2525}; PH_PORT=${PH_PORT:-2535}
SINK_PORT=${SINK_PORT:-2526}
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mta_init
echo "# relay_bench  runs=$RUNS msgs=$MSGS warmup=$WARMUP sessions=$SESSIONS sizes=($SIZES) posthasted options='${PH_OPTS:-}'  $(date -Is)"
machine_facts
pf_create relay "$PF_PORT" "$SINK_PORT" || exit 1
ph_create relay "$PH_PORT" "$SINK_PORT" || exit 1
pf_start || exit 1
ph_start fresh || exit 1

mta_port() { if [ "$1" = postfix ]; then echo "$PF_PORT"; else echo "$PH_PORT"; fi; }
mta_drain() { if [ "$1" = postfix ]; then pf_drain "${2:-120}"; else ph_drain "${2:-120}"; fi; }
mta_cpu() { if [ "$1" = postfix ]; then pf_cpu; else proc_cpu "$PH_PID"; fi; }

# relay COUNT SIZE MTA: sink up, send, wait for the sink; sets T_SRC, T_SINK (seconds from
# the start, T_SINK empty when the sink did not get everything), CPU_USED (the MTA's CPU
# seconds) and BUSY (% of both cores busy, all processes, until the sink had everything).
relay() {
  local n="$1" size="$2" mta="$3" t0 tag ts cnt c0 c1 b0 i0 b1 i1
  mta_drain "$mta" "${DRAIN_T:-120}" || log "$mta: queue not empty before the run"
  start_sink "$SINK_PORT" "$n" || return 1
  c0=$(mta_cpu "$mta")
  read -r b0 i0 < <(cpu_ticks)
  t0=$(now)
  src_timed "$WORK/src.out" "127.0.0.1:$(mta_port "$mta")" "$n" "$size" "$SESSIONS" ||
    log "$mta: smtp-source failed: $(tail -2 "$WORK/src.out")"
  wait "$WAIT_PID"; WAIT_PID=""
  c1=$(mta_cpu "$mta")
  read -r b1 i1 < <(cpu_ticks)
  BUSY=$(calc "f'{100*($b1-$b0)/max(1,$b1-$b0+$i1-$i0):.0f}'")
  read -r tag ts cnt _ <"$WORK/sinkwait"
  T_SRC=$SRC_WALL; T_SINK=""
  if [ "$tag" = DONE ]; then T_SINK=$(calc "$ts - $t0"); else log "$mta: sink $tag after $cnt of $n messages"; fi
  CPU_USED=$(calc "$c1 - $c0")
  mta_drain "$mta" "${DRAIN_T:-60}" >/dev/null 2>&1   # deliveries still in flight finish while the sink is up
  stop_sink
}

MTAS=""
for mta in postfix posthasted; do
  TIMEOUT_SAVED=${TIMEOUT:-300}; TIMEOUT=30
  if DRAIN_T=5 relay 1 1024 "$mta" && [ -n "$T_SINK" ]; then
    MTAS+="$mta "
  else
    echo "# $mta: the probe message did not reach the sink in 30 s: left out of this run"
    [ "$mta" = posthasted ] && echo "# posthasted status: $(ph_ctl status 2>&1 | tr '\n' ';')"
  fi
  TIMEOUT=$TIMEOUT_SAVED
done
[ -n "$MTAS" ] || exit 1
for mta in $MTAS; do
  [ "$WARMUP" -gt 0 ] && relay "$WARMUP" 4096 "$mta"
done

declare -A e2e recv cpu
for size in $SIZES; do
  echo "## size $size bytes, loadavg $(loadavg)"
  for ((r = 1; r <= RUNS; r++)); do
    if ((r % 2)); then order="postfix posthasted"; else order="posthasted postfix"; fi
    for mta in $order; do
      [[ " $MTAS " == *" $mta "* ]] || continue
      relay "$MSGS" "$size" "$mta" || { log "$mta run $r failed"; exit 1; }
      rr=$(calc "f'{$MSGS/$T_SRC:.1f}'")
      cc=$(calc "f'{1e6*$CPU_USED/$MSGS:.0f}'")
      recv[$mta,$size]+="$rr "; cpu[$mta,$size]+="$cc "
      if [ -n "$T_SINK" ]; then
        er=$(calc "f'{$MSGS/$T_SINK:.1f}'"); e2e[$mta,$size]+="$er "
      else
        er="(incomplete)"
      fi
      printf 'run %d %-10s e2e %8s msg/s (%6.2f s)  recv %8s msg/s  cpu %5s us/msg (smtp-source %3s)  machine busy %3s%%  loadavg %s\n' \
        "$r" "$mta" "$er" "${T_SINK:-0}" "$rr" "$cc" "$(calc "f'{1e6*$SRC_CPU/$MSGS:.0f}'")" "$BUSY" "$(loadavg)"
    done
  done
done

echo "## results (medians of $RUNS runs; ratio = posthasted / Postfix)"
for size in $SIZES; do
  for mta in $MTAS; do
    # shellcheck disable=SC2086
    stats "RESULT relay size=$size $mta e2e_msg/s" ${e2e[$mta,$size]:-}
    # shellcheck disable=SC2086
    stats "RESULT relay size=$size $mta recv_msg/s" ${recv[$mta,$size]:-}
    # shellcheck disable=SC2086
    stats "RESULT relay size=$size $mta cpu_us/msg" ${cpu[$mta,$size]:-}
  done
  if [ "$MTAS" = "postfix posthasted " ] && [ -n "${e2e[postfix,$size]:-}" ] && [ -n "${e2e[posthasted,$size]:-}" ]; then
    # shellcheck disable=SC2086
    pm=$(median ${e2e[postfix,$size]}); hm=$(median ${e2e[posthasted,$size]})
    # shellcheck disable=SC2086
    pc=$(median ${cpu[postfix,$size]}); hc=$(median ${cpu[posthasted,$size]})
    echo "RATIO relay size=$size e2e msg/s posthasted/postfix = $(calc "f'{$hm/$pm:.2f}'")  cpu/msg postfix/posthasted = $(calc "f'{$pc/max(1,$hc):.2f}'")"
  fi
done
for log_file in "$PFDIR/maillog" "$PHDIR/maillog"; do
  echo "# ${log_file#"$WORK"/} (pf: Postfix, ph: posthasted): $(grep -c -E 'warning|error|fatal|panic' "$log_file") warning/error lines"
  grep -E 'warning|error|fatal|panic' "$log_file" | sed -E 's/^.*(postfix|posthaste)/\1/; s/[0-9A-F]{9,}/ID/g' |
    cut -c1-150 | sort | uniq -c | sort -rn | head -3 || true  # a clean log is not a failure
done
