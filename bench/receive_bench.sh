#!/usr/bin/env bash
# receive_bench.sh: receive-only msg/s, posthasted against Postfix 3.7 in the same run,
# plus posthasted's memory idle and with 1 000 idle connections.
#
#   bench/receive_bench.sh [BUILD_DIR]        (as root; BUILD_DIR default: build)
#
# Env (defaults): RUNS=5 MSGS=10000 WARMUP=500 SESSIONS=20 SIZES="4096 32768"
#   PF_PORT=2525 PH_PORT=2535 IDLE_CONNS=1000 SKIP_RSS= BENCH_TMP=/var/tmp KEEP_WORK=
#   PH_OPTS="" (extra posthasted options, e.g. "--threads 1")
#   SRC_OPTS="" (extra smtp-source options, e.g. "-d": each session sends all its messages
#   over one connection instead of one connection per message)
#   (RUNS=0: memory only; SKIP_RSS=1: throughput only)
#
# Both MTAs run the same main.cf settings and master.cf service lines (bench/mta_lib.sh):
# mynetworks = 127.0.0.0/8, smtpd_relay_restrictions = permit_mynetworks,
# reject_unauth_destination, and smtpd_data_restrictions = check_client_access static:HOLD,
# so every message is received, cleaned up, made durable (fsync) and put on hold: only the
# receive cost counts. Postfix holds it in its hold queue; posthasted records it in its
# queue in state hold (while posthasted had no restriction evaluator, the rule did not
# fire and messages stayed "incoming"; with no queue manager nothing was delivered
# either; the per-run line shows the queue state either way).
#
# Per run and size, the two MTAs take turns (odd runs Postfix first): empty the queue
# (Postfix: postsuper -d ALL; posthasted: restart on an empty queue directory), send
# WARMUP messages untimed, then time smtp-source sending MSGS messages over SESSIONS
# parallel sessions, one message per connection (SRC_OPTS=-d: one connection per session).
# msg/s = MSGS / smtp-source's wall time.
# CPU per message: the MTA's own processes (posthasted: the process; Postfix: master, its
# live children and the children it reaped), user + system, over the timed part; and
# smtp-source's own (the load generator shares the two cores with the MTA).
# Prints per-run lines, medians and the ratio posthasted/Postfix of the medians.
#
# The ceiling (CEILING=1, the default; CEIL_PORT=2597): the same smtp-source load against
# Postfix's smtp-sink, a one-process server that answers every command and stores
# nothing (no fsync, no parsing, no logging), in the same runs. No MTA can receive faster
# than that with this load generator on this machine; the line "ceiling/postfix" says how
# many times Postfix's rate the load generator allows at all.
#
# Memory: posthasted started on an empty queue, VmRSS and PSS after 2 s idle, then with
# IDLE_CONNS connections open (bench/idle_conns.py reads each banner and keeps the socket
# idle). For context the same for the Postfix instance (sum of PSS over its processes;
# Postfix serves at most default_process_limit = 100 sessions at once, the rest wait in
# the listen queue without a banner).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:-$root/build}" && pwd)
source "$root/bench/mta_lib.sh"
RUNS=${RUNS:-5}; MSGS=${MSGS:-10000}; WARMUP=${WARMUP:-500}; SESSIONS=${SESSIONS:-20}
SIZES=${SIZES:-4096 32768}; PF_PORT=${PF_PORT:-2525}; PH_PORT=${PH_PORT:-2535}
IDLE_CONNS=${IDLE_CONNS:-1000}
CEILING=${CEILING:-1}; CEIL_PORT=${CEIL_PORT:-2597}; CEIL_PID=""
MTAS="postfix posthasted"; [ "$CEILING" = 1 ] && MTAS="postfix posthasted smtp-sink"
SINK_PORT=2599  # never listened on: nothing is delivered in this benchmark
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mta_init
echo "# receive_bench  runs=$RUNS msgs=$MSGS warmup=$WARMUP sessions=$SESSIONS sizes=($SIZES) posthasted options='${PH_OPTS:-}' smtp-source options='${SRC_OPTS:-}'  $(date -Is)"
machine_facts
pf_create hold "$PF_PORT" "$SINK_PORT" || exit 1
ph_create hold "$PH_PORT" "$SINK_PORT" || exit 1
pf_start || exit 1


