#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The exporter of a running attach: exact counts for known traffic in
# /metrics (checked by promtool) and in the query API, bad requests answered
# with 4xx + JSON, live parameter changes, windows sliding.  Two netns joined
# by a veth; attach (and its HTTP listener) run inside netns A.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
A=fqha$$ B=fqhb$$ VA=fqha$$ VB=fqhb$$
PORT=$((20000 + $$ % 20000))
URL=http://127.0.0.1:$PORT
TMP=$(mktemp -d /tmp/fq-http.XXXXXX)
PID= LPID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
ok() { echo "ok $1"; }
nok() { echo "not ok $1: $2"; }
check() { # NAME GOT WANT
	if [ "$2" == "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi
}
for t in curl jq promtool python3; do
	command -v $t >/dev/null || { echo "skip http: $t missing"; exit 0; }
done
[ "$(id -u)" -eq 0 ] || { echo "skip http: needs root"; exit 0; }
inA() { nsenter --net=/run/netns/$A "$@"; }
get() { inA curl -s "$URL$1"; }
code() { inA curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
metric() { grep -E "^$1 " "$TMP/m" | awk '{print $2}'; }

ip netns add $A && ip netns add $B || exit 1
for n in $A $B; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add $VA netns $A type veth peer name $VB netns $B
ip -n $A addr add 10.78.0.1/24 dev $VA; ip -n $B addr add 10.78.0.2/24 dev $VB
ip -n $A link set lo up; ip -n $A link set $VA up; ip -n $B link set $VB up
# static neighbours: no ARP in the counts (ARP is not IP anyway)
nsenter --net=/run/netns/$A "$FLOWQOE" attach $VA --quiet --listen 127.0.0.1:$PORT --query-window 60 >"$TMP/attach.log" 2>&1 &
PID=$!
for i in $(seq 50); do get /api/v1/params >/dev/null 2>&1 && break; sleep 0.1; done
if ! get /api/v1/params | jq -e .T >/dev/null; then
	nok http_up "attach did not serve $URL"; cat "$TMP/attach.log"; exit 1
fi
ok http_up
# a UDP listener on 53 so that no ICMP port-unreachable joins the counts
inA python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("10.78.0.1",53)); time.sleep(120)' &
LPID=$!
sleep 0.3
ip netns exec $B ping -q -c 20 -i 0.01 -s 100 10.78.0.1 >/dev/null  # 40 packets of 128 B
ip netns exec $B python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(10): s.sendto(b"x" * 72, ("10.78.0.1", 53))'           # 10 packets of 100 B
sleep 2.5

get /metrics >"$TMP/m"
if promtool check metrics <"$TMP/m" >"$TMP/promtool" 2>&1; then ok http_promtool; else nok http_promtool "$(head -5 "$TMP/promtool")"; fi
check http_metrics_icmp_rx "$(metric 'flowqoe_ip_protocol_packets_total\{iface="'$VA'",protocol="icmp",direction="rx"\}')" 20
check http_metrics_icmp_tx "$(metric 'flowqoe_ip_protocol_packets_total\{iface="'$VA'",protocol="icmp",direction="tx"\}')" 20
check http_metrics_udp_rx "$(metric 'flowqoe_ip_protocol_bytes_total\{iface="'$VA'",protocol="udp",direction="rx"\}')" 1000
check http_metrics_app "$(metric 'flowqoe_app_bytes_total\{iface="'$VA'",app="udp/domain"\}') $(metric 'flowqoe_app_packets_total\{iface="'$VA'",app="icmp"\}')" "1000 40"
check http_metrics_size_hist "$(metric 'flowqoe_packet_size_bytes_count\{iface="'$VA'"\}') $(metric 'flowqoe_packet_size_bytes_sum\{iface="'$VA'"\}') $(metric 'flowqoe_packet_size_bytes_bucket\{iface="'$VA'",le="127"\}')" "50 6120 10"
check http_metrics_standing "$(metric 'flowqoe_query_results\{iface="'$VA'",by="ip",query="top"\}') $(metric 'flowqoe_query_window_bytes\{iface="'$VA'",by="ip"\}')" "2 6120"

q=$(get '/api/v1/query?by=ip&top=5')
check http_query_ip_top "$(echo "$q" | jq -c '[.total_bytes, [.results[] | [.key, .bytes, .packets]]]')" \
	'[6120,[["10.78.0.1",6120,50],["10.78.0.2",6120,50]]]'
q=$(get '/api/v1/query?by=proto&top=5')
check http_query_proto_top "$(echo "$q" | jq -c '[.results[] | [.key, .bytes, .packets]]')" '[["icmp",5120,40],["udp/domain",1000,10]]'
check http_query_proto_percent "$(get '/api/v1/query?by=proto&above_percent=50' | jq -c '[.results[].key]')" '["icmp"]'
check http_query_proto_sigma "$(get '/api/v1/query?by=proto&above_sigma=0' | jq -c '[.results[].key, .mean_bytes, .sigma_bytes]')" '["icmp",3060,2060]'
check http_query_ip_sigma_equal "$(get '/api/v1/query?by=ip&above_sigma=0' | jq -c '[(.results | length), .sigma_bytes]')" '[0,0]'
check http_query_cli "$(inA "$FLOWQOE" query $VA --server 127.0.0.1:$PORT --by proto --top 1 --json | jq -c '[.results[] | [.key, .bytes]]')" '[["icmp",5120]]'
inA "$FLOWQOE" query wrongif0 --server 127.0.0.1:$PORT --by ip --top 1 >/dev/null 2>&1
check http_query_cli_wrong_iface $? 1
check http_flows "$(get '/api/v1/flows' | jq -c '[.flows_total, ([.flows[] | .fwd_packets + .bwd_packets] | add)]')" '[2,50]'

# bad requests: 4xx with a JSON error, and the daemon lives on
bad() { # NAME WANT_CODE CURL_ARGS...
	local name=$1 want=$2; shift 2
	local c; c=$(code "$@")
	if [ "$c" == "$want" ] && jq -e '.error | strings' "$TMP/body" >/dev/null 2>&1; then ok "$name"
	else nok "$name" "HTTP $c, body $(head -c 200 "$TMP/body")"; fi
}
bad http_bad_by 400 "$URL/api/v1/query?by=mac&top=3"
bad http_bad_top 400 "$URL/api/v1/query?by=ip&top=abc"
bad http_bad_two 400 "$URL/api/v1/query?by=ip&top=3&above_sigma=1"
bad http_bad_window 400 "$URL/api/v1/query?by=ip&top=3&window=99999999"
bad http_bad_percent 400 "$URL/api/v1/query?by=ip&above_percent=100.5"
bad http_bad_nan 400 "$URL/api/v1/query?by=ip&above_sigma=nan"
bad http_bad_path 404 "$URL/nope"
bad http_bad_method 405 -X DELETE "$URL/metrics"
bad http_bad_json 400 -X PUT -d '{"k":' "$URL/api/v1/params"
bad http_bad_param 400 -X PUT -d '{"T":0}' "$URL/api/v1/params"
bad http_bad_param_name 400 -X POST -d '{"Z":1}' "$URL/api/v1/params"
bad http_bad_param_type 400 -X POST -d '{"k":"many"}' "$URL/api/v1/params"
bad http_bad_array 400 -X POST -d '[1,2]' "$URL/api/v1/params"
head -c 200000 /dev/zero | tr '\0' 'a' >"$TMP/big"
bad http_bad_big 413 -X PUT --data-binary @"$TMP/big" "$URL/api/v1/params"
# garbage on the socket, half requests, many connections
for i in $(seq 20); do head -c 3000 /dev/urandom | inA timeout 1 nc -q0 127.0.0.1 $PORT >/dev/null 2>&1; done
printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n' | inA timeout 1 nc -q0 127.0.0.1 $PORT >/dev/null 2>&1
if kill -0 $PID 2>/dev/null && [ "$(code "$URL/metrics")" == 200 ]; then ok http_survives_garbage; else nok http_survives_garbage "daemon gone"; fi

# live parameters: the next evaluation uses them, counters stay
polls0=$(get /metrics | grep '^flowqoe_polls_total' | awk '{print $2}')
check http_params_put "$(inA curl -s -X PUT -d '{"k":1,"H":60}' "$URL/api/v1/params" | jq -c '[.k,.H,.T]')" '[1,60,60]'
check http_params_get "$(get /api/v1/params | jq -c '[.k,.H,.X,.T]')" '[1,60,2,60]'
sleep 1.5
get /metrics >"$TMP/m"
check http_params_effect "$(metric 'flowqoe_query_results\{iface="'$VA'",by="ip",query="top"\}') $(metric 'flowqoe_query_results\{iface="'$VA'",by="proto",query="above_percent"\}') $(metric 'flowqoe_query_param\{iface="'$VA'",name="k"\}')" "1 1 1"
polls1=$(metric 'flowqoe_polls_total\{iface="'$VA'"\}')
check http_params_no_counter_loss "$(metric 'flowqoe_ip_protocol_packets_total\{iface="'$VA'",protocol="icmp",direction="rx"\}') $((polls1 > polls0))" "20 1"
# the window slides: with T = 2 and no traffic the window empties ...
inA curl -s -X POST -d '{"T":2}' "$URL/api/v1/params" >/dev/null
sleep 3.5
check http_window_slides "$(get '/api/v1/query?by=ip&top=5' | jq -c '[.window, .total_bytes, (.results|length)]')" '[2,0,0]'
# ... and back to 60 s, the deltas kept in the ring come back
inA curl -s -X POST -d '{"T":60}' "$URL/api/v1/params" >/dev/null
check http_window_restore "$(get '/api/v1/query?by=ip&top=5' | jq -c '[.window, .total_bytes]')" '[60,6120]'
check http_window_adhoc "$(get '/api/v1/query?by=ip&top=5&window=2' | jq -c '[.window, .total_bytes]')" '[2,0]'

kill -TERM $PID; wait $PID; rc=$?; PID=
check http_clean_exit $rc 0
