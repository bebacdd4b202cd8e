#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Tier 3: a flow table that is too small.  `flowqoe attach --max-flows 1024`
# while 10,000 distinct UDP flows (5 source addresses x 1,000 source ports
# each way; every third flow sends 2 datagrams, the rest 1; sizes vary)
# cross the veth, both directions at once.  IPv6 is off and ARP static, so
# the link carries nothing else; tcpdump captures it to prove that.
#
# What holds, from bpf/flowqoe.bpf.c (fq_flow_update): a packet whose flow
# is not in the table tries to create it; if the table is full the update
# fails: untracked goes up by one for every such packet, flow_full once per
# refused flow (fq_refused remembers their keys).  Flows never leave the
# table here (timeouts are long), so:
#   interface totals (packets, frame and IP bytes per direction) = capture
#     = what the senders sent, exactly;
#   tracked flows = flows in the table = new_flows <= 1024, each with the
#     exact packets and bytes its sender sent, src = the sender;
#   tracked flows + untracked flows = 10,000 (every flow's first packet
#     either created an entry or was refused);
#   flow_table_full = the number of flows not in the table, and
#   untracked_packets = the sum of their packets (more: 2-packet flows);
#   tracked packets + untracked_packets = every packet;
# and the counters are shown by `flowqoe status` (text and JSON) and by the
# attach itself (JSON lines in one run, the terminal table in the other:
# skb mode = generic XDP on ingress, then tc mode = tc on ingress).
set -u
. "$(dirname "$0")/lib.sh"
require table_full tcpdump "$PY"

MAX=1024
NFLOWS=${TABLE_FULL_FLOWS:-10000} # split evenly: 5 addresses x N/10 ports each way
SRC_A=(10.77.0.1 10.77.0.11 10.77.0.12 10.77.0.13 10.77.0.14)
SRC_B=(10.77.0.2 10.77.0.21 10.77.0.22 10.77.0.23 10.77.0.24)
DPORT=9999

net_setup v4 || { not_ok "table_full/setup: cannot create namespaces and veth"; exit 1; }
for a in "${SRC_A[@]:1}"; do ip -n "$NS_A" addr add "$a/24" dev "$IF_A"; done
for a in "${SRC_B[@]:1}"; do ip -n "$NS_B" addr add "$a/24" dev "$IF_B"; done

cat >"$TMP/flows.py" <<'PY'
# recv PORT N READY       count datagrams on PORT until N arrived or 20 s of
#                         silence; print the count
# send SRCS DST DPORT N   N flows: flow i from SRCS[i % len] port
#                         20000 + i // len, 2 datagrams if i % 3 == 0 else 1,
#                         payload 1 + (i * 7919) % 400 bytes; print one JSON
#                         line per flow: [src, sport, dst, dport, packets, ip_len]
import json, socket, sys

if sys.argv[1] == 'recv':
    port, n, ready = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # room for every datagram: a full buffer drops silently (after the hooks,
    # so the totals would not care, but the count is our readiness signal)
    s.setsockopt(socket.SOL_SOCKET, getattr(socket, 'SO_RCVBUFFORCE', 33), 64 << 20)
    s.bind(('0.0.0.0', port))
    open(ready, 'w').close()
    s.settimeout(20)
    got = 0
    try:
        while got < n:
            s.recv(2048)
            got += 1
    except socket.timeout:
        pass
    print(got)
else:
    srcs, dst, dport, n = sys.argv[2].split(','), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    out = []
    for i in range(n):
        src, sport = srcs[i % len(srcs)], 20000 + i // len(srcs)
        k, size = (2 if i % 3 == 0 else 1), 1 + (i * 7919) % 400
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, sport))
        for _ in range(k):
            s.sendto(b'f' * size, (dst, dport))
        s.close()
        out.append([src, sport, dst, dport, k, 20 + 8 + size])
    for f in out:
        print(json.dumps(f))
PY

cat >"$TMP/check.py" <<'PY'
# check.py NAME SENT.jsonl CAP.pcap STATUS.json FLOWS.json IFACE A_ADDRS
# Prints ok/not ok lines; the counters it read go to stdout's last line as
# "COUNTERS tracked full untracked_pkts" for the shell's text checks.
import collections, json, struct, sys

name, sent_f, cap_f, status_f, flows_f, iface, a_addrs = sys.argv[1:8]
a_addrs = set(a_addrs.split(','))
fails = 0

def ok(what):
    print('ok table_full/%s/%s' % (name, what))

def bad(what, why):
    global fails
    fails += 1
    print('not ok table_full/%s/%s: %s' % (name, what, why))

# what the senders sent: (src, sport, dst, dport) -> [packets, ip_len]
sent = {}
for line in open(sent_f):
    s, sp, d, dp, k, ln = json.loads(line)
    sent[(s, sp, d, dp)] = (k, ln)

