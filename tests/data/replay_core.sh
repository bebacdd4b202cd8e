#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# flowqoe replay on captures this test writes itself (no FQ_DATA needed):
# every column of every flow equals an independent oracle (replay_gen.py,
# brute force over the packets written) in default and --cic-compat mode;
# every link type, timestamp precision and pcapng give the same rows; bad
# input gives clear errors, exit codes and counted skips, never a crash.
set -u
cd "$(dirname "$0")/../.."
FLOWQOE=${FLOWQOE:-$PWD/build/flowqoe}
here=tests/data
if [ "$(id -u)" -ne 0 ]; then echo "skip replay_core: needs root (BPF_PROG_RUN)"; exit 0; fi
tmp=$(mktemp -d /tmp/fq-replay.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 $here/replay_gen.py write "$tmp/g" || { echo "not ok replay_core: generator failed"; exit 1; }
python3 $here/replay_gen.py bad "$tmp/b" || { echo "not ok replay_core: generator failed"; exit 1; }

ok() { echo "ok $1"; }
nok() { echo "not ok $1: $2"; }

# oracle, both modes
"$FLOWQOE" replay "$tmp/g/eth_us.pcap" --csv "$tmp/def.csv" 2>"$tmp/err" || nok replay_default "exit $?: $(cat "$tmp/err")"
python3 $here/replay_match.py "$tmp/def.csv" "$tmp/g/expect_default.csv" oracle_default
"$FLOWQOE" replay "$tmp/g/eth_us.pcap" --cic-compat --csv "$tmp/cic.csv" 2>"$tmp/err" || nok replay_compat "exit $?: $(cat "$tmp/err")"
python3 $here/replay_match.py "$tmp/cic.csv" "$tmp/g/expect_compat.csv" oracle_compat

# the same rows from every encapsulation and file format
for f in eth_ns.pcap raw.pcap sll.pcap sll2.pcap null.pcap loop.pcap eth.pcapng snap80.pcap; do
	"$FLOWQOE" replay "$tmp/g/$f" --csv "$tmp/v.csv" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 0 ]; then nok "replay_format_$f" "exit $rc: $(cat "$tmp/err")"; continue; fi
	if cmp -s "$tmp/v.csv" "$tmp/def.csv"; then ok "replay_format_$f same rows as Ethernet/us pcap"
	else nok "replay_format_$f" "rows differ: $(diff "$tmp/def.csv" "$tmp/v.csv" | head -4 | cut -c1-200)"; fi
done
grep -q ' 15 snaplen-padded' "$tmp/err" && ok replay_snaplen_counted || nok replay_snaplen_counted "$(cat "$tmp/err")"

# header names: CIC-IDS2017 (as in the CIC CSVs) and CIC-IDS2018
h17=$(head -1 "$tmp/def.csv")
want17='Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp, Flow Duration, Total Fwd Packets, Total Backward Packets,Total Length of Fwd Packets, Total Length of Bwd Packets, Fwd Packet Length Max, Fwd Packet Length Min, Fwd Packet Length Mean, Fwd Packet Length Std,Bwd Packet Length Max, Bwd Packet Length Min, Bwd Packet Length Mean, Bwd Packet Length Std,Flow Bytes/s, Flow Packets/s, Flow IAT Mean, Flow IAT Std, Flow IAT Max, Flow IAT Min,Fwd IAT Total, Fwd IAT Mean, Fwd IAT Std, Fwd IAT Max, Fwd IAT Min,Bwd IAT Total, Bwd IAT Mean, Bwd IAT Std, Bwd IAT Max, Bwd IAT Min,Fwd PSH Flags, Bwd PSH Flags, Fwd URG Flags, Bwd URG Flags, Fwd Header Length, Bwd Header Length,Fwd Packets/s, Bwd Packets/s, Min Packet Length, Max Packet Length, Packet Length Mean, Packet Length Std, Packet Length Variance,FIN Flag Count, SYN Flag Count, RST Flag Count, PSH Flag Count, ACK Flag Count, URG Flag Count, CWE Flag Count, ECE Flag Count, Down/Up Ratio, Average Packet Size, Avg Fwd Segment Size, Avg Bwd Segment Size, Fwd Header Length.1,Fwd Avg Bytes/Bulk, Fwd Avg Packets/Bulk, Fwd Avg Bulk Rate, Bwd Avg Bytes/Bulk, Bwd Avg Packets/Bulk,Bwd Avg Bulk Rate,Subflow Fwd Packets, Subflow Fwd Bytes, Subflow Bwd Packets, Subflow Bwd Bytes,Init_Win_bytes_forward, Init_Win_bytes_backward, act_data_pkt_fwd, min_seg_size_forward,Active Mean, Active Std, Active Max, Active Min,Idle Mean, Idle Std, Idle Max, Idle Min, Label'
[ "$h17" = "$want17" ] && ok replay_header_cic2017 || nok replay_header_cic2017 "got: $h17"
if [ -n "${FQ_DATA:-}" ] && [ -f "$FQ_DATA/netml/demo.csv" ]; then
	ref=$(head -1 "$FQ_DATA/netml/demo.csv" | sed 's/^\xef\xbb\xbf//; s/^Unnamed: 0,//' | tr -d '\r')
	[ "$h17" = "$ref" ] && ok replay_header_equals_demo_csv || nok replay_header_equals_demo_csv "differs from demo.csv"
