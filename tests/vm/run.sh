#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The VM tier of tests/run (and `make test-vm`): boots each kernel of
# tests/vm/matrix ONCE under virtme-ng and runs every root suite of this repo
# inside it (tests/vm/guest.sh): the verifier check of each build/*.bpf.o,
# build/tests/progrun/*, tests/net/*.sh.  Prints, for tests/run to count,
#   ok vm/KERNEL/boot # ...             the kernel booted and ran the suites
#   ok vm/KERNEL/SUITE # ...            (from the guest)
#   not ok vm/KERNEL/SUITE: why
#   not ok vm/KERNEL: timed out after Ns    (the VM was killed)
# Settings (environment):
#   FQ_VM_KERNELS   labels to boot (default: every line of tests/vm/matrix)
#   FQ_VM_TIERS     guest tiers, in order (default: verifier progrun net)
#   FQ_VM_TESTS     run only the suites whose name contains one of these words
#   FQ_VM_TIMEOUT   seconds per boot at most, boot included (default: each
#                   kernel still to boot gets an equal share of the budget)
#   FQ_VM_SUITE_TIMEOUT  seconds per suite inside the guest (default 600)
#   FQ_VM_BUDGET    seconds for the whole tier (default TEST_TIMEOUT-30, as
#                   tests/run kills this script after TEST_TIMEOUT, which it
#                   sets to FQ_VM_TIER_TIMEOUT, 2700, for this tier alone)
#   FQ_VM_BPF_OBJS  objects the verifier tier loads (default build/*.bpf.o)
#   FQ_VM_EXTRA     a folder of extra suites (tier "extra"; the selftest's)
#   FQ_VM_NAME      VM name prefix (qemu -name; default flowqoe-vm-PID)
#   FQ_VM_SELFTEST=1  also run tests/vm/selftest.sh (the harness's own tests)
#   FQ_VM_KEEP=1    keep the guest logs (RESULTS dir in /tmp) after a run in
#                   which everything passed (they are always kept otherwise)
set -u
cd "$(dirname "$0")/../.."
repo=$PWD
BUILD=${BUILD:-build}
budget=${FQ_VM_BUDGET:-$((${TEST_TIMEOUT:-900} - 30))}
boot_timeout=${FQ_VM_TIMEOUT:-$budget}
t_start=$SECONDS
fail=0

if [ "$(id -u)" -ne 0 ]; then
	echo "skip vm: not root (the guests run the root tiers)"
	exit 0
fi
results=$(mktemp -d /tmp/flowqoe-vm.XXXXXX)
if ! tests/vm/setup.sh >"$results/setup.log" 2>&1; then
	echo "not ok vm/setup: installing qemu, udev, virtme-ng failed"
	tail -n 20 "$results/setup.log" | sed 's/^/    | /'
	exit 1
fi
if [ ! -x "$BUILD/flowqoe" ]; then
	echo "not ok vm/setup: $BUILD/flowqoe is not built (make tests first)"
	exit 1
fi
# vng runs virtme-run by name
export PATH="$repo/.venv/bin:$PATH"

