#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Tree-model speed: the C engine vs scikit-learn, in the same run.

    bench.py FLOWQOE WORKDIR [SECONDS]

Models: a depth-10 decision tree, a 100-tree random forest (depth <= 10,
like the shipped video model) and a 100-tree forest grown to full depth,
trained on 20,000 generated rows of 10 features.  Every time is the
measuring thread's CPU time (one core; other processes on a shared machine
do not count), and the C engine first predicts the same 10,000 rows, in
batch and row by row, exactly as scikit-learn does (else exit 1).

scikit-learn: single-row predict(X[i:i+1]) in a loop (its per-call
latency) and one predict(X) over all rows (batch), n_jobs=1.  C: `flowqoe
model bench` (fq_model_predict one row at a time; fq_model_predict_batch).
Goals (issue 5): C single-row latency >= 50x faster than scikit-learn's,
C throughput >= 3x scikit-learn's batch throughput per core.
"""
import os
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

sys.path.insert(0, os.path.dirname(__file__))
import parity  # noqa: E402

warnings.simplefilter('ignore')


def cpu_loop(fn, budget):
    """Calls fn() until budget seconds of thread CPU time; seconds per call."""
    fn()
    n, t0 = 0, time.thread_time()
    while True:
        fn()
        n += 1
        dt = time.thread_time() - t0
        if dt >= budget:
            return dt / n


def main():
    flowqoe, work = sys.argv[1], sys.argv[2]
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    rng = np.random.default_rng(5)
    X, y = parity.gen_data(rng, 30000, 10, 3)
    Xtr, ytr, Xte = X[:20000], y[:20000], X[20000:]
    models = [
        ('tree depth 10', DecisionTreeClassifier(max_depth=10, random_state=0)),
        ('forest 100 x depth<=10', RandomForestClassifier(n_estimators=100, max_depth=10,
                                                          random_state=0, n_jobs=1)),
        ('forest 100 x full depth', RandomForestClassifier(n_estimators=100, random_state=0,
                                                           n_jobs=1)),
    ]
    names = ['x%d' % i for i in range(10)]
    csvp = os.path.join(work, 'bench.csv')
    parity.write_csv(csvp, names, Xte, extra=False)
    fails = 0
    print('%-26s %-14s %11s %12s %12s %12s' % ('model', 'engine', 'ns/row', 'rows/s',
                                             'vs sk 1-row', 'vs sk batch'))
    for label, est in models:
        est.fit(Xtr, ytr)
        mp = parity.convert(est, work, label.split()[0] + str(len(label)))
        want = est.predict(Xte)
        diff = 0
        for rows in (False, True):
            got = parity.c_predict(flowqoe, mp, csvp, rows)
            diff += sum(1 for g, w in zip(got, want) if g != str(w)) + abs(len(got) - len(want))
        if diff:
            print('%s: C engine differs from scikit-learn on %d rows' % (label, diff))
            fails += 1
            continue
        r = subprocess.run([flowqoe, 'model', 'bench', mp, csvp, str(secs)],
                           stdout=subprocess.PIPE, text=True, check=True)
        c = dict((ln.split()[0], float(ln.split()[1])) for ln in r.stdout.splitlines()
                 if len(ln.split()) == 2)
        i = [0]

        def one():
            est.predict(Xte[i[0]:i[0] + 1])
            i[0] = (i[0] + 1) % len(Xte)
        sk_one = cpu_loop(one, secs)                                   # s per row
        sk_batch = cpu_loop(lambda: est.predict(Xte), secs) / len(Xte)  # s per row
        lines = [('sklearn 1-row', sk_one), ('sklearn batch', sk_batch),
                 ('C 1-row', c['single_row_ns'] * 1e-9), ('C batch', c['batch_ns'] * 1e-9)]
        for k, (eng, t) in enumerate(lines):
            print('%-26s %-14s %11.1f %12.0f %11.1fx %11.2fx' % (
                label if k == 0 else '', eng, t * 1e9, 1 / t, sk_one / t, sk_batch / t))
        lat = sk_one / (c['single_row_ns'] * 1e-9)
        thr = sk_batch / (c['batch_ns'] * 1e-9)
        print('%-26s goals: C 1-row latency %.0fx sklearn 1-row (>= 50x: %s), '
              'C batch %.1fx sklearn batch rows/s (>= 3x: %s)' % (
                  '', lat, 'met' if lat >= 50 else 'NOT met', thr,
                  'met' if thr >= 3 else 'NOT met'))
    print('(CPU time of the measuring thread, one core; %d test rows, %g s a measurement; '
          'vs = how many times faster than that sklearn figure)' % (len(Xte), secs))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
