#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The C tree engine equals scikit-learn's predict(): for every model type
# (decision tree, random forest, extra trees; classifier and regressor),
# >= 10,000 rows including rows on, just above and just below every
# threshold, float32 extremes and out-of-range values, and again with NaN
# in 15% of the cells: 0 differences, in batch and row by row (--rows).
# Generated data always (needs the venv: made here if missing); with
# $FQ_DATA/netml/demo.csv also models trained on real CICFlowMeter rows,
# predicted on that CSV as it is.  Then `model explain`: the surrogate's
# reported fidelity equals what its own predictions give.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
FQ_DATA=${FQ_DATA:-$(cd .. && pwd)/shared/data}
PY=.venv/bin/python
export PYTHONDONTWRITEBYTECODE=1 PYTHONWARNINGS=ignore

if ! "$PY" -c 'import sklearn, joblib, pandas' 2>/dev/null; then
	if ! make -s venv >/dev/null 2>&1 || ! "$PY" -c 'import sklearn, joblib, pandas' 2>/dev/null; then
		echo "not ok model_parity: no venv with scikit-learn ('make venv' failed)"
		exit 1
	fi
fi
tmp=$(mktemp -d /tmp/fq-model-parity.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

demo=()
if [ -f "$FQ_DATA/netml/demo.csv" ]; then
	demo=("$FQ_DATA/netml/demo.csv")
else
	echo "skip parity_demo: no $FQ_DATA/netml/demo.csv"
fi
"$PY" tests/model/parity.py "$FLOWQOE" "$tmp" "${demo[@]}" ||
	echo "not ok model_parity: tests/model/parity.py exited with status $?"
"$PY" tests/model/explain.py "$FLOWQOE" "$tmp" ||
	echo "not ok model_explain: tests/model/explain.py exited with status $?"