# the capture: every frame must be one of those datagrams
cap = collections.Counter()
tot = {'rx': [0, 0, 0], 'tx': [0, 0, 0]}  # packets, frame bytes, IP bytes
other = 0
with open(cap_f, 'rb') as f:
    magic = f.read(24)[:4]
    end = '<' if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    while True:
        h = f.read(16)
        if len(h) < 16:
            break
        _, _, incl, orig = struct.unpack(end + 'IIII', h)
        pkt = f.read(incl)
        if len(pkt) < 42 or pkt[12:14] != b'\x08\x00' or pkt[23] != 17:
            other += 1
            continue
        ihl = (pkt[14] & 15) * 4
        iplen = struct.unpack('!H', pkt[16:18])[0]
        src, dst = '.'.join(map(str, pkt[26:30])), '.'.join(map(str, pkt[30:34]))
        sp, dp = struct.unpack('!HH', pkt[14 + ihl:18 + ihl])
        key = (src, sp, dst, dp)
        cap[key] += 1
        t = tot['tx' if src in a_addrs else 'rx']
        t[0] += 1
        t[1] += orig
        t[2] += iplen
        if key in sent and sent[key][1] != iplen:
            bad('capture-len', '%s:%d ip length %d, sent %d' % (src, sp, iplen, sent[key][1]))
npkts = sum(k for k, _ in sent.values())
if other or any(cap[k] != v[0] for k, v in sent.items()) or set(cap) - set(sent):
    bad('capture', '%d frames that are not our datagrams, %d flows differ from what was sent'
        % (other, sum(1 for k, v in sent.items() if cap[k] != v[0]) + len(set(cap) - set(sent))))
else:
    ok('capture %d flows, %d datagrams = sent, nothing else on the link' % (len(sent), npkts))

st = [o for o in json.load(open(status_f)) if o['iface'] == iface]
if len(st) != 1 or 'totals' not in st[0]:
    bad('status', 'no totals for %s in flowqoe status --json' % iface)
    sys.exit(1)
st = st[0]
t = st['totals']
got = (t['rx_packets'], t['rx_bytes'], t['rx_ip_bytes'], t['tx_packets'], t['tx_bytes'], t['tx_ip_bytes'])
want = tuple(tot['rx'] + tot['tx'])
if got != want:
    bad('totals', 'flowqoe rx %d pkts %d B (IP %d) tx %d pkts %d B (IP %d); capture %d %d (%d) / %d %d (%d)'
        % (got + want))
else:
    ok('totals rx %d pkts %d B (IP %d) tx %d pkts %d B (IP %d) = capture' % got)
if (t['ipv4'], t['ipv6'], t['non_ip'], t['parse_errors']) != (npkts, 0, 0, 0):
    bad('kinds', 'ipv4 %d ipv6 %d non_ip %d parse_errors %d; sent %d IPv4 UDP datagrams'
        % (t['ipv4'], t['ipv6'], t['non_ip'], t['parse_errors'], npkts))
else:
    ok('kinds ipv4 %d = sent, no ipv6, non-IP or parse error' % npkts)

flows = json.load(open(flows_f))
tracked, wrong = {}, []
for o in flows:
    k = (o['src'], o['sport'], o['dst'], o['dport'])
    if o['proto'] != 17 or k not in sent:
        wrong.append('%s not sent (or src is not the sender)' % (k,))
        continue
    tracked[k] = o
    pk, ln = sent[k]
    if (o['fwd_packets'], o['fwd_bytes'], o['bwd_packets'], o['bwd_bytes']) != (pk, pk * ln, 0, 0):
        wrong.append('%s:%d fwd %d pkts %d B bwd %d / %d, sent %d pkts %d B'
                     % (k[:2] + (o['fwd_packets'], o['fwd_bytes'], o['bwd_packets'], o['bwd_bytes'], pk, pk * ln)))
if wrong:
    bad('flows-exact', '%d of %d flows wrong: %s' % (len(wrong), len(flows), '; '.join(wrong[:3])))
else:
    ok('flows-exact every tracked flow: src = sender, packets and bytes = sent')
nt = len(tracked)
if not (0 < nt <= st.get('max_flows', -1) == 1024 and nt == len(flows) == st.get('flows') == t['new_flows']):
    bad('tracked', '%d flows in flowqoe flows, status flows %s of max_flows %s, new_flows %d (want all '
        'equal, <= 1024)' % (len(flows), st.get('flows'), st.get('max_flows'), t['new_flows']))
else:
    ok('tracked %d flows (<= max_flows %d) = status flows = new_flows'
       % (nt, st['max_flows']))

