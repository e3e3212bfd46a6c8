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
#   8. servers (BENCH_SERVERS=1) tests/bench/servers_bench.py: create->ACTIVE p50/p99,
#                                   servers/s with 8 clients, deletes/s, detail of 1,000
#                                   servers p50/p99, GET /servers/{id} req/s at 16 connections,
#                                   one scheduling decision over 1,000 and 10,000 hosts
#   9. real guests (BENCH_VMS=1)  tests/bench/vm_bench.py: POST -> ACTIVE -> guest marker vs a
#                                   bare `virsh define && virsh start` of the same XML (ratio,
#                                   target <= 1.2), delete -> domain gone, five guests at once
#   7. images (BENCH_IMAGES=1)      fresh daemon with image quotas off (--config): a 1 GiB
#                                   upload (curl -T) and download (curl -o /dev/null) in MB/s,
#                                   each as a ratio to `cat FILE > /dev/null` of the same
#                                   (page-cached) file; daemon VmRSS growth during the upload
#                                   (50 ms samples); GET /v2/images?limit=1000 with 1,000
#                                   images, wrk -t2 -c4 (responses are ~570 kB)
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
#   BENCH_IMAGES       1 (default): run the image section; 0: skip it
#   BENCH_IMAGE_MIB    size of the upload/download test file in MiB (default 1024); the
#                      transfer part is skipped unless the temp dir has 3x that free
#   BENCH_IMAGE_CONNS  wrk connections for the image list (default 4, threads 2)
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
IMAGES=${BENCH_IMAGES:-1}
IMG_MIB=${BENCH_IMAGE_MIB:-1024}
IMG_CONNS=${BENCH_IMAGE_CONNS:-4}
IMG_LIST_N=1000      # images for the list benchmark
IMG_XFER_RUNS=3      # timed downloads / cat runs / reference-server runs (median)
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
SPID=""              # background VmRSS sampler (image upload)
CONF=""              # daemon --config file, when set (image section)

