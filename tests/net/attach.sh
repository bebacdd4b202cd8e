#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Tier 3: flowqoe attach on one end of a veth, in every mode, with GSO on and
# off.  Known UDP datagrams (IPv4 and IPv6, both ways) and TCP transfers of
# known size (both ways, one initiated from each side) cross the link while
# tcpdump captures the same interface; every flow's packets and IP bytes per
# direction must equal the capture's, its payload what the senders sent, its
# src the initiator, and the interface totals the capture's frame count.
set -u
. "$(dirname "$0")/lib.sh"
require attach tcpdump tshark ethtool "$PY"

net_setup || { not_ok "attach/setup: cannot create namespaces and veth"; exit 1; }

# serve_b VAR READY CMD...: a traffic.py server in namespace B (or A with serve_a)
serve_in() {
	local ns=$1 var=$2 rdy=$3 pid
	shift 3
	rm -f "$rdy"
	READY=$rdy nsenter --net=/run/netns/$ns "$PY" "$TMP/traffic.py" "$@" &
	pid=$!
	BG_PIDS+=($pid)
	printf -v "$var" %s $pid
	for _ in $(seq 100); do [ -e "$rdy" ] && return 0; sleep 0.05; done
	return 1
}

dump_checked=0
run() {
	local mode=$1 gso=$2 n="$1-gso-$2" want p_att c_in c_out s1 s2 s3 s4 t0 t1 attach_type
	local out=$TMP/$n
	mkdir -p "$out"

	if ! fq_attach_bg p_att "$out/attach.json" --mode "$mode" --json --interval 0.5 \
			--idle-timeout 600 --fin-timeout 600; then
		not_ok "attach/$n/attach: flowqoe attach did not come up: $(tail -n 3 "$out/attach.json.err")"
		return
	fi
	# attaching XDP makes IPv6 send MLD reports (native XDP on veth toggles
	# the carrier; generic XDP updates the device features), after the
	# linkwatch delay (up to 1 s), 10 ms apart (see lib.sh); let them pass
	# before the capture starts: the totals must see only our traffic
	[ "$mode" != tc ] && sleep 1.2
	want=$mode; [ "$mode" = auto ] && want=tc # veth: XDP would cost GSO or a copy per packet
	check "attach/$n/mode" "state file says mode $(grep ^mode= /run/flowqoe/$IF_A.state)" -- \
		grep -qx "mode=$want" "/run/flowqoe/$IF_A.state"
	case $want in
	skb) attach_type=generic ;;
	native) attach_type=driver ;;
	tc) attach_type= ;;
	esac
	in_a bpftool -j net show dev "$IF_A" >"$out/net.json"
	check "attach/$n/bpftool-net" "bpftool net: $(cat "$out/net.json")" -- "$PY" -c '
import json, subprocess, sys
def name(x):
    # bpftool 7.1 prints no name for XDP and "name:[id]" for tc
    p = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(x["id"])],
                                  capture_output=True, text=True).stdout)
    return p["name"]
