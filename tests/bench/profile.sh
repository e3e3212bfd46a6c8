#!/bin/sh
# Deterministic per-request cost of novalite-api, for finding and tracking what limits
# throughput (docs/performance.md, "Profile"). Wall-clock figures on a shared 2-core box
# swing with other load; instruction and system-call counts do not.
#
# For each route (compute port): GET /v2.1/flavors/detail, GET /v2.1/os-keypairs (0 key
# pairs), GET / (no token), it sends 50 warm-up requests, then N sequential requests over
# one keep-alive connection, and reports
#   instr/req    user-space instructions per request (valgrind --tool=callgrind, counters
#                zeroed after the warm-up with callgrind_control -z, dumped after the N)
#   syscalls/req and fcntl/req   (strace -f -c on a normal, unprofiled daemon)
# then the inclusive-cost tree of the flavors/detail run (top functions).
#
# Usage: sh tests/bench/profile.sh     (env NOVALITE_API_BIN, PROFILE_N (default 500),
#        PROFILE_OUT: keep the callgrind files in this directory)
# Needs valgrind, strace, /usr/bin/python3. Binds 127.0.0.1 only; takes about a minute.
# shellcheck disable=SC2317  # cleanup() runs from traps
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${NOVALITE_API_BIN:-$REPO/build/novalite-api}
N=${PROFILE_N:-500}
PY=/usr/bin/python3
LIB=$HERE/benchlib.py
PW="profile-pw-$$"
ROUTES="/v2.1/flavors/detail /v2.1/os-keypairs /"

die() { echo "profile: $*" >&2; exit 1; }
for tool in valgrind callgrind_control callgrind_annotate strace; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
[ -x "$BIN" ] || die "daemon binary $BIN not found (set NOVALITE_API_BIN or run make all)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/novalite-profile.XXXXXX")
DPID=""
stop_daemon() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null || true
	i=0
	while kill -0 "$DPID" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=""
}
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	stop_daemon
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck disable=SC2046  # four port numbers, split on purpose
set -- $("$PY" "$LIB" ports 4)
IPORT=$1 CPORT=$2 GPORT=$3 NPORT=$4

# start WRAPPER... : the daemon on a fresh state dir, log level warn, ready when openrc appears.
start() {
	rm -rf "$TMP/state"
	NOVALITE_ADMIN_PASSWORD=$PW "$@" "$BIN" --state-dir "$TMP/state" --bind 127.0.0.1 \
		--identity-port "$IPORT" --compute-port "$CPORT" --image-port "$GPORT" --internal-port "$NPORT" --log-level warn \
		>>"$TMP/daemon.log" 2>&1 &
	DPID=$!
	i=0
	until [ -f "$TMP/state/openrc" ]; do
		kill -0 "$DPID" 2>/dev/null || { tail -n 20 "$TMP/daemon.log" >&2; die "daemon died"; }
		[ $i -lt 600 ] || die "daemon not ready after 60 s"
		sleep 0.1
		i=$((i + 1))
	done
	TOKEN=$("$PY" "$LIB" token "$IPORT" "$PW")
}
token_for() { case "$1" in /) echo "" ;; *) echo "$TOKEN" ;; esac; }

echo "novalite-api per-request cost, $N sequential requests per route, --log-level warn"
echo "binary $BIN"
echo

# ---- instructions (callgrind) ------------------------------------------------------------
start valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.%p"
for path in $ROUTES; do
	tok=$(token_for "$path")
	"$PY" "$LIB" requests "$CPORT" "$path" "$tok" 50
	callgrind_control -z "$DPID" >/dev/null 2>&1
	"$PY" "$LIB" requests "$CPORT" "$path" "$tok" "$N"
	rm -f "$TMP/cg.$DPID."*
	callgrind_control -d "$DPID" >/dev/null 2>&1
	f=""
	for x in "$TMP/cg.$DPID."*; do [ -f "$x" ] && f=$x; done
	[ -n "$f" ] || die "no callgrind dump"
	name=$(echo "$path" | tr -c 'a-zA-Z0-9.\n' '_')
	mv "$f" "$TMP/route$name.cg"
	total=$(awk '/^(summary|totals):/ { print $2; exit }' "$TMP/route$name.cg")
	echo "$path $((total / N))" >>"$TMP/instr"
