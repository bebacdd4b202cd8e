#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Query engine and exporter (no BPF: bench/query.c simulates the polls).
#  A: 100k active flows over a 300 s window (~101k IP keys): store memory,
#     time of the six queries, /metrics render time and size.
#  B: the same with 3000 flows/s replaced by flows of new clients, so the
#     300 s window holds ~1M distinct IPs; then the exporter serves on
#     loopback while it keeps polling once a second, and wrk hammers
#     /metrics and /api/v1/query: requests/s, p99, errors, RSS before/after.
# Goals (issue 4): six queries < 10 ms at 100k keys; >= 5000 req/s for
# /api/v1/query; no RSS growth over the wrk run.  WRK_SECONDS (default 60).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WRK_SECONDS=${WRK_SECONDS:-60}
BIN=$BUILD/bench/query
mkdir -p "$BUILD/bench"
${CC:-cc} -O2 -g -Wall -std=gnu11 -D_GNU_SOURCE -I"$BUILD" -Ibpf -Iuser -o "$BIN" bench/query.c \
	"$BUILD/libflowqoe.a" -lbpf -lelf -lz -lpcap -lmicrohttpd -ljansson -lpthread -lm || exit 1
command -v wrk >/dev/null || { echo "skip query bench: wrk missing"; exit 0; }

if [ -z "${QUERY_BENCH_ONLY_B:-}" ]; then
	echo "-- A: 100000 flows, no churn, 300 s"
	"$BIN" 100000 0 300 || exit 1
fi

PORT=$((30000 + $$ % 20000))
OUT=$(mktemp /tmp/fq-qbench.XXXXXX)
echo "-- B: 100000 flows, 3000 new clients/s, 300 s (~1M IPs), then HTTP on 127.0.0.1:$PORT"
"$BIN" 100000 3000 300 $PORT >"$OUT" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$OUT"' EXIT
for i in $(seq 1200); do grep -q listening "$OUT" && break; kill -0 $PID 2>/dev/null || break; sleep 0.5; done
cat "$OUT"
grep -q listening "$OUT" || { echo "bench B did not start"; exit 1; }
rss() { awk '/^VmRSS/ {print $2}' /proc/$PID/status; }
sleep 3
run_wrk() { # NAME URL
	local before after
	before=$(rss)
	wrk -t2 -c32 -d${WRK_SECONDS}s --latency "$2" >"$OUT.wrk" 2>&1
	after=$(rss)
	printf '%-28s %10s req/s  p99 %8s  non-2xx %s  socket errors %s  RSS %s -> %s kB\n' "$1" \
		"$(awk '/^Requests\/sec/ {print $2}' "$OUT.wrk")" \
		"$(awk '$1 == "99%" {print $2}' "$OUT.wrk")" \
		"$(awk '/Non-2xx/ {print $NF}' "$OUT.wrk" | grep . || echo 0)" \
		"$(grep -c 'Socket errors' "$OUT.wrk" | sed 's/^0$/none/')" "$before" "$after"
	grep 'Socket errors' "$OUT.wrk"
	rm -f "$OUT.wrk"
}
curl -s -o /dev/null -w "/metrics: HTTP %{http_code}, %{size_download} bytes, %{time_total} s\n" http://127.0.0.1:$PORT/metrics
curl -s -o /dev/null -w "/api/v1/query?by=ip&top=10: HTTP %{http_code}, %{size_download} bytes, %{time_total} s\n" "http://127.0.0.1:$PORT/api/v1/query?by=ip&top=10"
echo "wrk -t2 -c32 -d${WRK_SECONDS}s (the simulated attach keeps polling 100k flows once a second)"
run_wrk "/metrics" "http://127.0.0.1:$PORT/metrics"
run_wrk "/api/v1/query?by=ip&top=10" "http://127.0.0.1:$PORT/api/v1/query?by=ip&top=10"
run_wrk "/api/v1/query?by=proto&above_percent=5" "http://127.0.0.1:$PORT/api/v1/query?by=proto&above_percent=5"