# one_run MTA SIZE: sets RUN_RATE (msg/s), RUN_CPU (us/msg), RUN_SRC_CPU (smtp-source's
# us/msg), RUN_BUSY (% of both cores), RUN_STATE.
# Not in a subshell: it starts and stops posthasted (PH_PID).
stop_ceiling() {
  [ -n "$CEIL_PID" ] && { kill "$CEIL_PID" 2>/dev/null; wait "$CEIL_PID" 2>/dev/null; }
  CEIL_PID=""
}
start_ceiling() {
  stop_ceiling
  port_free 127.0.0.1 "$CEIL_PORT" || return 1
  smtp-sink -u nobody -c "127.0.0.1:$CEIL_PORT" 1024 >/dev/null 2>&1 &
  CEIL_PID=$!
  wait_port 127.0.0.1 "$CEIL_PORT" 10
}
trap 'stop_ceiling; mta_cleanup' EXIT

one_run() {
  local mta="$1" size="$2" port c0 c1 b0 i0 b1 i1 state n
  case "$mta" in
    postfix) pf_clear; port=$PF_PORT ;;
    posthasted) ph_stop; ph_start fresh || return 1; port=$PH_PORT ;;
    smtp-sink) start_ceiling || return 1; port=$CEIL_PORT ;;
  esac
  [ "$WARMUP" -gt 0 ] && src "127.0.0.1:$port" "$WARMUP" "$size" "$SESSIONS" >/dev/null 2>&1
  case "$mta" in
    postfix) c0=$(pf_cpu) ;;
    posthasted) c0=$(proc_cpu "$PH_PID") ;;
    smtp-sink) c0=$(proc_cpu "$CEIL_PID") ;;
  esac
  read -r b0 i0 < <(cpu_ticks)
  src_timed "$WORK/src.out" "127.0.0.1:$port" "$MSGS" "$size" "$SESSIONS" ||
    log "$mta: smtp-source failed: $(tail -2 "$WORK/src.out")"
  read -r b1 i1 < <(cpu_ticks)
  case "$mta" in
    postfix) c1=$(pf_cpu); n=$(pf_held); state="hold=$n" ;;
    posthasted) c1=$(proc_cpu "$PH_PID"); n=$(ph_queued_total); state=$(ph_count) ;;
    smtp-sink) c1=$(proc_cpu "$CEIL_PID"); n=$((MSGS + WARMUP)); state="(nothing stored)"; stop_ceiling ;;
  esac
  [ "$n" = $((MSGS + WARMUP)) ] || log "$mta: $n messages queued, expected $((MSGS + WARMUP))"
  RUN_RATE=$(calc "f'{$MSGS/$SRC_WALL:.1f}'")
  RUN_SRC_CPU=$(calc "f'{1e6*$SRC_CPU/$MSGS:.0f}'")
  RUN_CPU=$(calc "f'{1e6*($c1-$c0)/$MSGS:.0f}'")
  RUN_BUSY=$(calc "f'{100*($b1-$b0)/max(1,$b1-$b0+$i1-$i0):.0f}'")
  RUN_STATE=$state
}

