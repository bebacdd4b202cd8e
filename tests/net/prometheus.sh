#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A real Prometheus (Debian's) scrapes a running `flowqoe attach` every
# second; PromQL through its HTTP API must return the exact counter
# increases for known traffic, and a parameter change over HTTP must show in
# the scraped gauges without a counter reset.  attach, its listener and
# Prometheus all run inside netns A (loopback there), on free ports.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
A=fqpa$$ B=fqpb$$ VA=fqpa$$ VB=fqpb$$
PORT=$((20000 + $$ % 20000)); PPORT=$((PORT + 1))
TMP=$(mktemp -d /tmp/fq-prom.XXXXXX)
PID= PPID_=
cleanup() {
	[ -n "$PPID_" ] && kill "$PPID_" 2>/dev/null && wait "$PPID_" 2>/dev/null
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
ok() { echo "ok $1"; }
nok() { echo "not ok $1: $2"; }
check() { if [ "$2" == "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi; }
for t in prometheus curl jq; do
	command -v $t >/dev/null || { echo "skip prometheus: $t missing (Debian package prometheus)"; exit 0; }
done
[ "$(id -u)" -eq 0 ] || { echo "skip prometheus: needs root"; exit 0; }
inA() { nsenter --net=/run/netns/$A "$@"; }
# PromQL instant query at a time; prints the first sample's value
pq() { inA curl -s "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" ${2:+--data-urlencode "time=$2"} |
	jq -r '.data.result[0].value[1] // "none"'; }

ip netns add $A && ip netns add $B || exit 1
for n in $A $B; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add $VA netns $A type veth peer name $VB netns $B
ip -n $A addr add 10.79.0.1/24 dev $VA; ip -n $B addr add 10.79.0.2/24 dev $VB
ip -n $A link set lo up; ip -n $A link set $VA up; ip -n $B link set $VB up

nsenter --net=/run/netns/$A "$FLOWQOE" attach $VA --quiet --listen 127.0.0.1:$PORT >"$TMP/attach.log" 2>&1 &
PID=$!
cat >"$TMP/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: flowqoe
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOC
nsenter --net=/run/netns/$A prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address=127.0.0.1:$PPORT --log.level=warn >"$TMP/prom.log" 2>&1 &
PPID_=$!
for i in $(seq 150); do
	[ "$(pq 'up{job="flowqoe"}')" == 1 ] && break
	sleep 0.2
done
if [ "$(pq 'up{job="flowqoe"}')" != 1 ]; then
	nok prometheus_scrapes "target not up"; tail -5 "$TMP/prom.log" "$TMP/attach.log"; exit 1
fi
ok prometheus_scrapes

sel='flowqoe_ip_protocol_packets_total{protocol="icmp",direction="rx"}'
bsel='flowqoe_ip_protocol_bytes_total{protocol="icmp",direction="tx"}'
asel='flowqoe_app_bytes_total{app="icmp"}'
ip netns exec $B ping -q -c 1 10.79.0.1 >/dev/null   # the series exist from here on
sleep 3.5
t0=$(date +%s.%N)
sleep 1
ip netns exec $B ping -q -c 50 -i 0.01 -s 200 10.79.0.1 >/dev/null   # 50 x 228 B each way
sleep 4.5
t1=$(date +%s.%N)
d=$(python3 -c "print(int(($t1 - $t0) * 1000))")
check prometheus_icmp_rx_increase "$(pq "$sel - $sel offset ${d}ms" "$t1")" 50
check prometheus_icmp_tx_bytes_increase "$(pq "$bsel - $bsel offset ${d}ms" "$t1")" $((50 * 228))
check prometheus_app_bytes_increase "$(pq "$asel - $asel offset ${d}ms" "$t1")" $((100 * 228))
check prometheus_size_count_increase "$(pq "flowqoe_packet_size_bytes_count - flowqoe_packet_size_bytes_count offset ${d}ms" "$t1")" 100
check prometheus_query_gauge "$(pq 'flowqoe_query_result_bytes{by="ip",query="top",rank="1"}')" $((2 * 84 + 100 * 228))

# a live parameter change shows in the next scrapes, counters go on
polls0=$(pq 'flowqoe_polls_total')
inA curl -s -X PUT -d '{"k":1,"T":120}' "http://127.0.0.1:$PORT/api/v1/params" >/dev/null
sleep 3.5
check prometheus_param_change "$(pq 'flowqoe_query_param{name="k"}') $(pq 'flowqoe_query_param{name="T"}') $(pq 'flowqoe_query_results{by="ip",query="top"}')" "1 120 1"
check prometheus_no_reset "$(pq 'sum(resets(flowqoe_polls_total[1m])) + sum(resets(flowqoe_ip_protocol_packets_total[1m])) + sum(resets(flowqoe_app_bytes_total[1m]))') $(python3 -c "print(int($(pq 'flowqoe_polls_total') > $polls0))")" "0 1"
check prometheus_counter_kept "$(pq "$sel")" 51
