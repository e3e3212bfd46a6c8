#!/bin/sh
# novalite benchmark (`make bench`). POSIX sh; needs wrk, curl, ssh-keygen, /usr/bin/python3.
#
# Starts novalite-api on free 127.0.0.1 ports in a temporary state dir and measures:
#   1. GET /v2.1/flavors/detail     wrk -t2 -c16, 2 s warm-up + 10 s       (req/s, p50, p99)
#   2. GET /v2.1/os-keypairs        same, after creating 10 ed25519 key pairs
#   3. token check cost             wrk -t1 -c1 mean latency: GET / (no token) vs
#                                   GET /v2.1/os-keypairs with 0 key pairs (token), subtracted
#   4. token issue / validate       sequential Python http.client loops (p50, p99)
#   5. RSS                          VmRSS idle after start, VmRSS and VmHWM after the load
#   6. start-up                     exec -> first 200 on GET /, fresh and existing state dir
# Prints a report and writes it to $BENCH_OUT. Method and figures: docs/performance.md.
#
# Environment:
#   NOVALITE_API_BIN   daemon binary (default <repo>/build/novalite-api)
#   BENCH_OUT          report file (default /tmp/novalite-bench.txt)
#   BENCH_LOG_LEVEL    daemon --log-level for the main run (default info: one access-log
#                      line per request, written to a file in the temp dir)
#   BENCH_DURATION     measured seconds per throughput run (default 10)
#   BENCH_WARMUP       warm-up seconds before each throughput run (default 2)
#   BENCH_COMPARE_LOG  1 (default): also run flavors/detail once with --log-level warn
#   BENCH_STRICT       1: exit 3 when a target is missed (default: report only)
#   BENCH_KEEP         1: keep the temp dir (daemon logs, wrk output) for inspection
# shellcheck disable=SC2317  # cleanup() and friends run from traps
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${NOVALITE_API_BIN:-$REPO/build/novalite-api}
OUT=${BENCH_OUT:-/tmp/novalite-bench.txt}
LOGLEVEL=${BENCH_LOG_LEVEL:-info}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
COMPARE_LOG=${BENCH_COMPARE_LOG:-1}
PY=/usr/bin/python3
LIB=$HERE/benchlib.py
LUA=$HERE/wrk_report.lua
TC_ROUNDS=3          # token-check: alternating rounds per route
TC_DURATION=3        # seconds per token-check round
START_RUNS=5
PW="bench-pw-$$-$(date +%s)"

die() { echo "bench: $*" >&2; exit 1; }

for tool in wrk curl ssh-keygen; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (make test-deps installs it)"
done
[ -x "$PY" ] || die "$PY not found"
[ -x "$BIN" ] || die "daemon binary $BIN not found or not executable (set NOVALITE_API_BIN or run make all)"
case "$BIN" in /*) ;; *) BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN") ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/novalite-bench.XXXXXX")
STATE=$TMP/state
RES=$TMP/results.env
DPID=""

stop_daemon() {
	[ -n "$DPID" ] || return 0
	if kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		i=0
		while kill -0 "$DPID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -0 "$DPID" 2>/dev/null && { echo "bench: daemon ignored SIGTERM, killing" >&2; kill -KILL "$DPID" 2>/dev/null || true; }
	fi
	wait "$DPID" 2>/dev/null || true
	DPID=""
}
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	stop_daemon
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $TMP" >&2; else rm -rf "$TMP"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rec() { echo "$1=$2" >>"$RES"; }
log() { echo "bench: $*" >&2; }
alive() { kill -0 "$DPID" 2>/dev/null || { tail -n 20 "$TMP/daemon.log" >&2; die "daemon died (log above)"; }; }

# start_daemon LOGLEVEL [PASSWORD]: starts on $STATE and waits for openrc (the ready signal).
start_daemon() {
	if [ -n "${2:-}" ]; then
		NOVALITE_ADMIN_PASSWORD=$2 "$BIN" --state-dir "$STATE" --bind 127.0.0.1 --identity-port "$IPORT" \
			--compute-port "$CPORT" --image-port "$GPORT" --log-level "$1" >>"$TMP/daemon.log" 2>&1 &
	else
		env -u NOVALITE_ADMIN_PASSWORD "$BIN" --state-dir "$STATE" --bind 127.0.0.1 --identity-port "$IPORT" \
			--compute-port "$CPORT" --image-port "$GPORT" --log-level "$1" >>"$TMP/daemon.log" 2>&1 &
	fi
	DPID=$!
	# Ready = openrc written. On a restart the old openrc is still there until the daemon
	# unlinks it (before it listens), so also require an answer on the compute port.
	i=0
	while [ ! -f "$STATE/openrc" ] ||
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CPORT/")" != 200 ]; do
		alive
		[ $i -lt 300 ] || die "daemon not ready after 30 s"
		sleep 0.1
		i=$((i + 1))
	done
}

vm() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DPID/status"; }

# Daemon CPU time (user + system) so far, in clock ticks (fields 14, 15 of /proc/PID/stat).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DPID/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK)

# run_wrk LABEL THREADS CONNS SECONDS PATH [TOKEN]: records LABEL_<field> from wrk_report.lua,
# plus LABEL_cpu_us_per_req: the daemon's own CPU time per request during the run.
run_wrk() {
	label=$1 t=$2 c=$3 d=$4 url=http://127.0.0.1:$CPORT$5 tok=${6:-}
	cpu0=$(cpu_ticks)
	if [ -n "$tok" ]; then
		wrk -t"$t" -c"$c" -d"${d}s" --latency -s "$LUA" -H "X-Auth-Token: $tok" "$url" >"$TMP/wrk-$label.txt" 2>&1 ||
			{ cat "$TMP/wrk-$label.txt" >&2; die "wrk failed"; }
	else
		wrk -t"$t" -c"$c" -d"${d}s" --latency -s "$LUA" "$url" >"$TMP/wrk-$label.txt" 2>&1 ||
			{ cat "$TMP/wrk-$label.txt" >&2; die "wrk failed"; }
	fi
	cpu1=$(cpu_ticks)
	line=$(grep '^WRKRESULT ' "$TMP/wrk-$label.txt") || { cat "$TMP/wrk-$label.txt" >&2; die "no wrk result"; }
	for kv in ${line#WRKRESULT }; do rec "${label}_${kv%%=*}" "${kv#*=}"; done
	n=$(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/')
	rec "${label}_cpu_us_per_req" "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" -v hz="$CLK_TCK" \
		'BEGIN { printf "%.1f", n ? (b - a) * 1e6 / hz / n : 0 }')"
	rec "${label}_cpu_cores" "$(awk -v a="$cpu0" -v b="$cpu1" -v d="$d" -v hz="$CLK_TCK" \
		'BEGIN { printf "%.2f", (b - a) / hz / d }')"
	bad=$(echo "$line" | sed 's/.*non2xx3xx=\([0-9]*\).*/\1/')
	[ "$bad" = 0 ] || { cat "$TMP/wrk-$label.txt" >&2; die "$label: $bad non-2xx responses"; }
	sockerr=$(echo "$line" | sed 's/.*sockerr=\([0-9]*\).*/\1/')
	[ "$sockerr" = 0 ] || log "warning: $label: $sockerr socket errors"
	alive
}
field() { sed -n "s/^$1=//p" "$RES" | tail -n 1; }

