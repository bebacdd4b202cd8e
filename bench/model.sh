#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Tree-model prediction: per-row latency and rows/s (one core) of the C
# engine for a depth-10 tree and 100-tree forests, next to scikit-learn's
# single-row and batch predict measured in the same run (ratios).  Details
# in tests/model/bench.py.  MODEL_BENCH_SECONDS (default 2) per measurement.
set -u
cd "$(dirname "$0")/.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
PY=.venv/bin/python
export PYTHONDONTWRITEBYTECODE=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
if ! "$PY" -c 'import sklearn, joblib' 2>/dev/null; then
	make -s venv >/dev/null 2>&1 || { echo "bench model: no venv with scikit-learn ('make venv' failed)"; exit 1; }
fi
[ -x "$FLOWQOE" ] || { echo "bench model: no $FLOWQOE (run make)"; exit 1; }
tmp=$(mktemp -d /tmp/fq-bench-model.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$PY" tests/model/bench.py "$FLOWQOE" "$tmp" "${MODEL_BENCH_SECONDS:-2}"
