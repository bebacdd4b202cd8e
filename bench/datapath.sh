#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bench/datapath.sh - the datapath part of `make bench` (issue 2):
#  1. ns/packet of fq_xdp / fq_tc_egress against empty programs, and the cost
#     of reading 100k and 1M flows, and fq_flows memory: build/bench/datapath;
#  2. iperf3 TCP throughput over a veth between two network namespaces with
#     no program, `flowqoe attach` in its default mode, native XDP and tc
#     mode (receiver side), BENCH_SECS (5) seconds each, each mode between
#     two no-program runs (BENCH_LIVE=0 skips this part, =only runs it alone).
# Everything this script creates carries the suffix $$ and is removed on
# every exit path.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FLOWQOE=${FLOWQOE:-$PWD/$BUILD/flowqoe}
SECS=${BENCH_SECS:-5}
LIVE=${BENCH_LIVE:-1} # BENCH_LIVE=0: skip iperf3; BENCH_LIVE=only: iperf3 alone
rc=0

[ "$LIVE" = only ] || "$BUILD/bench/datapath" || rc=1
[ "$LIVE" = 0 ] && exit $rc

echo
if [ "$(id -u)" -ne 0 ]; then
	echo "skip iperf3: needs root (netns, veth, XDP)"; exit $rc
fi
for t in iperf3 nsenter ip python3; do
	command -v $t >/dev/null || { echo "skip iperf3: $t not installed"; exit $rc; }
done

NA=fqbA$$ NB=fqbB$$ VA=fqba$$ VB=fqbb$$
A=10.201.$(($$ % 250)).1 B=10.201.$(($$ % 250)).2
tmp=$(mktemp -d /tmp/flowqoe-bench.XXXXXX)
srv= att=
inA() { nsenter --net=/run/netns/$NA "$@"; }
inB() { nsenter --net=/run/netns/$NB "$@"; }

