# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Shared plumbing of the training scripts: data paths, flowqoe replay,
nDPI labels, the split by session, metrics, conversion and the parity check
of the C engine against scikit-learn.

Nothing here computes a feature: every number a model sees comes out of
`flowqoe replay` (or, for the xCloud sessions that exist only as flow
summaries, out of those summaries; see cloud_gaming.py).
"""
import csv
import hashlib
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Skip(Exception):
    """Input that is not there: the caller prints "skip ..." and stops."""


def data_dir():
    d = os.environ.get('FQ_DATA') or os.path.join(REPO, '..', 'shared', 'data')
    if not os.path.isdir(d):
        raise Skip('no data folder %s (set FQ_DATA)' % d)
    return os.path.abspath(d)


def flowqoe_bin():
    return os.environ.get('FLOWQOE') or os.path.join(REPO, 'build', 'flowqoe')


def need(path):
    if not os.path.exists(path):
        raise Skip('%s absent' % path)
    return path


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- flowqoe replay -------------------------------------------------------

def replay(pcap, out_csv):
    """One CSV row per flow, from the same BPF program attach loads."""
    cmd = [flowqoe_bin(), 'replay', pcap, '--csv', out_csv]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd), r.returncode, r.stderr.strip()))
    return read_csv(out_csv)


def read_csv(path):
    """(header, rows): header as written, rows as dicts keyed by the
    header names stripped of blanks (CIC-IDS2017 names start with one)."""
    with open(path, newline='') as f:
        rd = csv.reader(f)
        header = next(rd)
        keys = [h.strip().lstrip('\ufeff') for h in header]
        rows = [dict(zip(keys, r)) for r in rd if r]
    return header, rows


def fnum(v):
    """A CSV cell as float: empty, NaN or infinite cells are None."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    if x != x or x in (float('inf'), float('-inf')):
        return None
    return x


# ---- nDPI ground truth ------------------------------------------------------

def _endpoint(s):
    """'1.2.3.4:80' or '[fe80::1]:80' -> ('1.2.3.4', 80)."""
    if s.startswith('['):
        a, _, p = s[1:].partition(']:')
    else:
        a, _, p = s.rpartition(':')
    return a, int(p)


PROTO_NUM = {'TCP': 6, 'UDP': 17}


def ndpi_labels(out_path):
    """{(proto, frozenset of the two (addr, port))): nDPI application name}
    from an nDPI .out file ("[proto: 188.124/QUIC.YouTube]" -> "YouTube")."""
    labels = {}
    with open(out_path) as f:
        for line in f:
            if not line.startswith('\t'):
                continue
            p = line.strip().split(None, 5)
            if len(p) < 5 or p[1] not in PROTO_NUM or p[3] not in ('<->', '->'):
                continue
            try:
                a, b = _endpoint(p[2]), _endpoint(p[4])
            except ValueError:
                continue
            i = line.find('[proto: ')
            if i < 0:
                continue
            name = line[i + 8:line.index(']', i)].split('/', 1)[-1]
            app = name.split('.')[-1]
            labels.setdefault((PROTO_NUM[p[1]], frozenset((a, b))), app)
    return labels


def flow_key(row):
    """The same key for a replay row (CIC column names)."""
    return (int(float(row['Protocol'])),
            frozenset(((row['Source IP'], int(float(row['Source Port']))),
                       (row['Destination IP'], int(float(row['Destination Port']))))))


# ---- split by session -------------------------------------------------------

