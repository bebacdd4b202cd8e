#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Retrain the shipped models from ../shared/data (or $FQ_DATA), every
# feature through build/flowqoe replay (needs root: BPF_PROG_RUN).
#   models/train.sh [--out DIR] [--work DIR]   (default: models/, build/models/)
# `make models` runs it in the venv.  Prints "skip ..." and exits 0 when the
# data are absent.
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export PYTHONDONTWRITEBYTECODE=1
out=models
work=build/models
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	*) echo "usage: models/train.sh [--out DIR] [--work DIR]" >&2; exit 2 ;;
	esac
done
if [ ! -x "$PY" ]; then
	echo "no $PY: run 'make venv' first" >&2
	exit 1
fi
for m in video_service cloud_gaming; do
	"$PY" models/train/$m.py --out "$out" --work "$work/$m"
done
