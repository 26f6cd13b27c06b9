#!/usr/bin/env python3
"""sink_wait.py: wait until smtp-sink has received TARGET messages.

Reads `smtp-sink -c` counter output on stdin ("sess=N quit=N mesg=N" records ended by CR)
and exits as soon as mesg >= TARGET, printing "DONE <time.time()> <count> first=<time>".
On timeout or end of input it prints "TIMEOUT ..." or "EOF ..." and exits 1.

usage: smtp-sink -c ... | sink_wait.py TARGET [TIMEOUT_S]
"""
import os
import re
import select
import sys
import time

target = int(sys.argv[1])
deadline = time.time() + (float(sys.argv[2]) if len(sys.argv) > 2 else 600.0)
fd = sys.stdin.fileno()
counter = re.compile(rb"mesg=(\d+)")
tail = b""
last = 0
first = None
while True:
    left = deadline - time.time()
    if left <= 0:
        print(f"TIMEOUT {time.time():.6f} {last} first={first}")
        sys.exit(1)
    ready, _, _ = select.select([fd], [], [], min(left, 1.0))
    if not ready:
        continue
    chunk = os.read(fd, 65536)
    if not chunk:
        print(f"EOF {time.time():.6f} {last} first={first}")
        sys.exit(1)
    data = tail + chunk
    end = data.rfind(b"\r")
    if end < 0:
        tail = data
        continue
    tail = data[end + 1:]
    m = None
    for m in counter.finditer(data, 0, end):
        pass
    if m:
        last = int(m.group(1))
        if first is None and last > 0:
            first = time.time()
        if last >= target:
            print(f"DONE {time.time():.6f} {last} first={first:.6f}", flush=True)
            sys.exit(0)
