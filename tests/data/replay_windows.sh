#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# flowqoe replay --windows/--model/--query on captures this test writes
# itself (no FQ_DATA needed), and --windows on one real capture when FQ_DATA
# is there:
#  - every window record equals an independent oracle (replay_windows.py,
#    brute force over the packets written) for three window lengths, and on
#    a capture with more records than the ring buffer holds (none lost);
#  - --windows-json carries the same records as the CSV;
#  - --model: the aggregate table is the same with 1, 2 and 4 workers, and
#    its per-class counts equal `flowqoe model predict` on the --windows CSV;
#  - replay FILE --query equals query --pcap FILE byte for byte;
#  - bad options: exit 2 and a message naming the option.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
here=tests/data
MODEL=models/cloud_gaming.model
if [ "$(id -u)" -ne 0 ]; then echo "skip replay_windows: needs root (BPF_PROG_RUN)"; exit 0; fi
tmp=$(mktemp -d /tmp/fq-rwin.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 $here/replay_windows.py write "$tmp" || { echo "not ok replay_windows: generator failed"; exit 1; }

ok() { echo "ok $1"; }
nok() { echo "not ok $1: $2"; }

# (a) records = oracle, several window lengths
for w in 33 10 1000; do
	if "$FLOWQOE" replay "$tmp/mix.pcap" --windows "$tmp/mix$w.csv" --window $w 2>"$tmp/err"; then
		python3 $here/replay_windows.py check "replay_windows_oracle_${w}ms" mix $w "$tmp/mix$w.csv"
	else
		nok "replay_windows_oracle_${w}ms" "exit $?: $(head -c 300 "$tmp/err")"
	fi
done
# more records than the 4 MiB ring buffer holds: drained, none lost
if "$FLOWQOE" replay "$tmp/big.pcap" --windows "$tmp/big.csv" --window 10 2>"$tmp/err"; then
	python3 $here/replay_windows.py check replay_windows_oracle_big big 10 "$tmp/big.csv"
	n=$(($(wc -l < "$tmp/big.csv") - 1))
	if [ "$n" -gt 25000 ] && grep -q "$n window records of 10.000 ms, 0 lost" "$tmp/err"; then
		ok "replay_windows_ring_drained ($n records, ring holds ~23k)"
	else
		nok replay_windows_ring_drained "$n records; $(tail -1 "$tmp/err")"
	fi
else
	nok replay_windows_oracle_big "exit $?: $(head -c 300 "$tmp/err")"
fi
# default window (33 ms) and JSON lines: the same records
"$FLOWQOE" replay "$tmp/mix.pcap" --windows - --windows-json > "$tmp/mix.json" 2>/dev/null
python3 - "$tmp/mix.json" "$tmp/mix33.csv" <<'PY'
import csv, json, sys
js = [json.loads(l) for l in open(sys.argv[1])]
rows = list(csv.DictReader(open(sys.argv[2])))
def norm(d):
    return tuple([d['src'], d['dst'], '%.9f' % float(d['start'])] + ['%.9g' % float(d[k]) for k in list(rows[0])[4:]])
a = sorted(norm(j) for j in js)
b = sorted(norm(r) for r in rows)
print('ok replay_windows_json (%d records)' % len(a) if a == b and a else
      'not ok replay_windows_json: %d json vs %d csv records, first difference %r' %
      (len(a), len(b), next((x for x in zip(a, b) if x[0] != x[1]), None)))
PY
# deterministic: the same file twice, the same bytes
"$FLOWQOE" replay "$tmp/mix.pcap" --windows "$tmp/again.csv" 2>/dev/null
cmp -s "$tmp/again.csv" "$tmp/mix33.csv" && ok replay_windows_deterministic || nok replay_windows_deterministic "two runs differ"
# no flow rows unless --csv is given with --windows; with it, both
"$FLOWQOE" replay "$tmp/mix.pcap" --windows "$tmp/w2.csv" > "$tmp/stdout" 2>/dev/null
[ ! -s "$tmp/stdout" ] && ok replay_windows_no_flow_rows || nok replay_windows_no_flow_rows "$(wc -l < "$tmp/stdout") lines on stdout"
"$FLOWQOE" replay "$tmp/mix.pcap" --windows "$tmp/w3.csv" --csv "$tmp/f3.csv" 2>/dev/null
"$FLOWQOE" replay "$tmp/mix.pcap" --csv "$tmp/f4.csv" 2>/dev/null
if cmp -s "$tmp/w3.csv" "$tmp/mix33.csv" && cmp -s "$tmp/f3.csv" "$tmp/f4.csv"; then ok replay_windows_with_csv
else nok replay_windows_with_csv "windows or flow rows differ when both are asked for"; fi

# (c) classifier: one table for any number of workers; counts = model predict
if [ -f "$MODEL" ]; then
	for n in 1 2 4; do
		"$FLOWQOE" replay "$tmp/big.pcap" --window 10 --model $MODEL --workers $n --conv-timeout 0.05 \
			--json > "$tmp/cls$n.json" 2>"$tmp/err$n" || nok "replay_model_workers_$n" "exit $?: $(head -c 300 "$tmp/err$n")"
		"$FLOWQOE" replay "$tmp/mix.pcap" --model $MODEL --workers $n > "$tmp/tab$n.txt" 2>/dev/null
	done
	if cmp -s "$tmp/cls1.json" "$tmp/cls2.json" && cmp -s "$tmp/cls1.json" "$tmp/cls4.json" &&
	   cmp -s "$tmp/tab1.txt" "$tmp/tab2.txt" && cmp -s "$tmp/tab1.txt" "$tmp/tab4.txt" &&
	   [ "$(grep -c conversation_end "$tmp/cls1.json")" -gt 0 ]; then
		ok "replay_model_workers_same_table ($(grep -c conversation_end "$tmp/cls1.json") conversations closed by capture time)"
	else
		nok replay_model_workers_same_table "$(wc -l "$tmp"/cls?.json "$tmp"/tab?.txt | tr '\n' ' ')"
	fi
	"$FLOWQOE" model predict $MODEL "$tmp/big.csv" > "$tmp/pred" 2>"$tmp/err"
	python3 - "$tmp/cls1.json" "$tmp/pred" <<'PY'
import collections, json, sys
agg = collections.Counter()
summary = None
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o['type'] == 'conversation_end':
        agg.update(o['per_class'])
    elif o['type'] == 'classes':
        summary = o
        for c in o['conversations']:
            agg.update(c['per_class'])
pred = collections.Counter(l.strip() for l in open(sys.argv[2]) if l.strip())
agg = +agg
ok = summary and summary['dropped'] == 0 and summary['classified'] == sum(pred.values()) and agg == pred
print('ok replay_model_counts_equal_predict (%s)' % dict(pred) if ok else
      'not ok replay_model_counts_equal_predict: aggregate %s, predict %s, summary %s' %
      (dict(agg), dict(pred), summary and {k: summary[k] for k in ('records', 'classified', 'dropped')}))
PY
else
	echo "skip replay_model: $MODEL missing"
fi

# (d) --query: the engine of query --pcap, byte for byte
for q in "--by proto --top 3" "--by ip --top 5 --window 10" "--by ip --above-percent 10 --every 5" \
	 "--by proto --above-sigma 0.5 --window 30 --json" "--by ip --top 2 --every 7 --window 7 --json"; do
	name="replay_query_$(echo "$q" | tr -d ' -' )"
	# shellcheck disable=SC2086
	"$FLOWQOE" replay "$tmp/mix.pcap" --query $q > "$tmp/q1" 2>"$tmp/e1"; r1=$?
	# shellcheck disable=SC2086
	"$FLOWQOE" query --pcap "$tmp/mix.pcap" $q > "$tmp/q2" 2>"$tmp/e2"; r2=$?
	if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ -s "$tmp/q1" ] && cmp -s "$tmp/q1" "$tmp/q2"; then ok "$name"
	else nok "$name" "exit $r1/$r2, $(wc -c < "$tmp/q1")/$(wc -c < "$tmp/q2") bytes: $(head -c 200 "$tmp/e1")"; fi