objs=${FQ_VM_BPF_OBJS:-$(ls "$repo/$BUILD"/*.bpf.o 2>/dev/null | tr '\n' ' ')}
{
	printf 'FQ_VM_REPO=%q\n' "$repo"
	printf 'BUILD=%q\n' "$BUILD"
	printf 'FQ_DATA=%q\n' "${FQ_DATA:-$(cd .. && pwd)/shared/data}"
	printf 'FQ_VM_TIERS=%q\n' "${FQ_VM_TIERS:-verifier progrun net}"
	printf 'FQ_VM_BPF_OBJS=%q\n' "$objs"
	printf 'FQ_VM_EXTRA=%q\n' "${FQ_VM_EXTRA:-}"
	printf 'FQ_VM_TESTS=%q\n' "${FQ_VM_TESTS:-}"
	printf 'FQ_VM_SUITE_TIMEOUT=%q\n' "${FQ_VM_SUITE_TIMEOUT:-600}"
} >"$results/env"

# Drivers udev would load for QEMU's q35 devices (SATA, CD-ROM, watchdogs,
# SMBus, input, CPU frequency, KVM, SIMD crypto) and that no test needs:
# blacklisting them takes ~15 s off each boot under TCG.
blacklist=kvm,kvm_amd,kvm_intel,irqbypass,ahci,libahci,libata,sr_mod,cdrom,sg
blacklist+=,scsi_mod,iTCO_wdt,iTCO_vendor_support,i6300esb,watchdog,lpc_ich
blacklist+=,i2c_i801,i2c_smbus,pcspkr,psmouse,serio_raw,evdev,joydev,button
blacklist+=,powernow_k8,acpi_cpufreq,qemu_fw_cfg,drm,bochs,floppy,parport_pc
blacklist+=,aesni_intel,ghash_clmulni_intel,crc32_pclmul,crc32c_intel
blacklist+=,crct10dif_pclmul,polyval_clmulni,sha512_ssse3,sha256_ssse3
blacklist+=,sha1_ssse3,cryptd,crypto_simd

# boot LABEL KIMG TIMEOUT: one VM, every suite, the guest's lines passed on.
boot() {
	local label=$1 kimg=$2 t=$3 t0=$SECONDS up= done_ rc console
	console=$results/$label.out
	echo "# vm/$label: booting $(basename "$kimg") (timeout ${t}s)"
	# the guest stops starting suites 20 s before the kill
	echo $(($(date +%s) + t - 20)) >"$results/$label.deadline"
	# timeout signals its whole process group: vng, virtme-run and qemu.
	# lastpipe keeps `up` (seconds until the guest script started) here.
	shopt -s lastpipe
	timeout -k 10 "$t" vng --run "$kimg" --disable-kvm --force-9p --user root \
		--name "${FQ_VM_NAME:-flowqoe-vm-$$}-$label" --cpus "${FQ_VM_CPUS:-2}" \
		--memory "${FQ_VM_MEMORY:-2G}" --cwd "$repo" --rwdir "$repo" \
		--rwdir "$results" --append "module_blacklist=$blacklist" \
		--exec "bash $repo/tests/vm/guest.sh $label $results" </dev/null 2>&1 |
		while IFS= read -r line; do
			case $line in "# guest-start"*) up=$((SECONDS - t0)) ;; esac
			printf '%s\n' "$line" >>"$console"
			printf '%s\n' "$line"
		done
	rc=${PIPESTATUS[0]}
	shopt -u lastpipe
	grep -q '^# guest-done' "$console" 2>/dev/null && done_=1
	[ -n "$up" ] && echo "ok vm/$label/boot # $(sed -n 's/^# guest-start [^ ]* \([^ ]*\) .*/\1/p' "$console") up in ${up}s"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "not ok vm/$label: timed out after ${t}s $(if [ -z "$up" ]; then
			echo '(before the guest script started)'
		else
			sed -n 's/^# running vm\/[^/]*\//while running /p' "$console" | tail -n1
		fi)"
		fail=1
	elif [ -z "$done_" ]; then
		echo "not ok vm/$label: guest stopped before finishing the suites (vng exit $rc)"
		tail -n 15 "$console" 2>/dev/null | sed 's/^/    | /'
		fail=1
	elif [ "$rc" -ne 0 ]; then
		fail=1
	fi
	echo "# vm/$label: guest started after ${up:-?}s, total $((SECONDS - t0))s"
}

labels=${FQ_VM_KERNELS:-$(awk '!/^#/ && NF { print $1 }' tests/vm/matrix)}
nleft=$(wc -w <<<"$labels")
for label in $labels; do
	nleft=$((nleft - 1))
	suite=$(awk -v l="$label" '!/^#/ && $1 == l { print $2 }' tests/vm/matrix)
	if [ -z "$suite" ]; then
		echo "not ok vm/$label: not in tests/vm/matrix"; fail=1; continue
	fi
	if ! kimg=$(tests/vm/kernels.sh "$label" "$suite" 2>"$results/$label.fetch.log"); then
		echo "not ok vm/$label: cannot fetch the kernel from $suite"
		tail -n 10 "$results/$label.fetch.log" | sed 's/^/    | /'
		fail=1; continue
	fi
	# each kernel still to boot gets an equal share of what is left
	left=$((budget - (SECONDS - t_start)))
	share=$((left / (nleft + 1)))
	t=$boot_timeout; [ "$share" -lt "$t" ] && t=$share
	if [ "$t" -lt 60 ]; then
		echo "not ok vm/$label: not booted, ${left}s left of the tier's ${budget}s (FQ_VM_BUDGET)"
		fail=1; continue
	fi
	boot "$label" "$kimg" "$t"
done

if [ "${FQ_VM_SELFTEST:-0}" = 1 ]; then
	bash tests/vm/selftest.sh || fail=1
fi
if [ "$fail" -eq 0 ] && [ "${FQ_VM_KEEP:-0}" != 1 ]; then
	rm -rf "$results"
	echo "# vm: $((SECONDS - t_start))s in all; every suite passed, guest logs removed (FQ_VM_KEEP=1 keeps them)"
else
	echo "# vm: $((SECONDS - t_start))s in all; guest logs in $results"
fi
exit $fail