declare -A rate cpu srccpu
for size in $SIZES; do
  [ "$RUNS" -gt 0 ] || break
  echo "## size $size bytes, loadavg $(loadavg)"
  for ((r = 1; r <= RUNS; r++)); do
    if ((r % 2)); then order="$MTAS"; else order=$(echo "$MTAS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
    for mta in $order; do
      one_run "$mta" "$size" || { log "$mta run $r failed"; exit 1; }
      rate[$mta,$size]+="$RUN_RATE "; cpu[$mta,$size]+="$RUN_CPU "; srccpu[$mta,$size]+="$RUN_SRC_CPU "
      printf 'run %d %-10s %8s msg/s  cpu %5s us/msg (smtp-source %3s)  machine busy %3s%%  queue %s  loadavg %s\n' \
        "$r" "$mta" "$RUN_RATE" "$RUN_CPU" "$RUN_SRC_CPU" "$RUN_BUSY" "$RUN_STATE" "$(loadavg)"
    done
  done
done
ph_stop

[ "$RUNS" -gt 0 ] && echo "## results (medians of $RUNS runs; ratio = posthasted / Postfix)"
for size in $SIZES; do
  [ "$RUNS" -gt 0 ] || break
  for mta in $MTAS; do
    # shellcheck disable=SC2086
    stats "RESULT receive size=$size $mta msg/s" ${rate[$mta,$size]}
    # shellcheck disable=SC2086
    stats "RESULT receive size=$size $mta cpu_us/msg" ${cpu[$mta,$size]}
    # shellcheck disable=SC2086
    stats "RESULT receive size=$size $mta smtp-source_cpu_us/msg" ${srccpu[$mta,$size]}
  done
  # shellcheck disable=SC2086
  pm=$(median ${rate[postfix,$size]}); hm=$(median ${rate[posthasted,$size]})
  # shellcheck disable=SC2086
  pc=$(median ${cpu[postfix,$size]}); hc=$(median ${cpu[posthasted,$size]})
  echo "RATIO receive size=$size msg/s posthasted/postfix = $(calc "f'{$hm/$pm:.2f}'")  cpu/msg postfix/posthasted = $(calc "f'{$pc/max(1,$hc):.2f}'")"
  if [ "$CEILING" = 1 ]; then
    # shellcheck disable=SC2086
    cm=$(median ${rate[smtp-sink,$size]})
    echo "RATIO receive size=$size msg/s ceiling(smtp-sink)/postfix = $(calc "f'{$cm/$pm:.2f}'")  posthasted/ceiling = $(calc "f'{$hm/$cm:.2f}'")"
  fi
done

[ -n "${SKIP_RSS:-}" ] && exit 0
echo "## memory, loadavg $(loadavg)"
# hold_conns PORT: opens IDLE_CONNS connections (client left running as CONN_PID) and sets
# CONN_STATUS to the client's "opened=N banners=B refused=R".
CONN_PID=""
hold_conns() {
  rm -f "$WORK/conns"
  python3 "$root/bench/idle_conns.py" 127.0.0.1 "$1" "$IDLE_CONNS" "$WORK/conns" 60 >/dev/null 2>&1 &
  CONN_PID=$!
  local i
  for ((i = 0; i < 700; i++)); do [ -s "$WORK/conns" ] && break; sleep 0.1; done
  sleep 1
  CONN_STATUS=$(cat "$WORK/conns" 2>/dev/null)
}
release_conns() {
  [ -n "$CONN_PID" ] && { kill "$CONN_PID" 2>/dev/null; wait "$CONN_PID" 2>/dev/null; }
  CONN_PID=""
}
trap 'release_conns; stop_ceiling; mta_cleanup' EXIT

ph_start fresh || exit 1
sleep 2
echo "posthasted idle: VmRSS $(ph_rss_kib) KiB, PSS $(ph_pss_kib) KiB, threads $(awk '/^Threads:/{print $2}' "/proc/$PH_PID/status")"
hold_conns "$PH_PORT"
echo "posthasted with $IDLE_CONNS idle connections ($CONN_STATUS): VmRSS $(ph_rss_kib) KiB, PSS $(ph_pss_kib) KiB"
release_conns
sleep 1
echo "posthasted after they closed: VmRSS $(ph_rss_kib) KiB"
ph_stop

pf_pss() {
  local m; m=$(pf_master_pid)
  for p in "$m" $(children_of "$m"); do awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null; done |
    awk '{s+=$1; n++} END {printf "%d KiB in %d processes", s, n}'
}
pf_stop; pf_start || exit 1
sleep 2
echo "postfix idle: PSS $(pf_pss)"
hold_conns "$PF_PORT"
echo "postfix with $IDLE_CONNS connections ($CONN_STATUS): PSS $(pf_pss)"
release_conns