fi
"$FLOWQOE" replay "$tmp/g/eth_us.pcap" --names cic2018 --csv "$tmp/v18.csv" 2>/dev/null
h18=$(head -1 "$tmp/v18.csv")
want18='Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,TotLen Fwd Pkts,TotLen Bwd Pkts,Fwd Pkt Len Max,Fwd Pkt Len Min,Fwd Pkt Len Mean,Fwd Pkt Len Std,Bwd Pkt Len Max,Bwd Pkt Len Min,Bwd Pkt Len Mean,Bwd Pkt Len Std,Flow Byts/s,Flow Pkts/s,Flow IAT Mean,Flow IAT Std,Flow IAT Max,Flow IAT Min,Fwd IAT Tot,Fwd IAT Mean,Fwd IAT Std,Fwd IAT Max,Fwd IAT Min,Bwd IAT Tot,Bwd IAT Mean,Bwd IAT Std,Bwd IAT Max,Bwd IAT Min,Fwd PSH Flags,Bwd PSH Flags,Fwd URG Flags,Bwd URG Flags,Fwd Header Len,Bwd Header Len,Fwd Pkts/s,Bwd Pkts/s,Pkt Len Min,Pkt Len Max,Pkt Len Mean,Pkt Len Std,Pkt Len Var,FIN Flag Cnt,SYN Flag Cnt,RST Flag Cnt,PSH Flag Cnt,ACK Flag Cnt,URG Flag Cnt,CWE Flag Count,ECE Flag Cnt,Down/Up Ratio,Pkt Size Avg,Fwd Seg Size Avg,Bwd Seg Size Avg,Fwd Byts/b Avg,Fwd Pkts/b Avg,Fwd Blk Rate Avg,Bwd Byts/b Avg,Bwd Pkts/b Avg,Bwd Blk Rate Avg,Subflow Fwd Pkts,Subflow Fwd Byts,Subflow Bwd Pkts,Subflow Bwd Byts,Init Fwd Win Byts,Init Bwd Win Byts,Fwd Act Data Pkts,Fwd Seg Size Min,Active Mean,Active Std,Active Max,Active Min,Idle Mean,Idle Std,Idle Max,Idle Min,Label'
[ "$h18" = "$want18" ] && ok replay_header_cic2018 || nok replay_header_cic2018 "got: $h18"
# same values under both names
if [ "$(tail -n +2 "$tmp/v18.csv" | cut -d, -f8-61 | md5sum)" = "$(tail -n +2 "$tmp/def.csv" | cut -d, -f8-61 | md5sum)" ]; then
	ok replay_cic2018_same_values; else nok replay_cic2018_same_values "values differ"; fi

# JSON lines: one object per flow, same packet counts
"$FLOWQOE" replay "$tmp/g/eth_us.pcap" --json --csv "$tmp/j.json" 2>/dev/null
python3 - "$tmp/j.json" "$tmp/def.csv" <<'PY'
import csv, json, sys
js = [json.loads(l) for l in open(sys.argv[1])]
rows = list(csv.DictReader(open(sys.argv[2])))
a = sorted((j['Source Port'], j['Total Fwd Packets'], j['Total Backward Packets']) for j in js)
b = sorted((int(r[' Source Port']), float(r[' Total Fwd Packets']), float(r[' Total Backward Packets'])) for r in rows)
print('ok replay_json_rows' if a == b and len(js) == 5 else 'not ok replay_json_rows: %r vs %r' % (a, b))
PY
"$FLOWQOE" replay --explain-features > "$tmp/ex" && [ "$(grep -c ':' "$tmp/ex")" -ge 81 ] && ok replay_explain_features || nok replay_explain_features "$(wc -l < "$tmp/ex") lines"

# bad input: message names the file (and the packet), exit code, rows so far
bad() { # name, want exit, grep pattern, want rows
	"$FLOWQOE" replay "$tmp/b/$1" --csv "$tmp/x.csv" 2>"$tmp/err"
	local rc=$? rows
	rows=$(($(wc -l < "$tmp/x.csv") - 1))
	if [ $rc -eq "$2" ] && grep -q -- "$3" "$tmp/err" && [ "$rows" -eq "$4" ]; then ok "replay_bad_$1"
	else nok "replay_bad_$1" "exit $rc (want $2), $rows rows (want $4), stderr: $(head -c 300 "$tmp/err")"; fi
}
bad truncated.pcap 1 "truncated.pcap: packet 31: truncated" 4
bad badlen.pcap 1 "badlen.pcap: packet 3: invalid packet capture length" 1
bad linktype.pcap 1 "linktype.pcap: link type 147" 0
bad notpcap.pcap 1 "notpcap.pcap: unknown file format" 0
bad empty.pcap 1 "empty.pcap: " 0
bad zero_back.pcap 0 "1 empty, .* 1 timestamps backwards" 1
"$FLOWQOE" replay "$tmp/nonexistent.pcap" 2>"$tmp/err" >/dev/null
[ $? -eq 1 ] && grep -q "nonexistent.pcap" "$tmp/err" && ok replay_bad_missing_file || nok replay_bad_missing_file "$(cat "$tmp/err")"
"$FLOWQOE" replay "$tmp/g/eth_us.pcap" --names cic2099 >/dev/null 2>&1
[ $? -eq 2 ] && ok replay_bad_usage || nok replay_bad_usage "--names cic2099 did not exit 2"
# nothing left pinned by a replay
ls /sys/fs/bpf/fq_cic /sys/fs/bpf/flowqoe/fq_cic >/dev/null 2>&1 && nok replay_no_pins "fq_cic pinned" || ok replay_no_pins
exit 0
