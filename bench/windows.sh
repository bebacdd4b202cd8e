#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bench/windows.sh - the classifier part of `make bench` (issue 5): window
# records per second sustained through BPF ring buffer -> classifier
# workers -> aggregator (build/bench/windows; see bench/windows.c for the
# method), with no model, a synthetic depth-10 decision tree over the 12
# window features (written here: same cost per row as any complete depth-10
# tree) and the shipped 100-tree forest models/cloud_gaming.model, each
# against the ring-buffer consumer alone in the same run.  Goal: >= 1M
# window records/s end to end.  BENCH_SECS (2) seconds per run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECS=${BENCH_SECS:-2}
if [ "$(id -u)" -ne 0 ]; then echo "skip windows: needs root (BPF_PROG_RUN)"; exit 0; fi
[ -x "$BUILD/bench/windows" ] || { echo "skip windows: $BUILD/bench/windows not built (make bench)"; exit 0; }
tmp=$(mktemp -d /tmp/flowqoe-bench-win.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp/depth10_tree.model" <<'PY' || exit 1
# A complete binary tree of depth 10 (1023 splits, 1024 leaves) in preorder,
# splits cycling over the window features with fixed pseudo-random thresholds.
import random, sys
names = ['fwd_size_mean', 'fwd_size_std', 'fwd_iat_mean', 'fwd_iat_std', 'fwd_bytes', 'fwd_packets',
         'bwd_size_mean', 'bwd_size_std', 'bwd_iat_mean', 'bwd_iat_std', 'bwd_bytes', 'bwd_packets']
rnd = random.Random(10)
nodes = []
def build(depth):
    i = len(nodes)
    nodes.append(None)
    if depth == 10:
        nodes[i] = 'l ' + ('1.0 0.0' if rnd.random() < 0.5 else '0.0 1.0')
        return i
    f = rnd.randrange(len(names))
    thr = rnd.uniform(0, 1500)
    l = build(depth + 1)
    r = build(depth + 1)
    nodes[i] = 's %d %d %d %s 0' % (l, r, f, float(thr).hex())
    return i
build(0)
with open(sys.argv[1], 'w') as out:
    out.write('flowqoe-model 1\n# synthetic complete depth-10 tree (bench/windows.sh)\n'
              'estimator DecisionTreeClassifier\ntask classification\ncombine single\n')
    out.write('features %d named\n' % len(names))
    out.writelines('f %s\n' % n for n in names)
    out.write('classes 2\nc a\nc b\ntrees 1\ntree %d\n' % len(nodes))
    out.writelines(n + '\n' for n in nodes)
    out.write('end\n')
PY
"$BUILD/bench/windows" -s "$SECS" "$tmp/depth10_tree.model" models/cloud_gaming.model