untracked = [k for k in sent if k not in tracked]
upk = sum(sent[k][0] for k in untracked)
full, unt = t['flow_table_full'], t['untracked_packets']
if nt + len(untracked) != len(sent) or len(sent) != int(sys.argv[8]):
    bad('flows-accounted', '%d tracked + %d untracked != %d sent' % (nt, len(untracked), len(sent)))
else:
    ok('flows-accounted %d tracked + %d untracked = %d flows sent' % (nt, len(untracked), len(sent)))
if not (full > 0 and full == len(untracked) and unt == upk and upk > full):
    bad('untracked', 'flow_table_full %d, untracked_packets %d; the %d flows not in the table sent %d '
        'packets (want flow_table_full = flows, untracked_packets = their packets)'
        % (full, unt, len(untracked), upk))
else:
    ok('untracked flow_table_full %d = the flows not in the table, untracked_packets %d = their packets'
       % (full, unt))
tpk = sum(sent[k][0] for k in tracked)
if tpk + unt != npkts or sum(o['fwd_packets'] for o in tracked.values()) != tpk:
    bad('packets-accounted', 'tracked %d + untracked %d != %d sent' % (tpk, unt, npkts))
else:
    ok('packets-accounted tracked %d + untracked %d = %d sent' % (tpk, unt, npkts))
print('COUNTERS %d %d %d %d %d' % (nt, full, unt, t['rx_packets'], t['tx_packets']))
sys.exit(1 if fails else 0)
PY

join() { local IFS=,; echo "$*"; }

