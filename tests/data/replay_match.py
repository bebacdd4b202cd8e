#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""replay_match.py OURS.csv EXPECT.csv: every expected row (oracle) has
the row of the same flow in OURS with every column equal (relative 1e-9);
no extra rows.  Rows pair up per 5-tuple in order of appearance.
Prints one 'ok'/'not ok' line per flow; exit 1 on any mismatch."""
import csv
import math
import sys


def load(p):
    with open(p, newline='', encoding='utf-8-sig') as f:
        rd = csv.reader(f)
        h = [c.strip() for c in next(rd)]
        return [dict(zip(h, r)) for r in rd if r]


def eq(a, b):
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a.strip() == b.strip()
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


ours, exp = load(sys.argv[1]), load(sys.argv[2])
tag = sys.argv[3] if len(sys.argv) > 3 else 'replay'
k = lambda r: (r['Source IP'], r['Source Port'], r['Destination IP'], r['Destination Port'], r['Protocol'])
pool = {}
for r in ours:
    pool.setdefault(k(r), []).append(r)
bad = 0
for i, e in enumerate(exp):
    name = '%s flow %d %s' % (tag, i, '/'.join(k(e)))
    c = pool.get(k(e))
    if not c:
        print('not ok %s: missing in output' % name); bad += 1; continue
    o = c.pop(0)
    diff = ['%s: got %s want %s' % (col, o.get(col), e[col]) for col in e if col in o and not eq(o[col], e[col])]
    miss = [col for col in e if col not in o]
    if diff or miss:
        print('not ok %s: %s' % (name, '; '.join(diff + ['no column ' + m for m in miss])[:2000])); bad += 1
    else:
        print('ok %s (%d columns)' % (name, len(e)))
extra = sum(len(v) for v in pool.values())
if extra:
    print('not ok %s: %d rows not expected' % (tag, extra)); bad += 1
sys.exit(1 if bad else 0)
