#!/usr/bin/env bash
# Writes flowqoe(8) to stdout from the binary's own --help texts, so the
# man page never disagrees with the program.
set -euo pipefail
bin=${1:?usage: mkman.sh path/to/flowqoe}
esc() { sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"; }
echo '.TH FLOWQOE 8 "" "flowqoe" "System Administration"'
echo '.SH NAME'
echo 'flowqoe \- per-flow traffic statistics, classification and queries with eBPF'
echo '.SH SYNOPSIS'
echo '.B flowqoe'
echo '[\-v] [\-j|\-\-json] COMMAND [ARGS]'
echo '.SH DESCRIPTION'
echo '.nf'
"$bin" --help | esc
echo '.fi'
for cmd in $("$bin" --help | awk '/^commands:/{f=1;next} f && /^  [a-z]/{print $1}'); do
	echo ".SH ${cmd^^}"
	echo '.nf'
	"$bin" "$cmd" --help 2>&1 | esc || true
	echo '.fi'
done
echo '.SH FILES'
echo '/sys/fs/bpf/flowqoe/IFACE/ (pinned maps), /run/flowqoe/IFACE.state (what attach changed)'
echo '.SH SEE ALSO'
echo 'bpftool(8), tc(8), ip(8)'
