#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `flowqoe replay --engine native` (bpf/flowqoe.bpf.c compiled as userspace
# C) against the kernel engine (the same source as a BPF program, through
# BPF_PROG_RUN): on every capture this test generates (every link type and
# format, and the bad files) and on every capture in $FQ_DATA when present,
# in default mode, --cic-compat, with window records and with a classifier,
# the two engines write byte-identical flow rows, window records and class
# tables, exit with the same
# status and print the same counts.  The native engine also runs as an
# unprivileged user (setpriv) and gives the same rows there.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
DATA=${FQ_DATA:-../shared/data}
here=tests/data
if [ "$(id -u)" -ne 0 ]; then echo "skip replay_engines: needs root (the kernel engine)"; exit 0; fi
tmp=$(mktemp -d /tmp/fq-engines.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 $here/replay_gen.py write "$tmp/g" >/dev/null &&
	python3 $here/replay_gen.py bad "$tmp/b" >/dev/null || { echo "not ok replay_engines: generator failed"; exit 1; }

# the summary line without its timing: what was counted
counts() {
	sed -n 's/ in [0-9.]* s ([^)]*)//p' "$1" | grep -E 'packets|window records' | tr '\n' ' '
}

# compare NAME FILE ARGS...: both engines, same rows, status and counts
compare() {
	local name=$1 f=$2 e why=
	shift 2
	for e in kernel native; do
		"$FLOWQOE" replay "$f" --engine $e "$@" --csv "$tmp/$e.csv" >"$tmp/$e.out" 2>"$tmp/$e.err"
		echo $? >"$tmp/$e.rc"
	done
	if ! cmp -s "$tmp/kernel.rc" "$tmp/native.rc"; then
		why="exit status kernel $(cat "$tmp/kernel.rc"), native $(cat "$tmp/native.rc")"
	elif ! cmp -s "$tmp/kernel.csv" "$tmp/native.csv"; then
		why="flow rows differ: $(diff "$tmp/kernel.csv" "$tmp/native.csv" | head -3 | cut -c1-160)"
	elif ! cmp -s "$tmp/kernel.out" "$tmp/native.out"; then
		why="window records or class table differ: $(diff "$tmp/kernel.out" "$tmp/native.out" | head -3 | cut -c1-160)"
	elif [ "$(counts "$tmp/kernel.err")" != "$(counts "$tmp/native.err")" ]; then
		why="counts differ: kernel '$(counts "$tmp/kernel.err")', native '$(counts "$tmp/native.err")'"
	fi
	if [ -n "$why" ]; then
		echo "not ok engines/$name: $why"
	else
		echo "ok engines/$name: $(($(wc -l <"$tmp/kernel.csv") - 1)) rows, $(wc -l <"$tmp/kernel.out") window records, exit $(cat "$tmp/kernel.rc")"
	fi
}

# every mode the rows depend on: default, CICFlowMeter's, window records
# (--windows - goes to stdout, the rows to --csv)
each() { # NAME FILE
	compare "$1/default" "$2"
	compare "$1/cic-compat" "$2" --cic-compat
	compare "$1/windows" "$2" --windows - --window 100
	compare "$1/model" "$2" --model models/cloud_gaming.model --workers 2 --json
}

for f in "$tmp"/g/*.pcap "$tmp"/g/*.pcapng; do
	each "gen/$(basename "$f")" "$f"
done
for f in "$tmp"/b/*.pcap; do
	compare "bad/$(basename "$f")" "$f"
done
compare "gen/eth_us.pcap/small-table" "$tmp/g/eth_us.pcap" --max-flows 2

# no privilege: the native engine as nobody, on a copy nobody can read
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	mkdir "$tmp/u" && cp "$tmp/g/eth_us.pcap" "$tmp/u/" && chmod 755 "$tmp" "$tmp/u" && chmod 644 "$tmp/u/eth_us.pcap"
	"$FLOWQOE" replay "$tmp/u/eth_us.pcap" --csv "$tmp/k.csv" 2>/dev/null
	if setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		"$FLOWQOE" replay "$tmp/u/eth_us.pcap" --engine native --csv - >"$tmp/u.csv" 2>"$tmp/u.err" &&
		cmp -s "$tmp/u.csv" "$tmp/k.csv"; then
		echo "ok engines/unprivileged: the native engine as nobody, same $(($(wc -l <"$tmp/k.csv") - 1)) rows"
	else
		echo "not ok engines/unprivileged: $(head -c 300 "$tmp/u.err")"
	fi
	if setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		"$FLOWQOE" replay "$tmp/u/eth_us.pcap" --csv /dev/null 2>"$tmp/u.err"; then
		echo "not ok engines/unprivileged-kernel: the kernel engine ran as nobody"
	elif grep -q 'needs root' "$tmp/u.err"; then
		echo "ok engines/unprivileged-kernel: the kernel engine as nobody says it needs root"
	else
		echo "not ok engines/unprivileged-kernel: unclear error: $(head -c 300 "$tmp/u.err")"
	fi
else
	echo "skip engines/unprivileged: no setpriv or no user nobody"
fi

if [ -d "$DATA" ]; then
	find "$DATA" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort >"$tmp/list"
	while IFS= read -r f; do
		each "data/${f#"$DATA"/}" "$f"
	done <"$tmp/list"
else
	echo "skip engines/data: $DATA absent (FQ_DATA)"
fi
