#!/usr/bin/env python3
"""idle_conns.py: open N SMTP connections, read each banner, then hold them idle.

usage: idle_conns.py HOST PORT N STATUS_FILE [TIMEOUT_S]

All connections come from 127.0.0.1 (the server must not limit connections per client:
smtpd_client_connection_count_limit = 0, or 127.0.0.1 in its exceptions; other loopback
source addresses would make the server's reverse lookups go to DNS). Once every
connection has its banner (or TIMEOUT_S has passed), writes
"opened=N banners=B refused=R" to STATUS_FILE and sleeps until SIGTERM; all sockets close
when the process exits. Needs RLIMIT_NOFILE above N.
"""
import errno
import os
import selectors
import signal
import socket
import sys
import time

host, port, n, status_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 30.0

sel = selectors.DefaultSelector()
socks = []
banner = {}
refused = 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    err = s.connect_ex((host, port))
    if err not in (0, errno.EINPROGRESS):
        refused += 1
        s.close()
        continue
    socks.append(s)
    banner[s] = b""
    sel.register(s, selectors.EVENT_READ)

deadline = time.time() + timeout
waiting = len(socks)
got = 0
while waiting and time.time() < deadline:
    for key, _ in sel.select(timeout=0.5):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            refused += 1
            sel.unregister(s)
            waiting -= 1
            continue
        banner[s] += data
        if b"\n" in banner[s]:
            if banner[s].startswith(b"220"):
                got += 1
            else:
                refused += 1
            sel.unregister(s)
            waiting -= 1

with open(status_file + ".tmp", "w") as f:
    f.write(f"opened={len(socks)} banners={got} refused={refused}\n")
os.rename(status_file + ".tmp", status_file)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    signal.pause()