n = json.load(open(sys.argv[1]))[0]
xdp = [(x.get("mode"), name(x)) for x in n["xdp"]]
tc = sorted((x["kind"], name(x)) for x in n["tc"])
want_xdp = [(sys.argv[2], "fq_xdp")] if sys.argv[2] else []
want_tc = [("clsact/egress", "fq_tc_egress")] + ([] if sys.argv[2] else [("clsact/ingress", "fq_tc_ingress")])
sys.exit(not (xdp == want_xdp and tc == sorted(want_tc)))' "$out/net.json" "$attach_type"

	serve_in "$NS_B" s1 "$out/r1" udp-server $IP_B 5001 40 &&
	serve_in "$NS_B" s2 "$out/r2" udp-server $IP6_B 5002 40 &&
	serve_in "$NS_B" s3 "$out/r3" tcp-server $IP_B 5003 3000000 &&
	serve_in "$NS_A" s4 "$out/r4" tcp-server $IP6_A 5004 700000 ||
		{ not_ok "attach/$n/servers: traffic servers did not start"; return; }
	capture_start c_in in "$out/in.pcap" && capture_start c_out out "$out/out.pcap" ||
		{ not_ok "attach/$n/capture: tcpdump did not start: $(cat "$out/in.pcap.err")"; return; }

	t0=$(date +%s.%N)
	{
		in_a "$PY" "$TMP/traffic.py" udp-client $IP_B 5001 40 1 &&
		in_a "$PY" "$TMP/traffic.py" udp-client $IP6_B 5002 40 2 &&
		in_a "$PY" "$TMP/traffic.py" tcp-client $IP_B 5003 2000000 &&
		in_b "$PY" "$TMP/traffic.py" tcp-client $IP6_A 5004 1500000
	} >"$out/expect.jsonl" 2>"$out/clients.err" ||
		not_ok "attach/$n/traffic: a client failed: $(tail -n 2 "$out/clients.err")"
	sleep 0.3
	capture_stop "$c_out"
	capture_stop "$c_in"
	t1=$(date +%s.%N)
	for s in "$s1" "$s2" "$s3" "$s4"; do fq_stop "$s" TERM; done
	for c in in out; do
		grep -q '^0 packets dropped by kernel' "$out/$c.pcap.err" ||
			not_ok "attach/$n/capture-$c: tcpdump dropped packets: $(cat "$out/$c.pcap.err")"
		cap_fields "$out/$c.pcap" >"$out/$c.tsv"
	done
	cat "$out/in.tsv" "$out/out.tsv" >"$out/all.tsv"

	"$FQ" flows "$IF_A" --json >"$out/flows.json" 2>"$out/flows.err" ||
		not_ok "attach/$n/flows: flowqoe flows failed: $(cat "$out/flows.err")"
	in_a "$FQ" status --json >"$out/status.json"
	bpftool -j map dump pinned "/sys/fs/bpf/flowqoe/$IF_A/fq_proto" >"$out/proto.json"
	"$PY" "$TMP/compare.py" "attach/$n/live" "$out/all.tsv" "$out/flows.json" "$out/expect.jsonl" \
		"$t0" "$t1" "$out/in.tsv" "$out/out.tsv" "$out/status.json" "$IF_A" "$out/proto.json" ||
		not_ok "attach/$n/live/compare: compare.py exited with status $? (see the log)"

	if [ $dump_checked = 0 ]; then
		dump_checked=1
		bpftool map dump pinned "/sys/fs/bpf/flowqoe/$IF_A/fq_flows" >"$out/dump.txt" 2>&1
		check "attach/bpftool-dump" "bpftool map dump has no BTF field names: $(head -c 300 "$out/dump.txt")" -- \
			grep -q '"packets": ' "$out/dump.txt"
		check "attach/bpftool-dump-keys" "bpftool map dump has no key fields" -- \
			grep -q '"port_lo": ' "$out/dump.txt"
	fi

	fq_stop "$p_att" INT
	check "attach/$n/exit" "flowqoe exited $STOP_RC after SIGINT: $(tail -n 3 "$out/attach.json.err")" -- \
		test "$STOP_RC" = 0
	# every flow still in the table ends with reason "exit": same numbers
	"$PY" "$TMP/compare.py" "attach/$n/flow_end" "$out/all.tsv" "$out/attach.json" "$out/expect.jsonl" "$t0" "$t1" ||
		not_ok "attach/$n/flow_end/compare: compare.py exited with status $? (see the log)"
	check "attach/$n/detached" "$IF_A still has programs or pins: $(in_a bpftool net show dev "$IF_A")" -- \
		test -z "$(in_a bpftool net show dev "$IF_A" | grep fq_)" -a ! -e "/sys/fs/bpf/flowqoe/$IF_A"
}

# Under the VM harness (FQ_VM_KERNEL set: TCG emulation, ~55 s a case, and one
# budget for every suite on two kernels) each program and hook once with GSO
# on, and tc, where GSO changes the accounting, with it off; auto picks tc on
# veth whatever the kernel.  The host runs every case.
modes_for() {
	if [ -n "${MODES:-}" ]; then echo "$MODES"
	elif [ -z "${FQ_VM_KERNEL:-}" ]; then echo auto skb native tc
	elif [ "$1" = on ]; then echo skb native tc
	else echo tc
	fi
}
for gso in ${GSO_LIST:-on off}; do
	in_a ethtool -K "$IF_A" gso "$gso" tso "$gso" 2>/dev/null
	in_b ethtool -K "$IF_B" gso "$gso" tso "$gso" 2>/dev/null
	sleep 1.5 # MLD reports again (see run)
	for mode in $(modes_for "$gso"); do
		run "$mode" "$gso"
	done
done
