#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Tier 3: nothing flowqoe adds outlives it.  attach is stopped with SIGINT,
# SIGTERM, and SIGKILL followed by `flowqoe detach`, in each mode (auto,
# native, skb, tc: all four work on veth), with and without a clsact qdisc
# (and a u32 filter) that the user had there before; then the interface has
# no XDP program, no flowqoe tc filter, no qdisc we created (the user's
# clsact and filter stay), no BPF link, every program and map the attach
# loaded is gone (by id: other tests may load fq_* programs at the same
# time), and so are the pins and the state file.  Also: a second attach is
# refused, bad arguments exit 2 with a message, detach on a clean interface
# is harmless, and detach from another network namespace refuses rather
# than leave the hooks behind (until that namespace is gone).
set -u
. "$(dirname "$0")/lib.sh"
require cleanup "$PY"

net_setup v4 || { not_ok "cleanup/setup: cannot create namespaces and veth"; exit 1; }
PIN=/sys/fs/bpf/flowqoe/$IF_A
STATE=/run/flowqoe/$IF_A.state

# What the running attach loaded, by id: every program that uses one of the
# maps pinned in $PIN (attached or not: in XDP modes fq_tc_ingress is
# loaded but not attached), and every map those programs use (.rodata,
# .bss and the unpinned ones too), plus the pinned maps.  HOOK_IDS: the
# programs `flowqoe status` says are attached.  (One python per step:
# its start-up is most of this test's time on a loaded machine.)
cat >"$TMP/ids.py" <<'PY'
import json, os, subprocess, sys, time

