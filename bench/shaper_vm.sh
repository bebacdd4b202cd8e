#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bench/shaper_vm.sh - bench/shaper.sh again, inside a virtme-ng guest
# running Debian's kernel (tests/vm/run.sh boots it, one boot): that kernel
# has sch_fq, so `flowqoe shape --mode auto` picks EDT there, while this host
# (no sch_fq) picks htb.  Same table, same baselines (tc tbf, wondershaper-
# style HTB), same link set-up, in the guest.
# Under TCG emulation the veth link reaches ~30-90 Mbit/s, so the rates stop
# at 10 Mbit/s by default (SH_RATES overrides, SH_SECS, SH_DIRS and SH_MODE too).
# BENCH_VM=0 skips it; FQ_VM_KERNELS picks the kernels (default 6.1).
set -u
cd "$(dirname "$0")/.."
if [ "${BENCH_VM:-1}" = 0 ]; then echo "skip bench/shaper_vm: BENCH_VM=0"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then echo "skip bench/shaper_vm: not root"; exit 0; fi

tmp=$(mktemp -d /tmp/flowqoe-benchvm.XXXXXX)
vmres=
cleanup() {
	rm -rf "$tmp"
	[ -n "$vmres" ] && rm -rf "$vmres"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# the guest runs every file of FQ_VM_EXTRA as a suite, from the repo root
mkdir "$tmp/suites"
printf 'SH_RATES=%q SH_SECS=%q SH_DIRS=%q SH_MODE=%q bash bench/shaper.sh\n' \
	"${SH_RATES:-0.25 1 2 10}" "${SH_SECS:-3}" "${SH_DIRS:-egress ingress}" "${SH_MODE:-auto}" \
	>"$tmp/suites/shaper_bench.sh"

kernels=${FQ_VM_KERNELS:-6.1}
FQ_VM_KERNELS=$kernels FQ_VM_TIERS=extra FQ_VM_EXTRA="$tmp/suites" FQ_VM_KEEP=1 \
	FQ_VM_BUDGET=${FQ_VM_BUDGET:-2400} FQ_VM_SUITE_TIMEOUT=2300 \
	tests/vm/run.sh >"$tmp/run.out" 2>&1
rc=$?
vmres=$(sed -n 's/^# vm: .*guest logs in \(.*\)$/\1/p' "$tmp/run.out" | tail -n1)
for k in $kernels; do
	echo "## guest kernel $k (virtme-ng, TCG, 2 vCPUs)"
	log=${vmres:+$vmres/$k/extra_shaper_bench.log}
	if [ -n "$log" ] && [ -s "$log" ]; then
		cat "$log"
	else
		echo "bench/shaper_vm: no table from the $k guest"
		rc=1
	fi
done
if [ "$rc" -ne 0 ]; then
	echo "bench/shaper_vm: the VM run failed:"
	grep -E '^(not ok|# vm)' "$tmp/run.out" | sed 's/^/  /'
fi
exit $rc