# throughput LABEL PATH TOKEN: warm-up run (discarded) then the measured run.
throughput() {
	log "$2: ${WARMUP}s warm-up + ${DURATION}s wrk -t2 -c16"
	run_wrk "warm_$1" 2 16 "$WARMUP" "$2" "$3"
	run_wrk "$1" 2 16 "$DURATION" "$2" "$3"
}

check_200() {  # check_200 PATH [TOKEN]
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: ${2:-}" "http://127.0.0.1:$CPORT$1")
	[ "$code" = 200 ] || die "GET $1 answered $code, expected 200"
}

# Other load on the machine skews every figure: sample it before starting, and at the end
# compare the machine's busy CPU time with what this script and its children used.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 }' /proc/stat; }
# This shell and its waited-for children (daemons, wrk, python): times(1), which must run
# in this shell (not in a $(...) subshell), hence the file.
own_ticks() {
	times >"$TMP/times"
	awk -v hz="$CLK_TCK" '{ for (i = 1; i <= NF; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } }
		END { printf "%d", t * hz }' "$TMP/times"
}
: >"$RES"
b0=$(busy_ticks)
sleep 1
rec IDLE_BUSY_PCT "$(awk -v a="$b0" -v b="$(busy_ticks)" -v hz="$CLK_TCK" -v n="$(nproc)" \
	'BEGIN { printf "%.0f", (b - a) * 100 / hz / n }')"
own_ticks >"$TMP/own0"
BUSY0=$(busy_ticks) OWN0=$(cat "$TMP/own0") T0=$(date +%s)
rec DATE "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
rec BIN "$BIN (built $(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ))"
rec GIT "$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$REPO" && git diff --quiet HEAD 2>/dev/null || echo ' (+uncommitted changes)')"
rec NPROC "$(nproc)"
rec CPU "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
rec MEM_MIB "$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
rec KERNEL "$(uname -r)"
rec WRK_VERSION "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
rec LOGLEVEL "$LOGLEVEL"
rec WARMUP_S "$WARMUP"
rec DURATION_S "$DURATION"
rec TC_ROUNDS "$TC_ROUNDS"
rec TC_DURATION_S "$TC_DURATION"
rec START_RUNS "$START_RUNS"
rec ARGON_MIB "$("$BIN" --print-sample-config | awk -F'= *' '/password_hash_memlimit_kib/ { printf "%d", $2 / 1024 }')"

# shellcheck disable=SC2046  # three port numbers, split on purpose
set -- $("$PY" "$LIB" ports 3)
IPORT=$1 CPORT=$2 GPORT=$3
log "binary $BIN; ports identity $IPORT compute $CPORT image $GPORT; temp dir $TMP"