done

# (e) bad input: exit 2, a message naming the option, nothing run
bad() { # name, grep pattern, args...
	local name=$1 pat=$2 rc
	shift 2
	"$FLOWQOE" replay "$tmp/mix.pcap" "$@" > "$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$pat" "$tmp/err" && ! grep -q "packets (" "$tmp/err"; then ok "replay_bad_$name"
	else nok "replay_bad_$name" "exit $rc, stderr: $(head -c 300 "$tmp/err")"; fi
}
bad window_5 "--window: '5'" --windows "$tmp/x.csv" --window 5
bad window_20000 "--window: '20000'" --windows "$tmp/x.csv" --window 20000
bad model_missing "--model $tmp/nonexistent.model" --model "$tmp/nonexistent.model"
printf 'not a model\n' > "$tmp/junk.model"
bad model_junk "--model $tmp/junk.model" --model "$tmp/junk.model"
bad workers_0 "--workers: '0'" --model $MODEL --workers 0
bad workers_65 "--workers: '65'" --model $MODEL --workers 65
bad conv_timeout_0 "--conv-timeout: '0'" --model $MODEL --conv-timeout 0
bad window_alone "need --windows or --model" --window 100
bad both_stdout "both on stdout" --windows - --csv -
bad query_server "--server is not a capture query option" --query --by ip --top 3 --server 127.0.0.1:1
bad query_no_kind "query needs" --query --by ip

# a real capture: records, none lost
if [ -z "${FQ_DATA:-}" ] || [ ! -f "$FQ_DATA/ndpi/geforcenow.pcapng" ]; then
	echo "skip replay_windows_real: FQ_DATA/ndpi/geforcenow.pcapng absent"
else
	f=$FQ_DATA/ndpi/geforcenow.pcapng
	if "$FLOWQOE" replay "$f" --windows "$tmp/real.csv" 2>"$tmp/err"; then
		n=$(($(wc -l < "$tmp/real.csv") - 1))
		if [ "$n" -gt 0 ] && grep -q "$n window records of 33.000 ms, 0 lost" "$tmp/err"; then
			ok "replay_windows_real geforcenow ($n records, none lost)"
		else
			nok replay_windows_real "$n records; $(tail -2 "$tmp/err")"
		fi
		if [ -f "$MODEL" ]; then
			"$FLOWQOE" replay "$f" --model $MODEL --json > "$tmp/rc.json" 2>"$tmp/err"
			python3 - "$tmp/rc.json" "$n" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])][-1]
n = int(sys.argv[2])
print('ok replay_model_real (%d records classified)' % n if s['type'] == 'classes' and s['classified'] == n and s['dropped'] == 0
      else 'not ok replay_model_real: %r vs %d records' % ({k: s.get(k) for k in ('type', 'records', 'classified', 'dropped')}, n))
PY
		fi
	else
		nok replay_windows_real "exit $?: $(head -c 300 "$tmp/err")"
	fi
fi
ls /sys/fs/bpf/fq_winrb /sys/fs/bpf/flowqoe/fq_winrb >/dev/null 2>&1 && nok replay_windows_no_pins "fq_winrb pinned" || ok replay_windows_no_pins
exit 0