stop_sampler() {
	[ -n "$SPID" ] || return 0
	kill "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || true
	SPID=""
}
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
	stop_sampler
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
		NOVALITE_ADMIN_PASSWORD=$2 "$BIN" ${CONF:+--config "$CONF"} --state-dir "$STATE" --bind 127.0.0.1 --identity-port "$IPORT" \
			--compute-port "$CPORT" --image-port "$GPORT" --internal-port "$NPORT" --log-level "$1" >>"$TMP/daemon.log" 2>&1 &
	else
		env -u NOVALITE_ADMIN_PASSWORD "$BIN" ${CONF:+--config "$CONF"} --state-dir "$STATE" --bind 127.0.0.1 --identity-port "$IPORT" \
			--compute-port "$CPORT" --image-port "$GPORT" --internal-port "$NPORT" --log-level "$1" >>"$TMP/daemon.log" 2>&1 &
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
# The port is $WRK_PORT if set (image section), else the compute port.
run_wrk() {
	label=$1 t=$2 c=$3 d=$4 url=http://127.0.0.1:${WRK_PORT:-$CPORT}$5 tok=${6:-}
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
set -- $("$PY" "$LIB" ports 4)
IPORT=$1 CPORT=$2 GPORT=$3 NPORT=$4
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
"$PY" "$LIB" startup "$BIN" "$TMP" "$STATE" "$START_RUNS" "$IPORT" "$CPORT" "$GPORT" "$NPORT" "$PW" "$LOGLEVEL" >>"$RES" ||
	{ tail -n 20 "$TMP/startup.log" >&2; die "start-up measurement failed"; }

# ---- 7. images -------------------------------------------------------------------------
# A fresh daemon on its own state dir with image quotas off (1,000 images > the default
# 100). Transfer: one upload of an IMG_MIB file of random bytes (curl -T, streamed from
# disk), then downloads (curl -o /dev/null); both against `cat FILE > /dev/null` of the same
# file, measured right before, after warm reads, so all of them read from the page cache.
img_api() {  # img_api METHOD PATH [CURL ARGS...]: prints the HTTP status; body to $TMP/img.out
	m=$1 p=$2
	shift 2
	curl -sS -o "$TMP/img.out" -w '%{http_code}' -X "$m" -H "X-Auth-Token: $TOKEN" "$@" "http://127.0.0.1:$GPORT$p"
}
img_mbs() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", (t > 0 ? b / t / 1e6 : 0) }'; }
# VmRSS of the daemon every 50 ms into a file, until killed (builtins + sleep only).
rss_sampler() {
	while [ -r "/proc/$DPID/status" ]; do
		while read -r k v _; do case $k in VmRSS:) echo "$v" ;; esac; done <"/proc/$DPID/status"
		sleep 0.05
	done
}
if [ "$IMAGES" = 1 ]; then
	log "images: fresh daemon with [quota] image_count = -1, image_size_total = -1"
	own_ticks >"$TMP/own_i0"
	IOWN0=$(cat "$TMP/own_i0") IBUSY0=$(busy_ticks) IT0=$(date +%s)
	CONF=$TMP/images.conf
	printf '[quota]\nimage_count = -1\nimage_size_total = -1\n' >"$CONF"
	STATE=$TMP/istate
	start_daemon "$LOGLEVEL" "$PW"
	TOKEN=$("$PY" "$LIB" token "$IPORT" "$PW") || die "cannot get a token"
	rec IMG_MIB "$IMG_MIB"
	rec IMG_XFER_RUNS "$IMG_XFER_RUNS"
	need_kb=$((3 * IMG_MIB * 1024))
	free_kb=$(df -Pk "$TMP" | awk 'NR == 2 { print $4 }')
	rec IMG_DISK_FREE_MIB "$((free_kb / 1024))"
	rec IMG_FS "$(df -PT "$TMP" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }')"
	if [ "$free_kb" -lt "$need_kb" ]; then
		log "images: SKIPPING the ${IMG_MIB} MiB upload/download: $((free_kb / 1024)) MiB free in $TMP, need $((need_kb / 1024)) MiB"
		rec IMG_XFER_SKIPPED "only $((free_kb / 1024)) MiB free in $TMP, $((need_kb / 1024)) MiB needed"
	else
		IMG=$TMP/image.bin
		log "images: writing ${IMG_MIB} MiB of /dev/urandom to $IMG"
		head -c "$((IMG_MIB * 1048576))" /dev/urandom >"$IMG"
		SIZE=$(wc -c <"$IMG" | tr -d ' ')
		[ "$SIZE" = $((IMG_MIB * 1048576)) ] || die "image file has $SIZE bytes"
		rec IMG_BYTES "$SIZE"
		# Same work without HTTP (one thread): read 1 MiB, md5 + sha512, write, fsync.
		log "images: local equivalent (read + md5 + sha512 + write + fsync, Python hashlib)"
		"$PY" "$LIB" hashcopy "$IMG" "$TMP" >>"$RES" || die "hashcopy failed"

		# -- upload
		[ "$(img_api POST /v2/images -H 'Content-Type: application/json' \
			-d '{"name": "bench", "disk_format": "raw", "container_format": "bare"}')" = 201 ] ||
			{ cat "$TMP/img.out" >&2; die "image create failed"; }
		IID=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/img.out")
		log "images: cat ${IMG_XFER_RUNS}x (after a warm read), then upload of $IID"
		"$PY" "$LIB" catspeed IMG_CAT_UP "$IMG" "$IMG_XFER_RUNS" >>"$RES" || die "cat timing failed"
		rss0=$(vm VmRSS) hwm0=$(vm VmHWM)
		# Reset VmHWM to the current RSS (proc(5), clear_refs 5): then VmHWM after the upload
		# is the kernel's exact peak, which the 50 ms samples cross-check.
		if echo 5 >"/proc/$DPID/clear_refs" 2>/dev/null; then rec IMG_HWM_RESET 1; else rec IMG_HWM_RESET 0; fi
		rss_sampler >"$TMP/rss-upload.txt" &
		SPID=$!
		sleep 0.2
		cpu0=$(cpu_ticks)
		up=$(curl -sS -o "$TMP/img.out" -w '%{http_code} %{time_total} %{size_upload}' -T "$IMG" \
			-H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/octet-stream' \
			"http://127.0.0.1:$GPORT/v2/images/$IID/file") || die "upload: curl failed"
		cpu1=$(cpu_ticks)
		sleep 0.2
		stop_sampler
		alive
		# shellcheck disable=SC2086  # three fields, split on purpose
		set -- $up
		[ "$1" = 204 ] || { cat "$TMP/img.out" >&2; die "upload answered $1, expected 204"; }
		[ "$3" = "$SIZE" ] || die "upload sent $3 bytes of $SIZE"
		rec IMG_UP_S "$2"
		rec IMG_UP_MBS "$(img_mbs "$SIZE" "$2")"
		rec IMG_UP_CPU_S "$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')"
		rec IMG_RSS_BEFORE_KB "$rss0"
		rec IMG_RSS_PEAK_KB "$(sort -n "$TMP/rss-upload.txt" | tail -n 1)"
		rec IMG_RSS_SAMPLES "$(wc -l <"$TMP/rss-upload.txt" | tr -d ' ')"
		rec IMG_RSS_AFTER_KB "$(vm VmRSS)"
		rec IMG_HWM_BEFORE_KB "$hwm0"
		rec IMG_HWM_AFTER_KB "$(vm VmHWM)"
		[ "$(img_api GET "/v2/images/$IID")" = 200 ] || die "image show failed"
		"$PY" -c 'import json, sys
i = json.load(open(sys.argv[1]))
print("IMG_STATUS=%s\nIMG_SIZE=%s\nIMG_CHECKSUM=%s" % (i["status"], i["size"], i["checksum"]))' "$TMP/img.out" >>"$RES"
		if [ "$(field IMG_STATUS)" != active ] || [ "$(field IMG_SIZE)" != "$SIZE" ]; then
			die "uploaded image is $(field IMG_STATUS) with size $(field IMG_SIZE)"
		fi
		[ "$(field IMG_CHECKSUM)" = "$(field IMG_LOCAL_MD5)" ] || die "uploaded image checksum differs from the file's md5"

		# -- download: one warm-up, then IMG_XFER_RUNS timed (median)
		log "images: cat ${IMG_XFER_RUNS}x, download 1 + ${IMG_XFER_RUNS}x, reference sendfile server 1 + ${IMG_XFER_RUNS}x"
		"$PY" "$LIB" catspeed IMG_CAT_DOWN "$IMG" "$IMG_XFER_RUNS" >>"$RES" || die "cat timing failed"
		all="" r=0
		while [ $r -le $IMG_XFER_RUNS ]; do
			down=$(curl -sS -o /dev/null -w '%{http_code} %{time_total} %{size_download}' \
				-H "X-Auth-Token: $TOKEN" "http://127.0.0.1:$GPORT/v2/images/$IID/file") || die "download: curl failed"
			# shellcheck disable=SC2086  # three fields, split on purpose
			set -- $down
			if [ "$1" != 200 ] || [ "$3" != "$SIZE" ]; then die "download: HTTP $1, $3 bytes of $SIZE"; fi
			[ $r = 0 ] || all="$all $(img_mbs "$SIZE" "$2")"
			r=$((r + 1))
		done
		# shellcheck disable=SC2086  # space-separated numbers, split on purpose
		{
			rec IMG_DOWN_MBS "$(median $all)"
			rec IMG_DOWN_ALL "$(echo $all | tr ' ' ',')"
		}
		alive
		# The same file from a minimal sendfile() server (Python) to the same curl command.
		"$PY" "$LIB" loopback "$IMG" "$IMG_XFER_RUNS" >>"$RES" || die "reference sendfile server failed"
		[ "$(img_api DELETE "/v2/images/$IID")" = 204 ] || die "image delete failed"
		rm -f "$IMG"
	fi

	# -- list: IMG_LIST_N queued images (no data), then wrk
	log "images: creating $IMG_LIST_N images (one keep-alive connection)"
	"$PY" "$LIB" images "$GPORT" "$TOKEN" "$IMG_LIST_N" >>"$RES" || die "image creation failed"
	[ "$(field IMAGES_LISTED)" = "$IMG_LIST_N" ] || die "listed $(field IMAGES_LISTED) images, expected $IMG_LIST_N"
	rec IMG_CONNS "$IMG_CONNS"
	rec IMG_RSS_LIST_BEFORE_KB "$(vm VmRSS)"
	WRK_PORT=$GPORT
	log "/v2/images?limit=$IMG_LIST_N: ${WARMUP}s warm-up + ${DURATION}s wrk -t2 -c$IMG_CONNS"
	run_wrk warm_IMGLIST 2 "$IMG_CONNS" "$WARMUP" "/v2/images?limit=$IMG_LIST_N" "$TOKEN"
	run_wrk IMGLIST 2 "$IMG_CONNS" "$DURATION" "/v2/images?limit=$IMG_LIST_N" "$TOKEN"
	WRK_PORT=""
	rec IMG_RSS_LIST_AFTER_KB "$(vm VmRSS)"
	rec IMG_HWM_END_KB "$(vm VmHWM)"
	stop_daemon
	CONF=""
	own_ticks >"$TMP/own_i1"
	IBUSY1=$(busy_ticks) IOWN1=$(cat "$TMP/own_i1") IT1=$(date +%s)
	rec IMG_OTHER_CPU_S "$(awk -v b="$((IBUSY1 - IBUSY0))" -v o="$((IOWN1 - IOWN0))" -v hz="$CLK_TCK" \
		'BEGIN { x = (b - o) / hz; printf "%.1f", x < 0 ? 0 : x }')"
	rec IMG_WALL_S "$((IT1 - IT0))"
else
	rec IMG_SKIPPED "BENCH_IMAGES=$IMAGES"
fi

own_ticks >"$TMP/own1"
BUSY1=$(busy_ticks) OWN1=$(cat "$TMP/own1") T1=$(date +%s)
rec OTHER_CPU_S "$(awk -v b="$((BUSY1 - BUSY0))" -v o="$((OWN1 - OWN0))" -v hz="$CLK_TCK" \
	'BEGIN { x = (b - o) / hz; printf "%.1f", x < 0 ? 0 : x }')"
rec BENCH_WALL_S "$((T1 - T0))"

# ---- 8. servers (BENCH_SERVERS=1) -----------------------------------------------------
# Its own daemon with the embedded agent on the test driver and 10 fake hosts: create ->
# ACTIVE latency, 8 concurrent clients, deletes, detail of 1,000 servers, show at 16
# connections (wrk), and one scheduling decision over 1,000 / 10,000 hosts (sched-bench).
# After the CPU accounting above: this section's daemon is not "other load".
if [ "${BENCH_SERVERS:-1}" = 1 ]; then
	log "servers: lifecycle, lists, scheduler"
	SCHED_BIN=${NOVALITE_SCHED_BENCH_BIN:-$(dirname "$BIN")/sched-bench}
	[ -x "$SCHED_BIN" ] || die "$SCHED_BIN missing (make sched-bench)"
	"$PY" "$HERE/servers_bench.py" "$BIN" "$SCHED_BIN" "$TMP" "$LUA" >>"$RES" || die "servers benchmark failed"
fi

# ---- 9. real guests (BENCH_VMS=1) -------------------------------------------------------
# qemu:///system with the agent's own virt type choice: POST -> ACTIVE -> the guest's
# first console line, side by side with a bare `virsh define && virsh start` of the same
# XML; delete -> domain gone; five guests at once. tests/bench/vm_bench.py.
if [ "${BENCH_VMS:-1}" = 1 ]; then
	log "real guests: boot vs bare virsh, delete, five at once"
	"$PY" "$HERE/vm_bench.py" "$BIN" "$TMP" >>"$RES" || die "real-guest benchmark failed"
fi

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
