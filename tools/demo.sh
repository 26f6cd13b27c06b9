#!/usr/bin/env bash
# demo.sh: the main job on the bundled example, end to end.
#
#   tools/demo.sh [BUILD_DIR]
#
# Compiles examples/ (with virtual_mailbox_base pointed into BUILD_DIR/demo),
# starts posthasted on 127.0.0.1, sends a test message through it over SMTP,
# waits until the message is delivered into alice@example.com's Maildir under
# BUILD_DIR/demo/mail, shows it, and stops the server. Exit status 0 only when
# the message arrived.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
demo="$build/demo"
phc="$build/tools/phc"
posthasted="$build/runtime/posthasted"
phctl="$build/runtime/phctl"

rm -rf "$demo"
mkdir -p "$demo/etc" "$demo/mail"
cp "$root"/examples/main.cf "$root"/examples/master.cf "$root"/examples/header_checks "$demo/etc/"
sed -i "s|^virtual_mailbox_base = .*|virtual_mailbox_base = $demo/mail|" "$demo/etc/main.cf"

echo "== phc check -c $demo/etc"
"$phc" check -c "$demo/etc"
echo "== phc build -c $demo/etc -o $demo/bundle"
"$phc" build -c "$demo/etc" -o "$demo/bundle"

# As root, posthasted drops to mail_owner (postfix): the Maildirs must be its.
if [ "$(id -u)" = 0 ] && id postfix >/dev/null 2>&1; then
  chown postfix: "$demo/mail"
fi

echo "== starting posthasted (log: $demo/maillog)"
"$posthasted" --bundle "$demo/bundle" --queue-directory "$demo/queue" \
  --listen 127.0.0.1:2525=127.0.0.1:0 --ready-file "$demo/ready" --log-stderr \
  >"$demo/maillog" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q '^control ' "$demo/ready" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$demo/maillog"; exit 1; }
  sleep 0.1
done
port=$(awk '$1 == "127.0.0.1:2525" { n = split($2, a, ":"); print a[n] }' "$demo/ready")
echo "listening on 127.0.0.1:$port"

echo "== sending a message to alice@example.com"
python3 - "$port" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.set_debuglevel(0)
    s.ehlo("demo.example.org")
    s.sendmail("demo@example.org", ["alice@example.com"],
               b"Subject: hello from the posthaste demo\r\n"
               b"From: demo@example.org\r\nTo: alice@example.com\r\n\r\n"
               b"This message went through posthasted into a Maildir.\r\n")
    print("accepted by posthasted")
PY

for _ in $(seq 200); do
  files=$(find "$demo/mail/alice/new" -type f 2>/dev/null | head -1)
  [ -n "$files" ] && break
  sleep 0.1
done
if [ -z "${files:-}" ]; then
  echo "not delivered; log follows"; cat "$demo/maillog"; exit 1
fi
echo "== delivered: $files"
cat "$files"
echo "== phctl status"
"$phctl" --bundle "$demo/bundle" --queue-directory "$demo/queue" status
echo "== log"
cat "$demo/maillog"