stop_attach() {
	[ -n "$att" ] || return 0
	# SIGTERM: a background job of a script ignores SIGINT
	kill -TERM "$att" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$att" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$att" 2>/dev/null
	wait "$att" 2>/dev/null
	att=
}
cleanup() {
	stop_attach
	[ -n "$srv" ] && { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }
	# after a crash: whatever attach left behind (pins, state file)
	if [ -d /sys/fs/bpf/flowqoe/$VB ] || [ -e /run/flowqoe/$VB ]; then
		inB "$FLOWQOE" detach $VB >/dev/null 2>&1
	fi
	ip netns del $NA 2>/dev/null
	ip netns del $NB 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add $NA && ip netns add $NB &&
ip link add name $VA netns $NA type veth peer name $VB netns $NB &&
inA ip addr add $A/24 dev $VA && inB ip addr add $B/24 dev $VB &&
inA ip link set lo up && inB ip link set lo up &&
inA ip link set $VA up && inB ip link set $VB up || { echo "not ok iperf3: netns setup failed"; exit 1; }

nsenter --net=/run/netns/$NB iperf3 -s -B $B >"$tmp/srv.log" 2>&1 &
srv=$!
for _ in $(seq 50); do inA bash -c "exec 3<>/dev/tcp/$B/5201" 2>/dev/null && break; sleep 0.1; done

# one iperf3 run; prints Gbit/s received
run_iperf() {
	inA iperf3 -c $B -t "$SECS" -J >"$tmp/c.json" 2>&1 || { echo "iperf3 failed: $(tail -n 3 "$tmp/c.json")" >&2; return 1; }
	python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$tmp/c.json"
}

# $1: label, $2: attach mode ("" none, "default", or a --mode value)
declare -A gbit modeof
measure() {
	local label=$1 mode=$2 args=() g
	modeof[$label]=-
	if [ -n "$mode" ]; then
		[ "$mode" != default ] && args=(--mode "$mode")
		# nsenter execs flowqoe: $! is flowqoe's own pid
		nsenter --net=/run/netns/$NB "$FLOWQOE" attach $VB "${args[@]}" --interval 3600 \
			>"$tmp/att.out" 2>"$tmp/att.err" &
		att=$!
		for _ in $(seq 100); do grep -q "attached in" "$tmp/att.err" && break
			kill -0 $att 2>/dev/null || break; sleep 0.1; done
		if ! grep -q "attached in" "$tmp/att.err"; then
			echo "not ok iperf3 $label: attach failed: $(tail -n 3 "$tmp/att.err")"; rc=1; stop_attach; return
		fi
		modeof[$label]=$(sed -n 's/.*attached in \([a-z]*\) mode.*/\1/p' "$tmp/att.err")
	fi
	if [[ $mode == default ]] && [ ! -s "$tmp/mem.txt" ]; then
		# what an attach with default settings holds, as bpftool reports it
		for m in /sys/fs/bpf/flowqoe/$VB/*; do
			bpftool map show -j pinned "$m" 2>/dev/null
			echo
		done >"$tmp/mem.json"
		python3 - "$tmp/mem.json" >"$tmp/mem.txt" <<'PY'
import json, sys
maps = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
maps = [m for m in maps if "bytes_memlock" in m]
for m in sorted(maps, key=lambda m: -m["bytes_memlock"]):
    print("  %-10s %-14s max_entries %-8d value %5d B  memlock %8.1f MiB" % (
        m["name"], m["type"], m["max_entries"], m["bytes_value"], m["bytes_memlock"] / 2**20))
print("  %-10s %-14s %-20s %9s %8.1f MiB" % ("total", "", "", "", sum(m["bytes_memlock"] for m in maps) / 2**20))
PY
	fi
	g=$(run_iperf) || { rc=1; stop_attach; return; }
	gbit[$label]=$g
	if [ -n "$mode" ]; then
		# the program really counted the transfer
		inB "$FLOWQOE" flows $VB --json >"$tmp/flows.json" 2>/dev/null
		counted=$(python3 -c 'import json,sys
f=[x for x in json.load(open(sys.argv[1])) if 5201 in (x["sport"], x["dport"])]
print(sum(x["fwd_bytes"] + x["bwd_bytes"] for x in f))' "$tmp/flows.json" 2>/dev/null)
		modeof[$label]="${modeof[$label]}, counted $(( ${counted:-0} / 1000000 )) MB"
		stop_attach
	fi
}

# A no-program run before and after each mode: the machine is shared and
# throughput drifts by tens of percent within a minute, so each run of a
# mode is compared with the mean of the two baseline runs around it, and
# default and tc, which land close to the baseline, run three times each.
# BENCH_LIVE_SEQ overrides the order: labels none*, default*, tc*, native*,
# skb* (a suffix such as .2 tells repeated runs apart).
seq=(${BENCH_LIVE_SEQ:-none0 default.1 none1 tc.1 none2 native none3 default.2 none4 tc.2 none5 default.3 none6 tc.3 none7})
for l in "${seq[@]}"; do
	case $l in none*) measure $l "" ;; *) measure $l "${l%%.*}" ;; esac
done

echo "iperf3: one TCP stream over veth, ${SECS} s per run, flowqoe on the receiver's veth"
printf "%-10s %8s %8s  %s\n" "run" "Gbit/s" "of none" "(none = mean of the runs just before and after)"
ratios=()
for i in "${!seq[@]}"; do
	l=${seq[$i]} g=${gbit[${seq[$i]}]:-} pct=-
	if [[ $l != none* ]] && [ -n "$g" ]; then
		b=$(python3 -c 'import sys; v=[float(x) for x in sys.argv[1:] if x]; print("%.3f" % (sum(v)/len(v)) if v else "")' \
			"${gbit[${seq[$((i - 1))]}]:-}" "${gbit[${seq[$((i + 1))]}]:-}")
		if [ -n "$b" ]; then
			pct=$(python3 -c "print('%.0f%%' % (100 * $g / $b))")
			ratios+=("${l%%.*}=$(python3 -c "print($g / $b)")")
		fi
	fi
	printf "%-10s %8s %8s  %s\n" "$l" "${g:--}" "$pct" "${modeof[$l]}"
done
python3 - "${ratios[@]}" <<'PY'
import statistics, sys
r = {}
for a in sys.argv[1:]:
    m, v = a.split("=")
    r.setdefault(m, []).append(float(v))
for m in ("default", "skb", "tc", "native"):
    if m not in r:
        continue
    med = statistics.median(r[m])
    goal = ""
    if m == "default":
        goal = "  goal >= 90%%: %s" % ("met" if med >= 0.9 else "MISSED")
    print("%-8s median %4.0f%% of no program (runs: %s)%s" %
          (m, 100 * med, " ".join("%.0f%%" % (100 * x) for x in r[m]), goal))
PY
# Per-packet cost of each hook on live traffic: the kernel's BPF run-time
# statistics during one more iperf3 run per mode (not during the runs
# above: the statistics add two clock reads to every program run).  A run
# is one skb: a GSO/GRO super-packet of up to 64 KiB on the data direction.
live_cost() {
	local mode=$1 args=() ids
	[ "$mode" != default ] && args=(--mode "$mode")
	nsenter --net=/run/netns/$NB "$FLOWQOE" attach $VB "${args[@]}" --interval 3600 \
		>"$tmp/att.out" 2>"$tmp/att.err" &
	att=$!
	for _ in $(seq 100); do grep -q "attached in" "$tmp/att.err" && break
		kill -0 $att 2>/dev/null || break; sleep 0.1; done
	ids=$(inB bpftool -j net show dev $VB 2>/dev/null | python3 -c '
import json, sys
print(",".join(str(e["id"]) for x in json.load(sys.stdin) for k in ("xdp", "tc", "tcx") for e in x.get(k, [])))' 2>/dev/null)
	if [ -z "$ids" ]; then
		echo "  $mode: no program found on $VB"; rc=1; stop_attach; return
	fi
	"$BUILD/bench/datapath" --stats "$ids" -- nsenter --net=/run/netns/$NA \
		iperf3 -c $B -t 3 -J 2>"$tmp/stats.txt" >"$tmp/c.json"
	python3 - "$mode" "$(sed -n 's/.*attached in \([a-z]*\) mode.*/\1/p' "$tmp/att.err")" "$tmp/stats.txt" "$tmp/c.json" <<'PY'
import json, sys
mode, real, stats, cj = sys.argv[1:]
try:
    g = "%.1f Gbit/s" % (json.load(open(cj))["end"]["sum_received"]["bits_per_second"] / 1e9)
except Exception:
    g = "iperf3 failed"
parts = []
for l in open(stats):
    f = l.split()
    if f and f[0] == "progstat":
        parts.append("%s %s runs, %s ns/run" % (f[1], f[5], f[7]))
print("  %-8s (%s, %s): %s" % (mode, real, g, "; ".join(parts) or "no statistics"))
PY
	stop_attach
}
echo
echo "live cost per program run (kernel BPF statistics, one more 3 s iperf3 run per mode):"
for m in default tc native; do live_cost $m; done

if [ -s "$tmp/mem.txt" ]; then
	echo
	echo "maps of \`flowqoe attach\` with default settings (bpftool map show, memlock):"
	cat "$tmp/mem.txt"
fi
exit $rc
