#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `flowqoe shape`: bad input, units against tc's own parser, keys and
# counters against what was sent, a rate changed by `bpftool map update`,
# a second shaper, the user's qdiscs left alone, --off and `flowqoe detach`
# removing everything the shaper added, and coexistence with `attach`.
set -u
cd "$(dirname "$0")/../.."
. tests/net/shaper.lib
trap sh_cleanup EXIT
trap 'exit 1' INT TERM

for tool in iperf3 tc ip nsenter python3 bpftool; do
	if ! command -v $tool >/dev/null; then
		echo "skip shaper_cli: $tool not installed"
		exit 0
	fi
done
if ! sh_setup; then
	echo "not ok shaper_cli/setup: cannot create namespaces and veth"
	exit 1
fi
PIN=/sys/fs/bpf/flowqoe-shaper/$SH_IFA
S() { A "$FLOWQOE" shape "$SH_IFA" "$@"; }

expect_rc() { # name want_rc args... ; stderr must say something
	local name=$1 want=$2 out rc
	shift 2
	out=$(A "$FLOWQOE" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq "$want" ] && [ -n "$out" ]; then
		echo "ok shaper_cli/$name: exit $rc: $out"
	else
		echo "not ok shaper_cli/$name: exit $rc (want $want), said '$out'"
	fi
}

# ---- bad input --------------------------------------------------------------
expect_rc usage/no-iface 2 shape --rate 1mbit
expect_rc usage/no-action 2 shape "$SH_IFA"
expect_rc usage/rate-zero 2 shape "$SH_IFA" --rate 0
expect_rc usage/rate-zero-unit 2 shape "$SH_IFA" --rate 0mbit
expect_rc usage/rate-negative 2 shape "$SH_IFA" --rate -5mbit
expect_rc usage/rate-garbage 2 shape "$SH_IFA" --rate 5xyz
expect_rc usage/rate-percent 2 shape "$SH_IFA" --rate 50%
expect_rc usage/rate-tiny 2 shape "$SH_IFA" --rate 10bit
expect_rc usage/rate-absurd 2 shape "$SH_IFA" --rate 5tbit
expect_rc usage/rate-nan 2 shape "$SH_IFA" --rate nan
expect_rc usage/rate-inf 2 shape "$SH_IFA" --rate infmbit
expect_rc usage/burst-zero 2 shape "$SH_IFA" --rate 1mbit --burst 0
expect_rc usage/burst-negative 2 shape "$SH_IFA" --rate 1mbit --burst -3k
expect_rc usage/burst-absurd 2 shape "$SH_IFA" --rate 1mbit --burst 10g
expect_rc usage/burst-garbage 2 shape "$SH_IFA" --rate 1mbit --burst lots
expect_rc usage/dir 2 shape "$SH_IFA" --rate 1mbit --dir up
expect_rc usage/per 2 shape "$SH_IFA" --rate 1mbit --per host
expect_rc usage/mode 2 shape "$SH_IFA" --rate 1mbit --mode fast
expect_rc usage/classes 2 shape "$SH_IFA" --rate 1mbit --per ip --classes 0
expect_rc usage/classes-iface 2 shape "$SH_IFA" --rate 1mbit --classes 4
expect_rc usage/two-actions 2 shape "$SH_IFA" --rate 1mbit --off
expect_rc usage/burst-alone 2 shape "$SH_IFA" --show --burst 4k
expect_rc usage/unknown-option 2 shape "$SH_IFA" --rate 1mbit --fast
expect_rc unknown-iface 1 shape nosuchif$$ --rate 1mbit
expect_rc show-unshaped 1 shape "$SH_IFA" --show
root=$(A tc qdisc show dev "$SH_IFA" root)
if [ ! -e "$PIN" ] && [[ "$root" == "qdisc noqueue 0:"* ]]; then
	echo "ok shaper_cli/usage/nothing-created: no pins, root qdisc still noqueue"
else
	echo "not ok shaper_cli/usage/nothing-created: pins $(ls "$PIN" 2>&1), root '$root'"
fi

# ---- units: flowqoe's reading of a rate/size = tc's (tbf) -------------------
# (userspace parsing, the same on every kernel: under the VM harness, where
# it costs a minute of emulation, the host's run covers it)
if [ -n "${FQ_VM_KERNEL:-}" ]; then
	echo "skip shaper_cli/units: kernel-independent, checked by the host's run"
