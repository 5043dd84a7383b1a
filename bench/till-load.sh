#!/usr/bin/env bash
# till-load.sh measures the till API under load on this machine: it builds
# passerelle, starts a gateway over plain HTTP on 127.0.0.1 with a fresh
# data directory, creates a till key, then runs `passerelle sim till`
#   - as fast as the gateway answers, at each concurrency in CONCURRENCIES;
#   - at a fixed rate while following the event stream, for the POST→SSE
#     delivery latency;
# stops the gateway and prints a table.
#
# Knobs (environment): TICKETS (per concurrency, default 5000),
# CONCURRENCIES (default "1 16 64"), RATE (default 1000 tickets/s),
# EVENT_TICKETS (default 5000), EVENT_CONCURRENCY (default 16),
# RUN_TIMEOUT (seconds per run, default 300).
#
# Usage: bench/till-load.sh
set -euo pipefail

TICKETS=${TICKETS:-5000}
CONCURRENCIES=${CONCURRENCIES:-"1 16 64"}
RATE=${RATE:-1000}
EVENT_TICKETS=${EVENT_TICKETS:-5000}
EVENT_CONCURRENCY=${EVENT_CONCURRENCY:-16}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}

. "$(dirname "$0")/lib.sh"
bench_init

data="$work/data"
key=$(timeout 60 "$bin" till add "Bench" --data "$data" | tail -n 1)
start_gateway "$data"

# sim runs one `passerelle sim till` and keeps its summary in $work/out.
sim() {
	if ! PASSERELLE_TILL_KEY="$key" timeout "$RUN_TIMEOUT" "$bin" sim till --url "$url" "$@" >"$work/out" 2>"$work/err"; then
		echo "sim till $* failed:" >&2
		cat "$work/out" "$work/err" >&2
		tail -n 20 "$data.log" >&2
		exit 1
	fi
	cat "$work/out" >&2
}

# out prints the value after word $2 on the summary line starting with $1.
out() { field "$work/out" "$1" "$2"; }
rate_of() { awk '$1 == "tickets" { print $(NF - 1); exit }' "$work/out"; }

rows=()
for c in $CONCURRENCIES; do
	echo "== $TICKETS tickets, concurrency $c" >&2
	sim --tickets "$TICKETS" --concurrency "$c"
	rows+=("$(printf '%-28s %8s %11s %9s %9s %9s' "concurrency $c" "$TICKETS" "$(rate_of)" \
		"$(out latency p50)" "$(out latency p99)" "$(out latency max)")")
done

echo "== $EVENT_TICKETS tickets at $RATE/s, concurrency $EVENT_CONCURRENCY, measuring events" >&2
sim --tickets "$EVENT_TICKETS" --rate "$RATE" --concurrency "$EVENT_CONCURRENCY" --measure-events
rows+=("$(printf '%-28s %8s %11s %9s %9s %9s' "rate $RATE, POST" "$EVENT_TICKETS" "$(rate_of)" \
	"$(out latency p50)" "$(out latency p99)" "$(out latency max)")")
rows+=("$(printf '%-28s %8s %11s %9s %9s %9s' "rate $RATE, POST→SSE" "$(awk '$1 == "events" { print $2; exit }' "$work/out")" "" \
	"$(out events p50)" "$(out events p99)" "$(out events max)")")

stop_gateway

bench_header "passerelle till API"
printf '%-28s %8s %11s %9s %9s %9s\n' "run" "tickets" "tickets/s" "p50 ms" "p99 ms" "max ms"
printf '%s\n' "${rows[@]}"
