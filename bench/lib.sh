# lib.sh is sourced by the bench scripts: a work directory removed at exit,
# the binaries built into it, gateways started on 127.0.0.1 over plain HTTP
# with a data directory of their own, and every process the script started
# stopped at exit, by its PID.
#
# A script calls bench_init first; it then has $work, $bin (passerelle)
# and $tool (bench/benchtool).

bench_pids=()

bench_cleanup() {
	local pid
	for pid in "${bench_pids[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for pid in "${bench_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}

bench_init() {
	cd "$(dirname "$0")/.."
	work=$(mktemp -d "${TMPDIR:-/tmp}/passerelle-bench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	bin="$work/passerelle"
	tool="$work/benchtool"
	echo "building passerelle and benchtool…" >&2
	timeout 600 go build -o "$bin" ./cmd/passerelle
	timeout 600 go build -o "$tool" ./bench/benchtool
}

# bench_track PID: the process is stopped at exit if it still runs.
bench_track() { bench_pids+=("$1"); }

# start_gateway DATA: starts `passerelle run` on DATA, listening on a free
# loopback port; sets gw_pid and url (http://127.0.0.1:PORT/). Its log is
# DATA.log.
start_gateway() {
	local data=$1 log="$1.log"
	# GATEWAY_ARGS: more flags for `passerelle run` (--coalesce).
	# shellcheck disable=SC2086
	timeout 3600 "$bin" run --data "$data" --listen 127.0.0.1:0 --no-tls ${GATEWAY_ARGS:-} 2>"$log" &
	gw_pid=$!
	bench_track "$gw_pid"
	url=""
	for _ in $(seq 300); do # 30 s at most
		url=$(sed -n 's/.*msg="passerelle started".* url=\([^ ]*\).*/\1/p' "$log")
		[ -n "$url" ] && break
		kill -0 "$gw_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$url" ]; then
		echo "the gateway did not start:" >&2
		cat "$log" >&2
		exit 1
	fi
	echo "gateway $gw_pid at $url, data in $data" >&2
}

# The PID `timeout` started is timeout's own: the gateway is its child.
# gateway_pid prints the PID of the passerelle process itself, for /proc.
gateway_pid() {
	local child
	child=$(cat "/proc/$gw_pid/task/$gw_pid/children" 2>/dev/null | awk '{print $1}')
	echo "${child:-$gw_pid}"
}

stop_gateway() {
	kill -TERM "$gw_pid" 2>/dev/null || true
	wait "$gw_pid" 2>/dev/null || true
}

# field FILE LINE WORD prints the value after WORD on the line of FILE that
# starts with LINE.
field() {
	awk -v line="$2" -v word="$3" '$1 == line { for (i = 2; i < NF; i++) if ($i == word) { print $(i + 1); exit } }' "$1"
}

# bench_header TITLE prints what the figures were measured on.
bench_header() {
	echo
	echo "$1, $(date -u +%Y-%m-%dT%H:%MZ), $(go env GOOS)/$(go env GOARCH), $(nproc) CPUs, $(go version | awk '{print $3}')"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
}

# verdict VALUE LIMIT prints ok when VALUE < LIMIT, else MISSED.
verdict() {
	awk -v v="$1" -v l="$2" 'BEGIN { if (v == "" || v == "-") print "?"; else if (v + 0 < l + 0) print "ok"; else print "MISSED" }'
}
