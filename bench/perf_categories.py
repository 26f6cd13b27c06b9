#!/usr/bin/env python3
"""perf_categories.py: sum a perf profile's self samples into coarse categories.

usage: perf report -i perf.data --no-children --sort dso,sym --stdio -g none | perf_categories.py

Each symbol's self share goes to the first category whose pattern matches "dso symbol";
prints the categories, largest first, with the top symbols of each. The categories are a
reading aid for where posthasted's time goes (scheduler and wake-ups, TCP, file system,
allocator, Asio machinery, our own code, name lookups ...), not an exact accounting:
inlined code is charged to its caller.
"""
import re
import sys
from collections import defaultdict

CATEGORIES = [
    ("kernel: scheduler, wake-ups, futex",
     r"\[kernel.kallsyms\].*(finish_task_switch|_raw_spin_unlock_irq|__schedule|futex|try_to_wake_up|"
     r"select_task_rq|enqueue_task|dequeue_task|update_curr|pick_next|psi_|ttwu|sched_|switch_mm|"
     r"__switch_to|native_sched_clock|update_load|reweight|set_next_entity|put_prev)"),
    ("kernel: file system and block (queue writes, fdatasync)",
     r"\[kernel.kallsyms\].*(ext4|jbd2|folio|filemap|iowrite|virtio|blk_|bio_|block_write|"
     r"generic_perform_write|copy_page_from|mark_buffer|__block|submit_|writeback|do_fsync|"
     r"file_write|xas_|memset_orig|clear_page)"),
    ("kernel: TCP/IP, sockets, epoll",
     r"\[kernel.kallsyms\].*(tcp|skb|inet|sock|ip_|ipv4|net_|netif|__dev|dev_|loopback|napi|"
     r"softirq|epoll|ep_|__sys_(send|recv|accept|connect)|_copy_to_iter|_copy_from_iter|"
     r"copyout|copyin|release_sock|lock_sock|kfree_skbmem|__kfree_skb|sk_|nf_|fib|dst_|rt_)"),
    ("kernel: other (syscall entry, memory, files)", r"\[kernel.kallsyms\]"),
    ("allocator (malloc/free)",
     r"(malloc|_int_free|cfree|free@|unlink_chunk|malloc_consolidate|operator new|operator delete|"
     r"tcache|sysmalloc|_int_realloc|realloc)"),
    ("name lookups (getnameinfo/getaddrinfo, nss files)",
     r"(nss_|getnameinfo|getaddrinfo|gethostby|_IO_|fopen|fgets|getline|__inet_|res_|resolv|"
     r"inet_pton|inet_ntop|gaih|__check_pf|idna)"),
    ("Asio machinery (executors, strands, coroutines, timers)", r"asio::|_ZN4asio|co_spawn"),
    ("posthaste code", r"posthaste::"),
    ("libc: locks, threads", r"pthread|__lll_|mutex|cond_"),
    ("libc: memory copy/compare", r"mem(move|cpy|cmp|set|chr)|str(len|chr|cmp)"),
    ("libstdc++/abseil", r"libstdc\+\+|libabsl|std::"),
    ("other", r"."),
]

line_re = re.compile(r"^\s+([0-9.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$")
totals = defaultdict(float)
tops = defaultdict(list)
compiled = [(name, re.compile(p)) for name, p in CATEGORIES]
for line in sys.stdin:
    m = line_re.match(line)
    if not m:
        continue
    share, dso, _, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
    key = f"{dso} {sym}"
    for name, pat in compiled:
        if pat.search(key):
            totals[name] += share
            tops[name].append((share, sym))
            break
for name, share in sorted(totals.items(), key=lambda kv: -kv[1]):
    top = ", ".join(f"{s[:60]} {p:.1f}" for p, s in sorted(tops[name], reverse=True)[:4])
    print(f"{share:5.1f}%  {name}\n        top: {top}")
