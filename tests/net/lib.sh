# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Helpers for the network-namespace tests (sourced, not run).
#
# Every test builds its own pair of namespaces joined by one veth pair, with
# names unique to this shell ($$), and removes them, any flowqoe it started
# and any pin or state file left for its interfaces on every exit path.
#
# flowqoe runs inside a namespace through `nsenter --net=...` rather than
# `ip netns exec`: the latter remounts /sys in a private mount namespace
# without bpffs, so its pins would be invisible to other processes.
#
# Addresses: side A 10.77.0.1 / fd77::1, side B 10.77.0.2 / fd77::2.  The
# neighbours are static and IPv6 duplicate address detection is off, so the
# link carries only the traffic a test sends (interface totals can then be
# compared with a capture exactly).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FQ=${FLOWQOE:-$REPO/build/flowqoe}
PY=${PYTHON:-python3}
TAG=${TAG:-$$}
NS_A=fqa$TAG
NS_B=fqb$TAG
IF_A=fq${TAG}a   # <= 15 chars: the pin folder is keyed by it
IF_B=fq${TAG}b
IP_A=10.77.0.1
IP_B=10.77.0.2
IP6_A=fd77::1
IP6_B=fd77::2
TMP=$(mktemp -d /tmp/fqnet.XXXXXX)
BG_PIDS=()
N_FAIL=0

ok() { echo "ok $*"; }
not_ok() { echo "not ok $*"; N_FAIL=$((N_FAIL + 1)); }
skip() { echo "skip $*"; }
# check NAME DESCRIPTION-OF-FAILURE -- command...
check() {
	local name=$1 why=$2
	shift 3
	if "$@"; then ok "$name"; else not_ok "$name: $why"; fi
}

in_a() { nsenter --net=/run/netns/$NS_A "$@"; }
in_b() { nsenter --net=/run/netns/$NS_B "$@"; }

# Skip the whole script (one "skip" line) when something it needs is absent.
require() {
	local name=$1
	shift
	if [ "$(id -u)" -ne 0 ]; then skip "$name: needs root"; exit 0; fi
	if [ ! -x "$FQ" ]; then skip "$name: $FQ not built (make)"; exit 0; fi
	for c in ip tc nsenter bpftool "$@"; do
		command -v "$c" >/dev/null || { skip "$name: $c not installed"; exit 0; }
	done
}

# bg NAME cmd...: start a background process, remember its pid for cleanup.
bg() {
	local var=$1
	shift
	"$@" &
	BG_PIDS+=($!)
	printf -v "$var" %s $!
}

net_cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${BG_PIDS[@]}"; do
		# give flowqoe time to detach itself; then insist
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BG_PIDS=()
	for i in "$IF_A" "$IF_B"; do
		if [ -e "/sys/fs/bpf/flowqoe/$i" ] || [ -e "/run/flowqoe/$i.state" ]; then
			for ns in "$NS_A" "$NS_B"; do
				[ -e /run/netns/$ns ] && nsenter --net=/run/netns/$ns "$FQ" detach "$i" >/dev/null 2>&1
			done
			rm -rf "/sys/fs/bpf/flowqoe/$i" "/run/flowqoe/$i.state"
			rmdir /sys/fs/bpf/flowqoe 2>/dev/null
		fi
	done
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	rm -rf "$TMP"
}

