#!/usr/bin/env bash
# memory-startup.sh measures a gateway with a large history: it stores
# TICKETS tickets in a fresh data directory (through the gateway's own
# Submit, by bench/benchtool, faster than over HTTP), starts the gateway over
# plain HTTP on 127.0.0.1, opens SSE_CLIENTS event streams (as many tills
# following their events) and samples its memory; then stops it and times
# `passerelle run` on that data directory from the process's start to the
# first request answered (GET /healthz polled in a tight loop), RUNS times.
# It prints a table. Targets (from the issue): RSS < 60 MB, start < 300 ms.
#
# Knobs (environment): TICKETS (default 100000), SSE_CLIENTS (default 50),
# HOLD (seconds the streams are held and sampled, default 10), RUNS
# (starts timed, default 5).
#
# Usage: bench/memory-startup.sh
set -euo pipefail

TICKETS=${TICKETS:-100000}
SSE_CLIENTS=${SSE_CLIENTS:-50}
HOLD=${HOLD:-10}
RUNS=${RUNS:-5}

. "$(dirname "$0")/lib.sh"
bench_init

data="$work/data"
key=$(timeout 60 "$bin" till add "Bench" --data "$data" | tail -n 1)
echo "storing $TICKETS tickets…" >&2
timeout 900 "$tool" seed --data "$data" --tickets "$TICKETS" | tee "$work/seed" >&2
db_mib=$(du -sm "$data" | awk '{print $1}')

start_gateway "$data"
pid=$(gateway_pid)
"$tool" proc --pid "$pid" --for 1s >"$work/proc0"

: >"$work/sse"
timeout "$((HOLD + 120))" "$tool" sse --url "$url" --key "$key" --clients "$SSE_CLIENTS" --for "$((HOLD + 2))s" >"$work/sse" &
sse_pid=$!
bench_track "$sse_pid"
for _ in $(seq 300); do # 30 s at most to open them
	grep -q "streams open" "$work/sse" && break
	kill -0 "$sse_pid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "streams open" "$work/sse"; then
	echo "the event streams did not open" >&2
	exit 1
fi
"$tool" proc --pid "$pid" --for "${HOLD}s" >"$work/proc"
wait "$sse_pid"
cat "$work/proc0" "$work/sse" "$work/proc" >&2
stop_gateway

timeout 600 "$tool" startup --bin "$bin" --data "$data" --runs "$RUNS" | tee "$work/startup" >&2

p="$work/proc"
hwm=$(field "$p" proc: hwm)
hwm_mb=""
[ -n "$hwm" ] && hwm_mb=$(awk -v k="$hwm" 'BEGIN { print k * 1.048576 }')
median=$(awk '$2 == "median" { print $3; exit }' "$work/startup")
bench_header "passerelle with $TICKETS tickets stored and $SSE_CLIENTS event streams"
printf '%-36s %-28s %-10s %s\n' "measure" "value" "target" ""
printf '%-36s %-28s %-10s %s\n' "tickets stored, per s" "$(awk '{ r = $7; gsub(/[^0-9.]/, "", r); print $2 ", " r }' "$work/seed")" "" ""
printf '%-36s %-28s %-10s %s\n' "data directory MiB" "$db_mib" "" ""
printf '%-36s %-28s %-10s %s\n' "gateway RSS MiB, no client" "$(field "$work/proc0" proc: rss)" "" ""
printf '%-36s %-28s %-10s %s\n' "RSS MiB, $SSE_CLIENTS streams end/peak/hwm" \
	"$(field "$p" proc: rss) / $(field "$p" proc: peak) / $hwm" "< 60 MB" "$(verdict "$hwm_mb" 60)"
printf '%-36s %-28s %-10s %s\n' "start to first answer ms, median" \
	"$median (min $(awk '$2 == "median" { print $6; exit }' "$work/startup"), max $(awk '$2 == "median" { print $9; exit }' "$work/startup"))" \
	"< 300" "$(verdict "$median" 300)"
