#!/usr/bin/env bash
# terminal-load.sh measures one gateway under many terminals: it starts a
# gateway over plain HTTP on 127.0.0.1 with a fresh data directory, pairs
# TERMINALS simulated terminals (`passerelle sim terminals`) that pay
# tickets in a loop (F1: a ticket from the list, paid in full, card
# approved; or F2: a table number), while a till in the same process posts
# RATE tickets/s; then stops everything and prints a table:
#   - payments/s acknowledged;
#   - POST→list: from a ticket's POST to its arrival on the list a terminal
#     shows (the refreshed F1 menu, matched by ref); a list already full (the
#     oldest 50 open tickets) is left out and reported: the terminals then
#     do not keep up and new tickets wait their turn;
#   - result→ack: from sending payment_result to receiving its ack;
#   - the gateway's RSS (VmRSS sampled each second, peak, and VmHWM) and CPU.
#   - the bytes the terminals received, every message included, over the
#     lists refreshed: an upper bound of what a list change costs.
# Targets (issue 11): POST→list p99 < 10 ms at 100 tickets/s, result→ack
# p99 < 10 ms, the gateway's CPU < 40 % of a core; RSS < 80 MB.
#
# Knobs (environment): TERMINALS (default 200), RATE (tickets/s, default
# 100), DURATION (seconds, default 30), KEY (F1, F2, or F1,F2 for half the
# terminals each; default F1, the worst case: every terminal on a list),
# PICK (first or random, default random), CLAIM (true: a terminal leaves
# the tickets another took, as waiters paying their own tables; false:
# they all reach for the same; default true), THINK (each screen's look,
# default 300ms), PROTOCOL (v1.1, the default: menus as changes; or v1:
# every menu whole, as terminals before v1.1), ROWS (the terminals'
# display rows, told in hello: v1.1 menus come in pages of ROWS-1 tickets;
# 0, the default, tells none: one page of up to 50), COALESCE (the gateway's
# --coalesce window, such as 0 or 5ms; default: the gateway's own).
#
# Usage: bench/terminal-load.sh
set -euo pipefail

TERMINALS=${TERMINALS:-200}
RATE=${RATE:-100}
DURATION=${DURATION:-30}
KEY=${KEY:-F1}
PICK=${PICK:-random}
CLAIM=${CLAIM:-true}
THINK=${THINK:-300ms}
ROWS=${ROWS:-0}
if [ -n "${COALESCE:-}" ]; then
	GATEWAY_ARGS="${GATEWAY_ARGS:-} --coalesce $COALESCE"
fi

. "$(dirname "$0")/lib.sh"
bench_init

data="$work/data"
key=$(timeout 60 "$bin" till add "Bench" --data "$data" | tail -n 1)
start_gateway "$data"
pid=$(gateway_pid)

t0=$(date +%s.%N)
timeout 120 "$tool" codes --data "$data" --count "$TERMINALS" >"$work/codes"
echo "$TERMINALS pairing codes in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2

# The sampler covers the run; it starts when the terminals are connected.
# The fleet shares the gateway's two cores, which real terminals do not:
# GOGC=400 spares it most of its garbage collection, so it takes less CPU
# from the gateway it measures.
case ${PROTOCOL:-v1.1} in
v1) v1=true ;;
v1.1) v1=false ;;
*) echo "PROTOCOL must be v1 or v1.1" >&2; exit 2 ;;
esac
: >"$work/sim.err"
GOGC=400 PASSERELLE_TILL_KEY="$key" timeout "$((DURATION + 180))" "$bin" sim terminals --url "$url" \
	--codes "$work/codes" --duration "${DURATION}s" --till-rate "$RATE" \
	--key "$KEY" --pick "$PICK" --claim="$CLAIM" --think "$THINK" --v1="$v1" --rows "$ROWS" >"$work/out" 2>"$work/sim.err" &
sim_pid=$!
bench_track "$sim_pid"
for _ in $(seq 600); do # 60 s at most to connect
	grep -q "terminals connected" "$work/sim.err" && break
	kill -0 "$sim_pid" 2>/dev/null || break
	sleep 0.1
done
"$tool" proc --pid "$pid" --for "${DURATION}s" >"$work/proc" &
proc_pid=$!
bench_track "$proc_pid"
sim_rc=0
wait "$sim_pid" || sim_rc=$?
wait "$proc_pid" || true
cat "$work/out" >&2
if [ "$sim_rc" -ne 0 ]; then
	echo "sim terminals failed ($sim_rc):" >&2
	cat "$work/sim.err" >&2
	tail -n 20 "$data.log" >&2
	exit 1
fi
cat "$work/proc" >&2
stop_gateway

o="$work/out"
p="$work/proc"
rate=$(awk '$1 == "tickets" { print $(NF - 1); exit }' "$o")
pay=$(awk '$1 == "payments" { print $(NF - 1); exit }' "$o")
listn=$(awk '$1 == "list" { print $2; exit }' "$o")
backlog=$(awk '$1 == "backlog" { print $2; exit }' "$o")
list99=$(field "$o" list p99)
ack99=$(field "$o" ack p99)
rss_peak=$(field "$p" proc: peak)
hwm=$(field "$p" proc: hwm)
hwm_mb=""
[ -n "$hwm" ] && hwm_mb=$(awk -v k="$hwm" 'BEGIN { print k * 1.048576 }')

bench_header "passerelle under $TERMINALS terminals (${PROTOCOL:-v1.1}, rows $ROWS, coalesce ${COALESCE:-default}, $KEY, pick $PICK, claim $CLAIM, think $THINK) and a till at $RATE tickets/s for ${DURATION} s"
printf '%-30s %-36s %-10s %s\n' "measure" "value" "target" ""
printf '%-30s %-36s %-10s %s\n' "tickets posted/s" "$rate" "" ""
printf '%-30s %-36s %-10s %s\n' "payments/s" "$pay" "" ""
printf '%-30s %-36s %-10s %s\n' "POST->list ms p50/p99/max" \
	"$(field "$o" list p50) / $list99 / $(field "$o" list max) (n $listn)" "p99 < 10" "$(verdict "$list99" 10)"
if [ -n "$backlog" ]; then
	printf '%-30s %-36s %-10s %s\n' "full-list refreshes, unmeasured" "$backlog" "0" "$(verdict "$backlog" 1)"
fi
printf '%-30s %-36s %-10s %s\n' "result->ack ms p50/p99/max" \
	"$(field "$o" ack p50) / $ack99 / $(field "$o" ack max)" "p99 < 10" "$(verdict "$ack99" 10)"
printf '%-30s %-36s %-10s %s\n' "till POST ms p50/p99" "$(field "$o" latency p50) / $(field "$o" latency p99)" "" ""
printf '%-30s %-36s %-10s %s\n' "gateway RSS MiB end/peak/hwm" \
	"$(field "$p" proc: rss) / $rss_peak / $hwm" "< 80 MB" "$(verdict "$hwm_mb" 80)"
printf '%-30s %-36s %-10s %s\n' "gateway CPU % of one core" "$(field "$p" proc: cpu)" "< 40" "$(verdict "$(field "$p" proc: cpu)" 40)"
per=$(sed -n 's/^bytes .*: \([0-9]*\) bytes a refresh.*/\1/p' "$o")
# Everything a terminal receives (pay, receipts, ticket screens) over the
# lists refreshed: an upper bound of a list change's bytes. The change's
# own bytes are TestV11ListMatchesV1's (bench/targets.sh).
printf '%-30s %-36s %-10s %s\n' "bytes received per refresh" "${per:--}" "" ""
