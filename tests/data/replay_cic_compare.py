#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Compare `flowqoe replay --cic-compat` rows with official CICFlowMeter
rows (CIC-IDS2017 CSV).  Flows are matched on Flow ID, source endpoint and
Timestamp (both in the CSV's local time); among several candidates the one
agreeing on most columns wins.  Prints, per column, the share of matched
flows whose values agree (relative 1e-6), and exits 0; the caller decides
what is required.

usage: replay_cic_compare.py OURS.csv REFERENCE.csv [--report FILE] [--show COL]
"""
import csv
import math
import sys

def load(path):
    with open(path, newline='', encoding='utf-8-sig') as f:
        rd = csv.reader(f)
        hdr = [h.strip() for h in next(rd)]
        return hdr, [dict(zip(hdr, r)) for r in rd if r]

def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None

def agree(a, b):
    x, y = num(a), num(b)
    if x is None or y is None:
        return (a or '').strip() == (b or '').strip()
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))

def main():
    args = sys.argv[1:]
    report = show = None
    if '--report' in args:
        i = args.index('--report'); report = args[i + 1]; del args[i:i + 2]
    if '--show' in args:
        i = args.index('--show'); show = args[i + 1]; del args[i:i + 2]
    hdr, ours = load(args[0])
    rhdr, ref = load(args[1])
    cols = [c for c in hdr if c in rhdr and c not in ('Label',)]
    feat = [c for c in cols if c not in ('Flow ID', 'Source IP', 'Source Port', 'Destination IP',
                                          'Destination Port', 'Protocol', 'Timestamp')]
    idx = {}
    for r in ref:
        idx.setdefault((r['Flow ID'], r['Source IP'], r['Source Port'], r['Timestamp']), []).append(r)
    pairs = []
    for o in ours:
        cand = idx.get((o['Flow ID'], o['Source IP'], o['Source Port'], o['Timestamp']))
        if not cand:
            continue
        best = max(cand, key=lambda r: sum(agree(o[c], r[c]) for c in feat))
        cand.remove(best)
        pairs.append((o, best))
    out = []
    out.append('flows: ours %d, reference %d, matched %d' % (len(ours), len(ref), len(pairs)))
    out.append('%-32s %8s %8s' % ('column', 'agree', 'share'))
    low = []
    for c in feat:
        n = sum(agree(o[c], r[c]) for o, r in pairs)
        share = n / len(pairs) if pairs else 0
        out.append('%-32s %8d %7.1f%%' % (c, n, 100 * share))
        if n < len(pairs):
            low.append(c)
    if show:
        for o, r in pairs:
            if not agree(o[show], r[show]):
                out.append('  %s %s: ours %s ref %s (pkts %s/%s vs %s/%s)' % (
                    o['Flow ID'], o['Timestamp'], o[show], r[show], o['Total Fwd Packets'],
                    o['Total Backward Packets'], r['Total Fwd Packets'], r['Total Backward Packets']))
    text = '\n'.join(out)
    print(text)
    if report:
        with open(report, 'w') as f:
            f.write(text + '\n')
    print('below 100%%: %s' % (', '.join(low) if low else 'none'))

if __name__ == '__main__':
    main()
