#!/usr/bin/env bash
# Installs what flowqoe needs to build and test on Debian 12.  Idempotent:
# it only calls apt-get when a package is missing.
set -euo pipefail
pkgs=(clang llvm libbpf-dev bpftool libxdp-dev xdp-tools libelf-dev zlib1g-dev
      libpcap-dev libmicrohttpd-dev libjansson-dev pkg-config make gcc
      iproute2 iperf3 tcpdump tshark libndpi-bin prometheus python3-venv
      sqlite3 wrk iputils-ping netcat-openbsd ethtool curl python3 procps)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
