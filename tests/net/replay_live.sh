#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Live vs offline: `flowqoe attach --csv` watches one end of a veth while
# tcpdump captures it; `flowqoe replay` of that capture must give the same
# flows with the same per-direction packets, payload bytes, header bytes,
# TCP flags, windows and length extremes; timing columns agree within the
# capture's timestamp jitter (here: 5 ms or 5%).
set -u
. "$(dirname "$0")/lib.sh"
require replay_live tcpdump ethtool "$PY"

net_setup || { not_ok "replay_live/setup: cannot create namespaces and veth"; exit 1; }
sleep 2 # link-local noise of link-up passes before we capture
# MTU-sized frames on both sides: what XDP, tc and tcpdump see is then the
# same (tc egress sees a socket's GSO skb before segmentation, and veth hands
# it to its peer whole, whatever ethtool says; one segment per skb avoids it)
ip -n "$NS_A" link set dev "$IF_A" gso_max_segs 1
ip -n "$NS_B" link set dev "$IF_B" gso_max_segs 1

serve_in() {
	local ns=$1 var=$2 rdy=$3 pid
	shift 3
	rm -f "$rdy"
	READY=$rdy nsenter --net=/run/netns/$ns "$PY" "$TMP/traffic.py" "$@" &
	pid=$!
	BG_PIDS+=($pid)
	printf -v "$var" %s $pid
	for _ in $(seq 100); do [ -e "$rdy" ] && return 0; sleep 0.05; done
	return 1
}

nsenter --net=/run/netns/$NS_A tcpdump -Z root -i "$IF_A" -n -s 200 -B 65536 -U --immediate-mode \
	-w "$TMP/cap.pcap" 2>"$TMP/cap.err" &
p_cap=$!
BG_PIDS+=($p_cap)
for _ in $(seq 100); do grep -q 'listening on' "$TMP/cap.err" 2>/dev/null && break; sleep 0.05; done

if ! fq_attach_bg p_att "$TMP/attach.out" --json --interval 0.5 --csv "$TMP/live.csv" \
		--idle-timeout 600 --fin-timeout 1; then
	not_ok "replay_live/attach: did not come up: $(tail -n 3 "$TMP/attach.out.err")"
	exit 1
fi
serve_in "$NS_B" s1 "$TMP/r1" udp-server $IP_B 5001 30 &&
serve_in "$NS_B" s2 "$TMP/r2" tcp-server $IP_B 5003 150000 &&
serve_in "$NS_A" s3 "$TMP/r3" tcp-server $IP6_A 5004 80000 ||
	{ not_ok "replay_live/servers: did not start"; exit 1; }
{
	in_a "$PY" "$TMP/traffic.py" udp-client $IP_B 5001 30 7 &&
	in_a "$PY" "$TMP/traffic.py" tcp-client $IP_B 5003 100000 &&
	in_b "$PY" "$TMP/traffic.py" tcp-client $IP6_A 5004 60000
} >/dev/null 2>"$TMP/clients.err" || not_ok "replay_live/traffic: $(tail -n 2 "$TMP/clients.err")"
sleep 0.5
fq_stop "$p_cap" INT
fq_stop "$p_att" INT
for s in "$s1" "$s2" "$s3"; do fq_stop "$s" TERM; done

# a capture that lost packets cannot agree with anything
drops=$(sed -n 's/^\([0-9]*\) packets dropped by kernel/\1/p' "$TMP/cap.err")
if [ "${drops:-x}" != 0 ]; then
	not_ok "replay_live/capture: tcpdump lost ${drops:-?} packets: $(tr '\n' ' ' < "$TMP/cap.err")"
	exit 1
fi
ok "replay_live/capture: tcpdump lost no packet (snaplen 200: replay zero-fills the rest)"
"$FQ" replay "$TMP/cap.pcap" --csv "$TMP/off.csv" 2>"$TMP/replay.err" ||
	not_ok "replay_live/replay: $(cat "$TMP/replay.err")"
"$PY" - "$TMP/live.csv" "$TMP/off.csv" <<'PY' || N_FAIL=$((N_FAIL + 1))
import csv, sys
def load(p):
    with open(p, newline='') as f:
        rd = csv.reader(f)
        h = [c.strip() for c in next(rd)]
        return [dict(zip(h, r)) for r in rd if r]
live, off = load(sys.argv[1]), load(sys.argv[2])
key = lambda r: (r['Source IP'], r['Source Port'], r['Destination IP'], r['Destination Port'], r['Protocol'])
exact = ['Total Fwd Packets', 'Total Backward Packets', 'Total Length of Fwd Packets',
         'Total Length of Bwd Packets', 'Fwd Packet Length Max', 'Fwd Packet Length Min',
         'Bwd Packet Length Max', 'Bwd Packet Length Min', 'Fwd Header Length', 'Bwd Header Length',
         'FIN Flag Count', 'SYN Flag Count', 'RST Flag Count', 'PSH Flag Count', 'ACK Flag Count',
         'Fwd PSH Flags', 'Bwd PSH Flags', 'Init_Win_bytes_forward', 'Init_Win_bytes_backward',
         'act_data_pkt_fwd', 'min_seg_size_forward', 'Fwd Packet Length Mean', 'Packet Length Std']
timing = ['Flow Duration', 'Flow IAT Max', 'Fwd IAT Total', 'Bwd IAT Total']
fails = 0
lk = {key(r): r for r in live}
ok_ = {key(r): r for r in off}
ours = [k for k in lk if k[4] in ('6', '17')]
if len(ours) != 3 or sorted(ours) != sorted(k for k in ok_ if k[4] in ('6', '17')):
    print('not ok replay_live/flows: live %s offline %s' % (sorted(lk), sorted(ok_)))
    sys.exit(1)
print('ok replay_live/flows: the same %d TCP/UDP flows, same initiators' % len(ours))
for k in sorted(ours):
    a, b = lk[k], ok_[k]
    bad = ['%s live %s offline %s' % (c, a[c], b[c]) for c in exact if float(a[c]) != float(b[c])]
    for c in timing:
        x, y = float(a[c]), float(b[c])
        if abs(x - y) > max(5000, 0.05 * max(x, y)):
            bad.append('%s live %s offline %s' % (c, a[c], b[c]))
    name = 'replay_live/%s:%s-%s:%s/%s' % k
    if bad:
        print('not ok %s: %s' % (name, '; '.join(bad))); fails += 1
    else:
        print('ok %s (%s+%s packets)' % (name, a['Total Fwd Packets'], a['Total Backward Packets']))
sys.exit(1 if fails else 0)
PY
exit 0
