#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Video-service classifier: YouTube / Twitch / other, one prediction per flow.

Data (all through `flowqoe replay`, features are its CICFlowMeter columns):
  * video-csv-uuu/: per-packet traces of 30 s of playback, YouTube (QUIC)
    and Twitch (TLS/TCP), turned into pcaps by synth_pcap.py, one flow per
    session;
  * ndpi/*.pcap*: real captures, labelled per flow by nDPI's .out file:
    QUIC.YouTube -> YouTube, every other flow -> other (Netflix, HLS, DAZN,
    1kxun video included: they are not YouTube or Twitch);
  * the other unlabelled captures of ../shared/data (browsing, DNS, CIC-IDS
    slice, ...) -> other.
Held-out split by session / capture file (common.split_groups).

usage: video_service.py [--work DIR] [--out DIR]
  --work DIR  intermediate files (pcaps, replay CSVs); default build/models/video_service
  --out DIR   where the .model, report and test set go; default models/
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Skip, log  # noqa: E402
import synth_pcap  # noqa: E402

NAME = 'video_service'
CLASSES = ['Twitch', 'YouTube', 'other']
MIN_PACKETS = 10  # flows shorter than this carry no timing pattern to learn

# Size and timing statistics only.  Left out on purpose: addresses, ports,
# protocol (the synthetic traces are UDP for YouTube and TCP for Twitch, so
# it would be a label leak), timestamps, duration and totals (the traces are
# cut at 30 s, the captures are not), TCP flags, header lengths and window
# sizes (synthesised for the traces), active/idle periods (tied to capture
# length), bulk and subflow columns.
FEATURES = [
    'Fwd Packet Length Max', 'Fwd Packet Length Min', 'Fwd Packet Length Mean',
    'Fwd Packet Length Std', 'Bwd Packet Length Max', 'Bwd Packet Length Min',
    'Bwd Packet Length Mean', 'Bwd Packet Length Std', 'Flow Bytes/s', 'Flow Packets/s',
    'Flow IAT Mean', 'Flow IAT Std', 'Flow IAT Max', 'Flow IAT Min',
    'Fwd IAT Mean', 'Fwd IAT Std', 'Fwd IAT Max', 'Fwd IAT Min',
    'Bwd IAT Mean', 'Bwd IAT Std', 'Bwd IAT Max', 'Bwd IAT Min',
    'Fwd Packets/s', 'Bwd Packets/s', 'Min Packet Length', 'Max Packet Length',
    'Packet Length Mean', 'Packet Length Std', 'Down/Up Ratio', 'Average Packet Size',
]

# (file, transport of the synthetic flow)
TRACES = [
    ('Youtube_1080_merged_023.csv', 'YouTube', False),
    ('Youtube_720_merged_013.csv', 'YouTube', False),
    ('Youtube_480_merged_013.csv', 'YouTube', False),
    ('Twitch_480_merged_007.csv', 'Twitch', True),
]

# nDPI-labelled captures: flows whose nDPI app is YouTube -> YouTube, else other
NDPI = ['youtube_quic.pcap', 'netflix.pcap', 'hls.pcapng', 'dazn.pcapng',
        'android.pcap', 'iphone.pcap', 'teams.pcap', 'zoom.pcap', 'steam.pcapng',
        'bittorrent.pcap', 'quic.pcap', 'geforcenow.pcapng', '1kxun.pcap',
        'dns_doh.pcap', 'googledns_android10.pcap', 'dns.pcap']
# unlabelled captures with no YouTube or Twitch traffic in them -> other.
# Not used: requet/ (YouTube, but no per-flow labels to tell its video flows
# from the rest of the browser's).
OTHER = ['zeek/wikipedia.pcap', 'zeek/workshop_2011_browse.pcap',
         'zeek/chromium-115.0.5790.110-google-de-fragmented.pcap',
         'ml-systems/port80.pcap', 'ml-systems/port443.pcap',
         'ml-systems/uchicagocs-20220922.pcap', 'ml-networking/dnshttps-pcap-20210604.pcap',
         'netml/demo.pcap', 'tcpreplay/test.pcap']


def features(row):
    v = [common.fnum(row.get(f)) for f in FEATURES]
    return None if any(x is None for x in v) else v


def n_packets(row):
    return int(float(row['Total Fwd Packets'])) + int(float(row['Total Backward Packets']))


def build_dataset(work):
    data = common.data_dir()
    rows = []  # dicts: group, source, label, x
    dropped = {'short': 0, 'nan': 0, 'unmatched': 0}
    header = None

    def add(group, source, label, r):
        nonlocal header
        if n_packets(r) < MIN_PACKETS:
            dropped['short'] += 1
            return
        x = features(r)
        if x is None:
            dropped['nan'] += 1
            return
        rows.append({'group': group, 'source': source, 'label': label, 'x': x})

    for i, (fname, label, tcp) in enumerate(TRACES, 1):
        trace = common.need(os.path.join(data, 'video-csv-uuu', fname))
        pcap = os.path.join(work, fname.replace('.csv', '.pcap'))
        meta = synth_pcap.synth_file(trace, pcap, i, tcp)
        by_client = {m['client']: m['session'] for m in meta}
        hdr, flows = common.replay(pcap, pcap + '.flows.csv')
        header = header or hdr
        seen = set()
        for r in flows:
            s = by_client.get(r['Source IP']) or by_client.get(r['Destination IP'])
            if s is None:
                dropped['unmatched'] += 1
                continue
            seen.add(s)
            add('uuu/%s/%s' % (fname, s), 'video-csv-uuu/' + fname, label, r)
        if len(seen) != len(meta):
            raise RuntimeError('%s: %d sessions, replay gave flows for %d' %
                               (fname, len(meta), len(seen)))
        log('%s: %d sessions' % (fname, len(meta)))

    for fname in NDPI:
        pcap = os.path.join(data, 'ndpi', fname)
        if not os.path.exists(pcap):
            log('missing %s, left out' % pcap)
            continue
        lab = common.ndpi_labels(common.need(pcap + '.out'))
        hdr, flows = common.replay(pcap, os.path.join(work, fname + '.flows.csv'))
        header = header or hdr
        for r in flows:
            app = lab.get(common.flow_key(r)) if r.get('Protocol', '').strip() in ('6', '17') else None
            label = 'YouTube' if app == 'YouTube' else 'Twitch' if app == 'Twitch' else 'other'
            add('ndpi/' + fname, 'ndpi/' + fname, label, r)

    for rel in OTHER:
        pcap = os.path.join(data, rel)
        if not os.path.exists(pcap):
            log('missing %s, left out' % pcap)
            continue
        hdr, flows = common.replay(pcap, os.path.join(work, rel.replace('/', '_') + '.flows.csv'))
        for r in flows:
            add(rel, rel, 'other', r)
    return rows, dropped, header


REQUET = ['requet/A_baseline_Mar22_exp_46.pcap', 'requet/A_movement_Apr20_exp_135.pcap',
          'requet/C_baseline_May12_exp_318.pcap', 'requet/C_baseline_May14_exp_335.pcap']


def requet_check(clf, work):
    """YouTube sessions of another dataset (ReQuEST, 2018, browser), never
    trained on and without per-flow labels: the class the model gives to
    the three flows carrying the most bytes of each capture (the video)."""
    import numpy as np
    data = common.data_dir()
    out = []
    for rel in REQUET:
        pcap = os.path.join(data, rel)
        if not os.path.exists(pcap):
            continue
        _, flows = common.replay(pcap, os.path.join(work, rel.replace('/', '_') + '.flows.csv'))
        big = []
        for r in flows:
            x = features(r)
            if x is None or n_packets(r) < MIN_PACKETS:
                continue
            b = float(r['Total Length of Fwd Packets']) + float(r['Total Length of Bwd Packets'])
            big.append((b, r['Protocol'].strip(), x))
        big.sort(key=lambda t: -t[0])
        top = big[:3]
        pred = list(clf.predict(np.array([t[2] for t in top]))) if top else []
        out.append({'capture': rel, 'flows': len(big),
                    'top': [{'payload_bytes': int(t[0]), 'protocol': t[1], 'predicted': str(p)}
                            for t, p in zip(top, pred)]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', default=os.path.join(common.REPO, 'build', 'models', NAME))
    ap.add_argument('--out', default=os.path.join(common.REPO, 'models'))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)

    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    rows, dropped, header = build_dataset(a.work)
    # the model's feature names are the replay CSV's header cells (less the
    # leading blanks of the CIC-IDS2017 names, which `flowqoe model predict`
    # ignores), so it runs on a replay CSV as it is
    names = set(h.strip() for h in header)
    missing = [f for f in FEATURES if f not in names]
    if missing:
        raise RuntimeError('replay CSV lacks %s' % missing)
    feat_names = FEATURES
    X = np.array([r['x'] for r in rows], dtype=np.float64)
    y = np.array([r['label'] for r in rows])
    g = [r['group'] for r in rows]
    test = np.array(common.split_groups(g, list(y)))

    clf = RandomForestClassifier(n_estimators=50, max_depth=10, min_samples_leaf=2,
                                 class_weight='balanced', random_state=0, n_jobs=1)
    clf.fit(X[~test], y[~test])
    pred, m = common.evaluate(clf, X[test], list(y[test]), CLASSES)

    # group-wise 4-fold cross-validation, for a spread the single split cannot give
    cv = []
    for k in range(4):
        te = np.array(common.split_groups(g, list(y), salt='cv%d' % k))
        c2 = RandomForestClassifier(n_estimators=50, max_depth=10, min_samples_leaf=2,
                                    class_weight='balanced', random_state=0, n_jobs=1)
        c2.fit(X[~te], y[~te])
        _, m2 = common.evaluate(c2, X[te], list(y[te]), CLASSES)
        cv.append({'accuracy': m2['accuracy'], 'f1_macro': m2['f1_macro'], 'roc_auc': m2['roc_auc'],
                   'confusion': m2['confusion_matrix']['rows_true_cols_pred']})

    requet = requet_check(clf, a.work)

    model = os.path.join(a.out, NAME + '.model')
    common.convert(clf, os.path.join(a.work, NAME + '.joblib'), model, feat_names)
    tcsv = os.path.join(a.out, NAME + '.testset.csv')
    tg = [gg for gg, t in zip(g, test) if t]
    wrong = common.misclassified(tg, list(y[test]), list(pred))
    common.write_features_csv(tcsv, feat_names, X[test],
                              {'label': list(y[test]), 'sklearn_pred': list(pred), 'group': tg})
    diffs = common.parity(model, tcsv, len(feat_names), list(pred))

    counts = {}
    for r, t in zip(rows, test):
        k = (r['source'] if r['source'].startswith('video-csv-uuu') else 'captures', r['label'])
        c = counts.setdefault(k, [0, 0, set(), set()])
        c[1 if t else 0] += 1
        c[3 if t else 2].add(r['group'])
    imp = sorted(zip(FEATURES, clf.feature_importances_), key=lambda kv: -kv[1])
    rep = {
        'model': NAME, 'file': NAME + '.model', 'estimator': ' '.join(repr(clf).split()),
        'sklearn_version': __import__('sklearn').__version__,
        'classes': CLASSES, 'features': FEATURES, 'min_packets': MIN_PACKETS,
        'rows': {'train': int((~test).sum()), 'test': int(test.sum())},
        'groups': {'train': len(set(gg for gg, t in zip(g, test) if not t)), 'test': len(set(tg))},
        'test_groups': sorted(set(tg)),
        'dropped_flows': dropped,
        'test': m, 'cv4_group': cv,
        'misclassified': wrong,
        'parity': {'rows': int(test.sum()), 'differences': diffs,
                   'command': 'flowqoe model predict %s.model %s.testset.csv' % (NAME, NAME)},
        'requet_top_flows': requet,
        'importances_top10': [[f, float(v)] for f, v in imp[:10]],
    }
    common.write_json(os.path.join(a.out, NAME + '.report.json'), rep)
    write_md(os.path.join(a.out, NAME + '.report.md'), rep, counts)
    log('%s: test accuracy %.4f, F1 %.4f, AUC %s, parity differences %d' %
        (NAME, m['accuracy'], m['f1_macro'], common.fmt(m['roc_auc']), diffs))
    if diffs:
        sys.exit('C engine and scikit-learn disagree on %d rows' % diffs)


def write_md(path, rep, counts):
    m = rep['test']
    L = []
    L.append('# Video-service classifier (YouTube / Twitch / other)\n')
    L.append('Generated by `make models` (models/train/video_service.py); do not edit.\n')
    L.append('Model `models/%s`: %s, scikit-learn %s, converted with `models/from_sklearn.py`.\n' %
             (rep['file'], rep['estimator'], rep['sklearn_version']))
    L.append('One prediction per flow (a `flowqoe replay --csv` row). Features: %d '
             'CICFlowMeter size and timing columns of `flowqoe replay`: %s.\n' %
             (len(rep['features']), ', '.join('`%s`' % f for f in rep['features'])))
    L.append('## Data\n')
    L.append('| source | class | train rows | test rows | train groups | test groups |')
    L.append('|---|---|---|---|---|---|')
    for (src, lab), c in sorted(counts.items()):
        L.append('| %s | %s | %d | %d | %d | %d |' % (src, lab, c[0], c[1], len(c[2]), len(c[3])))
    L.append('')
    L.append('Flows with fewer than %d packets are left out (dropped: %s). '
             'Split by group: a group is one session of video-csv-uuu or one capture '
             'file, so no session or capture has rows on both sides. Test groups: %s.\n' %
             (rep['min_packets'], rep['dropped_flows'], ', '.join(rep['test_groups'])))
    L.append('## Held-out test split\n')
    L.append('- rows: %d (train %d)' % (m['rows'], rep['rows']['train']))
    L.append('- accuracy: %s' % common.fmt(m['accuracy']))
    L.append('- F1 (macro): %s; per class: %s' % (common.fmt(m['f1_macro']), ', '.join(
        '%s %s' % (k, common.fmt(v)) for k, v in m['f1_per_class'].items())))
    L.append('- ROC AUC: %s (%s)' % (common.fmt(m['roc_auc']), m.get('roc_auc_note', '')))
    L.append('')
    L.append(common.md_confusion(m['confusion_matrix']) + '\n')
    L.append(common.md_misclassified(rep['misclassified']))
    L.append('Four more group splits (other salts of the same rule, each trained afresh; '
             'confusion rows/columns in the order %s):\n' % ', '.join(rep['classes']))
    for c in rep['cv4_group']:
        L.append('- accuracy %s, F1 %s, AUC %s, confusion %s' % (
            common.fmt(c['accuracy']), common.fmt(c['f1_macro']), common.fmt(c['roc_auc']),
            c['confusion']))
    L.append('')
    L.append('C engine parity: `%s` equals scikit-learn `predict` on all %d test rows '
             '(%d differences).\n' % (rep['parity']['command'], rep['parity']['rows'],
                                      rep['parity']['differences']))
    if rep['requet_top_flows']:
        L.append('Out of distribution: YouTube sessions of another dataset (ReQuEST, 2018, '
                 'browser; never trained on, no per-flow labels). The three flows with the '
                 'most payload in each capture (the first is the video stream in every one; '
                 'the others may be page objects) are called:\n')
        L.append('| capture | flows | biggest flows: payload bytes, protocol -> predicted |')
        L.append('|---|---|---|')
        for q in rep['requet_top_flows']:
            L.append('| %s | %d | %s |' % (q['capture'], q['flows'], '; '.join(
                '%d B %s -> %s' % (t['payload_bytes'], {'6': 'TCP', '17': 'UDP'}.get(
                    t['protocol'], t['protocol']), t['predicted']) for t in q['top'])))
        L.append('')
    L.append('Most important features: ' + ', '.join('%s %.3f' % (f, v) for f, v in
                                                      rep['importances_top10']) + '.\n')
    uuu = sum(len(c[2]) + len(c[3]) for (src, lab), c in counts.items()
              if src.startswith('video-csv-uuu'))
    capyt = sum(c[0] + c[1] for (src, lab), c in counts.items()
                if src == 'captures' and lab == 'YouTube')
    L.append(LIMITS % {'uuu': uuu, 'capyt': capyt})
    with open(path, 'w') as f:
        f.write('\n'.join(L))


LIMITS = """## What this data can and cannot support

- **Few sessions.** YouTube and Twitch come almost only from the %(uuu)s
  sessions of one public dataset (YouTube at 1080/720/480p, Twitch at 480p
  only), 30 s each, collected by one group on one access link (100 Mbit/s).
  The real captures add %(capyt)s YouTube flow(s) labelled by nDPI (short
  gQUIC flows of 2017, thumbnails rather than video). Scores on a test split
  of a dozen sessions have wide error bars; the cross-validation line above
  shows the spread.
- **Synthetic flows for the traces.** Each trace session becomes ONE flow
  (the dataset publishes neither addresses nor ports, so a session that used
  several connections is merged into one). Sizes, directions and times are
  the dataset's; headers, TCP flags and sequence numbers are invented, so
  features that depend on them are not used. `len` in the traces is the
  Ethernet frame length (evidence in models/train/synth_pcap.py); 60-byte
  downlink frames are probably padded bare ACKs and are counted as 46-byte
  IP packets.
- **Easy negatives.** "other" is every flow of the real captures with at
  least the minimum packet count: web browsing, DNS, conferencing, BitTorrent,
  other video services (Netflix, HLS, DAZN, 1kxun). Long bulk video flows of
  other services are rare in it, so the model separates YouTube from Twitch
  far better than it separates "YouTube" from "any QUIC bulk download".
- **Dataset artefacts the model may use.** Twitch traces are TLS/TCP and
  YouTube QUIC; packet sizes such as 1292 bytes (Google QUIC) are genuine
  protocol signatures, but a YouTube served over TCP, or a Twitch over QUIC,
  is not represented.
- **No addresses, ports, protocol number, timestamps or durations** are
  features; the labels of the captures come from nDPI (DPI on SNI/host
  names), never from the features.
"""


if __name__ == '__main__':
    try:
        main()
    except Skip as e:
        print('skip %s: %s' % (NAME, e))
        sys.exit(0)
