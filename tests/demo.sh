#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make demo [IFACE=eth0]`: the main job, live.
#
# With IFACE: `flowqoe attach IFACE` in the foreground (Ctrl-C detaches).
# Without: two network namespaces joined by a veth pair, flowqoe attached on
# one side with the HTTP exporter and the shipped cloud-gaming classifier on
# 33 ms conversation windows; then traffic (ping, a TCP transfer, a UDP
# stream, the same TCP transfer under a 2 Mbit/s flowqoe shaper), the live
# flow table, a query, a few metrics, and clean-up of everything on every
# exit path.
set -u
cd "$(dirname "$0")/.."
FQ=$PWD/build/flowqoe
[ -x "$FQ" ] || { echo "demo: build/flowqoe is not built (make)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (sudo make demo)" >&2; exit 1; }

if [ $# -gt 0 ] && [ -n "$1" ]; then
	echo "demo: flowqoe attach $1 (Ctrl-C detaches)"
	exec "$FQ" attach "$1"
fi

NA=fqdemo-a NB=fqdemo-b IA=fqdemo0 IB=fqdemo1 A=10.99.0.1 B=10.99.0.2
OUT=$(mktemp -d /tmp/flowqoe-demo.XXXXXX)
pids=()
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_a() { nsenter --net=/run/netns/$NA "$@"; }
in_b() { nsenter --net=/run/netns/$NB "$@"; }

cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -e /run/netns/$NB ] && in_b pkill -f 'iperf3 -s -D -p 5201' 2>/dev/null
	[ -e /run/netns/$NA ] && in_a "$FQ" detach $IA >/dev/null 2>&1
	ip netns del $NA 2>/dev/null
	ip netns del $NB 2>/dev/null
	rm -rf "$OUT"
	echo "demo: cleaned up (namespaces, programs, pins)"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "two namespaces, one veth pair: $NA/$IA ($A) <-> $NB/$IB ($B)"
ip netns del $NA 2>/dev/null; ip netns del $NB 2>/dev/null
ip netns add $NA && ip netns add $NB || exit 1
ip link add name $IA netns $NA type veth peer name $IB netns $NB || exit 1
ip -n $NA addr add $A/24 dev $IA
ip -n $NB addr add $B/24 dev $IB
for ns in $NA $NB; do ip -n $ns link set lo up; done
ip -n $NA link set $IA up
ip -n $NB link set $IB up

say "sudo flowqoe attach $IA --interval 3 --model models/cloud_gaming.model (in $NA)"
# nsenter, not `ip netns exec`: the latter hides bpffs, and so the pins
nsenter --net=/run/netns/$NA "$FQ" attach $IA --interval 3 --top 8 \
	--model models/cloud_gaming.model --windows "$OUT/windows.csv" &
pids+=($!)
for _ in $(seq 100); do
	grep -q '^tc_egress=1' /run/flowqoe/$IA.state 2>/dev/null && break
	sleep 0.1
done
grep -q '^tc_egress=1' /run/flowqoe/$IA.state 2>/dev/null || { echo "demo: attach did not come up" >&2; exit 1; }

say "traffic: 10 pings, 4 s of TCP (iperf3), 3 s of UDP at 5 Mbit/s"
in_b iperf3 -s -D -p 5201 >/dev/null 2>&1
in_a ping -c 10 -i 0.1 -q $B | tail -n 2
for _ in $(seq 50); do in_b ss -Hltn 'sport = :5201' | grep -q . && break; sleep 0.1; done
in_a iperf3 -c $B -p 5201 -t 4 -f m 2>&1 | grep -E 'sender|receiver'
in_a iperf3 -c $B -p 5201 -u -b 5M -t 3 -f m 2>&1 | grep -E 'receiver'
sleep 3

say "flowqoe flows $IA --json (from another process, through the pinned maps)"
in_a "$FQ" flows $IA --json | python3 -c '
import json, sys
for f in sorted(json.load(sys.stdin), key=lambda f: -(f["fwd_bytes"] + f["bwd_bytes"]))[:6]:
    print("  proto %-3d %s:%s -> %s:%s  fwd %d pkts %d B, bwd %d pkts %d B" % (f["proto"], f["src"], f["sport"],
          f["dst"], f["dport"], f["fwd_packets"], f["fwd_bytes"], f["bwd_packets"], f["bwd_bytes"]))'

say "flowqoe query $IA --by proto --top 3 --window 60"
in_a "$FQ" query $IA --by proto --top 3 --window 60

say "a few lines of http://127.0.0.1:9464/metrics"
in_a curl -s http://127.0.0.1:9464/metrics | grep -E '^flowqoe_(bytes_total|packets_total|app_bytes_total|flows_tracked|query_result_bytes|class_records_total)' | head -n 16

say "sudo flowqoe shape $IA --rate 2mbit: the same TCP transfer, limited"
in_a "$FQ" shape $IA --rate 2mbit --dir egress
in_a iperf3 -c $B -p 5201 -t 4 -f m 2>&1 | grep -E 'sender|receiver'
in_a "$FQ" shape $IA --show
in_a "$FQ" shape $IA --off

say "window records (33 ms, per conversation) written while this ran: $(($(wc -l <"$OUT/windows.csv") - 1))"
head -n 3 "$OUT/windows.csv" | cut -c1-150

say "flowqoe status"
in_a "$FQ" status

say "SIGINT: attach detaches and prints the classifier's conversations"
kill -INT "${pids[0]}"
wait "${pids[0]}" 2>/dev/null
pids=()
left=$(in_a bpftool net show dev $IA 2>/dev/null | grep -c 'id ')
echo "programs still attached to $IA: $left"
