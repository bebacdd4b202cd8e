#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bench/shaper.sh - flowqoe shape side by side with `tc tbf` and a
# wondershaper-style HTB set-up, on the same veth link, in one run.
# For each direction and rate: UDP offered at 2x the rate (achieved/rate),
# one TCP stream (achieved/rate, retransmits from iperf3 -J), and the RTT of
# a ping under that TCP load against the idle RTT.  Achieved = the
# receiver's goodput (iperf3), so 1448-byte TCP and 1460-byte UDP payloads
# in 1514/1502-byte frames read ~96-97% of a rate that counts frames.
# Ingress: flowqoe via its ifb; tbf and HTB behind a u32 + mirred redirect
# to an ifb (act_police, wondershaper's ingress policer, is not in this
# kernel; sch_sfq, its leaf, is not either: pfifo is used when missing).
# SH_RATES (Mbit/s, default "0.25 1 2 10 100"), SH_SECS (default 3),
# SH_DIRS (default "egress ingress"), SH_MODE (flowqoe --mode, default auto).
set -u
cd "$(dirname "$0")/.."
. tests/net/shaper.lib
RATES=${SH_RATES:-0.25 1 2 10 100}
SECS=${SH_SECS:-3}
DIRS=${SH_DIRS:-egress ingress}
MODE=${SH_MODE:-auto}
BIFB=fqbi$$ # the baselines' ifb for ingress
trap sh_cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" -ne 0 ]; then echo "skip bench/shaper: not root"; exit 0; fi
for tool in iperf3 tc ip nsenter ping python3; do
	command -v $tool >/dev/null || { echo "skip bench/shaper: $tool missing"; exit 0; }
done
sh_setup || { echo "bench/shaper: cannot set up namespaces"; exit 1; }
A ip link add name "$BIFB" type ifb && A ip link set "$BIFB" up
leaf=pfifo
if A tc qdisc add dev "$SH_IFA" root handle 7f1: sfq 2>/dev/null; then
	A tc qdisc del dev "$SH_IFA" root; leaf="sfq perturb 10"
fi

burst_of() { python3 -c "print(max(int($1 / 8 / 100), 3028))"; } # flowqoe's default

# setup SHAPER DIR RATE_BITS / teardown SHAPER DIR
setup() {
	local who=$1 dir=$2 bits=$3 dev=$SH_IFA b
	b=$(burst_of "$bits")
	if [ "$who" = flowqoe ]; then
		A "$FLOWQOE" shape "$SH_IFA" --rate "${bits}bit" --dir "$dir" --mode "$MODE" >/dev/null || return 1
		# the mode --mode auto picked, for the summary
		A "$FLOWQOE" shape "$SH_IFA" --show --json 2>/dev/null |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["mode"])' >>"$SH_TMP/modes" 2>/dev/null
		return 0
	fi
	if [ "$dir" = ingress ]; then
		dev=$BIFB
		A tc qdisc add dev "$SH_IFA" handle ffff: ingress
		A tc filter add dev "$SH_IFA" parent ffff: protocol all u32 match u32 0 0 \
			action mirred egress redirect dev "$BIFB"
	fi
	if [ "$who" = tbf ]; then
		A tc qdisc add dev "$dev" root tbf rate "${bits}bit" burst "$b" latency 50ms
	else # wondershaper: htb root, one class at the rate, a fair leaf
		A tc qdisc add dev "$dev" root handle 1: htb default 20
		A tc class add dev "$dev" parent 1: classid 1:1 htb rate "${bits}bit" burst "$b"
		A tc class add dev "$dev" parent 1:1 classid 1:20 htb rate "${bits}bit" ceil "${bits}bit" burst "$b" prio 2
		# shellcheck disable=SC2086
		A tc qdisc add dev "$dev" parent 1:20 handle 20: $leaf
	fi
}
teardown() {
	local who=$1 dir=$2
	if [ "$who" = flowqoe ]; then
		A "$FLOWQOE" shape "$SH_IFA" --off >/dev/null
		return
	fi
	A tc qdisc del dev "$SH_IFA" root 2>/dev/null
	A tc qdisc del dev "$SH_IFA" ingress 2>/dev/null
	A tc qdisc del dev "$BIFB" root 2>/dev/null
}

# flowqoe's drop counters so far: the shaper's buckets, its root qdiscs
drops() {
	A "$FLOWQOE" shape "$SH_IFA" --show --json 2>/dev/null | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
    print(sum(x["dropped"]["packets"] for x in j["buckets"]),
          sum(v.get("qdisc_drops", 0) for v in j["directions"].values()))
except Exception:
    print(0, 0)'
}

# median RTT (ms) of pings from A during a TCP run, or idle
ping_ms() { # file
	python3 - "$1" <<'EOF'
import re, statistics, sys
r = [float(m) for m in re.findall(r"time=([0-9.]+)", open(sys.argv[1]).read())]
print("%.1f" % statistics.median(r) if r else "-")
EOF
}

A ping -c 10 -i 0.1 "$SH_IPB" >"$SH_TMP/idle.txt"
idle=$(ping_ms "$SH_TMP/idle.txt")
echo "# $(uname -r); idle RTT ${idle} ms; ${SECS}s per run; flowqoe --mode $MODE; htb leaf: $leaf"
printf "%-7s %7s %-11s %8s %8s %6s %9s\n" dir Mbit/s shaper "udp%" "tcp%" retr "ping_ms"
results=$SH_TMP/results
: >"$results"
for dir in $DIRS; do
	for r in $RATES; do
		bits=$(sh_mbit "$r")
		for who in flowqoe tbf htb-ws; do
			setup "$who" "$dir" "$bits" || { echo "# $who $dir $r: set-up failed"; teardown "$who" "$dir"; continue; }
			read -r udp _ < <(sh_iperf "$dir" udp "$bits" "$SECS")
			[ "$who" = flowqoe ] && read -r b0 q0 < <(drops)
			A ping -i 0.2 -w $((SECS + 1)) "$SH_IPB" >"$SH_TMP/load.txt" 2>&1 &
			pp=$!
			read -r tcp retr < <(sh_iperf "$dir" tcp "$bits" "$SECS")
			wait $pp 2>/dev/null
			if [ "$who" = flowqoe ]; then
				read -r b1 q1 < <(drops)
				echo "# flowqoe $dir $r Mbit/s, TCP run: the shaper dropped $((b1 - b0)) packets, its qdisc $((q1 - q0))"
			fi
			teardown "$who" "$dir"
			line=$(python3 -c "print('%-7s %7s %-11s %7.1f%% %7.1f%% %6s %9s' % ('$dir', '$r', '$who', 100.0 * $udp / $bits, 100.0 * $tcp / $bits, '$retr', '$(ping_ms "$SH_TMP/load.txt")'))")
			echo "$line"
			echo "$line" >>"$results"
		done
	done
done
echo "# flowqoe --mode $MODE ran as: $(sort -u "$SH_TMP/modes" 2>/dev/null | tr '\n' ' ')"
python3 - "$results" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
for who in ("flowqoe", "tbf", "htb-ws"):
    mine = [r for r in rows if r[2] == who]
    # goodput/rate for a frame-counting limit is ~96-97%: judge against it
    ok = [r for r in mine if abs(float(r[3][:-1]) - 97) <= 5 and abs(float(r[4][:-1]) - 96) <= 5]
    print("# %-8s within 5 points of the frame-rate goodput (UDP 97%%, TCP 96%%): %d of %d runs; retransmits total %d"
          % (who, len(ok), len(mine), sum(int(r[5]) for r in mine if r[5].lstrip('-').isdigit())))
EOF
