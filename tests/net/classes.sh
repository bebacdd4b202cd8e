#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# attach --model with the HTTP exporter: the classifier's counts in /metrics
# (promtool-checked) and /api/v1/classes equal what the traffic implies.
#
# Traffic: three conversations (three source addresses in netns B -> one UDP
# listener in netns A), NPKT one-way datagrams each, 40 ms apart, with a 10 ms
# window: every datagram is alone in its window, so there are exactly
# 3 * NPKT window records, each with features (size, 0, 0, 0, size, 1, 0...).
# The per-class split expected from the traffic is the shipped
# models/cloud_gaming.model's prediction (`flowqoe model predict`) on those
# rows, with sizes picked here so that both classes occur; it must equal
# /metrics, /api/v1/classes, attach's own final table, and `model predict`
# on the records attach wrote with --windows (an independent path).  Then
# the conversation timeout closes all three: the gauges fall to 0 and the
# closed counters take them.  Finally an attach without --model exports no
# class metrics and answers /api/v1/classes with 503.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
MODEL=models/cloud_gaming.model
NPKT=40
# conversation timeout: the checks of the open conversations must come before
# it; under the VM harness (FQ_VM_KERNEL set: TCG emulation) they take >5 s
CONV_TIMEOUT=5; [ -n "${FQ_VM_KERNEL:-}" ] && CONV_TIMEOUT=30
A=fqca$$ B=fqcb$$ VA=fqca$$ VB=fqcb$$
PORT=$((30000 + $$ % 20000))
URL=http://127.0.0.1:$PORT
TMP=$(mktemp -d /tmp/fq-classes.XXXXXX)
PID= LPID=
NFAIL=0
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	if [ -e /sys/fs/bpf/flowqoe/$VA ] || [ -e /run/flowqoe/$VA.state ]; then
		[ -e /run/netns/$A ] && nsenter --net=/run/netns/$A "$FLOWQOE" detach $VA >/dev/null 2>&1
		rm -rf /sys/fs/bpf/flowqoe/$VA /run/flowqoe/$VA.state
	fi
	ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null
	rm -rf "$TMP"
}
on_exit() { cleanup; [ $NFAIL -eq 0 ] || exit 1; }
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ok() { echo "ok $1"; }
nok() { echo "not ok $1: $2"; NFAIL=$((NFAIL + 1)); }
check() { # NAME GOT WANT
	if [ "$2" == "$3" ]; then ok "$1 ($2)"; else nok "$1" "got '$2', want '$3'"; fi
}
for t in curl jq promtool python3 nsenter; do
	command -v $t >/dev/null || { echo "skip classes: $t missing"; exit 0; }
done
[ "$(id -u)" -eq 0 ] || { echo "skip classes: needs root"; exit 0; }
[ -x "$FLOWQOE" ] || { echo "skip classes: $FLOWQOE not built (make)"; exit 0; }
[ -f "$MODEL" ] || { echo "skip classes: $MODEL missing"; exit 0; }
inA() { nsenter --net=/run/netns/$A "$@"; }
get() { inA curl -s "$URL$1"; }
# metric NAME{LABELS} from the scrape in $TMP/m
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/m"; }
scrape() { get /metrics >"$TMP/m"; }
classsum() { awk -v n="$1" 'index($1, n "{") == 1 { s += $2 } END { print s + 0 }' "$TMP/m"; }

FEAT=fwd_size_mean,fwd_size_std,fwd_iat_mean,fwd_iat_std,fwd_bytes,fwd_packets,bwd_size_mean,bwd_size_std,bwd_iat_mean,bwd_iat_std,bwd_bytes,bwd_packets
row() { echo "$1,0,0,0,$1,1,0,0,0,0,0,0"; }

# Sizes (IP bytes of a one-datagram window) the model puts in different
# classes: the first of a grid for each class.
{ echo $FEAT; for s in $(seq 60 4 1400); do row $s; done; } >"$TMP/grid.csv"
if ! "$FLOWQOE" model predict $MODEL "$TMP/grid.csv" >"$TMP/grid.pred" 2>"$TMP/err"; then
	nok classes_model_predict "$(head -3 "$TMP/err")"; exit 1
