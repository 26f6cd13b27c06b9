#!/usr/bin/env bash
# regen.sh: regenerate the `expected` files of the routing golden fixtures by
# letting a real Postfix 3.7 route one message per fixture.
#
# Opt-in developer tool: the test suite never runs it and never needs Postfix.
# For each fixture it builds a throw-away Postfix instance under /tmp (own
# config, queue and data directories, log file, no inet listener) from the
# fixture's main.cf, master.cf and table sources, replaces the command of every
# delivery service by `discard` so that the delivery log names the service and
# its next hop, submits one message with that instance's sendmail, waits until
# the queue manager is done, stops the instance and turns the log into the
# `phc route` output format (see README.md). The bind-address column is
# computed from the fixture's own configuration with `postconf`.
#
# Needs root (Postfix's master runs as root), Debian's postfix 3.7 package with
# postfix-pcre, bash and perl. /etc/postfix and the system instance are not
# touched.
#
# Usage: tests/golden/route/regen.sh [-k] [-j N] [-t SECONDS] [FIXTURE...]
#   -k          keep each instance directory (printed) for inspection
#   -j N        run N fixtures at a time (default 4)
#   -t SECONDS  give up on a fixture after this long (default 30)
#   FIXTURE     fixture directory or name; default: every fixture
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
keep=0
jobs=4
limit=30
while getopts "kj:t:" opt; do
  case "${opt}" in
    k) keep=1 ;;
    j) jobs="${OPTARG}" ;;
    t) limit="${OPTARG}" ;;
    *) echo "usage: regen.sh [-k] [-j N] [-t SECONDS] [FIXTURE...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

die() { echo "regen.sh: $*" >&2; exit 2; }

# ---------------------------------------------------------------- preflight
export LC_ALL=C
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:${PATH}"
for tool in postfix postconf sendmail perl; do
  command -v "${tool}" >/dev/null || die "${tool} not found; install Debian's postfix package (and perl)"
done
[ "$(id -u)" -eq 0 ] || die "must run as root (Postfix's master daemon needs it)"
getent passwd postfix >/dev/null || die "no 'postfix' user; is the postfix package installed?"
getent group postdrop >/dev/null || die "no 'postdrop' group; is the postfix package installed?"
version="$(postconf -d -h mail_version 2>/dev/null || true)"
case "${version}" in
  3.7.*) ;;
  "") die "postconf -d mail_version failed" ;;
  *) echo "regen.sh: warning: Postfix ${version}, the fixtures were made with 3.7.11" >&2 ;;
esac
probe="$(mktemp -d)"
: >"${probe}/main.cf"
grep -qx pcre <<<"$(postconf -c "${probe}" -m 2>/dev/null)" || { rm -rf "${probe}"; die "postconf -m does not list pcre; install postfix-pcre"; }
rm -rf "${probe}"

