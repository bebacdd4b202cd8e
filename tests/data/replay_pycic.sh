#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The Python cicflowmeter (PyPI 0.2.0) as a second opinion on
# netml/demo.pcap, next to the official CICFlowMeter rows of demo.csv:
# per column, (a) python vs official, (b) flowqoe replay --cic-compat vs
# python, (c) flowqoe default mode vs python, on flows matched by directed
# 5-tuple + start second (tests/data/replay_pycic.py; table as "# " lines).
# Required (rules in replay_pycic.py, reasons in docs/features.md):
#  - flows match, every python flow has a flowqoe flow in both modes, and
#    every other flowqoe row is explained (not TCP/UDP, or a later flow of
#    a 5-tuple python kept as one flow);
#  - columns defined alike by both tools where python agrees with official
#    on >= 99% of flows: compat agrees with python on as many shared flows;
#  - the same columns, per value: wherever python = official, compat = python.
# python cicflowmeter lives in build/pycic-venv (shared with bench/replay.sh);
# installed from PyPI on first run, skipped if that fails.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
d=${FQ_DATA:-../shared/data}/netml
[ -f "$d/demo.pcap" ] && [ -f "$d/demo.csv" ] || { echo "skip replay_pycic: $d/demo.pcap absent (FQ_DATA)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "skip replay_pycic: needs root (BPF_PROG_RUN)"; exit 0; }
venv=build/pycic-venv
if ! $venv/bin/python -c 'import cicflowmeter.sniffer' 2>/dev/null; then
	# cicflowmeter 0.2.0 works with scapy 2.5 only (2.6+ changed the session API)
	if ! { python3 -m venv $venv && $venv/bin/pip install -q cicflowmeter==0.2.0 scapy==2.5.0; } >/dev/null 2>&1 ||
		! $venv/bin/python -c 'import cicflowmeter.sniffer' 2>/dev/null; then
		echo "skip replay_pycic: cannot install cicflowmeter==0.2.0 scapy==2.5.0 into $venv (no PyPI?)"
		exit 0
	fi
fi
tmp=$(mktemp -d /tmp/fq-pycic.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# every tool prints local times: CIC-IDS2017's are the lab's (UTC-3 in July)
export TZ='<-03>3'
t0=$(date +%s.%N)
if ! $venv/bin/cicflowmeter -f "$d/demo.pcap" -c "$tmp/py.csv" >"$tmp/py.err" 2>&1 || [ ! -s "$tmp/py.csv" ]; then
	echo "not ok replay_pycic/cicflowmeter: $(tail -3 "$tmp/py.err")"; exit 1
fi
t1=$(date +%s.%N)
echo "ok replay_pycic/cicflowmeter: $(($(wc -l <"$tmp/py.csv") - 1)) flows in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s (6000 packets)"
for m in compat default; do
	[ $m = compat ] && opt=--cic-compat || opt=
	if "$FLOWQOE" replay "$d/demo.pcap" $opt --csv "$tmp/$m.csv" 2>"$tmp/$m.err"; then
		echo "ok replay_pycic/replay_$m: $(cat "$tmp/$m.err")"
	else
		echo "not ok replay_pycic/replay_$m: $(cat "$tmp/$m.err")"; exit 1
	fi
done

if ! python3 tests/data/replay_pycic.py "$tmp/py.csv" "$d/demo.csv" "$tmp/compat.csv" "$tmp/default.csv" >"$tmp/report" 2>&1; then
	echo "not ok replay_pycic/compare: $(tail -3 "$tmp/report")"; exit 1
fi
grep -v '^check ' "$tmp/report" | sed 's/^/# /'

read -r _ _ ma mb mc mt <<<"$(grep '^check matched ' "$tmp/report")"
[ "${ma:-0}" -gt 0 ] && [ "${mb:-0}" -gt 0 ] && [ "${mc:-0}" -gt 0 ] && [ "${mt:-0}" -gt 0 ] &&
	echo "ok replay_pycic/matched: python-official $ma, compat-python $mb, default-python $mc, all three $mt" ||
	echo "not ok replay_pycic/matched: python-official ${ma:-0}, compat-python ${mb:-0}, default-python ${mc:-0}, all three ${mt:-0}"

read -r _ _ ub uc <<<"$(grep '^check unmatched_python ' "$tmp/report")"
read -r _ _ xb xc <<<"$(grep '^check unexplained ' "$tmp/report")"
counts=$(grep -E '^(flows|compat|default):' "$tmp/report" | tr '\n' ';')
[ "$ub" = 0 ] && [ "$uc" = 0 ] && [ "$xb" = 0 ] && [ "$xc" = 0 ] &&
	echo "ok replay_pycic/flow_counts: $counts" ||
	echo "not ok replay_pycic/flow_counts: python flows without a flowqoe flow: compat $ub, default $uc; unexplained flowqoe rows: compat $xb, default $xc; $counts"

agreed=$(sed -n 's/^check agreed [0-9]* //p' "$tmp/report")
if [ -z "$agreed" ]; then
	echo "not ok replay_pycic/agreed: no column defined alike on which python and official agree on >= 99% of flows (the column rule would check nothing)"
else
	IFS=, read -r -a cols <<<"$agreed"
	for c in "${cols[@]}"; do
		f=$(grep -F "check fail $c:" "$tmp/report" | sed 's/^check fail //')
		[ -z "$f" ] && echo "ok replay_pycic/agreed/${c// /_}: compat agrees with python at least where python agrees with official" ||
			echo "not ok replay_pycic/agreed/${c// /_}: ${f#*: }"
	done
fi

read -r _ _ cells cf <<<"$(grep '^check cells ' "$tmp/report")"
if [ "${cells:-0}" -gt 0 ] && [ "${cf:-1}" -eq 0 ]; then
	echo "ok replay_pycic/cells: compat = python on all $cells values (columns defined alike) where python = official"
else
	echo "not ok replay_pycic/cells: $cf of ${cells:-0} values where python = official differ in compat: $(sed -n 's/^check cellfail //p' "$tmp/report" | head -3 | tr '\n' ';')"
fi
exit 0