on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	net_cleanup
	[ "$N_FAIL" -gt 0 ] && rc=1
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# net_setup [v4]: two namespaces, one veth pair, static neighbours.
# With v4, IPv6 is off in both namespaces before the veth exists, so the
# link carries no ND, MLD or router solicitation at all (and ARP is
# static): only what a test sends crosses it, from the first moment, with
# no wait for link-up chatter to pass.
net_setup() {
	local v4=${1:-} ns mac_a mac_b
	ip netns add "$NS_A" || return 1
	ip netns add "$NS_B" || return 1
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" link set lo up
		if [ "$v4" = v4 ]; then
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
				net.ipv6.conf.default.disable_ipv6=1 >/dev/null || return 1
			continue
		fi
		# no router solicitations or autoconf noise on the test link
		# (set before the veth exists: "default" is copied at creation);
		# no DAD and 10 ms between the unsolicited MLD reports of link-up,
		# so the link falls silent within a fraction of a second
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.default.router_solicitations=0 \
			net.ipv6.conf.default.dad_transmits=0 \
			net.ipv6.conf.default.mldv2_unsolicited_report_interval=10 >/dev/null
	done
	# `name X type veth peer name Y`: a bare one-letter name is parsed as "address"
	ip link add name "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B" || return 1
	ip -n "$NS_A" addr add $IP_A/24 dev "$IF_A"
	ip -n "$NS_B" addr add $IP_B/24 dev "$IF_B"
	if [ "$v4" != v4 ]; then
		ip -n "$NS_A" addr add $IP6_A/64 dev "$IF_A" nodad
		ip -n "$NS_B" addr add $IP6_B/64 dev "$IF_B" nodad
	fi
	ip -n "$NS_A" link set "$IF_A" up
	ip -n "$NS_B" link set "$IF_B" up
	mac_a=$(ip -n "$NS_A" -br link show dev "$IF_A" | awk '{print $3}')
	mac_b=$(ip -n "$NS_B" -br link show dev "$IF_B" | awk '{print $3}')
	ip -n "$NS_A" neigh replace $IP_B lladdr "$mac_b" dev "$IF_A" nud permanent
	ip -n "$NS_B" neigh replace $IP_A lladdr "$mac_a" dev "$IF_B" nud permanent
	[ "$v4" = v4 ] && return 0
	ip -n "$NS_A" -6 neigh replace $IP6_B lladdr "$mac_b" dev "$IF_A" nud permanent
	ip -n "$NS_B" -6 neigh replace $IP6_A lladdr "$mac_a" dev "$IF_B" nud permanent
	# the MLD reports of link-up (see above) follow linkwatch, up to ~1 s later
	sleep 1.5
}