done
stop_daemon

# ---- system calls (strace) ---------------------------------------------------------------
start env
for path in $ROUTES; do
	tok=$(token_for "$path")
	"$PY" "$LIB" requests "$CPORT" "$path" "$tok" 50
	strace -f -c -p "$DPID" -o "$TMP/strace" 2>/dev/null &
	spid=$!
	sleep 1
	"$PY" "$LIB" requests "$CPORT" "$path" "$tok" "$N"
	kill -INT "$spid"
	wait "$spid" 2>/dev/null || true
	# strace -c rows: % time, seconds, usecs/call, calls, [errors], syscall
	awk -v p="$path" -v n="$N" '
		$NF ~ /^[a-z_0-9]+$/ && $1 ~ /^[0-9.]+$/ && $NF != "total" {
			calls = $4; all += calls; if ($NF == "fcntl") f = calls
			if (calls >= n / 2) list = list sprintf(" %s=%.1f", $NF, calls / n)
		}
		END { printf "%s %.1f %.1f%s\n", p, all / n, f / n, list }' "$TMP/strace" >>"$TMP/sys"
done
stop_daemon

printf '%-24s %12s %13s %10s   %s\n' route instr/req syscalls/req fcntl/req "syscalls (>= 0.5 per request)"
while read -r path instr; do
	line=$(awk -v p="$path" '$1 == p' "$TMP/sys")
	# shellcheck disable=SC2086  # split the awk line into fields on purpose
	set -- $line
	sc=$2 fc=$3
	shift 3
	printf '%-24s %12s %13s %10s  %s\n' "$path" "$instr" "$sc" "$fc" "$*"
done <"$TMP/instr"

echo
echo "Per request, inclusive instructions of the pipeline's main parts:"
printf '%-24s %12s %12s %12s %12s\n' route token-check sqlite3_step json_pack json_dumps
for f in "$TMP"/route*.cg; do
	path=$(awk -v f="$(basename "$f" .cg)" '{ n = $1; gsub(/[^a-zA-Z0-9.]/, "_", n); if ("route" n == f) print $1 }' "$TMP/instr")
	callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null | awk -v n="$N" -v p="$path" '
		function grab(key) { if (index($0, key) && !(key in v)) { c = $1; gsub(/,/, "", c); v[key] = c / n } }
		{ grab("auth_token_check"); grab(":sqlite3_step "); grab(":json_pack "); grab(":json_dumps ") }
		END { printf "%-24s %12d %12d %12d %12d\n", p, v["auth_token_check"], v[":sqlite3_step "],
			v[":json_pack "], v[":json_dumps "] }'
done

echo
echo "GET /v2.1/flavors/detail: inclusive instructions by function (share of the whole daemon)"
callgrind_annotate --inclusive=yes --threshold=99 "$TMP/route_v2.1_flavors_detail.cg" 2>/dev/null |
	awk '/^ *[0-9,]+ +\( *[0-9.]+%\)/ && !/PROGRAM TOTALS/ && !/\?\?\?:0x/ && !/clone|start_thread/ {
		line = $0; sub(/ \[.*\]$/, "", line)
		match(line, /^ *[0-9,]+/); cnt = substr(line, RSTART, RLENGTH); gsub(/ /, "", cnt)
		match(line, /\( *[0-9.]+%\)/); pct = substr(line, RSTART, RLENGTH); gsub(/ /, "", pct)
		n = split(line, a, " "); name = a[n]; sub(/.*\//, "", name)
		if (!seen[name]++) printf "%15s %9s  %s\n", cnt, pct, name }' | head -n 30
if [ -n "${PROFILE_OUT:-}" ]; then
	mkdir -p "$PROFILE_OUT"
	cp "$TMP"/route*.cg "$PROFILE_OUT"/
	echo "callgrind files kept in $PROFILE_OUT (callgrind_annotate --inclusive=yes FILE)"
fi