if [ $# -eq 0 ]; then
  set -- "${here}"/[0-9][0-9][0-9]-*/
fi
cases=()
for arg in "$@"; do
  arg="${arg%/}"
  if [ -d "${arg}" ]; then
    cases+=("$(cd "${arg}" && pwd)")
  elif [ -d "${here}/${arg}" ]; then
    cases+=("${here}/${arg}")
  else
    die "no such fixture: ${arg}"
  fi
done

# ---------------------------------------------------------------- one fixture
# Prints one status line: "unchanged NAME", "updated NAME", "new NAME" or
# "FAILED NAME: reason" (then the instance log). Returns 1 on failure.
run_case() {
  local fixture="$1" name work conf rc=0
  name="$(basename "${fixture}")"
  [ -f "${fixture}/main.cf" ] && [ -f "${fixture}/master.cf" ] && [ -f "${fixture}/args" ] ||
    { echo "FAILED ${name}: needs main.cf, master.cf and args"; return 1; }
  work="$(mktemp -d "/tmp/phc-route-${name}.XXXXXX")"
  chmod 755 "${work}"
  conf="${work}/conf"
  mkdir "${conf}" "${work}/queue" "${work}/data"
  chown postfix "${work}/data"
  : >"${work}/maillog"
  for f in "${fixture}"/*; do
    case "$(basename "${f}")" in
      args | expected | note) ;;
      *) cp -p "${f}" "${conf}/" ;;
    esac
  done
  if build_instance "${fixture}" "${work}" && route_message "${fixture}" "${work}"; then
    :
  else
    rc=1
  fi
  postfix -c "${conf}" stop >/dev/null 2>&1 || true
  wait_for_master_exit "${work}"
  if [ "${rc}" -eq 0 ]; then
    if ! render_expected "${fixture}" "${work}" >"${work}/expected.new" 2>"${work}/render.err"; then
      echo "FAILED ${name}: $(head -n 3 "${work}/render.err" | tr '\n' ' ')"
      rc=1
    elif [ ! -f "${fixture}/expected" ]; then
      cp "${work}/expected.new" "${fixture}/expected"
      echo "new ${name}"
    elif cmp -s "${work}/expected.new" "${fixture}/expected"; then
      echo "unchanged ${name}"
    else
      echo "updated ${name}"
      diff -u "${fixture}/expected" "${work}/expected.new" | sed 's/^/    /' || true
      cp "${work}/expected.new" "${fixture}/expected"
    fi
  fi
  if [ "${rc}" -ne 0 ]; then
    sed 's/^/    log: /' "${work}/maillog"
  fi
  if [ "${keep}" -eq 1 ]; then
    echo "    kept ${work}"
  else
    rm -rf "${work}"
  fi
  return "${rc}"
}

# The private instance: main.cf gets the instance paths appended (later
# settings win), master.cf is rewritten from `postconf -M` (one service per
# line): inet and pass services are dropped, nothing is chrooted, the
# infrastructure daemons keep their commands and every other service becomes
# `discard` logging as postfix/<service>.
build_instance() {
  local fixture="$1" work="$2" conf="$2/conf"
  cat >>"${conf}/main.cf" <<EOF

# ---- added by tests/golden/route/regen.sh for its private instance
queue_directory = ${work}/queue
data_directory = ${work}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = ${work}/maillog
maillog_file_prefixes = ${work}
EOF
  if ! postconf -c "${conf}" -M >"${work}/services" 2>"${work}/postconf.err"; then
    echo "FAILED $(basename "${fixture}"): postconf -M: $(head -n 1 "${work}/postconf.err")"
    return 1
  fi
  perl -e '
    my %infra = map { $_ => 1 } qw(pickup cleanup qmgr nqmgr oqmgr trivial-rewrite
      bounce verify flush proxymap proxywrite showq anvil scache tlsmgr postlogd);
    my $have_postlog = 0;
    while (<STDIN>) {
      chomp;
      next unless /\S/;
      my ($svc, $type, $priv, $unpriv, $chroot, $wake, $max, $cmd) =
        /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/
        or die "cannot parse postconf -M line: $_\n";
      next if $type eq "inet" || $type eq "pass";
      my ($prog) = split " ", $cmd;
      $have_postlog = 1 if $prog eq "postlogd";
      if ($infra{$prog}) {
        print join("\t", $svc, $type, $priv, $unpriv, "n", $wake, $max, $cmd), "\n";
      } else {
        die "service $svc contains a slash\n" if $svc =~ m{/};
        print join("\t", $svc, $type, $priv, $unpriv, "n", $wake, $max,
                   "discard -o syslog_name=postfix/$svc"), "\n";
      }
    }
    print "postlog\tunix-dgram\tn\t-\tn\t-\t1\tpostlogd\n" unless $have_postlog;
  ' <"${work}/services" >"${conf}/master.cf" || {
    echo "FAILED $(basename "${fixture}"): cannot rewrite master.cf"
    return 1
  }
  if ! postfix -c "${conf}" start >"${work}/start.out" 2>&1; then
    echo "FAILED $(basename "${fixture}"): postfix start: $(tail -n 2 "${work}/start.out" | tr '\n' ' ')"
    return 1
  fi
}

# Submits the message described by `args` and waits until Postfix is done
# with it: the queue manager logged "removed", or cleanup held or discarded
# it and the queue holds nothing in flight.
route_message() {
  local fixture="$1" work="$2" conf="$2/conf" name
  name="$(basename "${fixture}")"
  # args: "-f" + sender line, "-H" + header line, recipients; a line "--"
  # ends the options (for recipients that start with '-').
  local -a lines=() rcpts=()
  local sender="" have_sender=0 i=0 n options=1
  mapfile -t lines <"${fixture}/args"
  n=${#lines[@]}
  : >"${work}/message"
  while [ "${i}" -lt "${n}" ]; do
    if [ "${options}" -eq 0 ]; then
      rcpts+=("${lines[i]}"); i=$((i + 1)); continue
    fi
    case "${lines[i]}" in
      --)
        options=0; i=$((i + 1)) ;;
      -f)
        [ $((i + 1)) -lt "${n}" ] || { echo "FAILED ${name}: args: -f without a sender line"; return 1; }
        sender="${lines[i + 1]}"; have_sender=1; i=$((i + 2)) ;;
      -H)
        [ $((i + 1)) -lt "${n}" ] || { echo "FAILED ${name}: args: -H without a header line"; return 1; }
        printf '%s\n' "${lines[i + 1]}" >>"${work}/message"; i=$((i + 2)) ;;
      -*)
        echo "FAILED ${name}: args: unknown option ${lines[i]}"; return 1 ;;
      *)
        rcpts+=("${lines[i]}"); i=$((i + 1)) ;;
    esac
  done
  [ "${have_sender}" -eq 1 ] || { echo "FAILED ${name}: args: every fixture gives -f"; return 1; }
  [ "${#rcpts[@]}" -gt 0 ] || { echo "FAILED ${name}: args: no recipient"; return 1; }
  printf '\nrouting test for %s\n' "${name}" >>"${work}/message"
  if ! sendmail -C "${conf}" -f "${sender}" -- "${rcpts[@]}" <"${work}/message" >"${work}/sendmail.out" 2>&1; then
    echo "FAILED ${name}: sendmail: $(head -n 2 "${work}/sendmail.out" | tr '\n' ' ')"
    return 1
  fi
  local deadline=$((SECONDS + limit)) log="${work}/maillog" q="${work}/queue"
  while :; do
    if grep -Eq 'status=(deferred|bounced|expired)|(fatal|panic): ' "${log}"; then
      echo "FAILED ${name}: Postfix deferred, bounced or failed (see log)"
      return 1
    fi
    if [ -z "$(find "${q}/maildrop" "${q}/incoming" "${q}/active" "${q}/deferred" -type f 2>/dev/null)" ]; then
      if grep -Eq 'postfix/qmgr\[[0-9]+\]: [0-9A-F]+: removed$' "${log}"; then
        return 0
      fi
      if grep -Eq 'postfix/cleanup\[[0-9]+\]: [0-9A-F]+: (hold|discard): ' "${log}"; then
        return 0
      fi
    fi
    if [ "${SECONDS}" -ge "${deadline}" ]; then
      echo "FAILED ${name}: no result after ${limit}s"
      return 1
    fi
    sleep 0.1
  done
}

wait_for_master_exit() {
  local pidfile="$1/queue/pid/master.pid" pid i
  [ -f "${pidfile}" ] || return 0
  pid="$(tr -dc 0-9 <"${pidfile}")"
  [ -n "${pid}" ] || return 0
  for i in $(seq 1 100); do
    kill -0 "${pid}" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "regen.sh: warning: master ${pid} of $1 did not exit" >&2
}

# Turns the instance log into the expected output. Header-check action lines
# come first, in log order; delivery lines follow, sorted by (to, transport,
# nexthop) and then by the whole line, bytewise.
render_expected() {
  local fixture="$1" work="$2"
  perl -e '
    my ($fixture) = @ARGV;
    my %action = (filter => "filter", redirect => "redirect", hold => "hold",
                  discard => "discard", bcc => "bcc", warning => "warn", info => "info");
    my (@actions, @deliveries, %dsn_of_pid);
    open my $log, "<", "$ARGV[1]/maillog" or die "maillog: $!\n";
    while (my $line = <$log>) {
      chomp $line;
      my ($prog, $pid, $text) = $line =~ /^\S+\s+\d+\s+[\d:]+\s+\S+\s+(\S+)\[(\d+)\]: (.*)$/
        or next;
      if ($prog eq "postfix/cleanup"
          && $text =~ /^[0-9A-F]+: (\w+): header (.*) from local; from=<.*?> to=<.*?>(?:: (.*))?$/
          && exists $action{$1}) {
        push @actions, "action=$action{$1}\tdetail=" . (defined $3 ? $3 : "");
        next;
      }
      my ($svc) = $prog =~ m{^postfix/([^/]+)/discard$} or next;
      if ($text =~ /^warning: sent: ignoring dsn code "([^"]*)"$/) {
        $dsn_of_pid{$pid} = $1;
        next;
      }
      next if $text =~ /^warning: /;
      my ($to, $orig, $status, $why) =
        $text =~ /^[0-9A-F]+: to=<(.*?)>, (?:orig_to=<(.*?)>, )?relay=.*?, status=(\w+) \((.*)\)$/
        or die "unexpected delivery line: $line\n";
      die "not delivered: $line\n" unless $status eq "sent";
      # The discard agent splits a leading DSN code off its next hop and logs
      # only the text; the code comes back in the warning just before.
      my $nexthop = $why;
      $nexthop = delete($dsn_of_pid{$pid}) . " " . $why if exists $dsn_of_pid{$pid};
      push @deliveries, [$to, $svc, $nexthop, $orig];
    }
    my %source;
    for my $d (@deliveries) {
      my $svc = $d->[1];
      next if exists $source{$svc};
      my $cmd = `postconf -c \Q$fixture\E -hF \Q$svc\E/unix/command 2>/dev/null`;
      my ($prog) = split " ", $cmd;
      $prog = "" unless defined $prog;
      die "service $svc/unix not found in the fixture master.cf\n" if $prog eq "";
      my $param = $prog eq "smtp" ? "smtp_bind_address"
                : $prog eq "lmtp" ? "lmtp_bind_address" : "";
      my $value = "";
      if ($param ne "") {
        $value = `postconf -c \Q$fixture\E -xhP \Q$svc\E/unix/$param 2>/dev/null`;
        $value = `postconf -c \Q$fixture\E -xh $param 2>/dev/null` if $value eq "";
        chomp $value;
      }
      $source{$svc} = $value eq "" ? "-" : $value;
    }
    my @lines;
    for my $d (@deliveries) {
      my ($to, $svc, $nexthop, $orig) = @$d;
      my $l = "to=<$to>";
      $l .= "\torig_to=<$orig>" if defined $orig;
      $l .= "\ttransport=$svc\tnexthop=$nexthop\tsource=$source{$svc}";
      push @lines, [$to, $svc, $nexthop, $l];
    }
    @lines = sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1]
                    || $a->[2] cmp $b->[2] || $a->[3] cmp $b->[3] } @lines;
    print "$_\n" for @actions;
    print "$_->[3]\n" for @lines;
  ' "${fixture}" "${work}"
}

# ---------------------------------------------------------------- main loop
results="$(mktemp -d)"
trap 'rm -rf "${results}"' EXIT
running=0
index=0
for fixture in "${cases[@]}"; do
  index=$((index + 1))
  (
    if run_case "${fixture}" >"${results}/${index}.out" 2>&1; then
      :
    else
      : >"${results}/${index}.failed"
    fi
  ) &
  running=$((running + 1))
  if [ "${running}" -ge "${jobs}" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

failed=0
changed=0
for i in $(seq 1 "${index}"); do
  cat "${results}/${i}.out"
  [ -f "${results}/${i}.failed" ] && failed=$((failed + 1))
  grep -Eq '^(updated|new) ' "${results}/${i}.out" && changed=$((changed + 1))
done
echo "regen.sh: ${index} fixtures, ${changed} expected files written, ${failed} failed"
[ "${failed}" -eq 0 ]