# fq_attach_bg VAR OUTFILE ARGS...: flowqoe attach in namespace A, in the
# background; waits until its state file says it attached (tc egress up).
fq_attach_bg() {
	local var=$1 out=$2 pid
	shift 2
	# nsenter directly, not the in_a function: `func &` would fork a
	# subshell and $! would not be flowqoe's pid
	nsenter --net=/run/netns/$NS_A "$FQ" attach "$IF_A" "$@" >"$out" 2>"$out.err" &
	pid=$!
	BG_PIDS+=($pid)
	printf -v "$var" %s $pid
	for _ in $(seq 100); do
		grep -q '^tc_egress=1' "/run/flowqoe/$IF_A.state" 2>/dev/null && \
			grep -q "^pid=$pid\$" "/run/flowqoe/$IF_A.state" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# fq_stop PID [SIGNAL]: signal a background process and wait for it to
# exit; its exit status is left in STOP_RC.  (Not in $(...): a subshell
# cannot wait for this shell's children.)
fq_stop() {
	local pid=$1 sig=${2:-INT} p keep=()
	kill -"$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	STOP_RC=$?
	for p in "${BG_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
	BG_PIDS=("${keep[@]}")
}

# capture_start VAR DIR FILE: tcpdump one direction (in|out) of IF_A.
capture_start() {
	local var=$1 dir=$2 file=$3 pid
	nsenter --net=/run/netns/$NS_A tcpdump -Z root -i "$IF_A" -Q "$dir" -n -s 128 -U --immediate-mode \
		-w "$file" 2>"$file.err" &
	pid=$!
	BG_PIDS+=($pid)
	printf -v "$var" %s $pid
	for _ in $(seq 100); do
		grep -q 'listening on' "$file.err" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

capture_stop() {
	local pid=$1
	fq_stop "$pid" INT
}

# tshark fields of a capture, one line per frame (see compare.py)
cap_fields() {
	tshark -n -r "$1" -T fields -E occurrence=f -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst \
		-e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e ip.len -e ipv6.plen \
		-e tcp.len -e udp.length -e icmpv6.type 2>/dev/null
}

# Python helpers, written where the test's temporary files live.
cat >"$TMP/traffic.py" <<'PY'
# Traffic with known sizes for the netns tests (written by tests/net/lib.sh).
#   udp-server ADDR PORT N            answer N datagrams, reply size = f(request size)
#   udp-client ADDR PORT N SEED       send N datagrams of known sizes, wait for each reply
#   tcp-server ADDR PORT DOWN         read to EOF, then send DOWN bytes, close
#   tcp-client ADDR PORT UP           send UP bytes, half-close, read to EOF
#   udp-spray ADDR PORT NFLOWS BASE   one datagram from each of NFLOWS source ports
# Clients print one JSON line: what went each way.
import json, os, random, socket, sys

def fam(a):
    return socket.AF_INET6 if ':' in a else socket.AF_INET

def reply_size(n):
    return (n * 37) % 1200 + 1

def ready(path):
    if path:
        open(path, 'w').close()

def main():
    cmd, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rdy = os.environ.get('READY')
    if cmd == 'udp-server':
        n = int(sys.argv[4])
        s = socket.socket(fam(addr), socket.SOCK_DGRAM)
        s.bind((addr, port))
        ready(rdy)
        for _ in range(n):
            data, peer = s.recvfrom(65535)
            s.sendto(b'r' * reply_size(len(data)), peer)
    elif cmd == 'udp-client':
        n, seed = int(sys.argv[4]), int(sys.argv[5])
        rnd = random.Random(seed)
        s = socket.socket(fam(addr), socket.SOCK_DGRAM)
        s.settimeout(5)
        s.connect((addr, port))
        up = down = 0
        for _ in range(n):
            k = rnd.randint(0, 1400)
            s.send(b'q' * k)
            up += k
            down += len(s.recv(65535))
        print(json.dumps({'proto': 17, 'src': s.getsockname()[0], 'sport': s.getsockname()[1],
                          'dst': addr, 'dport': port, 'packets': n, 'up': up, 'down': down}))
    elif cmd == 'tcp-server':
        down = int(sys.argv[4])
        ls = socket.socket(fam(addr), socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, port))
        ls.listen(1)
        ready(rdy)
        c, _ = ls.accept()
        while c.recv(1 << 16):
            pass
        c.sendall(b'd' * down)
        c.close()
    elif cmd == 'tcp-client':
        up = int(sys.argv[4])
        s = socket.create_connection((addr, port), timeout=30)
        s.sendall(b'u' * up)
        s.shutdown(socket.SHUT_WR)
        down = 0
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            down += len(b)
        print(json.dumps({'proto': 6, 'src': s.getsockname()[0], 'sport': s.getsockname()[1],
                          'dst': addr, 'dport': port, 'up': up, 'down': down}))
        s.close()
    elif cmd == 'udp-spray':
        nflows, base = int(sys.argv[4]), int(sys.argv[5])
        sent = 0
        socks = []
        for i in range(nflows):
            s = socket.socket(fam(addr), socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('', base + i))
            s.sendto(b'x' * 18, (addr, port))
            s.close()
            sent += 1
        print(json.dumps({'packets': sent}))

main()
PY

cat >"$TMP/compare.py" <<'PY'
# Compares flowqoe's flows with a capture of the same veth (tshark fields),
# and with what the traffic generators say they sent.
#   compare.py NAME CAP.tsv FLOWS.json EXPECT.jsonl T0 T1
# CAP.tsv: tshark -T fields of both directions; FLOWS.json: a JSON array
# (flowqoe flows --json) or JSON lines (flow_end records); EXPECT.jsonl:
# {"proto":6|17,"src":..,"sport":..,"dst":..,"dport":..,"packets"?:n,"up":bytes,"down":bytes}
import collections, json, os, sys

name, cap, flows_f, expect_f, t0, t1 = sys.argv[1:7]
t0, t1 = float(t0), float(t1)
fails = 0

def ok(what):
    print('ok %s/%s' % (name, what))

def bad(what, why):
    global fails
    fails += 1
    print('not ok %s/%s: %s' % (name, what, why))

# per (proto, src, sport, dst, dport): [packets, ip bytes, L4 payload bytes]
capd = collections.defaultdict(lambda: [0, 0, 0])
for line in open(cap):
    f = line.rstrip('\n').split('\t')
    ip4s, ip4d, ip6s, ip6d, tsp, tdp, usp, udp_, ilen, plen, tlen, ulen = (f + [''] * 12)[:12]
    if tsp:
        proto, sp, dp, pl = 6, tsp, tdp, int(tlen)
    elif usp:
        proto, sp, dp, pl = 17, usp, udp_, int(ulen) - 8
    else:
        continue
    if ip4s:
        src, dst, size = ip4s, ip4d, int(ilen)
    else:
        src, dst, size = ip6s, ip6d, int(plen) + 40
    c = capd[(proto, src, int(sp), dst, int(dp))]
    c[0] += 1
    c[1] += size
    c[2] += pl

text = open(flows_f).read().strip()
if text.startswith('['):
    flows = json.loads(text)
else:
    flows = [json.loads(l) for l in text.splitlines() if l.startswith('{')]
    flows = [o for o in flows if o.get('type') == 'flow_end']
flows = [o for o in flows if o['proto'] in (6, 17)]

# A GSO super-packet is accounted as what the device sends and tcpdump taps:
# whole where segmentation is offloaded (veth forwards it whole), as its
# segments where the device segments in software (ethtool gso/tso off;
# fq_gso_split).  Either way the counts equal the capture exactly.
def same(o, got, want):
    return got == want

seen = set()
for o in flows:
    fk = (o['proto'], o['src'], o['sport'], o['dst'], o['dport'])
    bk = (o['proto'], o['dst'], o['dport'], o['src'], o['sport'])
    tag = '%s-%s:%d-%s:%d' % ('tcp' if o['proto'] == 6 else 'udp', o['src'], o['sport'], o['dst'], o['dport'])
    if fk in seen:
        bad(tag, 'flow reported twice')
        continue
    seen.add(fk)
    seen.add(bk)
    got = (o['fwd_packets'], o['fwd_bytes'], o['fwd']['payload_bytes'],
           o['bwd_packets'], o['bwd_bytes'], o['bwd']['payload_bytes'])
    want = tuple(capd.get(fk, [0, 0, 0]) + capd.get(bk, [0, 0, 0]))
    if fk not in capd and bk in capd:
        bad(tag, 'src is not the initiator: capture has no packet from %s:%d' % (o['src'], o['sport']))
    elif not same(o, got, want):
        bad(tag, 'flowqoe fwd %d pkts %d B (payload %d), bwd %d pkts %d B (payload %d); '
            'capture %d pkts %d B (%d), %d pkts %d B (%d)' % (got + want))
    else:
        ok(tag + ' fwd %d pkts %d B (payload %d) bwd %d pkts %d B (payload %d) = capture' % got)
    fs, ls = o['first_seen'], o['last_seen']
    if not (t0 - 1 <= fs <= ls <= t1 + 1):
        bad(tag + '/times', 'first_seen %.9f last_seen %.9f outside [%.3f, %.3f]' % (fs, ls, t0, t1))
    else:
        ok(tag + '/times')

for k, v in capd.items():
    if k not in seen:
        bad('%s-%s:%d-%s:%d' % (('tcp' if k[0] == 6 else 'udp'),) + k[1:],
            'in the capture (%d pkts) but not in flowqoe' % v[0])

for line in open(expect_f):
    e = json.loads(line)
    tag = 'sent-%s-%s:%d' % ('tcp' if e['proto'] == 6 else 'udp', e['src'], e['sport'])
    m = [o for o in flows if o['proto'] == e['proto'] and o['src'] == e['src'] and
         o['sport'] == e['sport'] and o['dst'] == e['dst'] and o['dport'] == e['dport']]
    if len(m) != 1:
        bad(tag, 'no flow with src %s:%d (the initiator) -> %s:%d' % (e['src'], e['sport'], e['dst'], e['dport']))
        continue
    o = m[0]
    got = (o['fwd']['payload_bytes'], o['bwd']['payload_bytes'])
    # TCP may retransmit (the capture comparison above holds it exact);
    # what the applications sent is a lower bound there, exact for UDP
    if (got != (e['up'], e['down'])) if e['proto'] == 17 else (got[0] < e['up'] or got[1] < e['down']):
        bad(tag, 'payload fwd %d bwd %d, sent %d / %d' % (got + (e['up'], e['down'])))
    elif 'packets' in e and (o['fwd_packets'], o['bwd_packets']) != (e['packets'], e['packets']):
        bad(tag, 'packets fwd %d bwd %d, sent %d each way' % (o['fwd_packets'], o['bwd_packets'], e['packets']))
    else:
        ok(tag + ' payload %d/%d bytes, sent %d/%d' % (got + (e['up'], e['down'])))

# Interface totals against the whole capture (every frame), and the TCP and
# UDP counters of fq_proto.  IPv6 sends MLD reports on its own whenever XDP
# is attached or detached (after the linkwatch delay): those that fall
# between attach and the start of the capture are counted by flowqoe only,
# so ICMPv6 is taken out of both sides (fq_proto[58] per hook).
if len(sys.argv) > 11:
    def frames(path, want_proto=None):
        n = b = 0
        for line in open(path):
            f = (line.rstrip('\n').split('\t') + [''] * 13)[:13]
            proto = 6 if f[4] else 17 if f[6] else 58 if f[12] else 0
            if (want_proto is None and proto != 58) or proto == want_proto:
                n += 1
                b += int(f[8]) if f[8] else int(f[9]) + 40 if f[9] else 0
        return n, b
    pm = {}
    for e in json.load(open(sys.argv[11])):
        k = e['formatted']['key']
        pk, by = [0, 0], [0, 0]
        for c in e['formatted']['values']:
            for h in (0, 1):
                pk[h] += c['value']['packets'][h]
                by[h] += c['value']['bytes'][h]
        pm[k] = (pk, by)
    for proto, pname in ((6, 'tcp'), (17, 'udp')):
        got = (pm[proto][0][0], pm[proto][1][0], pm[proto][0][1], pm[proto][1][1])
        want = frames(sys.argv[7], proto) + frames(sys.argv[8], proto)
        if got != want:
            bad('proto-' + pname, 'fq_proto rx %d pkts %d B, tx %d pkts %d B; capture %d / %d, %d / %d'
                % (got + want))
        else:
            ok('proto-%s rx %d pkts %d B tx %d pkts %d B = capture' % ((pname,) + got))
    st = [o for o in json.load(open(sys.argv[9])) if o['iface'] == sys.argv[10]]
    if len(st) != 1 or 'totals' not in st[0]:
        bad('totals', 'flowqoe status --json has no totals for ' + sys.argv[10])
    else:
        t = st[0]['totals']
        i6 = pm.get(58, ([0, 0], [0, 0]))
        got = (t['rx_packets'] - i6[0][0], t['rx_ip_bytes'] - i6[1][0],
               t['tx_packets'] - i6[0][1], t['tx_ip_bytes'] - i6[1][1])
        rx, tx = frames(sys.argv[7]), frames(sys.argv[8])
        want = rx + tx
        if got != want:
            bad('totals', 'flowqoe rx %d pkts %d B, tx %d pkts %d B; capture %d / %d, %d / %d' % (got + want))
        else:
            ok('totals (less ICMPv6) rx %d pkts %d B tx %d pkts %d B = capture' % got)
sys.exit(1 if fails else 0)
PY