else
	S --rate 1mbit --mode police >/dev/null || echo "not ok shaper_cli/units: police shaper failed"
	for r in 250kbit 1mbit 2Mbit 1.5mbit 100mbit 1gbit 10kibit 3mibit 1mbps 12kbps 64000 8000bit 0.25mbit; do
		want=$(B tc qdisc add dev "$SH_IFB" root tbf rate "$r" burst 10k latency 50ms &&
		       B tc -j qdisc show dev "$SH_IFB" root | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["options"]["rate"])')
		B tc qdisc del dev "$SH_IFB" root 2>/dev/null
		S --rate "$r" >/dev/null
		got=$(S --show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["directions"]["egress"]["rate_bytes_per_s"])')
		if [ -n "$want" ] && [ "$got" = "$want" ]; then
			echo "ok shaper_cli/units/rate/$r: $got bytes/s, as tc"
		else
			echo "not ok shaper_cli/units/rate/$r: flowqoe $got bytes/s, tc '$want'"
		fi
	done
	for b in 3000 10k 10kb 64kb 1m 1500b 80kbit; do
		want=$(B tc qdisc add dev "$SH_IFB" root tbf rate 1mbit burst "$b" latency 50ms &&
		       B tc -j qdisc show dev "$SH_IFB" root | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["options"]["burst"])')
		B tc qdisc del dev "$SH_IFB" root 2>/dev/null
		S --rate 1gbit --burst "$b" >/dev/null
		got=$(S --show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["directions"]["egress"]["burst_bytes"])')
		# tc stores a burst as time in ticks: it reads back within a few bytes
		if [ -n "$want" ] && python3 -c "import sys; sys.exit(abs($got - $want) > max(2, $got * 0.001))"; then
			echo "ok shaper_cli/units/burst/$b: $got bytes (tc $want)"
		else
			echo "not ok shaper_cli/units/burst/$b: flowqoe $got bytes, tc '$want'"
		fi
	done
	S --off >/dev/null
fi

# ---- keys and counters: exact packet counts per peer -------------------------
B ip addr add "10.202.$SH_NET.2/24" dev "$SH_IFB"
A ip addr add "10.202.$SH_NET.1/24" dev "$SH_IFA"
S --rate 100mbit --per ip --mode police --dir both >/dev/null
A ping -q -c 5 -i 0.2 "$SH_IPB" >/dev/null
A ping -q -c 3 -i 0.2 "10.202.$SH_NET.2" >/dev/null
S --show --json >"$SH_TMP/keys.json"
python3 - "$SH_TMP/keys.json" "$SH_IPB" "10.202.$SH_NET.2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
b = {(x["dir"], x["key"]): x for x in j["buckets"]}
for ip, n in ((sys.argv[2], 5), (sys.argv[3], 3)):
    for d in ("egress", "ingress"):
        x = b.get((d, ip))
        got = x["passed"]["packets"] if x else None
        # ICMP echo requests out, replies in: n each, nothing else to/from it
        # (ARP goes to the "(not IP)" bucket)
        if got == n and x["dropped"]["packets"] == 0:
            print("ok shaper_cli/keys/%s/%s: %d packets, as sent" % (d, ip, got))
        else:
            print("not ok shaper_cli/keys/%s/%s: %s packets, sent %d" % (d, ip, got, n))
EOF
S --off >/dev/null