fi
read -r S1 S2 < <(paste -d' ' <(seq 60 4 1400) "$TMP/grid.pred" | awk '!($2 in f) { f[$2] = $1; o[n++] = $2 }
	END { print f[o[0]], (n > 1 ? f[o[1]] : f[o[0]] + 100) }')
echo "# datagram sizes $S1 and $S2 IP bytes: classes" $(paste -d' ' <(seq 60 4 1400) "$TMP/grid.pred" | awk -v a=$S1 -v b=$S2 '$1 == a || $1 == b { print $2 }')

# Conversations: 10.79.0.2 sends S1 every time, .3 S2, .4 alternates.
size_of() { # CONV I
	case $1 in 2) echo $S1 ;; 3) echo $S2 ;; 4) if [ $(($2 % 2)) -eq 0 ]; then echo $S1; else echo $S2; fi ;; esac
}
{
	echo $FEAT
	for c in 2 3 4; do for i in $(seq 0 $((NPKT - 1))); do row "$(size_of $c $i)"; done; done
} >"$TMP/expect.csv"
"$FLOWQOE" model predict $MODEL "$TMP/expect.csv" >"$TMP/expect.pred" || exit 1
# expected: per class records; latest class of each conversation (its last row)
EXP_TOTAL=$((3 * NPKT))
sort "$TMP/expect.pred" | uniq -c | awk '{ print $2, $1 }' >"$TMP/expect.split"
for c in 0 1 2; do sed -n "$(((c + 1) * NPKT))p" "$TMP/expect.pred"; done | sort | uniq -c | awk '{ print $2, $1 }' >"$TMP/expect.latest"
CLASSES=$(awk '$1 == "c" { print $2 }' $MODEL)

ip netns add $A && ip netns add $B || exit 1
for n in $A $B; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add $VA netns $A type veth peer name $VB netns $B || exit 1
ip -n $A addr add 10.79.0.1/24 dev $VA
for h in 2 3 4; do ip -n $B addr add 10.79.0.$h/24 dev $VB; done
ip -n $A link set lo up; ip -n $A link set $VA up; ip -n $B link set $VB up
# static neighbours: no ARP (not IP anyway, but quiet)
MAC_A=$(ip -n $A -br link show dev $VA | awk '{print $3}')
MAC_B=$(ip -n $B -br link show dev $VB | awk '{print $3}')
ip -n $B neigh replace 10.79.0.1 lladdr "$MAC_A" dev $VB nud permanent
for h in 2 3 4; do ip -n $A neigh replace 10.79.0.$h lladdr "$MAC_B" dev $VA nud permanent; done
# a UDP listener, so that no ICMP port-unreachable joins the conversations
inA python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("10.79.0.1",9000)); time.sleep(120)' &
LPID=$!

nsenter --net=/run/netns/$A "$FLOWQOE" attach $VA --json --model $MODEL --workers 2 --window 10 --conv-timeout $CONV_TIMEOUT \
	--windows "$TMP/win.csv" --listen 127.0.0.1:$PORT >"$TMP/attach.out" 2>"$TMP/attach.err" &
PID=$!
for _ in $(seq 50); do [ "$(inA curl -s -o /dev/null -w '%{http_code}' $URL/api/v1/classes)" = 200 ] && break; sleep 0.1; done
if ! get /api/v1/classes | jq -e '.classes' >/dev/null 2>&1; then
	nok classes_up "attach did not serve $URL/api/v1/classes"; cat "$TMP/attach.err"; exit 1
fi
ok classes_up
scrape
check classes_metrics_zero "$(classsum flowqoe_class_records_total) $(metric 'flowqoe_classifier_input_records_total{iface="'$VA'"}')" "0 0"

ip netns exec $B python3 - $NPKT $S1 $S2 <<'PY'
import socket, sys, time
n, s1, s2 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
socks = {}
for h in (2, 3, 4):
    socks[h] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socks[h].bind(('10.79.0.%d' % h, 0))
for i in range(n):
    for h, s in ((2, s1), (3, s2), (4, s1 if i % 2 == 0 else s2)):
        socks[h].sendto(b'x' * (s - 28), ('10.79.0.1', 9000))  # IP size s
    time.sleep(0.04)  # > the 10 ms window: one datagram per window
PY

# the last windows close one window after their end (the flush), then are
# classified: wait for them, a few seconds at most
for _ in $(seq 50); do
	scrape
	[ "$(classsum flowqoe_class_records_total)" -ge $EXP_TOTAL ] && break
	sleep 0.1
done
if promtool check metrics <"$TMP/m" >"$TMP/promtool" 2>&1; then ok classes_promtool; else nok classes_promtool "$(head -5 "$TMP/promtool")"; fi
check classes_records_total "$(classsum flowqoe_class_records_total)" $EXP_TOTAL
check classes_input_dropped "$(metric 'flowqoe_classifier_input_records_total{iface="'$VA'"}') $(metric 'flowqoe_classifier_dropped_records_total{iface="'$VA'"}')" "$EXP_TOTAL 0"
check classes_workers "$(metric 'flowqoe_classifier_workers{iface="'$VA'"}')" 2
check classes_label_cardinality "$(grep -c '^flowqoe_class_records_total{' "$TMP/m")" "$(echo "$CLASSES" | wc -l)"
for c in $CLASSES; do
	want=$(awk -v c=$c '$1 == c { print $2 }' "$TMP/expect.split")
	check "classes_records_$c" "$(metric 'flowqoe_class_records_total{iface="'$VA'",class="'$c'"}')" "${want:-0}"
	want=$(awk -v c=$c '$1 == c { print $2 }' "$TMP/expect.latest")
	check "classes_conversations_$c" "$(metric 'flowqoe_class_conversations{iface="'$VA'",class="'$c'"}')" "${want:-0}"