# ---- start, idle RSS -------------------------------------------------------------------
start_daemon "$LOGLEVEL" "$PW"
sleep 1
alive
rec RSS_IDLE_KB "$(vm VmRSS)"
TOKEN=$("$PY" "$LIB" token "$IPORT" "$PW") || die "cannot get a token"
[ -n "$TOKEN" ] || die "empty token"

# ---- 3. token check cost (before any key pair exists) -----------------------------------
check_200 /
check_200 /v2.1/os-keypairs "$TOKEN"
[ "$(curl -s -H "X-Auth-Token: $TOKEN" "http://127.0.0.1:$CPORT/v2.1/os-keypairs")" = '{"keypairs":[]}' ] ||
	die "expected no key pairs yet"
log "token check cost: ${TC_ROUNDS} x ${TC_DURATION}s alternating wrk -t1 -c1 rounds per route"
run_wrk tcwarm_base 1 1 1 /
run_wrk tcwarm_auth 1 1 1 /v2.1/os-keypairs "$TOKEN"
base_all="" auth_all="" base_cpu="" auth_cpu=""
r=1
while [ $r -le $TC_ROUNDS ]; do
	run_wrk "tc_base$r" 1 1 "$TC_DURATION" /
	run_wrk "tc_auth$r" 1 1 "$TC_DURATION" /v2.1/os-keypairs "$TOKEN"
	base_all="$base_all $(field "tc_base${r}_mean_us")"
	auth_all="$auth_all $(field "tc_auth${r}_mean_us")"
	base_cpu="$base_cpu $(field "tc_base${r}_cpu_us_per_req")"
	auth_cpu="$auth_cpu $(field "tc_auth${r}_cpu_us_per_req")"
	r=$((r + 1))
done
median() { "$PY" -c 'import sys, statistics; print("%.2f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }
# shellcheck disable=SC2086  # the lists are space-separated numbers, split on purpose
{
	rec TC_BASE_MEAN_US "$(median $base_all)"
	rec TC_AUTH_MEAN_US "$(median $auth_all)"
	rec TC_BASE_ALL "$(echo $base_all | tr ' ' ',')"
	rec TC_AUTH_ALL "$(echo $auth_all | tr ' ' ',')"
	rec TC_BASE_CPU_US "$(median $base_cpu)"
	rec TC_AUTH_CPU_US "$(median $auth_cpu)"
}

# ---- 1. flavors/detail ------------------------------------------------------------------
check_200 /v2.1/flavors/detail "$TOKEN"
throughput FLAVORS /v2.1/flavors/detail "$TOKEN"

# ---- 2. os-keypairs with 10 key pairs --------------------------------------------------
mkdir "$TMP/keys"
"$PY" "$LIB" keypairs "$CPORT" "$TOKEN" 10 "$TMP/keys" >>"$RES" || die "key pair creation failed"
throughput KEYPAIRS /v2.1/os-keypairs "$TOKEN"

# ---- 4. token issue / validate ---------------------------------------------------------
log "token issue (50, sequential) and validate (2000, sequential)"
"$PY" "$LIB" tokens "$IPORT" "$PW" 50 2000 >>"$RES" || die "token latency run failed"
alive

# ---- 5. RSS after the load -------------------------------------------------------------
rec RSS_AFTER_KB "$(vm VmRSS)"
rec RSS_PEAK_KB "$(vm VmHWM)"
stop_daemon

# ---- logging cost: flavors/detail again with --log-level warn ---------------------------
if [ "$COMPARE_LOG" = 1 ] && [ "$LOGLEVEL" != warn ]; then
	log "restart with --log-level warn for a logging-cost comparison"
	start_daemon warn
	throughput FLAVORS_WARN /v2.1/flavors/detail "$TOKEN"
	stop_daemon
fi

# ---- 6. start-up time ------------------------------------------------------------------
log "start-up: ${START_RUNS} fresh, ${START_RUNS} existing, ${START_RUNS} existing with password env"
"$PY" "$LIB" startup "$BIN" "$TMP" "$STATE" "$START_RUNS" "$IPORT" "$CPORT" "$GPORT" "$PW" "$LOGLEVEL" >>"$RES" ||
	{ tail -n 20 "$TMP/startup.log" >&2; die "start-up measurement failed"; }

own_ticks >"$TMP/own1"
BUSY1=$(busy_ticks) OWN1=$(cat "$TMP/own1") T1=$(date +%s)
rec OTHER_CPU_S "$(awk -v b="$((BUSY1 - BUSY0))" -v o="$((OWN1 - OWN0))" -v hz="$CLK_TCK" \
	'BEGIN { x = (b - o) / hz; printf "%.1f", x < 0 ? 0 : x }')"
rec BENCH_WALL_S "$((T1 - T0))"

# ---- report ----------------------------------------------------------------------------
set +e
"$PY" "$LIB" report "$RES" >"$TMP/report.txt"
rc=$?
set -e
[ -s "$TMP/report.txt" ] || die "report failed"
cat "$TMP/report.txt"
cp "$TMP/report.txt" "$OUT"
echo "bench: report written to $OUT" >&2
exit $rc
