#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The shipped models (models/*.model):
#  1. load in the C engine, and `flowqoe model predict` on their held-out
#     test split (models/NAME.testset.csv) prints exactly scikit-learn's
#     predictions stored there when they were trained (0 differences);
#  2. the confusion matrix of those C predictions against the true labels is
#     the one written in models/NAME.report.json;
#  3. with ../shared/data ($FQ_DATA), the venv and root: retraining from
#     scratch (models/train.sh --out TMP) gives the same test split, the same
#     features bit for bit, and a model whose predictions on it are the
#     shipped model's.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
FQ_DATA=${FQ_DATA:-$(cd .. && pwd)/shared/data}
export FQ_DATA FLOWQOE
MODELS="video_service cloud_gaming"
tmp=$(mktemp -d /tmp/fq-models.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# check_testset NAME MODEL TESTSET REPORT.json: C predictions vs the stored
# sklearn_pred column and vs the report's confusion matrix
check_testset() {
	local name=$1 model=$2 ts=$3 rep=$4 out
	python3 - "$ts" "$tmp/$name.features.csv" <<'EOF' || return 1
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
n = rows[0].index('label')
with open(sys.argv[2], 'w', newline='') as f:
    csv.writer(f, lineterminator='\n').writerows(r[:n] for r in rows)
EOF
	if ! out=$("$FLOWQOE" model predict "$model" "$tmp/$name.features.csv" 2>&1); then
		echo "not ok $name: flowqoe model predict failed: $out"
		return 1
	fi
	printf '%s\n' "$out" >"$tmp/$name.pred"
	python3 - "$ts" "$tmp/$name.pred" "$rep" "$name" <<'EOF'
import csv, json, sys
ts, predf, repf, name = sys.argv[1:]
rows = list(csv.DictReader(open(ts, newline='')))
pred = [l.strip() for l in open(predf) if l.strip()]
rep = json.load(open(repf))
if len(rows) < 10:
    print('not ok %s_parity: only %d test rows' % (name, len(rows))); sys.exit(0)
if len(pred) != len(rows):
    print('not ok %s_parity: %d predictions for %d rows' % (name, len(pred), len(rows)))
    sys.exit(0)
d = sum(1 for r, p in zip(rows, pred) if r['sklearn_pred'] != p)
if d:
    print('not ok %s_parity: C engine differs from scikit-learn on %d of %d rows' % (name, d, len(rows)))
else:
    print('ok %s_parity: C engine = scikit-learn on %d held-out rows' % (name, len(rows)))
cm = rep['test']['confusion_matrix']
lab = cm['labels']
mine = [[0] * len(lab) for _ in lab]
for r, p in zip(rows, pred):
    mine[lab.index(r['label'])][lab.index(p)] += 1
if mine != cm['rows_true_cols_pred']:
    print('not ok %s_confusion: C predictions give %s, report says %s' % (name, mine, cm['rows_true_cols_pred']))
else:
    print('ok %s_confusion: %s' % (name, mine))
if rep['parity']['differences'] != 0:
    print('not ok %s_report_parity: report records %d differences' % (name, rep['parity']['differences']))
EOF
}

for m in $MODELS; do
	for f in models/$m.model models/$m.testset.csv models/$m.report.json models/$m.report.md; do
		[ -s "$f" ] || echo "not ok ${m}_shipped: $f missing"
	done
	[ -s models/$m.model ] && [ -s models/$m.testset.csv ] && [ -s models/$m.report.json ] &&
		check_testset "$m" models/$m.model models/$m.testset.csv models/$m.report.json
done

# ---- retraining from the data --------------------------------------------
why=
[ -d "$FQ_DATA" ] || why="no data folder $FQ_DATA"
[ -z "$why" ] && [ "$(id -u)" -ne 0 ] && why="replay needs root"
[ -z "$why" ] && ! .venv/bin/python -c 'import sklearn' 2>/dev/null && why="no venv with scikit-learn (make venv)"
if [ -n "$why" ]; then
	echo "skip shipped_models_retrain: $why"
	exit 0
fi
if ! models/train.sh --out "$tmp/out" --work "$tmp/work" >"$tmp/train.log" 2>&1; then
	echo "not ok shipped_models_retrain: models/train.sh failed"
	tail -n 20 "$tmp/train.log"
	exit 1
fi
for m in $MODELS; do
	[ -s models/$m.testset.csv ] || continue # already reported missing
	if grep -q "^skip $m" "$tmp/train.log"; then
		echo "not ok ${m}_retrain: training skipped although $FQ_DATA is there: $(grep "^skip $m" "$tmp/train.log")"
		continue
	fi
	# same split, same labels, same features (bit for bit), same predictions
	python3 - models/$m.testset.csv "$tmp/out/$m.testset.csv" "$m" <<'EOF'
import csv, sys
a = list(csv.reader(open(sys.argv[1], newline='')))
b = list(csv.reader(open(sys.argv[2], newline='')))
name = sys.argv[3]
if a == b:
    print('ok %s_retrain: same %d test rows, features and predictions' % (name, len(a) - 1))
else:
    n = a[0].index('label') if 'label' in a[0] else len(a[0])
    fa = [r[:n + 1] for r in a]
    fb = [r[:n + 1] for r in b]
    why = 'features/labels differ' if fa != fb else 'predictions differ'
    print('not ok %s_retrain: %s (%d vs %d rows)' % (name, why, len(a) - 1, len(b) - 1))
EOF
	# the shipped model on the freshly extracted test split
	check_testset "${m}_fresh" models/$m.model "$tmp/out/$m.testset.csv" "$tmp/out/$m.report.json"
done