def bpftool(*a):
    r = subprocess.run(("bpftool", "-j") + a, capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None

if sys.argv[1] == "record":
    # record PIN STATUS.json IFACE -> "PROGS MAPS HOOKS" (comma lists)
    pin, status, iface = sys.argv[2:5]
    pinned = {bpftool("map", "show", "pinned", os.path.join(pin, f))["id"] for f in os.listdir(pin)}
    progs = [p for p in bpftool("prog", "show") if pinned & set(p.get("map_ids", []))]
    maps = pinned.union(*[set(p["map_ids"]) for p in progs])
    hooks = [p["id"] for o in json.load(open(status)) if o["iface"] == iface
             for p in o.get("programs", [])]
    print(",".join(str(p["id"]) for p in progs) or "-", ",".join(map(str, sorted(maps))) or "-",
          ",".join(map(str, sorted(hooks))) or "-")
elif sys.argv[1] in ("left", "gone"):
    # left NETNS IFACE PROG_IDS -> our programs still on a hook, "kind:id" words.
    # bpftool 7.1 prints no name for XDP programs and "name:[id]" for tc
    # ones; nothing else in this test attaches XDP, so any XDP program is
    # ours, and a tc filter is ours if its program is one we loaded or is
    # named fq_*.  BPF links (none expected: attach uses netlink) too.
    # gone NETNS IFACE PROG_IDS MAP_IDS -> the same, then which of those
    # programs and maps still exist: they are freed after an RCU grace
    # period, so allow up to 5 s for them to go.
    # (NETNS "-": the interface is gone, only programs and maps are checked)
    ns, iface, ids = sys.argv[2:5]
    ours = {int(x) for x in ids.split(",") if x.isdigit()}
    out = []
    r = subprocess.run(["nsenter", "--net=/run/netns/" + ns, "bpftool", "-j", "net", "show", "dev", iface],
                       capture_output=True, text=True) if ns != "-" else None
    for n in json.loads(r.stdout) if r else []:
        out += ["xdp-%s:%d" % (x.get("mode"), x["id"]) for x in n.get("xdp", [])]
        out += ["tc-%s:%d" % (x["kind"], x["id"]) for x in n.get("tc", [])
                if x["id"] in ours or x.get("name", "").startswith("fq_")]
    out += ["link-%s:%d" % (l.get("type"), l["id"]) for l in bpftool("link", "show") or []
            if l.get("prog_id") in ours]
    if sys.argv[1] == "gone":
        maps = {int(x) for x in sys.argv[5].split(",") if x.isdigit()}
        for _ in range(50):
            alive = ["prog:%d" % p["id"] for p in bpftool("prog", "show") or [] if p["id"] in ours]
            alive += ["map:%d" % m["id"] for m in bpftool("map", "show") or [] if m["id"] in maps]
            if not alive:
                break
            time.sleep(0.1)
        out += alive
    print(" ".join(out))
PY

record_ids() {
	in_a "$FQ" status --json >"$TMP/status.json"
	read -r PROG_IDS MAP_IDS HOOK_IDS < <("$PY" "$TMP/ids.py" record "$PIN" "$TMP/status.json" "$IF_A")
}

# the recorded ids make sense: the object's programs (fq_xdp, fq_tc_egress,
# fq_tc_ingress at least), its maps, two of the programs on hooks
ids_sane() {
	local h
	[ "$(wc -w <<<"${PROG_IDS//,/ }")" -ge 3 ] && [ "$(wc -w <<<"${MAP_IDS//,/ }")" -ge 8 ] &&
		[ "$(wc -w <<<"${HOOK_IDS//,/ }")" = 2 ] || return 1
	for h in ${HOOK_IDS//,/ }; do [[ ",$PROG_IDS," == *",$h,"* ]] || return 1; done
}

# leftovers: our programs still on a hook of IF_A (see ids.py)
leftovers() {
	"$PY" "$TMP/ids.py" left "$NS_A" "$IF_A" "$PROG_IDS"
}

# user_tc: a clsact and a u32 filter (no action: matchall and gact are not
# in every kernel) on both hooks, as a user might have them
user_tc_add() {
	in_a tc qdisc add dev "$IF_A" clsact &&
	in_a tc filter add dev "$IF_A" ingress prio 7 protocol all u32 match u32 0 0 &&
	in_a tc filter add dev "$IF_A" egress prio 7 protocol all u32 match u32 0 0
}
user_tc_intact() {
	in_a tc filter show dev "$IF_A" ingress | grep -q "pref 7 u32" &&
	in_a tc filter show dev "$IF_A" egress | grep -q "pref 7 u32"
}

# assert_clean NAME USER_TC(0|1)
assert_clean() {
	local n=$1 had=$2 left=''
	in_a ip link show dev "$IF_A" >"$TMP/link" 2>&1
	grep -Eq 'xdp|prog/' "$TMP/link" && left+=" ip-link:$(grep -Eo '(xdp[a-z]*|prog/[a-z]+ id [0-9]+)' "$TMP/link" | tr '\n' ' ')"
	in_a tc qdisc show dev "$IF_A" >"$TMP/qdisc"
	if [ "$had" = 1 ]; then
		grep -q clsact "$TMP/qdisc" || left+=" (the user's clsact qdisc was removed)"
		user_tc_intact || left+=" (the user's u32 filters were removed)"
	else
		grep -q clsact "$TMP/qdisc" && left+=" clsact-qdisc"
	fi
	for d in ingress egress; do
		in_a tc filter show dev "$IF_A" $d 2>/dev/null | grep -q 'fq_\|f10e' && left+=" tc-$d-filter"
	done
	left+=" $("$PY" "$TMP/ids.py" gone "$NS_A" "$IF_A" "$PROG_IDS" "$MAP_IDS")"
	[ -e "$PIN" ] && left+=" $PIN"
	[ -e "$STATE" ] && left+=" $STATE"
	left=$(echo $left)
	if [ -n "$left" ]; then
		not_ok "cleanup/$n: left behind: $left"
	else
		ok "cleanup/$n: programs $PROG_IDS and maps $MAP_IDS gone, no hook, link, qdisc, pin or state"
	fi
}

# one_case SIGNAL MODE USER_TC
one_case() {
	local sig=$1 mode=$2 had=$3 n="$1-$2" p rc
	[ "$had" = 1 ] && n+=-user-clsact
	in_a tc qdisc del dev "$IF_A" clsact 2>/dev/null
	if [ "$had" = 1 ] && ! user_tc_add; then
		not_ok "cleanup/$n: cannot add the user's clsact and u32 filters"
		return
	fi
	if ! fq_attach_bg p "$TMP/$n.out" --mode "$mode" --interval 0.2; then
		not_ok "cleanup/$n: attach did not come up: $(tail -n 3 "$TMP/$n.out.err")"
		return
	fi
	in_a ping -c 3 -i 0.05 -W 1 -q $IP_B >/dev/null # something in the maps
	record_ids
	# the ids must be real for the "gone" checks below to mean anything
	if ! check "cleanup/$n/ids" "programs '$PROG_IDS' (want >= 3), maps '$MAP_IDS' (want >= 8), attached '$HOOK_IDS' (want 2 of the programs)" -- \
		ids_sane; then
		fq_stop "$p" KILL
		in_a "$FQ" detach "$IF_A" >/dev/null 2>&1
		return
	fi
	if [ "$sig" = KILL ]; then
		fq_stop "$p" KILL
		# the crash left everything in place (so it is detach that
		# removes it below) and attach refuses, saying what to do
		local on; on=$(leftovers)
		check "cleanup/$n/left-after-kill" "after SIGKILL: hooks '$on', pins/state $(ls -d "$PIN" "$STATE" 2>&1 | tr '\n' ' ')" -- \
			eval '[ $(wc -w <<<"$on") = 2 ] && [ -e "$PIN" ] && [ -e "$STATE" ]'
		in_a "$FQ" attach "$IF_A" >/dev/null 2>"$TMP/$n.again"
		rc=$?
		check "cleanup/$n/stale-refused" "attach over a stale one: rc $rc, $(cat "$TMP/$n.again")" -- \
			eval '[ $rc = 1 ] && grep -q "flowqoe detach $IF_A" "$TMP/$n.again"'
		in_a "$FQ" detach "$IF_A" >"$TMP/$n.detach" 2>&1
		rc=$?
		check "cleanup/$n/detach" "detach: rc $rc, $(cat "$TMP/$n.detach")" -- \
			eval '[ $rc = 0 ] && grep -q "removed [1-9]" "$TMP/$n.detach"'
	else
		fq_stop "$p" "$sig"
		check "cleanup/$n/exit" "exit status $STOP_RC after SIG$sig: $(tail -n 3 "$TMP/$n.out.err")" -- \
			test "$STOP_RC" = 0
	fi
	assert_clean "$n" "$had"
	in_a tc qdisc del dev "$IF_A" clsact 2>/dev/null
}

# The whole matrix on the host (about 1 s a case); under the VM harness
# (FQ_VM_KERNEL set: TCG emulation, 10-20 s a case, and every suite of
# every kernel shares one time budget) a subset that still has every
# signal, every mode, both clsact cases, and SIGKILL + detach in XDP and
# in tc mode.  CLEANUP_CASES="SIG:MODE:USER_TC ..." overrides.
if [ -n "${CLEANUP_CASES:-}" ]; then
	cases=$CLEANUP_CASES
elif [ -n "${FQ_VM_KERNEL:-}" ]; then
	cases="INT:auto:0 TERM:native:1 KILL:skb:0 KILL:tc:1"
else
	cases=
	for sig in INT TERM KILL; do
		for mode in auto native skb tc; do
			cases+=" $sig:$mode:0 $sig:$mode:1"
		done
	done
fi
for c in $cases; do
	IFS=: read -r sig mode had <<<"$c"
	one_case "$sig" "$mode" "$had"
done

# a second attach on the same interface is refused while the first runs
p1=
if fq_attach_bg p1 "$TMP/first.out" --interval 0.2; then
	record_ids
	for m in auto tc; do
		in_a "$FQ" attach "$IF_A" --mode $m >/dev/null 2>"$TMP/second.err"
		rc=$?
		check "cleanup/second-attach-refused-$m" "rc $rc: $(cat "$TMP/second.err")" -- \
			eval '[ $rc = 1 ] && grep -q "already attached" "$TMP/second.err"'
	done
	in_a "$FQ" detach "$IF_A" >/dev/null 2>"$TMP/detach-running.err"
	rc=$?
	check "cleanup/detach-while-running-refused" "rc $rc: $(cat "$TMP/detach-running.err")" -- \
		eval '[ $rc = 1 ] && grep -q "still running" "$TMP/detach-running.err"'
	# the refused attach and detach changed nothing: same programs on the hooks
	on=$(leftovers)
	check "cleanup/first-still-attached" "hooks now '$on', status said '$HOOK_IDS'" -- \
		eval '[ "$(tr " " "\n" <<<"$on" | sed "s/.*://" | sort -n | paste -sd,)" = \
			"$(tr , "\n" <<<"$HOOK_IDS" | sort -n | paste -sd,)" ] && [ -e "$PIN" ] && [ -e "$STATE" ]'
	fq_stop "$p1" TERM
	assert_clean second-attach 0
else
	not_ok "cleanup/second-attach: first attach did not come up: $(cat "$TMP/first.out.err")"
fi

# bad arguments: exit 2 and a message naming the problem, nothing touched
bad_args() {
	local name=$1 pattern=$2 rc
	shift 2
	in_a "$FQ" attach "$@" >/dev/null 2>"$TMP/bad.err"
	rc=$?
	if [ $rc = 2 ] && grep -qi -- "$pattern" "$TMP/bad.err"; then
		ok "cleanup/bad-args/$name"
	else
		not_ok "cleanup/bad-args/$name: rc $rc (want 2), stderr: $(head -c 300 "$TMP/bad.err")"
	fi
}
bad_args unknown-iface "no interface named" nosuch$TAG
bad_args no-iface "interface"
bad_args two-ifaces "interface" "$IF_A" "$IF_A"
bad_args bad-mode "--mode" "$IF_A" --mode bogus
bad_args bad-max-flows "--max-flows" "$IF_A" --max-flows 0
bad_args huge-max-flows "--max-flows" "$IF_A" --max-flows 99999999999
bad_args bad-interval "--interval" "$IF_A" --interval abc
bad_args bad-idle-timeout "timeout" "$IF_A" --idle-timeout -3
bad_args unknown-option "usage" "$IF_A" --no-such-option
PROG_IDS=
on=$(leftovers)
check "cleanup/bad-args-left-nothing" "a refused attach left: $on $(ls -d "$PIN" "$STATE" 2>/dev/null)" -- \
	test -z "$on" -a ! -e "$PIN" -a ! -e "$STATE"

# detach on a clean interface: harmless, and a user's clsact + filters stay
user_tc_add || not_ok "cleanup/detach-clean: cannot add the user's clsact and u32 filters"
for i in 1 2; do
	in_a "$FQ" detach "$IF_A" >"$TMP/clean.out" 2>&1
	rc=$?
	check "cleanup/detach-clean-$i" "rc $rc: $(cat "$TMP/clean.out")" -- \
		eval '[ $rc = 0 ] && grep -q "removed 0 objects" "$TMP/clean.out"'
done
check "cleanup/detach-clean-kept-user-tc" "the user's clsact or u32 filters are gone: $(in_a tc filter show dev "$IF_A" ingress)" -- \
	user_tc_intact
in_a "$FQ" detach nosuch$TAG >"$TMP/nosuch.out" 2>&1
rc=$?
check "cleanup/detach-unknown-iface" "rc $rc: $(cat "$TMP/nosuch.out")" -- \
	test "$rc" -le 1
in_a "$FQ" detach >/dev/null 2>"$TMP/noarg.err"
rc=$?
check "cleanup/detach-no-iface" "rc $rc (want 2): $(cat "$TMP/noarg.err")" -- \
	eval '[ $rc = 2 ] && grep -q usage "$TMP/noarg.err"'

# Pins and state are keyed by interface name, interfaces live in network
# namespaces.  A detach run from another namespace must not report success
# while the hooks stay (and delete the record of the clsact we created): it
# refuses and says where to run it.  Once that namespace is gone (its veth
# and hooks with it), a detach from anywhere clears the pins and state.
# Last, because it deletes namespace B and so the veth pair.
PIN_B=/sys/fs/bpf/flowqoe/$IF_B
STATE_B=/run/flowqoe/$IF_B.state
nsenter --net=/run/netns/$NS_B "$FQ" attach "$IF_B" --mode skb --interval 0.2 >"$TMP/b.out" 2>"$TMP/b.err" &
pb=$!
BG_PIDS+=("$pb")
for _ in $(seq 100); do
	grep -q "^pid=$pb\$" "$STATE_B" 2>/dev/null && grep -q '^tc_egress=1' "$STATE_B" && break
	sleep 0.1
done
if ! grep -q '^tc_egress=1' "$STATE_B" 2>/dev/null; then
	not_ok "cleanup/other-netns: attach in namespace B did not come up: $(cat "$TMP/b.err")"
else
	nsenter --net=/run/netns/$NS_B "$FQ" status --json >"$TMP/status.json"
	read -r PROG_IDS MAP_IDS HOOK_IDS < <("$PY" "$TMP/ids.py" record "$PIN_B" "$TMP/status.json" "$IF_B")
	fq_stop "$pb" KILL
	in_a "$FQ" detach "$IF_B" >"$TMP/other.out" 2>&1
	rc=$?
	on=$("$PY" "$TMP/ids.py" left "$NS_B" "$IF_B" "$PROG_IDS")
	check "cleanup/other-netns-refused" "detach $IF_B from namespace A: rc $rc, $(cat "$TMP/other.out"); hooks in B now '$on'" -- \
		eval '[ $rc = 1 ] && grep -q "nsenter --net=/run/netns/$NS_B flowqoe detach $IF_B" "$TMP/other.out" &&
			[ "$(wc -w <<<"$on")" = 2 ] && [ -e "$PIN_B" ] && [ -e "$STATE_B" ]'
	ip netns del "$NS_B"
	"$FQ" detach "$IF_B" >"$TMP/gone.out" 2>&1
	rc=$?
	left=$("$PY" "$TMP/ids.py" gone - "$IF_B" "$PROG_IDS" "$MAP_IDS")
	check "cleanup/other-netns-gone" "detach after namespace B went: rc $rc, $(cat "$TMP/gone.out"); left: $left $(ls -d "$PIN_B" "$STATE_B" 2>/dev/null)" -- \
		eval '[ $rc = 0 ] && grep -q "removed [1-9]" "$TMP/gone.out" && [ -z "$left" ] &&
			[ ! -e "$PIN_B" ] && [ ! -e "$STATE_B" ] && ids_sane'
fi
