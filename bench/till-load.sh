#!/usr/bin/env bash
# till-load.sh measures the till API under load on this machine: it builds
# passerelle, starts a gateway over plain HTTP on 127.0.0.1 with a fresh
# data directory, creates a till key, then runs `passerelle sim till`
#   - as fast as the gateway answers, at each concurrency in CONCURRENCIES;
#   - at a fixed rate while following the event stream, for the POST→SSE
#     delivery latency;
#   - when wrk is installed (apt-get install wrk), wrk at the same
#     concurrencies for WRK_SECONDS, posting the same generator's tickets
#     (bench/till-post.lua): the external figure our own tool must stay
#     within 10 % of;
# stops the gateway and prints a table. "gw µs/t" is the gateway's CPU
# (user + system) per ticket: on a box shared with other work the rate
# moves with the neighbours, the CPU per ticket much less.
#
# Knobs (environment): TICKETS (per concurrency, default 5000),
# CONCURRENCIES (default "1 16 64"), RATE (default 1000 tickets/s),
# EVENT_TICKETS (default 5000), EVENT_CONCURRENCY (default 16),
# RUN_TIMEOUT (seconds per run, default 300), WRK_SECONDS (default 5;
# 0 skips wrk).
#
# Usage: bench/till-load.sh
set -euo pipefail

TICKETS=${TICKETS:-5000}
CONCURRENCIES=${CONCURRENCIES:-"1 16 64"}
RATE=${RATE:-1000}
EVENT_TICKETS=${EVENT_TICKETS:-5000}
EVENT_CONCURRENCY=${EVENT_CONCURRENCY:-16}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
WRK_SECONDS=${WRK_SECONDS:-5}

. "$(dirname "$0")/lib.sh"
bench_init

data="$work/data"
key=$(timeout 60 "$bin" till add "Bench" --data "$data" | tail -n 1)
start_gateway "$data"
gpid=$(gateway_pid)

# gw_ticks prints the gateway's CPU time so far, in clock ticks (1/100 s).
gw_ticks() { awk '{ print $14 + $15 }' "/proc/$gpid/stat"; }
# per_ticket T0 N prints the gateway's CPU per ticket since T0, in µs.
per_ticket() { awk -v t0="$1" -v t1="$(gw_ticks)" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", (t1 - t0) * 1e4 / n }'; }

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
	t0=$(gw_ticks)
	sim --tickets "$TICKETS" --concurrency "$c"
	rows+=("$(printf '%-28s %8s %11s %9s %9s %9s %8s' "concurrency $c" "$TICKETS" "$(rate_of)" \
		"$(out latency p50)" "$(out latency p99)" "$(out latency max)" "$(per_ticket "$t0" "$TICKETS")")")
	if [ "$WRK_SECONDS" -gt 0 ] && command -v wrk >/dev/null; then
		echo "== wrk, ${WRK_SECONDS}s, concurrency $c" >&2
		# More tickets than wrk can post in the time, each posted once.
		"$tool" tickets --count $((WRK_SECONDS * 20000)) --seed "$c" >"$work/tickets"
		t0=$(gw_ticks)
		TICKETS="$work/tickets" timeout "$RUN_TIMEOUT" wrk -t1 -c"$c" -d"${WRK_SECONDS}s" -s bench/till-post.lua \
			-H "Authorization: Bearer $key" "${url%/}/api/v1/tickets" >"$work/wrk" 2>&1
		cat "$work/wrk" >&2
		w() { field "$work/wrk" wrk-summary "$1"; }
		rows+=("$(printf '%-28s %8s %11s %9s %9s %9s %8s' "wrk, concurrency $c" "$(w requests)" "$(w rate)" \
			"$(w p50)" "$(w p99)" "$(w max)" "$(per_ticket "$t0" "$(w requests)")")")
		if [ "$(w errors)" != 0 ]; then
			echo "wrk: $(w errors) answers were not 201" >&2
			exit 1
		fi
	fi
done

echo "== $EVENT_TICKETS tickets at $RATE/s, concurrency $EVENT_CONCURRENCY, measuring events" >&2
sim --tickets "$EVENT_TICKETS" --rate "$RATE" --concurrency "$EVENT_CONCURRENCY" --measure-events
rows+=("$(printf '%-28s %8s %11s %9s %9s %9s' "rate $RATE, POST" "$EVENT_TICKETS" "$(rate_of)" \
	"$(out latency p50)" "$(out latency p99)" "$(out latency max)")")
rows+=("$(printf '%-28s %8s %11s %9s %9s %9s' "rate $RATE, POST→SSE" "$(awk '$1 == "events" { print $2; exit }' "$work/out")" "" \
	"$(out events p50)" "$(out events p99)" "$(out events max)")")

stop_gateway

bench_header "passerelle till API"
printf '%-28s %8s %11s %9s %9s %9s %8s\n' "run" "tickets" "tickets/s" "p50 ms" "p99 ms" "max ms" "gw µs/t"
printf '%s\n' "${rows[@]}"
