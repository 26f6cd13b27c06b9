#!/usr/bin/env python3
"""Writes the queue_record fuzz seeds (tests/fuzz/corpus/queue_record/).

An independent writer of runtime/queue_format.md: if the C++ reader refuses
these seeds as a whole, the format document and the code disagree.
Usage: tests/fuzz/make_queue_record_seeds.py [OUT_DIR]
"""
import os
import struct
import sys

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

def mask(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)

def string(s):
    if isinstance(s, str):
        s = s.encode()
    return varint(len(s)) + s

def record(rtype, payload):
    body = struct.pack('<I', len(payload)) + bytes([rtype]) + payload
    return struct.pack('<I', mask(crc32c(body))) + body

def header(segment, next_seq):
    return record(1, b'PHQSEG' + varint(2) + varint(segment) + varint(next_seq))

def message(qid, seq, state, sender, rcpts, content, flags=0, filt='', hold='',
            next_attempt=0, attempts=0, warned=False):
    p = string(qid) + varint(seq) + bytes([state]) + varint(1700000000123456) + varint(flags)
    p += string(sender) + string(filt) + string(hold) + varint(next_attempt) + varint(attempts)
    p += bytes([1 if warned else 0]) + varint(len(rcpts))
    for r in rcpts:
        addr, status, reason = r[:3]
        original, dsn, diag, mta = (list(r[3:]) + ['', '', '', ''])[:4]
        p += string(addr) + string(original) + bytes([status]) + string(reason)
        p += string(dsn) + string(diag) + string(mta)
    return record(2, p + content)

def state(qid, st):
    return record(3, string(qid) + bytes([st]))

def rcpt(qid, idx, status, reason, dsn='', diag='', mta=''):
    return record(4, string(qid) + varint(idx) + bytes([status]) + string(reason)
                  + string(dsn) + string(diag) + string(mta))

def schedule(qid, next_attempt, attempts, warned):
    return record(6, string(qid) + varint(next_attempt) + varint(attempts)
                  + bytes([1 if warned else 0]))

def remove(qid):
    return record(5, string(qid))

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus', 'queue_record')
    os.makedirs(out, exist_ok=True)
    msg1 = message('1E2402A5F', 0x2A5F, 0, 'alice@example.com',
                   [('bob@example.net', 0, ''), ('carol@example.net', 0, '')],
                   b'Subject: hello\n\nbody line\n')
    msg2 = message('4SVLCh0sf8zLDg6L', 123456789, 2, '',
                   [('postmaster', 2, '450 4.2.0 try again', 'Postmaster@Example.COM', '4.2.0',
                     'smtp; 450 4.2.0 try again', 'mx.example.com')], b'x' * 300, flags=1,
                   filt='bulk:[10.0.0.1]:10025', next_attempt=1700000300000000, attempts=1)
    seeds = {
        'segment-full': header(1, 10) + msg1 + state('1E2402A5F', 1)
                        + rcpt('1E2402A5F', 0, 1, '') + msg2
                        + schedule('4SVLCh0sf8zLDg6L', 1700000600000000, 2, True)
                        + rcpt('1E2402A5F', 1, 4, '550 5.1.1 unknown', '5.1.1',
                               'smtp; 550 5.1.1 unknown', 'mx.example.net')
                        + remove('4SVLCh0sf8zLDg6L'),
        'segment-torn-tail': header(2, 10) + msg1 + msg2[:-7],
        'header-only': header(3, 1),
        'message-only': msg1,
        'small-records': state('ABC', 3) + rcpt('ABC', 5, 3, '550 5.1.1 unknown') + remove('ABC')
                         + schedule('ABC', 1, 2, False),
        'held-message': message('HOLD1', 7, 3, 'a@example.com', [('b@example.com', 0, '')],
                                b'Subject: x\n\n', hold='header Subject: x'),
        'content-with-records': message('00001', 1, 0, 's@x', [('r@x', 0, '')],
                                        header(9, 9) + state('00001', 3)),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)

if __name__ == '__main__':
    main()
