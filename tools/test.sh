#!/bin/sh
# `make test`: build (release and AddressSanitizer + UBSan), C unit tests on both builds,
# a short run of every fuzz target, the integration tests (real clients) once, against the
# sanitizer build, in parallel by file, and the Tempest conformance gate against the
# release build. Prints each runner's summary line, each stage's time, and fails if any
# stage failed.
#
# Why this shape (docs/testing.md): the integration suite used to run
# twice (release, then ASan) one file at a time: 34 minutes on a 2-core machine, with CI's
# limit at 90 and the suite about to double. Running it once under the sanitizers keeps
# what the second run found (memory errors, UB, leaks on exit) and pytest-xdist spreads the
# files over NOVALITE_TEST_JOBS workers (default 2, with the real-guest files in a third
# pytest beside them: most of a test's time is spent waiting
# on clients, daemons and guests, not on a core). Each file keeps its one daemon, so a
# file is the unit of distribution (--dist loadgroup, a group per file).
set -u
cd "$(dirname "$0")/.." || exit 1
PY=/usr/bin/python3
JOBS=${NOVALITE_TEST_JOBS:-2}
status=0
summary=""
t_all=$(date +%s)

note() { summary="$summary\n$1"; }
stage_start() { t_stage=$(date +%s); echo "== $1"; }
stage_end() {  # $1 = name, $2 = ok|FAILED...
	note "$(printf '%-28s %-10s %4ss' "$1" "$2" $(($(date +%s) - t_stage)))"
}

run_unit() {  # $1 = build dir
	fails=0
	for t in "$1"/tests/test_*; do
		[ -x "$t" ] || continue
		"$t" || fails=$((fails + 1))
	done
	return $fails
}

stage_start "build (release and ASan/UBSan)"
make -s -j2 all unit-build || exit 1
make -s -j2 BUILD=build-asan all unit-build || exit 1
stage_end "build" ok

# Real-guest tests need libvirtd (no systemd here: started by hand) and the test guest.
stage_start "libvirt and the test guest image"
sh tools/libvirtd.sh || echo "(tests that boot real guests will skip, saying why)"
sh tests/fixtures/make-guest-image.sh build/guest >/dev/null 2>build/guest-image.log ||
	echo "guest image: not built (see build/guest-image.log); tests that boot real guests will skip"
stage_end "libvirt + guest image" ok

stage_start "C unit tests (cmocka)"
if run_unit build; then stage_end "unit" ok; else stage_end "unit" FAILED; status=1; fi

export ASAN_OPTIONS="abort_on_error=0:halt_on_error=1:detect_leaks=1:exitcode=86"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
stage_start "C unit tests under ASan/UBSan"
if run_unit build-asan; then stage_end "unit (asan)" ok; else stage_end "unit (asan)" FAILED; status=1; fi

if grep -q '^fuzz-smoke:' Makefile; then
	stage_start "fuzz targets, briefly (libFuzzer, ASan/UBSan)"
	if make -s fuzz-smoke; then stage_end "fuzz (smoke)" ok; else stage_end "fuzz (smoke)" FAILED; status=1; fi
fi

# Files that boot real guests (they say XDIST_GROUP = "real-guests") run in their own
# pytest, one after another, beside the parallel run of the rest: they share libvirtd, the
# guest subnet and domain names, so they must never overlap each other.
REAL=$(grep -l '^XDIST_GROUP = "real-guests"' tests/integration/test_*.py)
IGNORE=""
for f in $REAL; do IGNORE="$IGNORE --ignore=$f"; done
stage_start "integration tests under ASan/UBSan (pytest, real openstack/nova CLIs and openstacksdk, $JOBS workers; real guests beside them, in order)"
NOVALITE_API_BIN="$PWD/build-asan/novalite-api" NOVALITE_ASAN=1 \
	$PY -m pytest -q -p no:cacheprovider -p no:xdist $REAL >build/real-guests.log 2>&1 &
real_pid=$!
NOVALITE_API_BIN="$PWD/build-asan/novalite-api" NOVALITE_ASAN=1 \
	$PY -m pytest -q -p no:cacheprovider -n "$JOBS" --dist loadgroup $IGNORE tests/integration
rc=$?
wait $real_pid
rrc=$?
echo "== real-guest tests (run beside the others: build/real-guests.log)"
cat build/real-guests.log
if [ $rc -eq 0 ] && [ $rrc -eq 0 ]; then stage_end "integration (asan)" ok; else stage_end "integration (asan)" "FAILED($rc,$rrc)"; status=1; fi
unset ASAN_OPTIONS UBSAN_OPTIONS

if grep -q '^tempest-gate:' Makefile; then
	stage_start "conformance gate (Tempest, release build)"
	if make -s tempest-gate; then stage_end "tempest gate" ok; else stage_end "tempest gate" FAILED; status=1; fi
fi

printf "\n== summary (stage, result, seconds)%b\n%-28s %-10s %4ss\n" "$summary" "total" \
	"$([ $status -eq 0 ] && echo ok || echo FAILED)" $(($(date +%s) - t_all))
exit $status
