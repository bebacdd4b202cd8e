#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""C engine vs scikit-learn, prediction for prediction.

    parity.py FLOWQOE WORKDIR [DEMO.csv]

For each model type: train a small model on generated data, convert it with
models/from_sklearn.py, build >= 10,000 test rows (random rows, rows whose
features sit exactly on, just below and just above every threshold the
model has, float32 extremes, values far outside the training range), write
them with repr() so they read back exactly, run `flowqoe model predict`
and count the rows where it differs from the estimator's predict().  With
DEMO.csv (a CICFlowMeter CSV with a Label column) also train on its finite
numeric columns and predict on the CSV itself, selecting columns by name.

Prints "ok NAME", "not ok NAME: why" lines (tests/run counts them).
"""
import csv
import os
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CONV = os.path.join(REPO, 'models', 'from_sklearn.py')
F32MAX = float(np.finfo(np.float32).max)
F32TINY = float(np.finfo(np.float32).smallest_subnormal)


def report(ok, name, why=''):
    print(('ok %s' % name) if ok else ('not ok %s: %s' % (name, why)), flush=True)


def gen_data(rng, n, nf, ncls):
    """Features with a learnable structure plus noise; some integer-valued
    columns so thresholds fall between repeated values."""
    X = rng.normal(size=(n, nf)) * rng.uniform(0.5, 1000, size=nf)
    X[:, 0] = rng.integers(0, 20, size=n)             # counts
    X[:, 1] = np.round(rng.exponential(1500, size=n))  # sizes
    score = X[:, 0] / 20 + X[:, 1] / 3000 + (X[:, 2] > 0) + rng.normal(0, 0.3, size=n)
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, ncls + 1)[1:-1]))
    return X, y


def thresholds(est):
    trees = est.estimators_ if hasattr(est, 'estimators_') else [est]
    out = []
    for t in trees:
        tr = t.tree_
        for i in range(tr.node_count):
            if tr.children_left[i] != -1 and np.isfinite(tr.threshold[i]):
                out.append((int(tr.feature[i]), float(tr.threshold[i])))
    return out


def test_rows(rng, est, Xtrain, n_min):
    """The rows scikit-learn and the C engine must agree on."""
    nf = Xtrain.shape[1]
    rows = [Xtrain[rng.integers(0, len(Xtrain), size=3000)]]
    # every threshold: the double itself, its float32 rounding and the
    # float32 neighbours on both sides, in a random row
    ths = thresholds(est)
    rng.shuffle(ths)
    ths = ths[:4000]
    base = Xtrain[rng.integers(0, len(Xtrain), size=len(ths))]
    for variant in range(4):
        B = base.copy()
        for i, (f, t) in enumerate(ths):
            t32 = np.float32(t)
            v = [t, float(t32), float(np.nextafter(t32, np.float32(np.inf))),
                 float(np.nextafter(t32, np.float32(-np.inf)))][variant]
            B[i, f] = v
        rows.append(B)
    # several features on thresholds at once
    B = Xtrain[rng.integers(0, len(Xtrain), size=2000)].copy()
    for r in range(len(B)):
        for f, t in [ths[j] for j in rng.integers(0, len(ths), size=min(nf, 4))]:
            B[r, f] = t
    rows.append(B)
    # extremes and out-of-range values (finite in float32: scikit-learn
    # refuses what overflows)
    ext = [0.0, -0.0, F32MAX, -F32MAX, F32TINY, -F32TINY, 1e-40, 1e30, -1e30, 1e9, -1e9,
           3.4e38, -3.4e38, 1e-300, 123456789.123456789]
    B = Xtrain[rng.integers(0, len(Xtrain), size=1500)].copy()
    for r in range(len(B)):
        k = rng.integers(1, nf + 1)
        for f in rng.choice(nf, size=k, replace=False):
            B[r, f] = ext[rng.integers(0, len(ext))]
    rows.append(B)
    B = Xtrain[rng.integers(0, len(Xtrain), size=1000)] * rng.choice([-1e4, 1e4, 1e7], size=(1000, 1))
    rows.append(B)
    X = np.vstack(rows)
    while len(X) < n_min:
        X = np.vstack([X, Xtrain[rng.integers(0, len(Xtrain), size=n_min - len(X))]])
    return X


def write_csv(path, names, X, order=None, extra=True):
    """Feature columns in a shuffled order with decoy columns around them,
    so the reader has to select by name."""
    order = list(range(len(names))) if order is None else order
    with open(path, 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        hdr = (['decoy_a'] if extra else []) + [names[i] for i in order] + (['decoy_b'] if extra else [])
        w.writerow(hdr)
        for row in X:
            cells = [repr(float(row[i])) for i in order]
            if extra:
                cells = ['junk'] + cells + ['1.5']
            w.writerow(cells)


def c_predict(flowqoe, model, csvp, rows=False):
    """rows: one row at a time (fq_model_predict, the classifier workers'
    path) instead of fq_model_predict_batch."""
    r = subprocess.run([flowqoe, 'model', 'predict'] + (['--rows'] if rows else []) + [model, csvp],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError('exit %d: %s' % (r.returncode, r.stderr.strip()[:300]))
    return r.stdout.splitlines()


def convert(est, work, name, extra_args=()):
    jl = os.path.join(work, name + '.joblib')
    mp = os.path.join(work, name + '.model')
    joblib.dump(est, jl)
    r = subprocess.run([sys.executable, CONV] + list(extra_args) + [jl, mp],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError('from_sklearn.py: ' + r.stderr.strip()[:300])
    return mp


def compare(name, flowqoe, est, model, X, names, rng, regression=False):
    """Batch and row-by-row C predictions against est.predict(X)."""
    csvp = model + '.csv'
    order = list(rng.permutation(len(names)))
    write_csv(csvp, names, X, order=order)
    if hasattr(est, 'n_jobs'):
        est.n_jobs = 1  # tree order of the sum, as the format says
    want = est.predict(X)
    for rows in (False, True):
        tn = name + ('_rows' if rows else '')
        try:
            got = c_predict(flowqoe, model, csvp, rows)
        except RuntimeError as e:
            report(False, tn, str(e))
            continue
        if len(got) != len(want):
            report(False, tn, '%d predictions for %d rows' % (len(got), len(want)))
            continue
        if regression:
            diff = sum(1 for g, w in zip(got, want) if float(g) != float(w))
        else:
            diff = sum(1 for g, w in zip(got, want) if g != str(w))
        report(diff == 0, tn + ' (%d rows, %d differences)' % (len(X), diff),
               '%d of %d rows differ from scikit-learn' % (diff, len(X)))


def generated(flowqoe, work):
    rng = np.random.default_rng(20261122)
    nf = 6
    names = ['pkts', 'bytes', 'iat mean', 'iat,std', 'f%4', 'x5']  # blanks, commas, %
    X, y = gen_data(rng, 3000, nf, 3)
    ylab = np.array(['video', 'gaming', 'other'])[y]
    Xr = X[:, 0] * 3.5 + X[:, 1] / 7 + rng.normal(0, 1, size=len(X))
    cases = [
        ('dtc', DecisionTreeClassifier(random_state=1), ylab, False),
        ('dtc_depth10', DecisionTreeClassifier(max_depth=10, random_state=2), y, False),
        ('rfc', RandomForestClassifier(n_estimators=30, random_state=3), ylab, False),
        # fully grown, few trees, two classes: many exact ties in the
        # averaged probabilities (first class wins)
        ('rfc_ties', RandomForestClassifier(n_estimators=4, random_state=4), y % 2, False),
        ('etc', ExtraTreesClassifier(n_estimators=30, random_state=5), ylab, False),
        ('etc_depth6', ExtraTreesClassifier(n_estimators=50, max_depth=6, random_state=6), y, False),
        ('dtr', DecisionTreeRegressor(max_depth=12, random_state=7), Xr, True),
        ('rfr', RandomForestRegressor(n_estimators=20, random_state=8), Xr, True),
        ('etr', ExtraTreesRegressor(n_estimators=20, random_state=9), Xr, True),
    ]
    for name, est, target, regression in cases:
        try:
            # fitted on a DataFrame: feature names travel with the model
            est.fit(pd.DataFrame(X, columns=names), target)
            mp = convert(est, work, name)
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            report(False, 'parity_' + name, str(e))
            continue
        Xt = test_rows(rng, est, X, 10000)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # predict on ndarray after DataFrame fit
            compare('parity_' + name, flowqoe, est, mp, Xt, names, rng, regression)
            # NaN in rows of a model fitted without any: scikit-learn sends
            # it where missing_go_to_left says (the bigger child), if this
            # estimator takes NaN at all
            Xn = Xt.copy()
            Xn[rng.random(size=Xn.shape) < 0.15] = np.nan
            try:
                est.predict(Xn[:10])
            except ValueError as e:
                print('skip parity_%s_nan_input: scikit-learn refuses NaN here: %s' %
                      (name, str(e).splitlines()[0][:80]))
                continue
            compare('parity_%s_nan_input' % name, flowqoe, est, mp, Xn, names, rng, regression)

    # missing values: trees that learnt where NaN goes
    Xn = X.copy()
    Xn[rng.random(size=Xn.shape) < 0.1] = np.nan
    for name, est in [('dtc_nan', DecisionTreeClassifier(max_depth=8, random_state=10)),
                      ('rfc_nan', RandomForestClassifier(n_estimators=20, random_state=11))]:
        try:
            est.fit(Xn, ylab)
        except ValueError as e:
            print('skip parity_%s: this scikit-learn cannot fit NaN: %s' % (name, e))
            continue
        mp = convert(est, work, name, ['--feature-names', ','.join('n%d' % i for i in range(nf))])
        Xt = test_rows(rng, est, X, 10000)
        Xt[rng.random(size=Xt.shape) < 0.15] = np.nan
        compare('parity_' + name, flowqoe, est, mp, Xt, ['n%d' % i for i in range(nf)], rng)

    # positional model (fitted on an ndarray, no names): columns in order
    est = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=12).fit(X, ylab)
    mp = convert(est, work, 'positional')
    Xt = test_rows(rng, est, X, 10000)
    csvp = mp + '.csv'
    write_csv(csvp, ['c%d' % i for i in range(nf)], Xt, extra=False)
    got = c_predict(flowqoe, mp, csvp)
    want = est.predict(Xt)
    diff = sum(1 for g, w in zip(got, want) if g != str(w)) + abs(len(got) - len(want))
    report(diff == 0, 'parity_positional (%d rows, %d differences)' % (len(Xt), diff),
           '%d differences' % diff)


def demo(flowqoe, work, path):
    d = pd.read_csv(path)
    label = [c for c in d.columns if c.strip() == 'Label'][0]
    num = d.select_dtypes('number')
    feats = [c for c in num.columns if np.isfinite(num[c]).all() and c.strip() != 'Unnamed: 0'
             and 'Port' not in c]
    X = num[feats].to_numpy(dtype=np.float64)
    y = d[label].to_numpy()
    for name, est in [('demo_dtc', DecisionTreeClassifier(random_state=0)),
                      ('demo_rfc', RandomForestClassifier(n_estimators=100, random_state=0)),
                      ('demo_etc', ExtraTreesClassifier(n_estimators=50, random_state=0))]:
        tr = np.arange(len(X)) % 3 != 0
        est.fit(pd.DataFrame(X[tr], columns=feats), y[tr])
        mp = convert(est, work, name)
        # the original CSV, as it is: BOM, blanks in names, 80 extra columns
        try:
            got = c_predict(flowqoe, mp, path)
        except RuntimeError as e:
            report(False, 'parity_' + name, str(e))
            continue
        est.n_jobs = 1
        want = est.predict(pd.DataFrame(X, columns=feats))
        diff = sum(1 for g, w in zip(got, want) if g != str(w)) + abs(len(got) - len(want))
        report(diff == 0, 'parity_%s (%d rows of %s, %d differences)' %
               (name, len(X), os.path.basename(path), diff), '%d differences' % diff)
        # threshold rows on the real features too
        Xt = test_rows(np.random.default_rng(1), est, X, 10000)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            compare('parity_%s_thresholds' % name, flowqoe, est, mp, Xt, feats,
                    np.random.default_rng(2))


def main():
    flowqoe, work = sys.argv[1], sys.argv[2]
    generated(flowqoe, work)
    if len(sys.argv) > 3:
        demo(flowqoe, work, sys.argv[3])


if __name__ == '__main__':
    main()
