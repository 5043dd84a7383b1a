#!/usr/bin/env bash
# targets.sh DIR prints one table: every target of the venue-scale issue
# (issue 11) beside the figure measured, read from the tables that the bench
# scripts wrote into DIR (till.txt, terminal.txt, terminal-paged.txt,
# idle.txt, and delta.txt,
# the log of TestV11ListMatchesV1, as `make bench` saves them). A figure a script did not measure prints as "-", with why.
#
# Usage: bench/targets.sh DIR
set -euo pipefail
dir=${1:?usage: bench/targets.sh DIR}
. "$(dirname "$0")/lib.sh"

# value FILE LABEL WIDTH prints the value column of the row LABEL of a table
# whose label column is WIDTH wide.
value() {
	[ -f "$1" ] || return 0
	awk -v label="$2" -v w="$3" 'index($0, label) == 1 { v = substr($0, w + 2); sub(/ +$/, "", v); print v; exit }' "$1"
}
# nth N "a / b / c" prints the Nth of the slash-separated values.
nth() { awk -v n="$1" -v s="$2" 'BEGIN { split(s, a, " / "); v = a[n]; sub(/ .*/, "", v); print v }'; }
# rate LABEL prints the tickets/s of till-load's row LABEL.
rate() {
	[ -f "$dir/till.txt" ] || return 0
	awk -v label="$1" 'index($0, label) == 1 { sub(label, ""); print $2; exit }' "$dir/till.txt"
}
atleast() { awk -v v="$1" -v l="$2" 'BEGIN { if (v == "") print "?"; else if (v + 0 >= l + 0) print "ok"; else print "MISSED" }'; }

list=$(value "$dir/terminal.txt" "POST->list ms p50/p99/max" 30)
ack=$(value "$dir/terminal.txt" "result->ack ms p50/p99/max" 30)
cpu=$(value "$dir/terminal.txt" "gateway CPU % of one core" 30 | awk '{print $1}')
cpu_paged=$(value "$dir/terminal-paged.txt" "gateway CPU % of one core" 30 | awk '{print $1}')
idle=$(value "$dir/idle.txt" "gateway RSS MiB end/mean/peak/hwm" 38)
own=$(rate "concurrency 16 ")
ext=$(rate "wrk, concurrency 16 ")
ratio=""
if [ -n "$own" ] && [ -n "$ext" ]; then
	ratio=$(awk -v a="$own" -v b="$ext" 'BEGIN { printf "%.0f", a / b * 100 }')
fi
idle_peak=$(nth 3 "$idle")
# "bytes received per change: v1 2873, v1.1 154"
read -r delta_v1 delta_v11 < <(sed -n 's/.*bytes received per change: v1 \([0-9]*\), v1.1 \([0-9]*\).*/\1 \2/p' "$dir/delta.txt" 2>/dev/null || true; echo)
list99=$(nth 2 "$list")
ack99=$(nth 2 "$ack")

echo
echo "issue 11 (venue scale) targets, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
row() { printf '%-52s %-22s %-12s %s\n' "$@"; }
row "figure" "measured" "target" ""
row "200 terminals on F1, 100/s: POST->list p99 ms" "${list99:--}" "< 10" "$(verdict "$list99" 10)"
row "same: result->ack p99 ms" "${ack99:--}" "< 10" "$(verdict "$ack99" 10)"
row "same: gateway CPU % of a core" "${cpu:--}" "< 40" "$(verdict "$cpu" 40)"
row "same, terminals of 8 rows (v1.1 pages): CPU %" "${cpu_paged:--}" "< 40" "$(verdict "$cpu_paged" 40)"
row "bytes per terminal per list change (v1.1)" "${delta_v11:--}${delta_v1:+ (v1: $delta_v1)}" "< 200" "$(verdict "$delta_v11" 200)"
row "till POST, 16 tills, durable: own tool /s" "${own:--}" ">= 10000" "$(atleast "$own" 10000)"
row "same: wrk /s, own tool as % of wrk" "${ext:--} ${ratio:+($ratio %)}" "90-110 %" \
	"$(if [ -n "$ratio" ]; then awk -v r="$ratio" 'BEGIN { print (r >= 90 && r <= 110) ? "ok" : "MISSED" }'; else echo "? (no wrk)"; fi)"
row "1 000 idle terminals: RSS MiB peak" "${idle_peak:--}" "< 60" "$(verdict "$idle_peak" 60)"
# The targets hold for the scripts' defaults: say what was really run.
echo "measured by:"
for f in till terminal terminal-paged idle; do
	[ -f "$dir/$f.txt" ] && awk 'NF { print "  " $0; exit }' "$dir/$f.txt"
done
