#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Tests of the VM harness itself (make test-vm-selftest; tests/vm/run.sh runs
# it too when FQ_VM_SELFTEST=1).  Three boots:
#  1+2. 6.1 and 6.12 with a deliberately failing suite, a passing suite that
#     checks the guest really is the kernel asked for (uname, modprobe of
#     sch_fq from the fetched modules), and a BPF object using a sign-
#     extending move (BPF ISA v4, kernel 6.6+): the harness must fail, name
#     kernel and suite, and quote 6.1's verifier; 6.12 must accept the object.
#  3. 6.1 with a suite that freezes the guest's test processes: the boot
#     timeout must kill the VM (qemu gone) and report "timed out" naming the
#     suite.
set -u
cd "$(dirname "$0")/../.."
pass=0 failn=0
tmp=$(mktemp -d /tmp/flowqoe-vmst.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
name=flowqoe-vmst-$$

ok() { echo "ok vm/selftest/$1"; pass=$((pass + 1)); }
nok() {
	echo "not ok vm/selftest/$1: $2"; failn=$((failn + 1))
	[ -n "${3:-}" ] && sed 's/^/    | /' "$3" | tail -n 40
}
# expect NAME LOG REGEX: the harness printed a line matching REGEX.
expect() {
	if grep -qE "$3" "$2"; then ok "$1"; else nok "$1" "no line matching /$3/" "$2"; fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "skip vm/selftest: not root"; exit 0
fi

# An XDP program whose second instruction is "r0 = (s8)r1" (movsx: opcode
# 0xbf with off=8).  clang 14 cannot emit ISA v4, so the instruction is
# written as raw bytes; the 6.1 verifier sees non-zero reserved fields.
cat >"$tmp/movsx.bpf.c" <<'EOF'
#define SEC(n) __attribute__((section(n), used))
struct xdp_md;
SEC("xdp") int fq_vmst_movsx(struct xdp_md *ctx)
{
	asm volatile("r1 = 5\n\t.quad 0x00000000000810bf" ::: "r0", "r1");
	return 2; /* XDP_PASS */
}
char LICENSE[] SEC("license") = "GPL";
EOF
if ! clang -g -O2 -target bpf -c "$tmp/movsx.bpf.c" -o "$tmp/movsx.bpf.o" 2>"$tmp/cc.log"; then
	nok build-movsx "clang failed" "$tmp/cc.log"
	exit 1
fi

mkdir -p "$tmp/suites" "$tmp/hang"
cat >"$tmp/suites/fail.sh" <<'EOF'
echo "ok selftest-before"
echo "not ok selftest-deliberate: this check fails on purpose"
exit 1
EOF
cat >"$tmp/suites/pass.sh" <<'EOF'
# the guest runs the kernel the harness says it booted, with its modules
case $(uname -r) in
"$FQ_VM_KERNEL".*) echo "ok guest-kernel-$FQ_VM_KERNEL" ;;
*) echo "not ok guest-kernel-$FQ_VM_KERNEL: uname -r is $(uname -r)" ;;
esac
if modprobe sch_fq && grep -q '^sch_fq ' /proc/modules; then
	echo "ok guest-modprobe-sch_fq"
else
	echo "not ok guest-modprobe-sch_fq: modprobe failed"
fi
if mountpoint -q /sys/fs/bpf; then echo "ok guest-bpffs"; else echo "not ok guest-bpffs: not mounted"; fi
EOF
# A guest that hangs for real, out of reach of guest.sh's own per-suite
# timeouts: the suite freezes itself, its timeout and guest.sh (cgroup v2
# freezer), so only the host's boot timeout can end the VM.
cat >"$tmp/hang/hang.sh" <<'EOF'
echo "ok selftest-hang-started"
cg=/sys/fs/cgroup/fqvm_hang
mkdir -p $cg
gp=$(awk '{ print $4 }' /proc/$PPID/stat)
for p in $$ $PPID $gp; do echo "$p" >$cg/cgroup.procs; done
echo 1 >$cg/cgroup.freeze
sleep 1000
EOF

# FQ_VMST_ONLY=1+2 or =3 runs one part (to iterate on the harness)
if [ "${FQ_VMST_ONLY:-all}" != 3 ]; then
	# 1+2: failing suite, verifier rejection on 6.1, acceptance on 6.12
	out=$tmp/run1.log
	FQ_VM_KERNELS="6.1 6.12" FQ_VM_TIERS="verifier extra" FQ_VM_BPF_OBJS="$tmp/movsx.bpf.o" \
		FQ_VM_EXTRA="$tmp/suites" FQ_VM_TIMEOUT=300 FQ_VM_BUDGET=900 FQ_VM_NAME=$name \
		FQ_VM_SELFTEST=0 FQ_VM_TESTS= tests/vm/run.sh >"$out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then ok failing-suite-fails-run; else nok failing-suite-fails-run "run.sh exited 0" "$out"; fi
	expect failing-suite-named-6.1 "$out" '^not ok vm/6\.1/extra/fail: 1 of 2 checks failed: selftest-deliberate'
	expect failing-suite-named-6.12 "$out" '^not ok vm/6\.12/extra/fail: 1 of 2 checks failed: selftest-deliberate'
	expect passing-suite-6.1 "$out" '^ok vm/6\.1/extra/pass # 3 passed'
	expect passing-suite-6.12 "$out" '^ok vm/6\.12/extra/pass # 3 passed'
	expect verifier-rejects-6.1 "$out" "^not ok vm/6\.1/verifier/movsx: prog 'fq_vmst_movsx'.*verifier says: BPF_MOV uses reserved fields"
	expect verifier-log-lines-6.1 "$out" '^    \| 1: \(bf\) .*'
	expect verifier-accepts-6.12 "$out" '^ok vm/6\.12/verifier/movsx # verifier accepted all 1 programs'
	expect boots-reported "$out" '^ok vm/6\.12/boot # 6\.12\.'
fi

if [ "${FQ_VMST_ONLY:-all}" != 1+2 ]; then
	# 3: a hanging guest is killed at the boot timeout
	out=$tmp/run2.log
	t0=$SECONDS
	FQ_VM_KERNELS=6.1 FQ_VM_TIERS=extra FQ_VM_EXTRA="$tmp/hang" FQ_VM_TIMEOUT=150 \
		FQ_VM_SUITE_TIMEOUT=1000 FQ_VM_BUDGET=900 FQ_VM_NAME=$name-hang FQ_VM_SELFTEST=0 \
		FQ_VM_TESTS= tests/vm/run.sh >"$out" 2>&1
	rc=$?
	took=$((SECONDS - t0))
	if [ "$rc" -ne 0 ]; then ok hang-fails-run; else nok hang-fails-run "run.sh exited 0" "$out"; fi
	expect hang-reported "$out" "^not ok vm/6\.1: timed out after 150s while running extra/hang$"
	# 150 s, then SIGKILL 10 s later at worst, plus setup checks
	if [ "$took" -le 200 ]; then ok hang-bounded; else nok hang-bounded "run took ${took}s for a 150s timeout" "$out"; fi
	if pgrep -f -- "-name $name-hang-6.1" >/dev/null; then
		nok hang-qemu-killed "a qemu named $name-hang-6.1 is still running"
	else
		ok hang-qemu-killed
	fi
fi

echo "vm selftest: $pass passed, $failn failed"
[ "$failn" -eq 0 ]
