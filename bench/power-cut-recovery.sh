#!/usr/bin/env bash
# power-cut-recovery.sh times a gateway's restart after a power cut on a
# large data directory: it stores TICKETS tickets (bench/benchtool seed),
# then RUNS times starts the gateway, has 16 tills post to it, kills it
# with SIGKILL in the middle of that, and times the next start from the
# process's start to the first /healthz answered (benchtool startup). The
# WAL left by the kill is what that start recovers.
#
# Knobs (environment): TICKETS (default 100000), RUNS (default 3), PORT
# (default 18555). Not part of make bench (the seed takes a minute).
set -euo pipefail
cd "$(dirname "$0")/.."

TICKETS=${TICKETS:-100000}
RUNS=${RUNS:-3}
PORT=${PORT:-18555}

make -s build
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/benchtool" ./bench/benchtool
data="$work/data"
url="http://127.0.0.1:$PORT"
key=$(bin/passerelle till add Bench --data "$data" | tail -n 1)
echo "storing $TICKETS tickets…" >&2
"$work/benchtool" seed --data "$data" --tickets "$TICKETS" >/dev/null

for run in $(seq "$RUNS"); do
	bin/passerelle run --data "$data" --listen "127.0.0.1:$PORT" --no-tls >/dev/null 2>&1 &
	gw=$!
	for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
	timeout 30 bin/passerelle sim till --url "$url" --key "$key" --tickets 100000 --concurrency 16 >/dev/null 2>&1 &
	load=$!
	sleep 1.5 # let the load build a WAL: where the kill lands is what varies
	kill -9 "$gw"
	wait "$gw" 2>/dev/null || true
	kill "$load" 2>/dev/null || true
	wait "$load" 2>/dev/null || true
	wal=$(stat -c %s "$data/passerelle.db-wal" 2>/dev/null || echo 0)
	t=$("$work/benchtool" startup --bin bin/passerelle --data "$data" --runs 1 | awk '/median/ { print $3 }')
	printf 'run %d: WAL of %d bytes left by the kill, first answer %s ms after the restart\n' "$run" "$wal" "$t"
done
printf 'data directory: %s\n' "$(du -sh "$data" | cut -f1)"
