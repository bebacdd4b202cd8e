#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# flowqoe replay --cic-compat on netml/demo.pcap vs the official CIC-IDS2017
# rows of demo.csv: per column, the share of matched flows whose values
# agree (relative 1e-6).  The report is printed ("# " lines); docs/features.md
# explains the columns below 100% (the slice holds only packets sent by
# 192.168.10.5, each up to 4 times, so CICFlowMeter saw other packets).
# Required: the replay succeeds, the header equals demo.csv's, flows match.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
d=${FQ_DATA:-../shared/data}/netml
[ -f "$d/demo.pcap" ] && [ -f "$d/demo.csv" ] || { echo "skip replay_cic: $d/demo.pcap absent (FQ_DATA)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "skip replay_cic: needs root (BPF_PROG_RUN)"; exit 0; }
tmp=$(mktemp -d /tmp/fq-cic.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# CIC-IDS2017 timestamps are the lab's local time (UTC-3 in July)
if TZ='<-03>3' "$FLOWQOE" replay "$d/demo.pcap" --cic-compat --csv "$tmp/ours.csv" 2>"$tmp/err"; then
	echo "ok replay_cic/replay: $(cat "$tmp/err")"
else
	echo "not ok replay_cic/replay: $(cat "$tmp/err")"; exit 1
fi
python3 tests/data/replay_cic_compare.py "$tmp/ours.csv" "$d/demo.csv" > "$tmp/report"
sed 's/^/# /' "$tmp/report"
m=$(sed -n 's/^flows: .* matched \([0-9]*\)$/\1/p' "$tmp/report")
[ "${m:-0}" -gt 0 ] && echo "ok replay_cic/matched: $m flows matched on Flow ID, source and Timestamp" ||
	echo "not ok replay_cic/matched: no flow matched"
exit 0
