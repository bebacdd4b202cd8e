#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Replay throughput and memory, side by side in the same run on the same
# files: flowqoe replay (BPF_PROG_RUN per packet; and --engine native, the
# same datapath compiled as userspace C), the BPF_PROG_RUN floor
# (build/bench/replayfloor: the same loop with an empty program), the Python cicflowmeter
# (PyPI 0.2.0, in build/pycic-venv), ndpiReader and `tshark -z conv,tcp`.
#   bench/replay.sh [N]   the N largest captures in $FQ_DATA (default 3)
# Wall time and peak RSS from /usr/bin/time -v; pps = packets / wall time.
# flowqoe's RSS leaves out its BPF maps (kernel memory, allocated as flows
# appear: about 1 KiB per open flow), printed apart.  Needs root.
set -u
cd "$(dirname "$0")/.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
DATA=${FQ_DATA:-../shared/data}
N=${1:-3}
[ -d "$DATA" ] || { echo "skip bench/replay: $DATA absent (FQ_DATA)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "skip bench/replay: needs root"; exit 0; }
tmp=$(mktemp -d /tmp/fq-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
venv=build/pycic-venv  # shared with tests/data/replay_pycic.sh
if [ ! -x $venv/bin/cicflowmeter ]; then
	# cicflowmeter 0.2.0 works with scapy 2.5 only (2.6+ changed the session API)
	python3 -m venv $venv && $venv/bin/pip install -q cicflowmeter==0.2.0 scapy==2.5.0 >/dev/null 2>&1 ||
		echo "# cicflowmeter could not be installed: its column is left out"
fi

# run NAME CMD...: wall seconds and peak RSS (KiB) into $tmp/NAME.t
run() {
	local name=$1
	shift
	/usr/bin/time -v "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	local rc=$?
	awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; w = s}
		/Maximum resident set size/ {r = $2} END {print w, r}' "$tmp/$name.err" >"$tmp/$name.t"
	return $rc
}

files=$(find "$DATA" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -printf '%s %p\n' | sort -rn | head -n "$N" | cut -d' ' -f2-)
printf '%-34s %-13s %9s %9s %11s %8s %9s\n' file tool packets wall_s pkt/s MB/s peakRSS_MB
for f in $files; do
	b=$(basename "$f")
	bytes=$(stat -c %s "$f")
	run flowqoe "$FLOWQOE" replay "$f" --csv "$tmp/fq.csv" || { echo "flowqoe failed on $f: $(tail -2 "$tmp/flowqoe.err")"; continue; }
	pk=$(sed -n 's/^.*: \([0-9]*\) packets (.*/\1/p' "$tmp/flowqoe.err" | head -1)
	loop=$(sed -n 's/.* s (\([0-9]*\) pkt\/s, \([0-9]*\) ns\/pkt in BPF).*/\1 \2/p' "$tmp/flowqoe.err" | head -1)
	tools="flowqoe"
	run flowqoe-native "$FLOWQOE" replay "$f" --engine native --csv "$tmp/fqn.csv" && tools="$tools flowqoe-native"
	cmp -s "$tmp/fq.csv" "$tmp/fqn.csv" || echo "# $b: the two engines' rows differ (tests/data/replay_engines.sh should have failed)"
	nloop=$(sed -n 's/.* s (\([0-9]*\) pkt\/s, .*native engine).*/\1/p' "$tmp/flowqoe-native.err" | head -1)
	floor=
	[ -x "$BUILD/bench/replayfloor" ] && floor=$("$BUILD/bench/replayfloor" "$f" 2>/dev/null | cut -d' ' -f3)
	[ -x $venv/bin/cicflowmeter ] && run cicflowmeter $venv/bin/cicflowmeter -f "$f" -c "$tmp/cfm.csv" && tools="$tools cicflowmeter"
	command -v ndpiReader >/dev/null && run ndpiReader ndpiReader -i "$f" -q && tools="$tools ndpiReader"
	command -v tshark >/dev/null && run tshark tshark -n -q -r "$f" -z conv,tcp && tools="$tools tshark"
	for t in $tools; do
		read -r w r < "$tmp/$t.t"
		awk -v f="$b" -v t="$t" -v p="$pk" -v w="$w" -v r="$r" -v by="$bytes" 'BEGIN {
			if (w <= 0) w = 0.005
			printf "%-34s %-13s %9d %9.2f %11.0f %8.2f %9.1f\n", f, t, p, w, p / w, by / w / 1e6, r / 1024 }'
		echo "$b $t $w $r" >>"$tmp/all"
	done
	echo "# $b: flowqoe packet loop $(echo $loop | cut -d' ' -f1) pkt/s, $(echo $loop | cut -d' ' -f2) ns/pkt in BPF (wall time above includes loading the BPF object)"
	[ -n "$floor" ] && echo "# $b: BPF_PROG_RUN floor (the same loop, empty XDP program): $floor pkt/s; kernel engine loop at $(awk -v a="$(echo $loop | cut -d' ' -f1)" -v b="$floor" 'BEGIN { printf "%.0f", 100 * a / b }')% of it"
	[ -n "$nloop" ] && echo "# $b: native engine packet loop $nloop pkt/s (no BPF_PROG_RUN, no root), $(awk -v a="$nloop" -v b="$(echo $loop | cut -d' ' -f1)" 'BEGIN { printf "%.1f", a / b }')x the kernel engine's"
done
# ratios over all files
awk '{w[$2] += $3; if ($4 > r[$2]) r[$2] = $4}
	END {
		if (w["cicflowmeter"] > 0) printf "# flowqoe vs cicflowmeter: %.1fx the packet rate (total wall time)\n", w["cicflowmeter"] / w["flowqoe"]
		if (w["cicflowmeter"] > 0 && w["flowqoe-native"] > 0) printf "# flowqoe --engine native vs cicflowmeter: %.1fx the packet rate (total wall time)\n", w["cicflowmeter"] / w["flowqoe-native"]
		for (t in r) if (t != "flowqoe" && t != "flowqoe-native") printf "# peak RSS: flowqoe %.1f MB (native engine %.1f MB), %s %.1f MB\n", r["flowqoe"] / 1024, r["flowqoe-native"] / 1024, t, r[t] / 1024
	}' "$tmp/all"
