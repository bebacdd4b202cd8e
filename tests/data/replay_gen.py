#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Synthetic captures for the replay tests, and an independent oracle.

  replay_gen.py write DIR     write DIR/<variant>.pcap[ng] (one scenario in
                              every link type / timestamp precision / format)
                              and DIR/expect_default.csv, DIR/expect_compat.csv
  replay_gen.py bad DIR       malformed files for the bad-input tests

The oracle recomputes every CICFlowMeter column from the packet list
written (not from flowqoe's code): flows split as documented in
docs/features.md, statistics by brute force over per-packet lists.
"""
import math
import os
import struct
import sys

T0 = 1500000000 * 10**9  # capture clock, ns (multiples of 1 us below)
A, B, C6, D6 = '10.0.0.1', '10.0.0.2', 'fd00::1', 'fd00::2'


def ip4(s):
    return bytes(int(x) for x in s.split('.'))


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


class Pkt:
    def __init__(self, t_us, src, dst, proto, sport=0, dport=0, flags='', win=0,
                 payload=0, opts=0, pad_to=0):
        self.t = T0 + t_us * 1000
        self.src, self.dst, self.proto = src, dst, proto
        self.sport, self.dport, self.flags, self.win = sport, dport, flags, win
        self.payload, self.opts, self.pad_to = payload, opts, pad_to
        self.v6 = ':' in src

    def l4(self):
        if self.proto == 6:
            f = sum(b for c, b in zip('FSRPAUEC', (1, 2, 4, 8, 16, 32, 64, 128)) if c in self.flags)
            doff = (20 + self.opts) // 4
            h = struct.pack('!HHIIBBHHH', self.sport, self.dport, 1000, 0, doff << 4, f,
                            self.win, 0, 0) + b'\x01' * self.opts
        elif self.proto == 17:
            h = struct.pack('!HHHH', self.sport, self.dport, 8 + self.payload, 0)
        else:  # ICMP echo request, identifier in sport
            h = struct.pack('!BBHHH', 8 if not self.v6 else 128, 0, 0, self.sport, 1)
        return h + b'x' * self.payload

    def l4hdr(self):
        return 20 + self.opts if self.proto == 6 else 8

    def ip(self):
        l4 = self.l4()
        if self.v6:
            proto = 58 if self.proto == 1 else self.proto
            return struct.pack('!IHBB', 6 << 28, len(l4), proto, 64) + ip6(self.src) + ip6(self.dst) + l4
        h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 1, 0, 64, self.proto, 0,
                        ip4(self.src), ip4(self.dst))
        h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
        return h + l4

    def eth(self):
        et = 0x86DD if self.v6 else 0x0800
        f = b'\x02\0\0\0\0\x01\x02\0\0\0\0\x02' + struct.pack('!H', et) + self.ip()
        if len(f) < self.pad_to:
            f += b'\0' * (self.pad_to - len(f))
        return f


def scenario():
    P = []
    # TCP A->B: handshake, data both ways with bulks, a >1 s gap (subflow),
    # a >5 s gap (idle), teardown FIN/FIN/ACK; small frames padded to 60.
    t = 0
    P.append(Pkt(t, A, B, 6, 40000, 80, 'S', 64240, 0, 12, 60)); t += 150
    P.append(Pkt(t, B, A, 6, 80, 40000, 'SA', 65160, 0, 12, 60)); t += 90
    P.append(Pkt(t, A, B, 6, 40000, 80, 'A', 502, 0, 0, 60)); t += 40
    P.append(Pkt(t, A, B, 6, 40000, 80, 'PA', 502, 300)); t += 2000
    for i in range(6):  # backward bulk
        P.append(Pkt(t, B, A, 6, 80, 40000, 'A', 509, 1448)); t += 13 + i
    P.append(Pkt(t, A, B, 6, 40000, 80, 'A', 600, 0, 0, 60)); t += 1500000  # subflow gap
    for i in range(5):  # forward bulk
        P.append(Pkt(t, A, B, 6, 40000, 80, 'PA', 600, 100 + i)); t += 200
    P.append(Pkt(t, B, A, 6, 80, 40000, 'A', 510, 0)); t += 7000000  # idle gap
    P.append(Pkt(t, A, B, 6, 40000, 80, 'PAU', 600, 7)); t += 300
    P.append(Pkt(t, A, B, 6, 40000, 80, 'FA', 600, 0)); t += 60
    P.append(Pkt(t, B, A, 6, 80, 40000, 'A', 510, 0)); t += 30
    P.append(Pkt(t, B, A, 6, 80, 40000, 'FA', 510, 0)); t += 80
    P.append(Pkt(t, A, B, 6, 40000, 80, 'A', 600, 0, 0, 60))
    # UDP B->A lasting past the 120 s flow timeout: two flows
    for k in range(5):
        P.append(Pkt(1000 + k * 40000000, B, A, 17, 5353, 5353, payload=20 + k))
    # RST-ended TCP over IPv6
    P.append(Pkt(3000, C6, D6, 6, 1234, 443, 'S', 1000, 0, 20))
    P.append(Pkt(3100, D6, C6, 6, 443, 1234, 'RA', 0, 0))
    # ICMP echo, IPv4
    P.append(Pkt(4000, A, B, 1, 77, 77, payload=56))
    P.append(Pkt(5000, A, B, 1, 77, 77, payload=56))
    P.sort(key=lambda p: p.t)
    return P


# ---- writers ----------------------------------------------------------------

def frame_for(p, lt):
    ip = p.ip()
    if lt == 1:
        return p.eth()
    if lt == 101:
        return ip
    if lt == 113:  # SLL: type, ARPHRD, addr len, addr[8], protocol
        return struct.pack('!HHH8sH', 0, 1, 6, b'\2\0\0\0\0\1\0\0', 0x86DD if p.v6 else 0x0800) + ip
    if lt == 276:  # SLL2: protocol, reserved, ifindex, ARPHRD, type, addr len, addr[8]
        return struct.pack('!HHIHBB8s', 0x86DD if p.v6 else 0x0800, 0, 1, 1, 0, 6, b'\2\0\0\0\0\1\0\0') + ip
    if lt == 0:  # BSD loopback, host byte order (little endian here)
        return struct.pack('<I', 30 if p.v6 else 2) + ip
    if lt == 108:  # OpenBSD loopback, network order
        return struct.pack('!I', 24 if p.v6 else 2) + ip
    raise ValueError(lt)


def write_pcap(path, pkts, lt, nano=False, snap=65535, cut=None):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b23c4d if nano else 0xa1b2c3d4, 2, 4, 0, 0, snap, lt))
        for p in pkts:
            b = frame_for(p, lt)
            cap = b[:cut] if cut else b
            sec, ns = divmod(p.t, 10**9)
            f.write(struct.pack('<IIII', sec, ns if nano else ns // 1000, len(cap), len(b)) + cap)


def write_pcapng(path, pkts, lt):
    def block(t, body):
        n = 12 + len(body) + (-len(body)) % 4
        return struct.pack('<II', t, n) + body + b'\0' * ((-len(body)) % 4) + struct.pack('<I', n)
    with open(path, 'wb') as f:
        f.write(block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1)))
        # if_tsresol = 9 (ns)
        f.write(block(1, struct.pack('<HHI', lt, 0, 65535) + struct.pack('<HHB3x', 9, 1, 9) + b'\0' * 4))
        for p in pkts:
            b = frame_for(p, lt)
            f.write(block(6, struct.pack('<IIIII', 0, p.t >> 32, p.t & 0xffffffff, len(b), len(b)) + b))


# ---- oracle -----------------------------------------------------------------

def sstd(xs):
    n = len(xs)
    if n < 2:
        return 0.0
    m = sum(xs) / n
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))


def stats(xs):
    return (sum(xs) / len(xs), sstd(xs), max(xs), min(xs)) if xs else (0, 0, 0, 0)


def key(p):
    a, b = (p.src, p.sport), (p.dst, p.dport)
    return (p.proto, min(a, b), max(a, b))


def flows_of(pkts, compat, timeout_us=120e6, linger_us=1e6):
    done, cur = [], {}
    for p in pkts:
        t_us = (p.t - T0) / 1000
        for k in list(cur):  # timeouts and lingering closed flows end first
            f = cur[k]
            if t_us - f['t0'] > timeout_us or (f['closed'] is not None and t_us - f['closed'] > linger_us):
                done.append(cur.pop(k)['pk'])
        k = key(p)
        if k not in cur:
            cur[k] = {'t0': t_us, 'pk': [p], 'closed': None, 'fin': set(), 'rst': False}
            continue
        f = cur[k]
        f['pk'].append(p)
        if p.proto == 6 and 'F' in p.flags:
            if compat:
                done.append(cur.pop(k)['pk'])
                continue
            f['fin'].add(p.src)
        if p.proto == 6 and 'R' in p.flags:
            f['rst'] = True
        if f['closed'] is None and (len(f['fin']) == 2 or f['rst']):
            f['closed'] = t_us
    return done + [f['pk'] for f in cur.values()]


def features(pk, compat, act_us=5e6):
    """Column name (stripped CIC-IDS2017) -> value."""
    first = pk[0]
    fw = [p for p in pk if (p.src, p.sport) == (first.src, first.sport)]
    bw = [p for p in pk if (p.src, p.sport) != (first.src, first.sport)]
    us = lambda p: (p.t - T0) // 1000
    pl = lambda p: p.payload
    dur = us(pk[-1]) - us(pk[0])
    iat = lambda ps: [us(b) - us(a) for a, b in zip(ps, ps[1:])]
    v = {}
    v['Flow Duration'] = dur
    v['Total Fwd Packets'], v['Total Backward Packets'] = len(fw), len(bw)
    v['Total Length of Fwd Packets'] = sum(map(pl, fw))
    v['Total Length of Bwd Packets'] = sum(map(pl, bw))
    for name, ps in (('Fwd', fw), ('Bwd', bw)):
        xs = [pl(p) for p in ps]
        m = stats(xs)
        v[name + ' Packet Length Max'], v[name + ' Packet Length Min'] = m[2], m[3]
        v[name + ' Packet Length Mean'], v[name + ' Packet Length Std'] = m[0], m[1]
    tot = sum(map(pl, pk))
    s = dur / 1e6
    v['Flow Bytes/s'] = tot / s if s else (0 if not compat else (math.inf if tot else math.nan))
    v['Flow Packets/s'] = len(pk) / s if s else (0 if not compat else math.inf)
    m = stats(iat(pk))
    v['Flow IAT Mean'], v['Flow IAT Std'], v['Flow IAT Max'], v['Flow IAT Min'] = m
    for name, ps in (('Fwd', fw), ('Bwd', bw)):
        xs = iat(ps)
        m = stats(xs)
        v[name + ' IAT Total'] = sum(xs)
        v[name + ' IAT Mean'], v[name + ' IAT Std'], v[name + ' IAT Max'], v[name + ' IAT Min'] = m
    fl = lambda ps, c: sum(1 for p in ps if p.proto == 6 and c in p.flags)
    v['Fwd PSH Flags'], v['Bwd PSH Flags'] = fl(fw, 'P'), fl(bw, 'P')
    v['Fwd URG Flags'], v['Bwd URG Flags'] = fl(fw, 'U'), fl(bw, 'U')
    v['Fwd Header Length'] = v['Fwd Header Length.1'] = sum(p.l4hdr() for p in fw)
    v['Bwd Header Length'] = sum(p.l4hdr() for p in bw)
    v['Fwd Packets/s'] = len(fw) / s if s else 0
    v['Bwd Packets/s'] = len(bw) / s if s else 0
    xs = [pl(p) for p in pk] + ([pl(first)] if compat else [])
    v['Min Packet Length'], v['Max Packet Length'] = min(xs), max(xs)
    v['Packet Length Mean'] = sum(xs) / len(xs)
    v['Packet Length Std'] = sstd(xs)
    v['Packet Length Variance'] = sstd(xs) ** 2
    for n, c in (('FIN', 'F'), ('SYN', 'S'), ('RST', 'R'), ('PSH', 'P'), ('ACK', 'A'),
                 ('URG', 'U'), ('CWE', 'C'), ('ECE', 'E')):
        v[n + ' Flag Count'] = fl(pk, c)
    v['Down/Up Ratio'] = (len(bw) // len(fw)) if compat else len(bw) / len(fw)
    v['Average Packet Size'] = sum(xs) / len(pk)
    v['Avg Fwd Segment Size'] = v['Fwd Packet Length Mean']
    v['Avg Bwd Segment Size'] = v['Bwd Packet Length Mean']

    def bulks(seq):  # seq: (t_us, size, dir); CIC's state machine per direction
        st = {d: dict(start=0, last=0, cnt=0, size=0, n=0, pk=0, by=0, du=0) for d in (0, 1, 'all')}
        def upd(b, other_last, size, t):
            if other_last > b['start']:
                b['start'] = 0
            if size <= 0:
                return
            if b['start'] == 0 or t - b['last'] > 1e6:
                b.update(start=t, last=t, cnt=1, size=size)
                return
            b['cnt'] += 1
            b['size'] += size
            if b['cnt'] == 4:
                b['n'] += 1; b['pk'] += 4; b['by'] += b['size']; b['du'] += t - b['start']
            elif b['cnt'] > 4:
                b['pk'] += 1; b['by'] += size; b['du'] += t - b['last']
            b['last'] = t
        for t, size, d in seq:
            upd(st[d], st[1 - d]['last'], size, t)
            upd(st['all'], 0, size, t)
        return st
    st = bulks([(us(p), pl(p), 0 if p in fw else 1) for p in pk])
    if compat:
        a = st['all']
        v['Fwd Avg Bytes/Bulk'] = v['Fwd Avg Packets/Bulk'] = v['Fwd Avg Bulk Rate'] = 0
        v['Bwd Avg Bytes/Bulk'] = 0
        v['Bwd Avg Packets/Bulk'] = a['pk'] // a['n'] if a['n'] else 0
        v['Bwd Avg Bulk Rate'] = math.floor(a['by'] / (a['du'] / 1e6)) if a['du'] else 0
    else:
        for name, d in (('Fwd', 0), ('Bwd', 1)):
            b = st[d]
            v[name + ' Avg Bytes/Bulk'] = b['by'] / b['n'] if b['n'] else 0
            v[name + ' Avg Packets/Bulk'] = b['pk'] / b['n'] if b['n'] else 0
            v[name + ' Avg Bulk Rate'] = b['by'] / (b['du'] / 1e6) if b['du'] else 0
    n = len(pk)
    if compat:
        sf = n
        q = lambda x: x // sf
    else:
        sf = 1 + sum(1 for g in iat(pk) if g > 1e6)
        q = lambda x: x / sf
    v['Subflow Fwd Packets'], v['Subflow Fwd Bytes'] = q(len(fw)), q(sum(map(pl, fw)))
    v['Subflow Bwd Packets'], v['Subflow Bwd Bytes'] = q(len(bw)), q(sum(map(pl, bw)))
    tcp = first.proto == 6
    v['Init_Win_bytes_forward'] = fw[0].win if tcp else -1
    v['Init_Win_bytes_backward'] = (bw[-1].win if compat else bw[0].win) if tcp and bw else -1
    v['act_data_pkt_fwd'] = sum(1 for p in (fw[1:] if compat else fw) if pl(p) > 0)
    v['min_seg_size_forward'] = min(p.l4hdr() for p in fw)
    act, idle = [], []
    sa = ea = us(pk[0])
    for p in pk[1:]:
        t = us(p)
        if t - ea > act_us:
            if ea > sa:
                act.append(ea - sa)
            idle.append(t - ea)
            sa = t
        ea = t
    if not compat and ea > sa:
        act.append(ea - sa)
    for name, xs in (('Active', act), ('Idle', idle)):
        m = stats(xs)
        v[name + ' Mean'], v[name + ' Std'], v[name + ' Max'], v[name + ' Min'] = m
    v['Source IP'], v['Source Port'] = first.src, first.sport
    v['Destination IP'], v['Destination Port'] = first.dst, first.dport
    v['Protocol'] = first.proto
    v['_first_ns'] = first.t
    return v


def write_expect(path, pkts, compat):
    rows = [features(f, compat) for f in flows_of(pkts, compat)]
    cols = [c for c in rows[0] if not c.startswith('_')]
    with open(path, 'w') as f:
        f.write(','.join(cols) + '\n')
        for r in sorted(rows, key=lambda r: (r['_first_ns'], r['Source Port'])):
            f.write(','.join(repr(r[c]) if isinstance(r[c], float) else str(r[c]) for c in cols) + '\n')


def write_all(d):
    P = scenario()
    os.makedirs(d, exist_ok=True)
    for name, lt, nano in (('eth_us', 1, False), ('eth_ns', 1, True), ('raw', 101, False),
                           ('sll', 113, False), ('sll2', 276, True), ('null', 0, False),
                           ('loop', 108, False)):
        write_pcap(os.path.join(d, name + '.pcap'), P, lt, nano)
    write_pcapng(os.path.join(d, 'eth.pcapng'), P, 1)
    # snaplen 80: the headers are there, the payload is not
    write_pcap(os.path.join(d, 'snap80.pcap'), P, 1, snap=80, cut=80)
    write_expect(os.path.join(d, 'expect_default.csv'), P, False)
    write_expect(os.path.join(d, 'expect_compat.csv'), P, True)


def write_bad(d):
    P = scenario()
    os.makedirs(d, exist_ok=True)
    good = os.path.join(d, 'good.pcap')
    write_pcap(good, P, 1)
    raw = open(good, 'rb').read()
    open(os.path.join(d, 'truncated.pcap'), 'wb').write(raw[:len(raw) - 37])
    # record 3's caplen set beyond any snaplen
    off = 24
    for _ in range(2):
        off += 16 + struct.unpack('<I', raw[off + 8:off + 12])[0]
    bad = bytearray(raw)
    struct.pack_into('<I', bad, off + 8, 0x7fffffff)
    open(os.path.join(d, 'badlen.pcap'), 'wb').write(bytes(bad))
    hdr = bytearray(raw[:24])
    struct.pack_into('<I', hdr, 20, 147)  # LINKTYPE_USER0
    open(os.path.join(d, 'linktype.pcap'), 'wb').write(bytes(hdr) + raw[24:])
    open(os.path.join(d, 'notpcap.pcap'), 'wb').write(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n' * 3)
    open(os.path.join(d, 'empty.pcap'), 'wb').write(b'')
    # a zero-length record and a backwards timestamp among good ones
    with open(os.path.join(d, 'zero_back.pcap'), 'wb') as f:
        f.write(raw[:24])
        f.write(struct.pack('<IIII', 1500000000, 0, 0, 0))
        a = P[0].eth()
        f.write(struct.pack('<IIII', 1500000010, 0, len(a), len(a)) + a)
        b = P[1].eth()
        f.write(struct.pack('<IIII', 1500000005, 0, len(b), len(b)) + b)


if __name__ == '__main__':
    {'write': write_all, 'bad': write_bad}[sys.argv[1]](sys.argv[2])