# ---- a rate changed with bpftool takes effect, counters kept ---------------------
S --rate 20mbit --mode police >/dev/null
read -r got1 _ < <(sh_iperf egress udp 20000000 2)
before=$(S --show --json | python3 -c 'import json,sys; print(sum(b["passed"]["packets"] for b in json.load(sys.stdin)["buckets"]))')
# the README's command: rebuild the 48-byte value with rate = 2 Mbit/s
val=$(bpftool -j map lookup pinned "$PIN/fq_sh_cfg" key 0 0 0 0 | python3 -c '
import json, struct, sys
v = json.load(sys.stdin)["formatted"]["value"]
b = struct.pack("<QQQIIIIII", 250000, v["burst"], v["horizon_ns"], v["mode"], v["per"],
                v["ifb_ifindex"], v["nclasses"], v["htb_major"], 0)
print(" ".join(str(x) for x in b))')
# shellcheck disable=SC2086
bpftool map update pinned "$PIN/fq_sh_cfg" key 0 0 0 0 value $val
read -r got2 _ < <(sh_iperf egress udp 2000000 2)
after=$(S --show --json | python3 -c 'import json,sys; print(sum(b["passed"]["packets"] for b in json.load(sys.stdin)["buckets"]))')
if python3 -c "import sys; sys.exit(not ($got1 > 15e6 and $got2 < 2.2e6 and $got2 > 1.5e6))" && [ "$after" -gt "$before" ]; then
	echo "ok shaper_cli/bpftool-update: 20mbit -> $((got1 / 1000)) kbit/s; after the map update to 2mbit -> $((got2 / 1000)) kbit/s; counters $before -> $after"
else
	echo "not ok shaper_cli/bpftool-update: 20mbit -> $got1, 2mbit -> $got2 bit/s; counters $before -> $after"
fi
S --off >/dev/null

# ---- second shaper: clear error, first one intact -----------------------------------
S --rate 5mbit --mode htb >/dev/null
expect_rc second-shaper 1 shape "$SH_IFA" --rate 1mbit --mode police
expect_rc second-shaper-dir 1 shape "$SH_IFA" --rate 1mbit --dir both
mode=$(S --show --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["mode"], j["directions"]["egress"]["rate_bytes_per_s"])')
[ "$mode" = "htb 625000" ] && echo "ok shaper_cli/second-shaper-intact: $mode" ||
	echo "not ok shaper_cli/second-shaper-intact: '$mode'"
S --off >/dev/null

# ---- cleanup: what the shaper added goes, what the user had stays ------------------
progs() { bpftool prog show 2>/dev/null | grep -c 'name fq_sh_'; }
nprog0=$(progs)
snapshot() { # everything that must be back to what it was
	echo "root: $(A tc -j qdisc show dev "$SH_IFA" root)"
	echo "ingress: $(A tc filter show dev "$SH_IFA" ingress)"
	echo "egress: $(A tc filter show dev "$SH_IFA" egress)"
	echo "links: $(A ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' ')"
	echo "pins: $(ls "$PIN" 2>/dev/null)"
	echo "state: $(ls /run/flowqoe/"$SH_IFA".shaper 2>/dev/null)"
	echo "progs: $(progs)"
}
check_clean() { # name how
	local name=$1 i
	# a detached program is freed after an RCU grace period: bpftool may
	# list it for a moment after `shape --off` returned
	for i in $(seq 20); do
		snapshot >"$SH_TMP/after"
		diff -q "$SH_TMP/before" "$SH_TMP/after" >/dev/null && break
		sleep 0.1
	done
	if diff -u "$SH_TMP/before" "$SH_TMP/after" >"$SH_TMP/diff"; then
		echo "ok shaper_cli/cleanup/$name: qdiscs, filters, devices, pins, programs as before"
	else
		echo "not ok shaper_cli/cleanup/$name: $(tr '\n' ' ' <"$SH_TMP/diff" | cut -c1-600)"
	fi
}
snapshot >"$SH_TMP/before"
# Does the kernel have tcx links (6.6+)?  Asked of the kernel itself, not of
# the tool: without them the default path must fall back to clsact and say why.
if grep -qw tcx_prog_attach /proc/kallsyms; then has_tcx=1; else has_tcx=0; fi
for att in tcx clsact; do
	# FLOWQOE_SHAPER_CLSACT: the pre-6.6 path (clsact filters, no tcx links)
	env=(); [ $att = clsact ] && env=(env FLOWQOE_SHAPER_CLSACT=1)
	want=$att; [ $att = tcx ] && [ $has_tcx = 0 ] && want=clsact
	for mode in htb police; do
		# -v: the fallback's reason is an info line
		A "${env[@]}" "$FLOWQOE" -v shape "$SH_IFA" --rate 3mbit --dir both --per flow --mode "$mode" \
			>/dev/null 2>"$SH_TMP/shape.err"
		[ -e "$PIN/fq_sh_cfg" ] || echo "not ok shaper_cli/cleanup/$att/$mode: nothing pinned"
		via=$(S --show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["attach"])')
		[ "$via" = $want ] || echo "not ok shaper_cli/cleanup/$att/$mode: attached via $via (want $want)"
		if [ $att = tcx ] && [ $has_tcx = 0 ]; then
			if grep -q 'tcx links unavailable' "$SH_TMP/shape.err"; then
				echo "ok shaper_cli/fallback/$mode: no tcx in this kernel, clsact: $(grep -m1 'tcx links' "$SH_TMP/shape.err")"
			else
				echo "not ok shaper_cli/fallback/$mode: fell back to $via without saying why: '$(head -c 300 "$SH_TMP/shape.err")'"
			fi
		fi
		S --off >/dev/null
		check_clean "off/$att/$mode"
	done
done
S --rate 3mbit --dir both --mode htb >/dev/null
A "$FLOWQOE" detach "$SH_IFA" >/dev/null
check_clean detach
# --mode auto: htb for ingress alone (edt would drop whole GSO packets),
# edt for egress where sch_fq exists, htb where it does not
for dir in ingress egress; do
	want=htb
	if [ $dir = egress ] && A tc qdisc add dev "$SH_IFA" root handle 7f2: fq 2>/dev/null; then
		A tc qdisc del dev "$SH_IFA" root; want=edt
	fi
	S --rate 3mbit --dir $dir >/dev/null
	got=$(S --show --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["mode"])' 2>/dev/null)
	[ "$got" = "$want" ] && echo "ok shaper_cli/auto/$dir: auto picked $got" ||
		echo "not ok shaper_cli/auto/$dir: auto picked '$got', want $want"
	S --off >/dev/null
	check_clean auto/$dir
done
# a user's clsact with a filter, and a user's root qdisc
A tc qdisc add dev "$SH_IFA" clsact
A tc filter add dev "$SH_IFA" ingress prio 7 u32 match u32 0 0
A tc qdisc add dev "$SH_IFA" root handle 1: tbf rate 500mbit burst 64k latency 50ms
snapshot >"$SH_TMP/before"
expect_rc user-root-qdisc 1 shape "$SH_IFA" --rate 1mbit --mode htb
check_clean refused
S --rate 3mbit --dir both --mode police >/dev/null && S --off >/dev/null
check_clean user-qdiscs/police
S --rate 3mbit --dir ingress --mode htb >/dev/null && S --off >/dev/null
check_clean user-qdiscs/htb-ingress
A tc qdisc del dev "$SH_IFA" root
A tc qdisc del dev "$SH_IFA" clsact
[ "$(progs)" = "$nprog0" ] && echo "ok shaper_cli/cleanup/programs: none left loaded" ||
	echo "not ok shaper_cli/cleanup/programs: $(progs) fq_sh_ programs, $nprog0 before"

# ---- with `flowqoe attach` on the same interface ----------------------------------------
A "$FLOWQOE" attach "$SH_IFA" --interval 3600 >"$SH_TMP/attach.out" 2>&1 &
SH_ATTACH_PID=$!
for _ in $(seq 50); do [ -e "/sys/fs/bpf/flowqoe/$SH_IFA" ] && break; sleep 0.1; done
sleep 0.5
if ! kill -0 "$SH_ATTACH_PID" 2>/dev/null; then
	echo "skip shaper_cli/attach: flowqoe attach did not start: $(head -c 300 "$SH_TMP/attach.out")"
else
	for _ in $(seq 50); do A tc filter show dev "$SH_IFA" egress | grep -q fq_tc_egress && break; sleep 0.1; done
	att_filters=$(A tc filter show dev "$SH_IFA" egress | grep -A1 'handle 0xf10e')
	if S --rate 4mbit --dir both >/dev/null; then
		read -r got _ < <(sh_iperf egress tcp 4000000 3)
		read -r goti _ < <(sh_iperf ingress udp 4000000 3)
		bytes=$(A "$FLOWQOE" flows "$SH_IFA" --json 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
fl = j if isinstance(j, list) else j.get("flows", [])
print(sum(f["fwd_bytes"] + f["bwd_bytes"] for f in fl))' 2>/dev/null)
		if python3 -c "import sys; sys.exit(not (3e6 < $got <= 4.4e6 and 3e6 < $goti <= 4.4e6))"; then
			echo "ok shaper_cli/attach/shaped: TCP egress $((got / 1000)) kbit/s, UDP ingress $((goti / 1000)) kbit/s of 4000 while attach runs"
		else
			echo "not ok shaper_cli/attach/shaped: TCP egress $got, UDP ingress $goti bit/s of 4000000"
		fi
		now_filters=$(A tc filter show dev "$SH_IFA" egress | grep -A1 'handle 0xf10e')
		if [ -n "$att_filters" ] && [ "$now_filters" = "$att_filters" ]; then
			echo "ok shaper_cli/attach/filters: attach's tc filter untouched"
		else
			echo "not ok shaper_cli/attach/filters: attach's tc filter was '$att_filters', now '$now_filters'"
		fi
		if [ "${bytes:-0}" -gt 1000000 ]; then
			echo "ok shaper_cli/attach/counted: attach saw $bytes bytes of the shaped traffic"
		else
			echo "not ok shaper_cli/attach/counted: attach saw '${bytes}' bytes"
		fi
	else
		echo "not ok shaper_cli/attach/shaped: shape failed while attach runs"
	fi
	kill "$SH_ATTACH_PID"; wait "$SH_ATTACH_PID" 2>/dev/null; SH_ATTACH_PID=
	# attach is gone; the shaper stays (it has no foreground process)
	read -r got _ < <(sh_iperf egress udp 4000000 2)
	if [ -e "$PIN/fq_sh_cfg" ] && python3 -c "import sys; sys.exit(not (3e6 < $got <= 4.4e6))"; then
		echo "ok shaper_cli/attach/outlives: still $((got / 1000)) kbit/s after attach exited"
	else
		echo "not ok shaper_cli/attach/outlives: $got bit/s after attach exited"
	fi
	S --off >/dev/null
fi
