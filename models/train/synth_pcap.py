#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Turn the per-packet video traces of video-csv-uuu/ into pcap files.

Each trace file holds several sessions ("session,<res>_<id>" lines, then
"rel_ts_us,len" and one packet per line).  What the data says, checked on
all 4 files (see models/video_service.report.md):

* len is the FRAME length including the 14-byte Ethernet header: the most
  common Twitch sizes are 1514 (full Ethernet frame) and 54 (bare TCP ACK,
  14 + 20 + 20), the YouTube/QUIC ones 1292 (1250-byte UDP payload + 8 + 20
  + 14).  So the IP total length written is |len| - 14.
* the sign: positive = client -> server (uplink), negative = downlink.  The
  dataset's own README does not say; the shared MANIFEST says the opposite,
  but the data settle it: every session starts with a positive packet (TCP
  SYN 66 or QUIC Initial 1292, both sent by the client) and 99% of the bytes
  are negative (the video).
* YouTube sessions have packets up to 243 us out of time order (the traces
  are "merged"); they are written sorted by time (stable), so replay sees a
  monotonic clock.  61 Twitch uplink packets are larger than 1514 (TSO
  segments seen before segmentation); they are written as they are.

Every session becomes one bidirectional flow with synthetic addresses
(client 10.<file>.<session>.2:<40000+session> -> server
10.<file>.<session>.1:443), UDP for YouTube (QUIC) and TCP for Twitch
(TLS), zero payload bytes, sessions 1000 s apart so no flow timeout can
join two.  Addresses and ports only carry the session id back to the label;
they are never features.
"""
import os
import struct
import sys

ETH = 14
LINKTYPE_ETHERNET = 1
BASE_TS = 1600000000


def read_sessions(path):
    """[(session_name, [(rel_ts_us, signed_len), ...]), ...] in file order."""
    sessions = []
    cur = None
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            p = line.strip().split(',')
            if not p or p == ['']:
                continue
            if p[0] == 'session':
                cur = (p[1], [])
                sessions.append(cur)
                continue
            if p[0] == 'rel_ts_us':
                continue
            if cur is None or len(p) != 2:
                raise ValueError('%s:%d: unexpected line %r' % (path, ln, line))
            cur[1].append((int(p[0]), int(p[1])))
    return sessions


def csum16(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4_hdr(src, dst, proto, tot_len, ident):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, tot_len, ident & 0xffff, 0x4000,
                    64, proto, 0, bytes(src), bytes(dst))
    return h[:10] + struct.pack('!H', csum16(h)) + h[12:]


class PcapWriter:
    def __init__(self, path):
        self.f = open(path, 'wb')
        # classic pcap, microsecond timestamps, snaplen 262144
        self.f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144,
                                 LINKTYPE_ETHERNET))

    def packet(self, ts_us, frame):
        self.f.write(struct.pack('<IIII', ts_us // 1000000, ts_us % 1000000,
                                 len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


def session_packets(pkts, cli, srv, cport, tcp):
    """Frames of one session, sorted by time: [(rel_us, frame_bytes)]."""
    sport, dport = cport, 443
    seq = {True: 1000, False: 500000}
    out = []
    ident = 0
    hdr = ETH + 20 + (20 if tcp else 8)
    for t, l in sorted(pkts, key=lambda x: x[0]):
        up = l > 0
        flen = max(abs(l), hdr)  # no trace packet is shorter (checked)
        ip_len = flen - ETH
        s, d = (cli, srv) if up else (srv, cli)
        sp, dp = (sport, dport) if up else (dport, sport)
        pay = ip_len - (hdr - ETH)
        if tcp:
            l4 = struct.pack('!HHIIBBHHH', sp, dp, seq[up], seq[not up],
                             5 << 4, 0x10 | (0x08 if pay else 0), 65535, 0, 0)
            seq[up] = (seq[up] + pay) & 0xffffffff
            proto = 6
        else:
            l4 = struct.pack('!HHHH', sp, dp, ip_len - 20, 0)
            proto = 17
        ident += 1
        eth = (b'\x02\0\0\0\0\x01' + b'\x02\0\0\0\0\x02' if up else
               b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01') + b'\x08\x00'
        frame = eth + ipv4_hdr(s, d, proto, ip_len, ident) + l4
        frame += bytes(flen - len(frame))
        out.append((t, frame))
    return out


def synth_file(trace, pcap, file_idx, tcp):
    """Write one pcap for one trace file.  Returns
    [{'session','client','server','packets'}], one per session."""
    sessions = read_sessions(trace)
    w = PcapWriter(pcap)
    meta = []
    for si, (name, pkts) in enumerate(sessions, 1):
        if si > 250:
            raise ValueError('%s: more than 250 sessions' % trace)
        cli = (10, file_idx, si, 2)
        srv = (10, file_idx, si, 1)
        base = (BASE_TS + file_idx * 1000000 + si * 1000) * 1000000
        for t, frame in session_packets(pkts, cli, srv, 40000 + si, tcp):
            w.packet(base + t, frame)
        meta.append({'session': name, 'client': '%d.%d.%d.%d' % cli,
                     'server': '%d.%d.%d.%d' % srv, 'packets': len(pkts)})
    w.close()
    return meta


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit('usage: synth_pcap.py TRACE.csv OUT.pcap udp|tcp')
    m = synth_file(sys.argv[1], sys.argv[2], 1, sys.argv[3] == 'tcp')
    for s in m:
        print('%s %s %s %d' % (s['session'], s['client'], s['server'], s['packets']))
