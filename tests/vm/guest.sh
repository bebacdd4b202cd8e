#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs INSIDE a virtme-ng guest (started by tests/vm/run.sh): every root
# test suite of this repo against the guest's kernel, in this one boot.
#   guest.sh LABEL RESULTS_DIR
# RESULTS_DIR is shared read-write with the host; run.sh wrote the settings
# to RESULTS_DIR/env.  Prints one counted line per suite,
#   ok vm/LABEL/SUITE # N passed, N skipped, Ts
#   not ok vm/LABEL/SUITE: why
#   skip vm/LABEL/SUITE: why
# and the suites' own check lines indented (so tests/run does not count them
# twice).  Each suite's full output is in RESULTS_DIR/LABEL/<suite>.log.
set -u
label=$1 results=$2
# shellcheck source=/dev/null
. "$results/env"
cd "$FQ_VM_REPO" || exit 2
outdir=$results/$label
mkdir -p "$outdir"
fail=0

echo "# guest-start $label $(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)s clock=$(date +%s)"
# run.sh kills this VM at its boot timeout; stop starting suites before
# then so that each one still gets a result line (QEMU's RTC gives the guest
# the host's time, so the host's deadline holds here).
deadline=$(cat "$results/$label.deadline" 2>/dev/null || echo $(($(date +%s) + 3600)))

# The tests expect what a normal root shell on a booted system has.  virtme's
# init mounts proc, sys, debugfs, tracefs and cgroup2, but not bpffs.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	echo "# warning: cannot mount bpffs on /sys/fs/bpf"
ulimit -l unlimited 2>/dev/null
export FLOWQOE="$FQ_VM_REPO/$BUILD/flowqoe" FQ_DATA FQ_VM_KERNEL=$label
export PATH="$PATH:/usr/sbin:/sbin"

# report NAME RC SECONDS LOG: turn one suite's output into one counted line.
report() {
	local name=$1 rc=$2 secs=$3 log=$4 p f s why=
	p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log"); s=$(grep -c '^skip ' "$log")
	grep -E '^(not ok|skip) ' "$log" | sed 's/^/    /'
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after ${secs}s ($p passed before)"
	elif [ "$f" -gt 0 ]; then
		why="$f of $((p + f)) checks failed: $(grep -m1 '^not ok ' "$log" | cut -c8-)"
	elif [ "$rc" -ne 0 ]; then
		why="exited with status $rc"
	fi
	if [ -n "${why:-}" ]; then
		echo "not ok vm/$label/$name: $why"
		tail -n "${FQ_VM_TAIL:-15}" "$log" | sed 's/^/    | /'
		fail=1
	elif [ "$p" -eq 0 ] && [ "$s" -gt 0 ]; then
		echo "skip vm/$label/$name: $(grep -m1 '^skip ' "$log" | sed 's/^skip [^:]*: *//')"
	elif [ "$p" -eq 0 ]; then
		# same rule as tests/run: a file that reports nothing counts nothing
		echo "# vm/$label/$name: printed no check"
	else
		echo "ok vm/$label/$name # $p passed, $s skipped, ${secs}s"
	fi
}

# FQ_VM_TESTS: space-separated patterns; a suite runs if its name has one
selected() {
	local p
	[ -z "${FQ_VM_TESTS:-}" ] && return 0
	for p in $FQ_VM_TESTS; do [[ "$1" == *"$p"* ]] && return 0; done
	return 1
}

# What a suite could leave behind in the guest: pins, namespaces, links.
state() {
	find /sys/fs/bpf -mindepth 1 2>/dev/null | sed 's/^/pin /'
	ip netns list 2>/dev/null | sed 's/^/netns /; s/ (id.*//'
	ip -o link show 2>/dev/null | awk -F': ' '{ print "link " $2 }'
}

