#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Three-way comparison of flow rows on one capture: the Python
`cicflowmeter` (PyPI 0.2.0, snake_case columns), the official CICFlowMeter
rows (CIC-IDS2017 CSV) and flowqoe (`replay --cic-compat` and default
mode, CIC-IDS2017 names).

Flows are matched on the directed 5-tuple (source IP/port = the first
packet's sender, destination IP/port, protocol) and the start time in whole
seconds, compared modulo 12 hours (CICFlowMeter-V3 and --cic-compat print a
12-hour clock without AM/PM).  All CSVs must carry local times of the same
time zone.  Among several candidates the one agreeing on most columns wins.

Per column, prints the share of matched flows whose values agree
(relative 1e-6) for
  (a) python cicflowmeter vs official CICFlowMeter,
  (b) flowqoe --cic-compat vs python cicflowmeter,
  (c) flowqoe default mode vs python cicflowmeter,
then checks the rule (see RULE below) and prints "ok"/"not ok" lines.

usage: replay_pycic.py PY.csv OFFICIAL.csv COMPAT.csv DEFAULT.csv [--show COL]
"""
import datetime
import sys

# the CSV reader and the per-value rule of the CIC comparison
from replay_cic_compare import agree, load, num

# python cicflowmeter 0.2.0 column -> CIC-IDS2017 column(s).  Its times
# (flow_duration, *_iat_*, active_*, idle_*) are already microseconds
# (flow.py multiplies seconds by 1e6); rates are per second.
PY2CIC = {
    'flow_duration': 'Flow Duration',
    'tot_fwd_pkts': 'Total Fwd Packets',
    'tot_bwd_pkts': 'Total Backward Packets',
    'totlen_fwd_pkts': 'Total Length of Fwd Packets',
    'totlen_bwd_pkts': 'Total Length of Bwd Packets',
    'fwd_pkt_len_max': 'Fwd Packet Length Max',
    'fwd_pkt_len_min': 'Fwd Packet Length Min',
    'fwd_pkt_len_mean': 'Fwd Packet Length Mean',
    'fwd_pkt_len_std': 'Fwd Packet Length Std',
    'bwd_pkt_len_max': 'Bwd Packet Length Max',
    'bwd_pkt_len_min': 'Bwd Packet Length Min',
    'bwd_pkt_len_mean': 'Bwd Packet Length Mean',
    'bwd_pkt_len_std': 'Bwd Packet Length Std',
    'flow_byts_s': 'Flow Bytes/s',
    'flow_pkts_s': 'Flow Packets/s',
    'flow_iat_mean': 'Flow IAT Mean',
    'flow_iat_std': 'Flow IAT Std',
    'flow_iat_max': 'Flow IAT Max',
    'flow_iat_min': 'Flow IAT Min',
    'fwd_iat_tot': 'Fwd IAT Total',
    'fwd_iat_mean': 'Fwd IAT Mean',
    'fwd_iat_std': 'Fwd IAT Std',
    'fwd_iat_max': 'Fwd IAT Max',
    'fwd_iat_min': 'Fwd IAT Min',
    'bwd_iat_tot': 'Bwd IAT Total',
    'bwd_iat_mean': 'Bwd IAT Mean',
    'bwd_iat_std': 'Bwd IAT Std',
    'bwd_iat_max': 'Bwd IAT Max',
    'bwd_iat_min': 'Bwd IAT Min',
    'fwd_psh_flags': 'Fwd PSH Flags',
    'bwd_psh_flags': 'Bwd PSH Flags',
    'fwd_urg_flags': 'Fwd URG Flags',
    'bwd_urg_flags': 'Bwd URG Flags',
    'fwd_header_len': 'Fwd Header Length',
    'bwd_header_len': 'Bwd Header Length',
    'fwd_pkts_s': 'Fwd Packets/s',
    'bwd_pkts_s': 'Bwd Packets/s',
    'pkt_len_min': 'Min Packet Length',
    'pkt_len_max': 'Max Packet Length',
    'pkt_len_mean': 'Packet Length Mean',
    'pkt_len_std': 'Packet Length Std',
    'pkt_len_var': 'Packet Length Variance',
    'fin_flag_cnt': 'FIN Flag Count',
    'syn_flag_cnt': 'SYN Flag Count',
    'rst_flag_cnt': 'RST Flag Count',
    'psh_flag_cnt': 'PSH Flag Count',
    'ack_flag_cnt': 'ACK Flag Count',
    'urg_flag_cnt': 'URG Flag Count',
    'cwr_flag_count': 'CWE Flag Count',
    'ece_flag_cnt': 'ECE Flag Count',
    'down_up_ratio': 'Down/Up Ratio',
    'pkt_size_avg': 'Average Packet Size',
    'fwd_seg_size_avg': 'Avg Fwd Segment Size',
    'bwd_seg_size_avg': 'Avg Bwd Segment Size',
    'fwd_byts_b_avg': 'Fwd Avg Bytes/Bulk',
    'fwd_pkts_b_avg': 'Fwd Avg Packets/Bulk',
    'fwd_blk_rate_avg': 'Fwd Avg Bulk Rate',
    'bwd_byts_b_avg': 'Bwd Avg Bytes/Bulk',
    'bwd_pkts_b_avg': 'Bwd Avg Packets/Bulk',
    'bwd_blk_rate_avg': 'Bwd Avg Bulk Rate',
    'subflow_fwd_pkts': 'Subflow Fwd Packets',
    'subflow_fwd_byts': 'Subflow Fwd Bytes',
    'subflow_bwd_pkts': 'Subflow Bwd Packets',
    'subflow_bwd_byts': 'Subflow Bwd Bytes',
    'init_fwd_win_byts': 'Init_Win_bytes_forward',
    'init_bwd_win_byts': 'Init_Win_bytes_backward',
    'fwd_act_data_pkts': 'act_data_pkt_fwd',
    'fwd_seg_size_min': 'min_seg_size_forward',
    'active_mean': 'Active Mean',
    'active_std': 'Active Std',
    'active_max': 'Active Max',
    'active_min': 'Active Min',
    'idle_mean': 'Idle Mean',
    'idle_std': 'Idle Std',
    'idle_max': 'Idle Max',
    'idle_min': 'Idle Min',
}
FEAT = list(PY2CIC.values())  # 'Fwd Header Length.1' duplicates Fwd Header Length

# Columns whose definition is the same in python cicflowmeter 0.2.0 and
# CICFlowMeter-V3 (read from both sources; docs/features.md lists the rest
# and why they differ: frame vs payload lengths, IP vs L4 header, population
# vs sample deviations, 5 ms vs 5 s activity timeout, 1 ms vs 1 s bulk gap,
# subflows, CWR, act_data, Init_Win backward default 0 vs -1, Down/Up ratio
# real vs integer).  Agreement between python and official on the other
# columns is a coincidence of values (mostly both 0), not evidence.
SAME = [
    'Flow Duration', 'Total Fwd Packets', 'Total Backward Packets',
    'Flow Packets/s', 'Fwd Packets/s', 'Bwd Packets/s',
    'Flow IAT Mean', 'Flow IAT Max', 'Flow IAT Min',
    'Fwd IAT Total', 'Fwd IAT Mean', 'Fwd IAT Max', 'Fwd IAT Min',
    'Bwd IAT Total', 'Bwd IAT Mean', 'Bwd IAT Max', 'Bwd IAT Min',
    'Fwd PSH Flags', 'Bwd PSH Flags', 'Fwd URG Flags', 'Bwd URG Flags',
    'FIN Flag Count', 'SYN Flag Count', 'RST Flag Count', 'PSH Flag Count',
    'ACK Flag Count', 'URG Flag Count', 'ECE Flag Count',
    'Init_Win_bytes_forward',
]

# RULES (checked on the flows all three share, so every count is over the
# same flows):
#  column rule: a column of SAME that python and official agree on for
#    >= AGREED of their matched flows ("where it and CICFlowMeter agree")
#    must have flowqoe --cic-compat agreeing with python on at least as many
#    of those flows as python agrees with official (minus nothing: compat
#    implements CICFlowMeter's definition on the same packets python saw,
#    so it can only lose agreement through a bug of its own);
#  cell rule: for every SAME column, on every flow where python and official
#    agree, compat agrees with python too (the same argument per value; it
#    also covers columns where python and official agree on few flows
#    because demo.pcap is not the traffic CICFlowMeter saw).
AGREED = 0.99


def tod12(ts, fmt):
    """(date, seconds of the day modulo 12 h) of a timestamp string."""
    t = datetime.datetime.strptime(ts.strip(), fmt)
    return t.date().isoformat(), (t.hour * 3600 + t.minute * 60 + t.second) % 43200


def cic_rows(path):
    hdr, rows = load(path)
    out = []
    for r in rows:
        ts = r['Timestamp'].strip()
        fmt = '%d/%m/%Y %H:%M:%S' if ts.count(':') == 2 else '%d/%m/%Y %H:%M'
        r['_key'] = (r['Source IP'], int(r['Source Port']), r['Destination IP'],
                     int(r['Destination Port']), int(r['Protocol'])) + tod12(ts, fmt)
        # official rows without seconds cannot match at second resolution
        r['_min'] = ts.count(':') == 1
        out.append(r)
    return out


def py_rows(path):
    hdr, rows = load(path)
    out = []
    for r in rows:
        o = {PY2CIC[k]: v for k, v in r.items() if k in PY2CIC}
        o['_py'] = r
        o['_key'] = (r['src_ip'], int(r['src_port']), r['dst_ip'], int(r['dst_port']),
                     int(r['protocol'])) + tod12(r['timestamp'], '%Y-%m-%d %H:%M:%S')
        out.append(o)
    return out


def match(a_rows, b_rows):
    """Pairs (a, b) on _key; the candidate agreeing on most columns wins."""
    idx = {}
    for r in b_rows:
        idx.setdefault(r['_key'], []).append(r)
    pairs = []
    for a in a_rows:
        cand = idx.get(a['_key'])
        if not cand:
            continue
        best = max(cand, key=lambda r: sum(agree(a[c], r[c]) for c in FEAT))
        cand.remove(best)
        pairs.append((a, best))
    return pairs


def share(pairs, c):
    n = sum(agree(x[c], y[c]) for x, y in pairs)
    return n, (n / len(pairs) if pairs else 0.0)


def tuple5(r):
    k = r['_key']
    return (frozenset([(k[0], k[1]), (k[2], k[3])]), k[4])


def unexplained(py, rows, pairs):
    """Rows of rows no python flow matched, other than non-TCP/UDP ones (python
    cicflowmeter reads `ip and (tcp or udp)` only) and later flows of a
    5-tuple python has (flowqoe ended a flow python continued: FIN in
    --cic-compat, the 120 s flow timeout)."""
    used = {id(b) for _, b in pairs}
    have = {tuple5(p) for p in py}
    return [r for r in rows if id(r) not in used and r['_key'][4] in (6, 17)
            and tuple5(r) not in have]


def main():
    args = sys.argv[1:]
    show = None
    if '--show' in args:
        i = args.index('--show'); show = args[i + 1]; del args[i:i + 2]
    py = py_rows(args[0])
    off = cic_rows(args[1])
    cmp_ = cic_rows(args[2])
    dfl = cic_rows(args[3])

    pa = match(py, off)      # (python, official)
    pb = match(py, cmp_)     # (python, compat)
    pc = match(py, dfl)      # (python, default)
    # flows all three (python, official, compat) share, by python row
    b_of = {id(p): c for p, c in pb}
    tri = [(p, o, b_of[id(p)]) for p, o in pa if id(p) in b_of]

    print('flows: python %d, official %d, compat %d, default %d' %
          (len(py), len(off), len(cmp_), len(dfl)))
    print('matched: (a) python-official %d, (b) compat-python %d, (c) default-python %d, '
          'all three %d' % (len(pa), len(pb), len(pc), len(tri)))
    for name, rows, pairs in (('compat', cmp_, pb), ('default', dfl, pc)):
        other = sum(1 for r in rows if r['_key'][4] not in (6, 17))
        print('%s: %d rows = %d matched + %d not TCP/UDP + %d later flows of a python '
              '5-tuple + %d unexplained' % (
                  name, len(rows), len(pairs), other,
                  len(rows) - len(pairs) - other - len(unexplained(py, rows, pairs)),
                  len(unexplained(py, rows, pairs))))
    print('(a),(b),(c): share of matched flows agreeing; 3way: counts on the flows all three '
          'share, python~official and compat~python; S: same definition; * agreed')
    print('%-28s %15s %15s %15s %11s %11s' % ('column', '(a) py~offic', '(b) compat~py',
                                             '(c) default~py', '3way a', '3way b'))
    agreed, fails, coincid, cells, cellfail = [], [], [], 0, []
    for c in FEAT:
        na, sa = share(pa, c)
        nb, sb = share(pb, c)
        nc, sc = share(pc, c)
        ta = sum(agree(p[c], o[c]) for p, o, _ in tri)
        tb = sum(agree(b[c], p[c]) for p, _, b in tri)
        mark = ' S' if c in SAME else '  '
        if pa and sa >= AGREED:
            mark += '*'
            if c in SAME:
                agreed.append(c)
                if tb < ta:
                    fails.append('%s: compat agrees with python on %d of %d shared flows, '
                                 'python with official on %d' % (c, tb, len(tri), ta))
            else:
                coincid.append(c)
        if c in SAME:
            for p, o, b in tri:
                if agree(p[c], o[c]):
                    cells += 1
                    if not agree(b[c], p[c]):
                        cellfail.append('%s %s:%s>%s:%s/%s %s: python=official %s, compat %s' % (
                            c, p['_py']['src_ip'], p['_py']['src_port'], p['_py']['dst_ip'],
                            p['_py']['dst_port'], p['_py']['protocol'], p['_py']['timestamp'],
                            p[c], b[c]))
        print('%-28s %4d %7.1f%%  %4d %7.1f%%  %4d %7.1f%%  %4d/%-5d %4d/%-5d%s' %
              (c, na, 100 * sa, nb, 100 * sb, nc, 100 * sc, ta, len(tri), tb, len(tri), mark))
    print('agreed (python~official >= %g%%), same definition, asserted: %s' %
          (100 * AGREED, ', '.join(agreed) if agreed else 'none'))
    print('agreed by coincidence (definitions differ), reported only: %s' %
          (', '.join(coincid) if coincid else 'none'))
    if show:
        for p, o, b in tri:
            if not (agree(p[show], o[show]) and agree(b[show], p[show])):
                print('  %s:%s>%s:%s/%s %s: python %s official %s compat %s '
                      '(fwd/bwd pkts py %s/%s off %s/%s compat %s/%s)' % (
                          p['_py']['src_ip'], p['_py']['src_port'], p['_py']['dst_ip'],
                          p['_py']['dst_port'], p['_py']['protocol'], p['_py']['timestamp'],
                          p[show], o[show], b[show], p['Total Fwd Packets'],
                          p['Total Backward Packets'], o['Total Fwd Packets'],
                          o['Total Backward Packets'], b['Total Fwd Packets'],
                          b['Total Backward Packets']))
    # checks, for the caller to turn into ok / not ok lines
    print('check matched %d %d %d %d' % (len(pa), len(pb), len(pc), len(tri)))
    print('check unmatched_python %d %d' % (len(py) - len(pb), len(py) - len(pc)))
    print('check unexplained %d %d' % (len(unexplained(py, cmp_, pb)), len(unexplained(py, dfl, pc))))
    print('check agreed %d %s' % (len(agreed), ','.join(agreed)))
    for f in fails:
        print('check fail %s' % f)
    print('check cells %d %d' % (cells, len(cellfail)))
    for f in cellfail[:10]:
        print('check cellfail %s' % f)


main()
