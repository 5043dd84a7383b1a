#!/usr/bin/env bash
# hub-load.sh measures upstream sync on this machine: it builds passerelle
# and bench/hubload, starts `passerelle hub run` (SQLite, plain HTTP on
# 127.0.0.1) and
#   - ingest: SHOPS shops push EVENTS events each, all at once, in batches
#     of 500 (about 1.5 KB an event, a paid ticket), as gateways do;
#   - catch-up: a gateway that was offline while a till posted CATCHUP
#     tickets (one event each) is given the hub with `passerelle upstream
#     set`: the time until `passerelle upstream status` says ok with an
#     empty queue;
#   - idle: the same gateway, idle, through a counting proxy for IDLE
#     seconds: the requests it makes (the pull's long poll);
# then prints a table.
#
# Knobs (environment): SHOPS (default 50), EVENTS (per shop, default 4000),
# CATCHUP (default 20000), IDLE (seconds, default 60), RUN_TIMEOUT
# (seconds per step, default 600), PG=1 for the hub on PostgreSQL: a
# private cluster made with initdb in the work directory (as the postgres
# user when run as root), on a free loopback port.
#
# Usage: bench/hub-load.sh
set -euo pipefail

SHOPS=${SHOPS:-50}
EVENTS=${EVENTS:-4000}
CATCHUP=${CATCHUP:-20000}
IDLE=${IDLE:-60}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}

. "$(dirname "$0")/lib.sh"
bench_init
hubload="$work/hubload"
timeout 600 go build -o "$hubload" ./bench/hubload

hubdata="$work/hub"
engine=SQLite
dbflags=()
if [ "${PG:-}" = 1 ]; then
	pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)")
	[ -x "$pgbin/initdb" ] || { echo "PG=1 needs PostgreSQL (the postgresql package)" >&2; exit 1; }
	pg="$work/pg"
	mkdir -p "$pg"
	asuser=()
	if [ "$(id -u)" = 0 ]; then chmod 755 "$work"; chown postgres "$pg"; asuser=(runuser -u postgres --); fi
	pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
	"${asuser[@]}" "$pgbin/initdb" -D "$pg/data" -U postgres -A trust -E UTF8 >/dev/null
	"${asuser[@]}" "$pgbin/pg_ctl" -D "$pg/data" -o "-p $pgport -k $pg -c listen_addresses=127.0.0.1 -c max_connections=200" -l "$pg/log" -w start >/dev/null
	trap '"${asuser[@]}" "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1; bench_cleanup' EXIT
	dbflags=(--database "postgres://postgres@127.0.0.1:$pgport/postgres?sslmode=disable")
	engine="PostgreSQL $(basename "$(dirname "$pgbin")")"
fi
timeout 3600 "$bin" hub run --data "$hubdata" --listen 127.0.0.1:0 --no-tls "${dbflags[@]}" 2>"$hubdata.log" &
hub_pid=$!
bench_track "$hub_pid"
huburl=""
for _ in $(seq 300); do # 30 s at most
	[ -f "$hubdata.log" ] && huburl=$(sed -n 's/.*msg="passerelle hub started".* url=\([^ ]*\).*/\1/p' "$hubdata.log")
	[ -n "$huburl" ] && break
	kill -0 "$hub_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$huburl" ] || { echo "the hub did not start:" >&2; cat "$hubdata.log" >&2; exit 1; }
huburl=${huburl%/}
echo "hub at $huburl" >&2

# store_add prints "store_id key" of a new shop.
store_add() {
	timeout 60 "$bin" hub store add "$1" --json --data "$hubdata" "${dbflags[@]}" |
		sed -E 's/.*"key":"([^"]+)".*"store_id":"([^"]+)".*/\2 \1/'
}

echo "== ingest: $SHOPS shops × $EVENTS events" >&2
: >"$work/keys"
for i in $(seq "$SHOPS"); do store_add "Boutique $i" >>"$work/keys"; done
timeout "$RUN_TIMEOUT" "$hubload" push --url "$huburl" --keys "$work/keys" --events "$EVENTS" | tee "$work/ingest" >&2
ingest_rate=$(field "$work/ingest" events rate)
ingest_p99=$(awk '{for (i = 1; i < NF; i++) if ($i == "p99") print $(i + 1)}' "$work/ingest")
db_size=$( (du -sh "$hubdata" 2>/dev/null || echo -) | cut -f1)

echo "== catch-up: $CATCHUP events queued while offline" >&2
data="$work/data"
key=$(timeout 60 "$bin" till add "Bench" --data "$data" | tail -n 1)
start_gateway "$data"
PASSERELLE_TILL_KEY="$key" timeout "$RUN_TIMEOUT" "$bin" sim till --url "$url" --tickets "$CATCHUP" --concurrency 16 >"$work/out" 2>"$work/err" ||
	{ cat "$work/out" "$work/err" >&2; exit 1; }
read -r sid skey < <(store_add "Chez Julie")
# status_field NAME prints a field of `passerelle upstream status --json`.
status_field() {
	timeout 60 "$bin" upstream status --json --data "$data" | sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\).*/\1/p"
}
queued=$(status_field queue)
t0=$(date +%s.%N)
echo "$skey" | timeout 60 "$bin" upstream set --data "$data" --url "$huburl" --store "$sid" --key-stdin >&2
caught=""
for _ in $(seq $((RUN_TIMEOUT * 10))); do
	if [ "$(status_field queue)" = 0 ] && [ "$(status_field state)" = ok ]; then
		caught=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
		break
	fi
	sleep 0.1
done
[ -n "$caught" ] || { echo "the gateway did not catch up" >&2; tail -20 "$data.log" >&2; exit 1; }

echo "== idle: $IDLE s through a counting proxy" >&2
timeout $((IDLE + 60)) "$hubload" proxy --to "$huburl" --for "${IDLE}s" --ready "$work/proxy" >"$work/idle" &
proxy_pid=$!
bench_track "$proxy_pid"
for _ in $(seq 100); do [ -s "$work/proxy" ] && break; sleep 0.1; done
echo "$skey" | timeout 60 "$bin" upstream set --data "$data" --url "$(cat "$work/proxy")" --store "$sid" --key-stdin >&2
wait "$proxy_pid"
idle=$(cat "$work/idle")

stop_gateway
goal=20000
[ "${PG:-}" = 1 ] && goal=50000
bench_header "passerelle hub ($engine)"
printf '%-34s %s\n' "ingest, $SHOPS shops at once" "$ingest_rate events/s (batch p99 $ingest_p99 ms; goal ≥ $goal: $(verdict "$goal" "$ingest_rate"))"
[ "${PG:-}" = 1 ] || printf '%-34s %s\n' "hub data after ingest" "$db_size"
printf '%-34s %s\n' "catch-up of $queued events" "${caught} s (goal < 10 s: $(verdict "$caught" 10))"
printf '%-34s %s\n' "idle gateway, $IDLE s" "$idle (the connection test of upstream set is one POST events)"
