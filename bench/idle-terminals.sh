#!/usr/bin/env bash
# idle-terminals.sh measures what idle terminals cost a gateway: it starts
# a gateway over plain HTTP on 127.0.0.1 with a fresh data directory,
# connects TERMINALS simulated terminals that do nothing but answer the
# gateway's pings (every 20 s), samples the gateway's memory (VmRSS each
# second, VmHWM) and CPU (utime+stime) for DURATION seconds, then stops
# everything and prints a table.
#
# Knobs (environment): TERMINALS (default 1000), DURATION (seconds,
# default 60).
#
# Usage: bench/idle-terminals.sh
set -euo pipefail

TERMINALS=${TERMINALS:-1000}
DURATION=${DURATION:-60}

. "$(dirname "$0")/lib.sh"
bench_init

data="$work/data"
start_gateway "$data"
pid=$(gateway_pid)
"$tool" proc --pid "$pid" --for 1s >"$work/proc0"

timeout 300 "$tool" codes --data "$data" --count "$TERMINALS" >"$work/codes"
: >"$work/sim.err"
# The terminals stay a little longer than the sampling, so that it ends
# before they leave.
timeout "$((DURATION + 300))" "$bin" sim terminals --url "$url" --codes "$work/codes" --key none \
	--dial-concurrency 32 --duration "$((DURATION + 5))s" >"$work/out" 2>"$work/sim.err" &
sim_pid=$!
bench_track "$sim_pid"
for _ in $(seq 1200); do # 120 s at most to connect
	grep -q "terminals connected" "$work/sim.err" && break
	kill -0 "$sim_pid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "terminals connected" "$work/sim.err"; then
	echo "the terminals did not connect:" >&2
	cat "$work/sim.err" >&2
	exit 1
fi
"$tool" proc --pid "$pid" --for "${DURATION}s" >"$work/proc"
sim_rc=0
wait "$sim_pid" || sim_rc=$?
cat "$work/out" "$work/proc" >&2
if [ "$sim_rc" -ne 0 ]; then
	echo "sim terminals failed ($sim_rc):" >&2
	cat "$work/sim.err" >&2
	tail -n 20 "$data.log" >&2
	exit 1
fi
stop_gateway

p="$work/proc"
bench_header "passerelle with $TERMINALS idle terminals for ${DURATION} s"
printf '%-38s %s\n' "measure" "value"
printf '%-38s %s\n' "gateway RSS MiB before terminals" "$(field "$work/proc0" proc: rss)"
printf '%-38s %s\n' "terminals connected, in s" "$(awk '$1 == "terminals" { print $2 ", " $5; exit }' "$work/out")"
printf '%-38s %s\n' "connected at the end, disconnections" "$(awk '$1 == "terminals" { print $7 ", " $12; exit }' "$work/out")"
printf '%-38s %s\n' "gateway RSS MiB end/mean/peak/hwm" \
	"$(field "$p" proc: rss) / $(field "$p" proc: mean) / $(field "$p" proc: peak) / $(field "$p" proc: hwm)"
printf '%-38s %s\n' "gateway CPU % of one core" "$(field "$p" proc: cpu)"
