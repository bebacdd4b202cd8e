#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# flowqoe replay vs ndpiReader (Debian libndpi-bin) on the nDPI captures in
# $FQ_DATA/ndpi: for every flow both report (5-tuple + VLAN seen once on
# each side), packets and frame bytes per direction and packet-length
# min/max (exact) and avg/stddev (nDPI prints integers: within 1) agree.
# IAT min/max/avg are compared and reported; see replay_ndpi.py for nDPI's
# conventions and why IATs are not required to agree.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
d=${FQ_DATA:-../shared/data}/ndpi
[ -d "$d" ] || { echo "skip replay_ndpi: $d absent (FQ_DATA)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "skip replay_ndpi: needs root (BPF_PROG_RUN)"; exit 0; }
command -v ndpiReader >/dev/null || { echo "skip replay_ndpi: ndpiReader not installed (libndpi-bin)"; exit 0; }
tmp=$(mktemp -d /tmp/fq-ndpi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rc=0
for f in "$d"/*.pcap "$d"/*.pcapng; do
	[ -f "$f" ] || continue
	n=$(basename "$f")
	ndpiReader -i "$f" -v 2 >"$tmp/$n.ndpi" 2>/dev/null || { echo "not ok replay_ndpi/$n: ndpiReader failed"; rc=1; continue; }
	# one flow per 5-tuple, as nDPI keeps them: no timeout or FIN splits
	if ! "$FLOWQOE" replay "$f" --json --flow-timeout 1e8 --fin-linger 1e8 --csv "$tmp/$n.json" 2>"$tmp/err"; then
		echo "not ok replay_ndpi/$n: replay failed: $(cat "$tmp/err")"; rc=1; continue
	fi
	l2=14
	[ "$(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(24); print(struct.unpack("<I" if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">I", b[20:24])[0] if b[:4] != b"\x0a\x0d\x0d\x0a" else "ng")' "$f")" = 101 ] && l2=0
	# pcapng: the link type is in the interface block; tshark knows it
	case $n in *.pcapng) capinfos -E "$f" 2>/dev/null | grep -q 'Raw IP' && l2=0 ;; esac
	python3 tests/data/replay_ndpi.py "replay_ndpi/$n" "$tmp/$n.ndpi" "$tmp/$n.json" $l2 || rc=1
done
exit $rc