def split_groups(groups, labels, test_share=0.25, salt='flowqoe'):
    """Held-out split by GROUP (a session or a capture file), never by row:
    every row of a group lands on the same side.  A group's stratum is the
    rarest class among its rows (a capture with one YouTube flow among fifty
    others counts as a YouTube group).  Per stratum, groups are ordered by a
    salted hash of their name and the first ceil(share * n) go to the test
    side, at least one whenever a stratum has two groups or more.
    Deterministic, independent of row order and of library versions."""
    total = {}
    for y in labels:
        total[y] = total.get(y, 0) + 1
    present = {}
    for gg, y in zip(groups, labels):
        present.setdefault(gg, set()).add(y)
    by_class = {}
    for g, ys in sorted(present.items()):
        rare = sorted(ys, key=lambda y: (total[y], str(y)))[0]
        by_class.setdefault(rare, []).append(g)
    test = set()
    for y, gs in sorted(by_class.items(), key=lambda kv: str(kv[0])):
        gs.sort(key=lambda g: hashlib.sha256((salt + g).encode()).hexdigest())
        k = int(-(-len(gs) * test_share // 1))
        if len(gs) >= 2:
            k = max(1, min(k, len(gs) - 1))
        else:
            k = 0
        test.update(gs[:k])
    return [g in test for g in groups]


# ---- metrics and report -------------------------------------------------------

def evaluate(clf, X, y, classes, positive=None):
    """Accuracy, F1, confusion matrix and ROC AUC of clf on (X, y)."""
    import numpy as np
    from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score,
                                 roc_auc_score)
    pred = clf.predict(X)
    proba = clf.predict_proba(X)
    m = {
        'rows': int(len(y)),
        'accuracy': float(accuracy_score(y, pred)),
        'f1_macro': float(f1_score(y, pred, labels=classes, average='macro', zero_division=0)),
        'f1_per_class': {c: float(v) for c, v in zip(classes, f1_score(
            y, pred, labels=classes, average=None, zero_division=0))},
        'confusion_matrix': {'labels': list(classes),
                             'rows_true_cols_pred': confusion_matrix(y, pred, labels=classes).tolist()},
    }
    order = list(clf.classes_)
    present = sorted(set(y))
    try:
        if len(present) < 2:
            raise ValueError('one class only in the test split')
        if len(classes) == 2:
            pos = positive if positive is not None else classes[1]
            m['roc_auc'] = float(roc_auc_score(np.array(y) == pos, proba[:, order.index(pos)]))
        elif len(present) == len(classes):
            m['roc_auc'] = float(roc_auc_score(y, proba, labels=order, multi_class='ovr',
                                               average='macro'))
            m['roc_auc_note'] = 'one-vs-rest, macro average'
        else:
            raise ValueError('classes missing from the test split: %s' %
                             sorted(set(classes) - set(present)))
    except ValueError as e:
        m['roc_auc'] = None
        m['roc_auc_note'] = 'undefined: %s' % e
    return pred, m


def misclassified(groups, y, pred, limit=30):
    """[[group, true, predicted, count]] of the wrong predictions."""
    cnt = {}
    for g, a, b in zip(groups, y, pred):
        if a != b:
            cnt[(g, a, b)] = cnt.get((g, a, b), 0) + 1
    return [[g, a, b, n] for (g, a, b), n in sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))][:limit]


def md_misclassified(lst):
    if not lst:
        return 'No test row is misclassified.\n'
    out = ['Misclassified test rows:\n', '| group | true | predicted | rows |', '|---|---|---|---|']
    out += ['| %s | %s | %s | %d |' % tuple(r) for r in lst]
    return '\n'.join(out) + '\n'


def md_confusion(cm):
    labels = cm['labels']
    out = ['| true \\ predicted | ' + ' | '.join(labels) + ' |',
           '|---|' + '---|' * len(labels)]
    for lab, row in zip(labels, cm['rows_true_cols_pred']):
        out.append('| %s | %s |' % (lab, ' | '.join(str(v) for v in row)))
    return '\n'.join(out)


def fmt(x):
    return 'n/a' if x is None else '%.4f' % x


# ---- model file and parity ----------------------------------------------------

def venv_python():
    return sys.executable


def convert(clf, joblib_path, model_path, names):
    """sklearn estimator -> joblib -> models/from_sklearn.py -> .model,
    with the feature names `flowqoe model predict` looks up in a header"""
    import joblib
    joblib.dump(clf, joblib_path)
    conv = need(os.path.join(REPO, 'models', 'from_sklearn.py'))
    if any(',' in n for n in names):
        raise ValueError('feature name with a comma: %r' % names)
    r = subprocess.run([venv_python(), conv, '--feature-names', ','.join(names),
                        joblib_path, model_path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError('from_sklearn.py: exit %d: %s' % (r.returncode, r.stderr.strip()))


def write_features_csv(path, names, X, extra=None):
    """A CSV whose header names the model's features (as `flowqoe model
    predict` wants), floats written with repr so they read back exactly;
    extra = {column: values} appended after the features."""
    extra = extra or {}
    with open(path, 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(list(names) + list(extra))
        for i, row in enumerate(X):
            w.writerow([repr(float(v)) for v in row] + [extra[k][i] for k in extra])


def c_predict(model_path, csv_path):
    """Classes the C engine predicts, one per row."""
    cmd = [flowqoe_bin(), 'model', 'predict', model_path, csv_path]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd), r.returncode, r.stderr.strip()))
    return [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]


def features_only(csv_path, n_features, out_path):
    """Copy of a test-set CSV with only its first n_features columns."""
    with open(csv_path, newline='') as f, open(out_path, 'w', newline='') as o:
        w = csv.writer(o, lineterminator='\n')
        for r in csv.reader(f):
            w.writerow(r[:n_features])


def parity(model_path, csv_path, n_features, sk_pred):
    """Number of rows where the C engine and scikit-learn disagree."""
    tmp = csv_path + '.features.tmp'
    features_only(csv_path, n_features, tmp)
    try:
        c = c_predict(model_path, tmp)
    finally:
        os.unlink(tmp)
    if len(c) != len(sk_pred):
        raise RuntimeError('flowqoe model predict printed %d rows for %d' % (len(c), len(sk_pred)))
    return sum(1 for a, b in zip(c, sk_pred) if a != str(b))


def write_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write('\n')
