#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Fetches one Debian kernel of the test matrix into tests/vm/kernels/LABEL/
# without installing it: the machine's boot setup and apt sources stay as
# they are.  A private apt configuration (its own sources.list, lists and
# cache under tests/vm/kernels/apt-LABEL/) points at the same mirror the
# machine uses, `apt-get download` takes the package linux-image-amd64
# depends on in SUITE, and `dpkg -x` unpacks vmlinuz and modules.
#   kernels.sh LABEL SUITES     e.g. kernels.sh 6.12 bookworm-backports
# SUITES is comma-separated; the newest image among them wins.
# Prints the path of the kernel image.  Already fetched kernels are reused
# (FQ_VM_REFRESH=1 fetches the suite's newest again).
set -euo pipefail
label=$1 suite=$2
top=$(cd "$(dirname "$0")" && pwd)/kernels
k=$top/$label
mkdir -p "$top"

if [ -f "$k/.done" ] && [ -z "${FQ_VM_REFRESH:-}" ]; then
	read -r _pkg kver <"$k/.done"
	echo "$k/boot/vmlinuz-$kver"
	exit 0
fi

# Each suite from the mirror the machine already uses for it (so no host
# name is written here); a suite the machine does not use (backports) from
# the mirror of its release.
. /etc/os-release
targets=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)')
uri_of() {
	awk -v r="$1" '!u && $2 == r && $3 == "deb" { u = $1 } END { print u }' <<<"$targets"
}
base=$(uri_of "$VERSION_CODENAME")
if [ -z "$base" ]; then
	echo "kernels.sh: no apt source for $VERSION_CODENAME configured on this machine" >&2
	exit 1
fi

apt=$top/apt-$label
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/preferences.d" "$top/dl"
for s in ${suite//,/ }; do
	u=$(uri_of "$s"); echo "deb ${u:-$base} $s main"
done >"$apt/sources.list"
A=(-q -o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=-"
   -o "Dir::Etc::preferencesparts=$apt/preferences.d" -o "Dir::State::Lists=$apt/lists"
   -o "Dir::Cache=$apt/cache" -o "APT::Sandbox::User=root")
apt-get "${A[@]}" update >&2
# linux-image-amd64 is a metapackage; its dependency names the real image.
pkg=$(apt-cache "${A[@]}" depends linux-image-amd64 |
	awk '!p && /Depends: linux-image-[0-9]/ { p = $2 } END { print p }')
if [ -z "$pkg" ]; then
	echo "kernels.sh: no linux-image-amd64 in $suite" >&2
	exit 1
fi
case $pkg in
linux-image-"$label".*) ;;
*) echo "kernels.sh: $suite now has $pkg, not a $label kernel: update tests/vm/matrix" >&2
   exit 1 ;;
esac

echo "kernels.sh: fetching $pkg from $suite" >&2
rm -f "$top/dl/${pkg}_"*.deb
(cd "$top/dl" && apt-get "${A[@]}" download "$pkg" >&2)
rm -rf "$k.tmp"
dpkg -x "$top/dl/${pkg}_"*.deb "$k.tmp"
kver=$(ls "$k.tmp/lib/modules")
# The package ships no modules.dep (its postinst makes it); modprobe in the
# guest needs it.
depmod -a -b "$k.tmp" "$kver"
rm -rf "$k" "$top/dl/${pkg}_"*.deb
mv "$k.tmp" "$k"
echo "$pkg $kver" >"$k/.done"
echo "$k/boot/vmlinuz-$kver"