# one_run NAME MODE OUTPUT(json|text)
one_run() {
	local n=$1 mode=$2 fmt=$3 out=$TMP/$1 p_att p_cap r_a r_b s_a s_b
	# per direction: NFLOWS/2 flows, every third (i % 3 == 0) with 2 datagrams
	local half=$((NFLOWS / 2)) npk_dir=$((NFLOWS / 2 + (NFLOWS / 2 + 2) / 3))
	local args=(--mode "$mode" --max-flows "$MAX" --interval 0.5 --idle-timeout 600 --active-timeout 600)
	mkdir -p "$out"
	[ "$fmt" = json ] && args+=(--json)
	if ! fq_attach_bg p_att "$out/attach.out" "${args[@]}"; then
		not_ok "table_full/$n/attach: flowqoe attach did not come up: $(tail -n 3 "$out/attach.out.err")"
		return
	fi
	capture_start p_cap inout "$out/cap.pcap" ||
		{ not_ok "table_full/$n/capture: tcpdump did not start: $(cat "$out/cap.pcap.err")"; return; }
	# receivers, so that no datagram draws an ICMP port unreachable; each
	# exits once it has every datagram (or after 20 s of silence)
	bg r_a nsenter --net=/run/netns/$NS_A "$PY" "$TMP/flows.py" recv $DPORT $npk_dir "$out/ready_a" \
		>"$out/recv_a"
	bg r_b nsenter --net=/run/netns/$NS_B "$PY" "$TMP/flows.py" recv $DPORT $npk_dir "$out/ready_b" \
		>"$out/recv_b"
	for _ in $(seq 100); do [ -e "$out/ready_a" ] && [ -e "$out/ready_b" ] && break; sleep 0.05; done
	# both directions at once: ingress and egress hooks race for the last
	# free entries from two CPUs
	bg s_a nsenter --net=/run/netns/$NS_A "$PY" "$TMP/flows.py" send "$(join "${SRC_A[@]}")" $IP_B $DPORT $half >"$out/sent_a"
	bg s_b nsenter --net=/run/netns/$NS_B "$PY" "$TMP/flows.py" send "$(join "${SRC_B[@]}")" $IP_A $DPORT $half >"$out/sent_b"
	fq_stop "$s_a" 0
	local rc_a=$STOP_RC
	fq_stop "$s_b" 0
	if [ "$rc_a" != 0 ] || [ "$STOP_RC" != 0 ]; then
		not_ok "table_full/$n/send: a sender failed (rc $rc_a, $STOP_RC)"
		return
	fi
	cat "$out/sent_a" "$out/sent_b" >"$out/sent.jsonl"
	# readiness: every datagram delivered (so past both hooks) ...
	fq_stop "$r_a" 0
	fq_stop "$r_b" 0
	check "table_full/$n/delivered" "receivers got $(cat "$out/recv_a") and $(cat "$out/recv_b"), sent $npk_dir each way" -- \
		test "$(cat "$out/recv_a") $(cat "$out/recv_b")" = "$npk_dir $npk_dir"
	# ... and written by tcpdump: the file reaches the size those frames
	# make (24-byte header, per frame 16 + min(snap length 128, frame))
	local want_size
	want_size=$(tr -d '[]' <"$out/sent.jsonl" | awk -F, '{ f = 14 + $6; s += $5 * (16 + (f < 128 ? f : 128)) }
		END { print s + 24 }')
	for _ in $(seq 100); do
		[ "$(stat -c %s "$out/cap.pcap")" -ge "$want_size" ] && break
		sleep 0.05
	done
	capture_stop "$p_cap"
	grep -q '^0 packets dropped by kernel' "$out/cap.pcap.err" ||
		not_ok "table_full/$n/capture-drops: tcpdump dropped packets: $(cat "$out/cap.pcap.err")"

	in_a "$FQ" status --json >"$out/status.json"
	in_a "$FQ" status >"$out/status.txt"
	"$FQ" flows "$IF_A" --json >"$out/flows.json" 2>"$out/flows.err" ||
		not_ok "table_full/$n/flows: flowqoe flows failed: $(cat "$out/flows.err")"
	"$PY" "$TMP/check.py" "$n" "$out/sent.jsonl" "$out/cap.pcap" "$out/status.json" "$out/flows.json" \
		"$IF_A" "$(join "${SRC_A[@]}")" "$NFLOWS" | tee "$out/check.txt" | grep -v '^COUNTERS'
	local tracked full unt rx tx
	read -r _ tracked full unt rx tx < <(grep '^COUNTERS' "$out/check.txt")
	if [ -z "${unt:-}" ]; then
		not_ok "table_full/$n/counters: check.py gave no counters"
		return
	fi
	check "table_full/$n/status-text" "flowqoe status says: $(cat "$out/status.txt")" -- \
		eval 'grep -q "^$IF_A: running, mode .*, $tracked/$MAX flows" "$out/status.txt" &&
			grep -q " flow_table_full $full " "$out/status.txt" &&
			grep -q " untracked_packets $unt " "$out/status.txt"'

	# the attach's own output shows them: wait for the first poll that has
	# seen every packet (readiness, not a fixed sleep)
	local seen=
	for _ in $(seq 100); do
		if [ "$fmt" = json ]; then
			seen=$(grep '"type":"flows"' "$out/attach.out" | tail -n 1 | "$PY" -c '
import json, sys
o = json.loads(sys.stdin.read() or "{}")
t = o.get("totals", {})
print(len(o.get("flows", [])), t.get("flow_table_full"), t.get("untracked_packets"),
      t.get("rx_packets"), t.get("tx_packets"))' 2>/dev/null)
		else
			seen=$(grep "^$IF_A: [0-9]* flows" "$out/attach.out" | tail -n 1 |
				sed -n 's/^.*: \([0-9]*\) flows, rx \([0-9]*\) pkts, tx \([0-9]*\) pkts, .*untracked \([0-9]*\)$/\1 - \4 \2 \3/p')
		fi
		[ "$(cut -d' ' -f4,5 <<<"$seen")" = "$rx $tx" ] && break
		sleep 0.1
	done
	if [ "$fmt" = json ]; then
		check "table_full/$n/attach-json" "last flows line: flows untracked_packets table_full rx tx '$seen', want '$tracked $full $unt $rx $tx'" -- \
			test "$seen" = "$tracked $full $unt $rx $tx"
	else
		check "table_full/$n/attach-terminal" "last table header: flows rx tx untracked '$seen', want '$tracked - $unt $rx $tx'" -- \
			test "$seen" = "$tracked - $unt $rx $tx"
	fi

	fq_stop "$p_att" INT
	check "table_full/$n/exit" "flowqoe exited $STOP_RC after SIGINT: $(tail -n 3 "$out/attach.out.err")" -- \
		test "$STOP_RC" = 0
	if [ "$fmt" = json ]; then
		local ends
		ends=$(grep -c '"type":"flow_end".*"end_reason":"exit"' "$out/attach.out")
		check "table_full/$n/flow-end" "$ends flow_end records at exit, $tracked flows were tracked" -- \
			test "$ends" = "$tracked"
	fi
	check "table_full/$n/detached" "left behind: $(ls -d "/sys/fs/bpf/flowqoe/$IF_A" "/run/flowqoe/$IF_A.state" 2>/dev/null) $(in_a bpftool net show dev "$IF_A" | grep -c ' id ') hooks" -- \
		eval 'test ! -e "/sys/fs/bpf/flowqoe/$IF_A" -a ! -e "/run/flowqoe/$IF_A.state" &&
			! in_a bpftool net show dev "$IF_A" | grep -q " id "'
}

one_run skb-json skb json
# under the VM harness (FQ_VM_KERNEL set) one run: TCG makes each ~50 s and
# every suite of every kernel shares one time budget
if [ -z "${FQ_VM_KERNEL:-}" ]; then
	one_run tc-text tc text
fi