# One suite: a program or a shell script, under a per-suite timeout so that a
# hanging suite costs its own time, not the whole boot's.  The project's rule
# is that tests remove what they create on every exit path: checked here too.
run_suite() {
	local name=$1 file=$2 log rc t0 before left limit
	selected "$name" || return 0
	log="$outdir/$(echo "$name" | tr / _).log"
	limit=$((deadline - $(date +%s)))
	if [ "$limit" -lt 30 ]; then
		echo "not ok vm/$label/$name: not run, this boot's time ran out (FQ_VM_TIMEOUT, FQ_VM_BUDGET)"
		fail=1
		return
	fi
	[ "$limit" -gt "$FQ_VM_SUITE_TIMEOUT" ] && limit=$FQ_VM_SUITE_TIMEOUT
	before=$(state)
	echo "# running vm/$label/$name"
	t0=$(date +%s)
	# (the braces' 2>/dev/null only silences bash's "Killed" notice)
	if [[ "$file" == *.sh ]]; then
		{ timeout -k 5 "$limit" bash "$file" >"$log" 2>&1 </dev/null; } 2>/dev/null
	else
		{ timeout -k 5 "$limit" "$file" >"$log" 2>&1 </dev/null; } 2>/dev/null
	fi
	rc=$?
	report "$name" "$rc" $(($(date +%s) - t0)) "$log"
	left=$(comm -13 <(sort <<<"$before") <(state | sort))
	if [ -n "$left" ]; then
		echo "not ok vm/$label/$name/cleanup: left behind: $(tr '\n' ' ' <<<"$left")"
		fail=1
		# so that the next suites start from a clean kernel
		while read -r kind what; do
			case $kind in
			pin) rm -rf "$what" ;;
			netns) ip netns del "$what" ;;
			link) ip link del "${what%%@*}" ;;
			esac
		done <<<"$left" 2>/dev/null
	fi
}

# Does this kernel's verifier accept every program of OBJ?  bpftool loads them
# all (as the skeleton would) and pins them on bpffs, which we undo at once.
check_verifier() {
	local obj=$1 name log pin rc vlog n before
	name=verifier/$(basename "$obj" .o); name=${name%.bpf}
	selected "$name" || return 0
	log="$outdir/$(echo "$name" | tr / _).log"
	pin=/sys/fs/bpf/fqvm_$$_$(basename "$obj" .o | tr -c 'a-zA-Z0-9_\n' _)
	before=$(find /sys/fs/bpf -mindepth 1 -maxdepth 1 | sort)
	bpftool prog loadall "$obj" "$pin" >"$log" 2>&1; rc=$?
	n=$(ls "$pin" 2>/dev/null | wc -l)
	# libbpf also pins the object's maps declared pinning-by-name at the
	# bpffs root: remove whatever the load added
	comm -13 <(echo "$before") <(find /sys/fs/bpf -mindepth 1 -maxdepth 1 | sort) |
		xargs -r rm -rf
	if [ "$rc" -eq 0 ]; then
		echo "ok vm/$label/$name # verifier accepted all $n programs"
		return
	fi
	# The verifier's own words are between libbpf's BEGIN/END markers; its
	# last lines say which instruction and why.
	vlog=$(sed -n '/-- BEGIN PROG LOAD LOG --/,/-- END PROG LOAD LOG --/p' "$log" |
		grep -v -- '-- \(BEGIN\|END\) PROG LOAD LOG --' | grep -v '^processed .* insns' | grep .)
	[ -n "$vlog" ] || vlog=$(grep . "$log")
	echo "not ok vm/$label/$name: $(grep -m1 'prog .*: \(BPF program load failed\|failed to load\)' "$log" |
		sed 's/^libbpf: //') verifier says: $(tail -n1 <<<"$vlog")"
	tail -n "${FQ_VM_VLOG_LINES:-8}" <<<"$vlog" | sed 's/^/    | /'
	fail=1
}

for tier in $FQ_VM_TIERS; do
	case $tier in
	verifier)
		for o in $FQ_VM_BPF_OBJS; do [ -f "$o" ] && check_verifier "$o"; done ;;
	progrun)
		for t in "$BUILD"/tests/progrun/*; do
			[ -f "$t" ] && [ -x "$t" ] && run_suite "progrun/$(basename "$t")" "$t"
		done ;;
	net | data)
		for t in tests/$tier/*.sh; do
			# lib.sh is sourced by the suites, not one of them
			[ "${t##*/}" = lib.sh ] && continue
			[ -f "$t" ] && run_suite "$tier/$(basename "$t" .sh)" "$t"
		done ;;
	extra)
		for t in "$FQ_VM_EXTRA"/*; do
			[ -f "$t" ] && run_suite "extra/$(basename "$t" .sh)" "$t"
		done ;;
	*)
		echo "not ok vm/$label/$tier: unknown tier in FQ_VM_TIERS"; fail=1 ;;
	esac
done

dmesg >"$outdir/dmesg.log" 2>&1
echo "# guest-done $label uptime=$(cut -d' ' -f1 /proc/uptime)s"
exit $fail
