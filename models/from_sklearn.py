#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Convert a fitted scikit-learn tree model to a flowqoe model file.

    models/from_sklearn.py [--feature-names a,b,c] ESTIMATOR.joblib OUT.model

Supported: DecisionTreeClassifier, ExtraTreeClassifier,
RandomForestClassifier, ExtraTreesClassifier and their Regressor twins,
single output only.  The format is described in models/FORMAT.md: every
threshold and leaf value is written as a C99 hexadecimal float, so the C
engine reads back the very float64 scikit-learn compares against and
predictions are bit for bit scikit-learn's.

Feature names come from --feature-names, else from the estimator's
feature_names_in_ (fitted on a DataFrame), else the model is written
"positional" (names x0, x1, ...) and `flowqoe model predict` takes the CSV's
columns in order.
"""
import argparse
import inspect
import math
import os
import sys


def quote(name):
    """Percent-encode a name so it is one whitespace-free token."""
    out = []
    for b in str(name).encode('utf-8'):
        c = chr(b)
        if 0x21 <= b <= 0x7e and c != '%':
            out.append(c)
        else:
            out.append('%%%02X' % b)
    if not out:
        raise ValueError('empty name')
    return ''.join(out)


def hexf(v, allow_inf=False):
    v = float(v)
    if math.isinf(v) and allow_inf:
        # a split scikit-learn learnt to separate missing values from all
        # others: every number goes one way, NaN the other
        return 'inf' if v > 0 else '-inf'
    if not math.isfinite(v):
        raise ValueError('non-finite value %r in the model' % v)
    return v.hex()


def leaf_values(est, tree, classifier, n_classes, forest):
    """Per-node vectors a sample reaching that node contributes, exactly as
    the estimator's own predict path computes them (float64): a single
    tree's predict takes argmax of tree_.value as stored, a forest sums its
    trees' predict_proba."""
    import numpy as np
    v = np.asarray(tree.value)[:, 0, :]
    if not classifier:
        return v[:, :1]
    v = v[:, :n_classes]
    if not forest:
        return v
    # scikit-learn < 1.4 stored weighted counts in tree_.value and
    # normalised them in predict_proba; later versions store fractions and
    # return them as they are.  Reproduce whichever this version does.
    if 'normalizer' in inspect.getsource(type(est).predict_proba):
        v = v.copy()
        normalizer = v.sum(axis=1)[:, np.newaxis]
        normalizer[normalizer == 0.0] = 1.0
        v /= normalizer
    return v


def write_tree(out, est, classifier, n_classes, forest):
    tree = est.tree_
    n = tree.node_count
    left, right = tree.children_left, tree.children_right
    feat, thr = tree.feature, tree.threshold
    miss = getattr(tree, 'missing_go_to_left', None)
    vals = leaf_values(est, tree, classifier, n_classes, forest)
    out.append('tree %d' % n)
    for i in range(n):
        if left[i] == -1:
            out.append('l ' + ' '.join(hexf(x) for x in vals[i]))
        else:
            m = int(miss[i]) if miss is not None else 0
            out.append('s %d %d %d %s %d' % (left[i], right[i], feat[i], hexf(thr[i], True), m))


def convert(est, names=None):
    import sklearn
    from sklearn.base import is_classifier, is_regressor
    from sklearn.tree import BaseDecisionTree
    from sklearn.ensemble import RandomForestClassifier, ExtraTreesClassifier, \
        RandomForestRegressor, ExtraTreesRegressor

    kind = type(est).__name__
    forest = isinstance(est, (RandomForestClassifier, ExtraTreesClassifier,
                              RandomForestRegressor, ExtraTreesRegressor))
    if not forest and not isinstance(est, BaseDecisionTree):
        raise ValueError('%s is not a supported estimator (decision tree, random '
                         'forest or extra trees)' % kind)
    if not hasattr(est, 'n_features_in_'):
        raise ValueError('the estimator is not fitted')
    if getattr(est, 'n_outputs_', 1) != 1:
        raise ValueError('multi-output models are not supported')
    classifier = is_classifier(est)
    if not classifier and not is_regressor(est):
        raise ValueError('%s is neither a classifier nor a regressor' % kind)
    nf = int(est.n_features_in_)
    named = True
    if names is None and hasattr(est, 'feature_names_in_'):
        names = [str(x) for x in est.feature_names_in_]
    if names is None:
        names = ['x%d' % i for i in range(nf)]
        named = False
    if len(names) != nf:
        raise ValueError('%d feature names for a model of %d features' % (len(names), nf))
    if len(set(names)) != len(names):
        raise ValueError('duplicate feature names')
    trees = est.estimators_ if forest else [est]

    out = ['flowqoe-model 1',
           '# from scikit-learn %s %s' % (sklearn.__version__, kind),
           'estimator %s' % kind,
           'task %s' % ('classification' if classifier else 'regression'),
           'combine %s' % ('mean' if forest else 'single'),
           'features %d %s' % (nf, 'named' if named else 'positional')]
    out += ['f ' + quote(n) for n in names]
    n_classes = 0
    if classifier:
        n_classes = len(est.classes_)
        out.append('classes %d' % n_classes)
        out += ['c ' + quote(str(c)) for c in est.classes_]
    out.append('trees %d' % len(trees))
    for t in trees:
        if t.tree_.n_features != nf:
            raise ValueError('a tree has %d features, the model %d' % (t.tree_.n_features, nf))
        write_tree(out, t, classifier, n_classes, forest)
    out.append('end')
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--feature-names', help='comma-separated names, in the model\'s feature order')
    ap.add_argument('estimator', help='joblib file of a fitted estimator')
    ap.add_argument('out', help='model file to write')
    a = ap.parse_args()
    import joblib
    est = joblib.load(a.estimator)
    names = a.feature_names.split(',') if a.feature_names else None
    try:
        text = convert(est, names)
    except ValueError as e:
        print('from_sklearn.py: %s' % e, file=sys.stderr)
        return 1
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, a.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
