#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""`flowqoe model explain` against independent computations.

    explain.py FLOWQOE WORKDIR

- a single tree: one printed rule per leaf of the scikit-learn tree, and
  each rule's conditions, applied to the test rows in Python, select
  exactly the rows scikit-learn's apply() sends to that leaf, whose class
  is the one the rule names;
- a forest with --data: the model accuracy printed equals scikit-learn's;
  the surrogate written by --out, run through `flowqoe model predict`,
  gives exactly the fidelity (held-out and all rows) and accuracy printed;
  its depth is within --max-depth; and on its training rows it agrees with
  the forest at least as well as scikit-learn's own depth-limited CART
  fitted to the same targets, less 2 points (greedy CART ties may break
  differently, a much worse tree means a broken fit).
"""
import csv
import os
import re
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.dirname(__file__))
import parity  # noqa: E402


def report(ok, name, why=''):
    print(('ok %s' % name) if ok else ('not ok %s: %s' % (name, why)), flush=True)


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd[1:3]), r.returncode, r.stderr.strip()[:300]))
    return r.stdout


COND = re.compile(r'^(?:(?P<lo>\S+) < (?P<n1>.+?) <= (?P<hi>\S+)|(?P<n2>.+?) > (?P<lo2>\S+)|'
                  r'(?P<n3>.+?) <= (?P<hi3>\S+))$')


def rule_mask(conds, X, names):
    """Rows a printed rule selects.  Printed thresholds are rounded to 7
    digits, so test rows sit away from thresholds (random data)."""
    m = np.ones(len(X), dtype=bool)
    for c in conds:
        g = COND.match(c)
        if not g:
            raise ValueError('unparsed condition %r' % c)
        if g.group('n1'):
            j = names.index(g.group('n1'))
            m &= (X[:, j] > float(g.group('lo'))) & (X[:, j] <= float(g.group('hi')))
        elif g.group('n2'):
            j = names.index(g.group('n2'))
            m &= X[:, j] > float(g.group('lo2'))
        else:
            j = names.index(g.group('n3'))
            m &= X[:, j] <= float(g.group('hi3'))
    return m


def single_tree(flowqoe, work, rng):
    names = ['pkts', 'bytes', 'iat', 'size std', 'x4', 'x5']
    X, y = parity.gen_data(rng, 3000, len(names), 3)
    ylab = np.array(['video', 'gaming', 'other'])[y]
    est = DecisionTreeClassifier(max_depth=5, random_state=0).fit(pd.DataFrame(X, columns=names), ylab)
    mp = parity.convert(est, work, 'explain_tree')
    out = run([flowqoe, 'model', 'explain', mp])
    rules = [ln for ln in out.splitlines() if ln.strip().startswith('rule ')]
    nleaves = est.get_n_leaves()
    report(len(rules) == nleaves, 'explain_tree_rules (%d rules, %d leaves)' % (len(rules), nleaves),
           '%d rules for %d leaves' % (len(rules), nleaves))
    Xt, _ = parity.gen_data(rng, 5000, len(names), 3)
    Xt = Xt.astype(np.float32).astype(np.float64)
    leaf = est.apply(Xt)
    pred = est.predict(Xt)
    seen = np.zeros(len(Xt), dtype=int)
    bad = 0
    for ln in rules:
        body = ln.split(':', 1)[1].strip()
        cond, _, concl = body.rpartition(': class ')
        cls = concl.split(' (')[0]
        conds = [] if cond.strip() == 'always' else cond[3:].split(' and ')
        msk = rule_mask(conds, Xt, names)
        seen += msk
        leaves = set(leaf[msk])
        if len(leaves) > 1 or (msk.any() and set(pred[msk]) != {cls}):
            bad += 1
    ok = bad == 0 and (seen == 1).all()
    report(ok, 'explain_tree_rules_select_leaves (%d rows)' % len(Xt),
           '%d rules disagree with apply(); rows matched by !=1 rule: %d' % (bad, int((seen != 1).sum())))


def forest(flowqoe, work, rng):
    names = ['pkts', 'bytes', 'iat', 'size std', 'x4', 'x5']
    X, y = parity.gen_data(rng, 4000, len(names), 3)
    ylab = np.array(['video', 'gaming', 'other'])[y]
    tr = rng.random(len(X)) < 0.5
    est = RandomForestClassifier(n_estimators=40, random_state=0, n_jobs=1)
    est.fit(pd.DataFrame(X[tr], columns=names), ylab[tr])
    mp = parity.convert(est, work, 'explain_forest')
    # the data: held-out rows plus labels (some unknown to the model)
    Xd, yd = X[~tr], ylab[~tr].astype(object)
    yd[:7] = 'unseen'
    csvp = os.path.join(work, 'explain_forest.csv')
    with open(csvp, 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(names + ['Label'])
        for row, lab in zip(Xd, yd):
            w.writerow([repr(float(v)) for v in row] + [lab])
    sur = os.path.join(work, 'surrogate.model')
    depth = 4
    out = run([flowqoe, 'model', 'explain', mp, '--data', csvp, '--max-depth', str(depth), '--out', sur])

    def num(pat):
        m = re.search(pat, out)
        if not m:
            raise ValueError('no %r in explain output:\n%s' % (pat, out))
        return [int(g) for g in m.groups()]

    fp = est.predict(pd.DataFrame(Xd, columns=names))
    known = yd != 'unseen'
    r, k = num(r'model accuracy \S+ \((\d+)/(\d+) rows')
    want = (int((fp[known] == yd[known]).sum()), int(known.sum()))
    report((r, k) == want, 'explain_model_accuracy (%d/%d)' % (r, k), 'printed %d/%d, scikit-learn %d/%d' % (r, k, *want))

    sp = np.array(run([flowqoe, 'model', 'predict', sur, csvp]).split())
    idx = np.arange(len(Xd))
    ho = idx % 5 == 0
    agh, nh = num(r'fidelity \(held-out\) \S+ \((\d+)/(\d+) rows')
    ag, n = num(r'fidelity \(all\) \S+ \((\d+)/(\d+)\)')
    sr, sk = num(r'surrogate accuracy \S+ \((\d+)/(\d+)\)')
    want = [int((sp[ho] == fp[ho]).sum()), int(ho.sum()), int((sp == fp).sum()), len(Xd),
            int((sp[known] == yd[known]).sum()), int(known.sum())]
    got = [agh, nh, ag, n, sr, sk]
    report(got == want, 'explain_surrogate_figures (fidelity held-out %d/%d, all %d/%d, accuracy %d/%d)'
           % tuple(got), 'printed %s, recomputed %s' % (got, want))

    sdepth = int(re.search(r'depth (\d+)', run([flowqoe, 'model', 'explain', sur])).group(1))
    report(1 <= sdepth <= depth, 'explain_surrogate_depth (%d <= %d)' % (sdepth, depth),
           'depth %d, --max-depth %d' % (sdepth, depth))

    trn = ~ho
    ref = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(Xd[trn], fp[trn])
    ref_fid = float((ref.predict(Xd[trn]) == fp[trn]).mean())
    our_fid = float((sp[trn] == fp[trn]).mean())
    report(our_fid >= ref_fid - 0.02, 'explain_surrogate_vs_sklearn_cart (train fidelity %.4f vs %.4f)'
           % (our_fid, ref_fid), 'ours %.4f, scikit-learn %.4f' % (our_fid, ref_fid))


def main():
    flowqoe, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(7)
    for f in (single_tree, forest):
        try:
            f(flowqoe, work, rng)
        except (RuntimeError, ValueError) as e:
            report(False, 'explain_' + f.__name__, str(e))


if __name__ == '__main__':
    main()
