#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Captures for `flowqoe replay --windows`, and an independent oracle.

  replay_windows.py write DIR
        DIR/mix.pcap  ~4000 packets: IPv4 and IPv6 conversations, TCP, UDP,
                      ICMP, ARP (not IP: no window), bursts, gaps of one to
                      many windows, a conversation whose responder speaks
                      first after a long silence
        DIR/big.pcap  60000 packets over 300 conversations: with 10 ms
                      windows, more records than the 4 MiB ring buffer holds
  replay_windows.py check NAME SCENARIO WIN_MS CSV
        the records of CSV (replay --windows) equal the oracle's windows of
        SCENARIO (mix|big), one "ok"/"not ok" line
  replay_windows.py count SCENARIO WIN_MS
        the oracle's number of windows

The oracle works from the packet list written, by brute force over
per-window lists of packets, with the rules of bpf/flowqoe.h and
docs/: a conversation is an unordered IP address pair; windows are aligned
to multiples of the window length on the capture clock; forward is the
direction of the conversation's first packet in the capture; sizes are IP
lengths; an IAT is the gap to the previous packet of the same direction in
the same window (microseconds); standard deviations are population ones;
an empty direction, or one with no IAT sample, reports zeros.  Every time
is a whole number of microseconds, so IATs in us are exact and the
oracle's statistics are plain means and deviations of exact lists.
"""
import csv
import math
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay_gen import Pkt, T0, write_pcap  # noqa: E402

FEAT = ['fwd_size_mean', 'fwd_size_std', 'fwd_iat_mean', 'fwd_iat_std', 'fwd_bytes', 'fwd_packets',
        'bwd_size_mean', 'bwd_size_std', 'bwd_iat_mean', 'bwd_iat_std', 'bwd_bytes', 'bwd_packets']


class Arp:
    """A non-IP frame: the datapath counts it and opens no window."""
    def __init__(self, t_us):
        self.t = T0 + t_us * 1000
        self.v6 = False

    def eth(self):
        return (b'\xff' * 6 + b'\x02\0\0\0\0\x09' + b'\x08\x06' +
                struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + b'\x02\0\0\0\0\x09' +
                bytes([10, 0, 0, 9]) + b'\0' * 6 + bytes([10, 0, 0, 1]))

    def ip(self):
        return None


def mix():
    rnd = random.Random(20261123)
    hosts4 = ['10.1.0.%d' % i for i in range(1, 7)]
    hosts6 = ['fd00:1::%x' % i for i in range(1, 4)]
    P = []
    t = 0
    for i in range(4000):
        # bursts of 0..2 ms, one gap in ten of 40..300 ms, one in 500 of 20 s
        r = rnd.random()
        t += (20000000 if r < 0.002 else rnd.randrange(40000, 300000) if r < 0.1
              else rnd.randrange(0, 2000))
        hs = hosts6 if rnd.random() < 0.25 else hosts4
        a, b = rnd.sample(hs, 2)
        proto = rnd.choice((6, 6, 17, 17, 1))
        sp, dp = (40000 + hs.index(a), 443) if proto != 1 else (7, 7)
        P.append(Pkt(t, a, b, proto, sp, dp, 'A' if proto == 6 else '', 1000,
                     rnd.randrange(0, 1400)))
        if i % 97 == 0:
            P.append(Arp(t))
    # a conversation first seen from X, silent for 30 s, then Y speaks first:
    # forward stays X -> Y for the whole capture
    x, y = '10.2.0.1', '10.2.0.2'
    P.append(Pkt(5000, x, y, 17, 1000, 2000, payload=10))
    P.append(Pkt(5500, y, x, 17, 2000, 1000, payload=20))
    P.append(Pkt(30005000, y, x, 17, 2000, 1000, payload=30))
    P.append(Pkt(30005100, y, x, 17, 2000, 1000, payload=31))
    P.append(Pkt(30005300, x, y, 17, 1000, 2000, payload=40))
    P.sort(key=lambda p: p.t)
    return P


def big():
    rnd = random.Random(7)
    convs = [('10.3.%d.%d' % (i // 200, 1 + i % 200), '10.4.0.%d' % (1 + i % 50)) for i in range(300)]
    P = []
    t = 0
    for i in range(60000):
        t += rnd.randrange(0, 800)
        a, b = rnd.choice(convs)
        if rnd.random() < 0.5:
            a, b = b, a
        P.append(Pkt(t, a, b, 17, 5000, 5001, payload=rnd.randrange(0, 400)))
    return P


SCEN = {'mix': mix, 'big': big}


def oracle(pkts, win_ns):
    """{(start_ns, src, dst): [12 features]}; src is the forward sender."""
    first = {}
    lists = {}
    for p in pkts:
        ip = p.ip()
        if ip is None:
            continue
        pair = frozenset((p.src, p.dst))
        first.setdefault(pair, p.src)
        start = p.t - p.t % win_ns
        lists.setdefault((pair, start), []).append((p.t, p.src, len(ip)))
    out = {}
    for (pair, start), pl in lists.items():
        src = first[pair]
        dst = next(iter(pair - {src}))
        feats = []
        for sender in (src, dst):
            ts = [t for t, s, _ in pl if s == sender]
            sz = [n for _, s, n in pl if s == sender]
            iat = [(b - a) / 1000 for a, b in zip(ts, ts[1:])]
            for xs in (sz, iat):
                if xs:
                    m = sum(xs) / len(xs)
                    feats += [m, math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))]
                else:
                    feats += [0.0, 0.0]
            feats += [float(sum(sz)), float(len(sz))]
        out[(start, src, dst)] = feats
    return out


def close(a, b, mean):
    # std: compare variances (the datapath keeps sums of squares: E[x^2]-m^2
    # loses digits when the deviation is small against the mean)
    return abs(a - b) <= 1e-9 * max(1.0, abs(b)) or abs(a * a - b * b) <= 1e-9 * (mean * mean + 1)


def check(name, scen, win_ms, path):
    want = oracle(SCEN[scen](), int(round(float(win_ms) * 1e6)))
    got = {}
    dup = 0
    with open(path) as f:
        for r in csv.DictReader(f):
            s, ns = r['start'].split('.')
            k = (int(s) * 10**9 + int(ns), r['src'], r['dst'])
            if k in got:
                dup += 1
            got[k] = [float(r[c]) for c in FEAT]
            if abs(float(r['duration_ms']) - float(win_ms)) > 1e-9:
                print('not ok %s: duration_ms %s' % (name, r['duration_ms']))
                return
    bad = []
    for k in sorted(set(want) | set(got)):
        if k not in got:
            bad.append('missing %r' % (k,))
        elif k not in want:
            bad.append('extra %r' % (k,))
        else:
            w, g = want[k], got[k]
            for i, c in enumerate(FEAT):
                m = w[i - 1] if c.endswith('_std') else w[i]
                if not close(g[i], w[i], m):
                    bad.append('%r %s: got %r want %r' % (k, c, g[i], w[i]))
    if dup:
        bad.insert(0, '%d duplicate records' % dup)
    if bad:
        print('not ok %s: %d differences, e.g. %s' % (name, len(bad), '; '.join(bad[:3])))
    else:
        print('ok %s (%d windows, every feature equal)' % (name, len(want)))


def main():
    cmd = sys.argv[1]
    if cmd == 'write':
        d = sys.argv[2]
        os.makedirs(d, exist_ok=True)
        for n, fn in SCEN.items():
            write_pcap(os.path.join(d, n + '.pcap'), fn(), 1, nano=True)
    elif cmd == 'check':
        check(*sys.argv[2:6])
    elif cmd == 'count':
        print(len(oracle(SCEN[sys.argv[2]](), int(round(float(sys.argv[3]) * 1e6)))))
    else:
        sys.exit('usage: replay_windows.py write DIR | check NAME SCEN WIN_MS CSV | count SCEN WIN_MS')


if __name__ == '__main__':
    main()
