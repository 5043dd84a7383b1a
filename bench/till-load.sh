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

cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/passerelle-bench.XXXXXX")
gw_pid=""
cleanup() {
	if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
		kill -TERM "$gw_pid" 2>/dev/null || true
		wait "$gw_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bin="$work/passerelle"
echo "building passerelle…" >&2
timeout 600 go build -o "$bin" ./cmd/passerelle

data="$work/data"
key=$(timeout 60 "$bin" till add "Bench" --data "$data" | tail -n 1)

timeout "$((RUN_TIMEOUT * 10))" "$bin" run --data "$data" --listen 127.0.0.1:0 --no-tls 2>"$work/gateway.log" &
gw_pid=$!
url=""
for _ in $(seq 300); do # 30 s at most
	url=$(sed -n 's/.*msg="passerelle started".* url=\([^ ]*\).*/\1/p' "$work/gateway.log")
	[ -n "$url" ] && break
	kill -0 "$gw_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$url" ]; then
	echo "the gateway did not start:" >&2
	cat "$work/gateway.log" >&2
	exit 1
fi
echo "gateway at $url, data in $data" >&2

# sim runs one `passerelle sim till` and keeps its summary in $work/out.
sim() {
	if ! PASSERELLE_TILL_KEY="$key" timeout "$RUN_TIMEOUT" "$bin" sim till --url "$url" "$@" >"$work/out" 2>"$work/err"; then
		echo "sim till $* failed:" >&2
		cat "$work/out" "$work/err" >&2
		tail -n 20 "$work/gateway.log" >&2
		exit 1
	fi
	cat "$work/out" >&2
}

# field prints the value after word $2 on the summary line starting with $1.
field() {
	awk -v line="$1" -v word="$2" '$1 == line { for (i = 2; i < NF; i++) if ($i == word) { print $(i + 1); exit } }' "$work/out"
}
rate_of() { awk '$1 == "tickets" { print $(NF - 1); exit }' "$work/out"; }

rows=()
for c in $CONCURRENCIES; do
	echo "== $TICKETS tickets, concurrency $c" >&2
	sim --tickets "$TICKETS" --concurrency "$c"
	rows+=("$(printf '%-28s %8s %11s %9s %9s %9s' "concurrency $c" "$TICKETS" "$(rate_of)" \
		"$(field latency p50)" "$(field latency p99)" "$(field latency max)")")
done

echo "== $EVENT_TICKETS tickets at $RATE/s, concurrency $EVENT_CONCURRENCY, measuring events" >&2
sim --tickets "$EVENT_TICKETS" --rate "$RATE" --concurrency "$EVENT_CONCURRENCY" --measure-events
rows+=("$(printf '%-28s %8s %11s %9s %9s %9s' "rate $RATE, POST" "$EVENT_TICKETS" "$(rate_of)" \
	"$(field latency p50)" "$(field latency p99)" "$(field latency max)")")
rows+=("$(printf '%-28s %8s %11s %9s %9s %9s' "rate $RATE, POST→SSE" "$(awk '$1 == "events" { print $2; exit }' "$work/out")" "" \
	"$(field events p50)" "$(field events p99)" "$(field events max)")")

kill -TERM "$gw_pid"
wait "$gw_pid" || true
gw_pid=""

echo
echo "passerelle till API, $(date -u +%Y-%m-%dT%H:%MZ), $(go env GOOS)/$(go env GOARCH), $(nproc) CPUs, $(go version | awk '{print $3}')"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
printf '%-28s %8s %11s %9s %9s %9s\n' "run" "tickets" "tickets/s" "p50 ms" "p99 ms" "max ms"
printf '%s\n' "${rows[@]}"
