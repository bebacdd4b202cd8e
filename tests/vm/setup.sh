#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Installs what tests/vm/run.sh needs on the host, idempotently:
#  - Debian: qemu (TCG is enough), busybox-static (virtme-ng's initramfs),
#    udev (virtme-ng's init finds its script I/O ports through the
#    /dev/virtio-ports links udev makes), kmod (depmod), file (virtme-ng
#    reads the kernel version with it);
#  - PyPI: virtme-ng, into the project's .venv (make venv).
# Kernels are fetched by tests/vm/kernels.sh, never installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
pkgs=(qemu-system-x86 busybox-static udev kmod file binutils)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "vm setup: installing ${missing[*]}"
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	# no recommends: qemu's pull in a desktop's worth of packages
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi
make -s venv
[ -x .venv/bin/vng ] || { echo "vm setup: .venv has no vng (requirements.txt lists virtme-ng)" >&2; exit 1; }