done

# /api/v1/classes: the same counts, and the conversation table
get /api/v1/classes >"$TMP/classes.json"
check classes_api_counts "$(jq -c '[.records, .classified, .dropped, .open, ([.classes[].records] | add)]' "$TMP/classes.json")" "[$EXP_TOTAL,$EXP_TOTAL,0,3,$EXP_TOTAL]"
check classes_api_vs_metrics "$(jq -r '.classes[] | "\(.class) \(.records) \(.conversations)"' "$TMP/classes.json" | sort | tr '\n' ' ')" \
	"$(for c in $CLASSES; do echo "$c $(metric 'flowqoe_class_records_total{iface="'$VA'",class="'$c'"}') $(metric 'flowqoe_class_conversations{iface="'$VA'",class="'$c'"}')"; done | sort | tr '\n' ' ')"
want=$(for h in 2 3 4; do
	k=$(((h - 1) * NPKT))
	echo "10.79.0.$h 10.79.0.1 $NPKT $(sed -n "${k}p" "$TMP/expect.pred") $(sed -n "$((k - NPKT + 1)),${k}p" "$TMP/expect.pred" | sort | uniq -c | awk '{ printf "%s=%s,", $2, $1 }')"
done | sort | tr '\n' ' ')
check classes_api_table "$(jq -r '.conversations[] | "\(.src) \(.dst) \(.records) \(.latest_class) \(.per_class | to_entries | map(select(.value > 0)) | sort_by(.key) | map("\(.key)=\(.value),") | join(""))"' "$TMP/classes.json" | sort | tr '\n' ' ')" "$want"

# the timeout closes all three: gauges to 0, closed counters take them
t_end=$((SECONDS + CONV_TIMEOUT + 10))
while [ $SECONDS -lt $t_end ]; do
	scrape
	[ "$(classsum flowqoe_class_conversations_closed_total)" -ge 3 ] && break
	sleep 0.1
done
check classes_closed "$(classsum flowqoe_class_conversations) $(classsum flowqoe_class_conversations_closed_total)" "0 3"
for c in $CLASSES; do
	want=$(awk -v c=$c '$1 == c { print $2 }' "$TMP/expect.latest")
	check "classes_closed_$c" "$(metric 'flowqoe_class_conversations_closed_total{iface="'$VA'",class="'$c'"}')" "${want:-0}"
done
check classes_records_after_close "$(classsum flowqoe_class_records_total)" $EXP_TOTAL

kill -TERM $PID; wait $PID; rc=$?; PID=
check classes_attach_exit $rc 0
# attach's own account: its final table and the conversation_end lines
check classes_attach_final "$(jq -c 'select(.type == "classes") | [.records, .classified, .dropped]' "$TMP/attach.out")" "[$EXP_TOTAL,$EXP_TOTAL,0]"
check classes_attach_conv_end "$(jq -r 'select(.type == "conversation_end") | "\(.src) \(.records)"' "$TMP/attach.out" | sort | tr '\n' ' ')" \
	"10.79.0.2 $NPKT 10.79.0.3 $NPKT 10.79.0.4 $NPKT "
# the records attach wrote (--windows) through `model predict`: same split
check classes_windows_rows "$(($(wc -l <"$TMP/win.csv") - 1))" $EXP_TOTAL
if "$FLOWQOE" model predict $MODEL "$TMP/win.csv" >"$TMP/win.pred" 2>"$TMP/err"; then
	check classes_windows_predict_split "$(sort "$TMP/win.pred" | uniq -c | awk '{ print $2, $1 }' | tr '\n' ' ')" \
		"$(for c in $CLASSES; do v=$(metric 'flowqoe_class_records_total{iface="'$VA'",class="'$c'"}'); [ "${v:-0}" -gt 0 ] && echo "$c $v"; done | sort | tr '\n' ' ')"
else
	nok classes_windows_predict_split "$(head -3 "$TMP/err")"
fi

# without --model: no class metrics, /api/v1/classes 503
nsenter --net=/run/netns/$A "$FLOWQOE" attach $VA --quiet --listen 127.0.0.1:$PORT >/dev/null 2>"$TMP/attach2.err" &
PID=$!
for _ in $(seq 50); do inA curl -sf -o /dev/null $URL/metrics && break; sleep 0.1; done
scrape
check classes_none_metrics "$(grep -c '^flowqoe_class' "$TMP/m") $(grep -c '^flowqoe_packets_total' "$TMP/m")" "0 2"
check classes_none_api "$(inA curl -s -o /dev/null -w '%{http_code}' $URL/api/v1/classes)" 503
kill -TERM $PID; wait $PID; PID=
