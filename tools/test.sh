#!/bin/sh
# `make test`: build, C unit tests, integration tests (real clients), then the same
# unit and integration suites against the AddressSanitizer + UBSan build.
# Prints each runner's summary line and fails if any part failed.
set -u
cd "$(dirname "$0")/.." || exit 1
PY=/usr/bin/python3
status=0
summary=""

note() { summary="$summary\n$1"; }

run_unit() {  # $1 = build dir
	fails=0
	for t in "$1"/tests/test_*; do
		[ -x "$t" ] || continue
		"$t" || fails=$((fails + 1))
	done
	return $fails
}

echo "== build"
make -s all || exit 1
make -s unit-build || exit 1

# Real-guest tests need libvirtd (no systemd here: started by hand) and the test guest.
echo "== libvirt and the test guest image"
sh tools/libvirtd.sh || echo "(tests that boot real guests will skip, saying why)"
sh tests/fixtures/make-guest-image.sh build/guest >/dev/null 2>build/guest-image.log ||
	echo "guest image: not built (see build/guest-image.log); tests that boot real guests will skip"

echo "== C unit tests (cmocka)"
if run_unit build; then note "unit: ok"; else note "unit: FAILED"; status=1; fi

echo "== integration tests (pytest, real openstack/nova CLIs and openstacksdk)"
NOVALITE_API_BIN="$PWD/build/novalite-api" $PY -m pytest -q -p no:cacheprovider tests/integration
rc=$?
if [ $rc -eq 0 ]; then note "integration: ok"; else note "integration: FAILED ($rc)"; status=1; fi

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
make -s BUILD=build-asan all unit-build || exit 1
export ASAN_OPTIONS="abort_on_error=0:halt_on_error=1:detect_leaks=1:exitcode=86"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
echo "== C unit tests under ASan/UBSan"
if run_unit build-asan; then note "unit (asan): ok"; else note "unit (asan): FAILED"; status=1; fi
echo "== integration tests under ASan/UBSan"
NOVALITE_API_BIN="$PWD/build-asan/novalite-api" NOVALITE_ASAN=1 $PY -m pytest -q -p no:cacheprovider tests/integration
rc=$?
if [ $rc -eq 0 ]; then note "integration (asan): ok"; else note "integration (asan): FAILED ($rc)"; status=1; fi

printf "\n== summary%b\n" "$summary"
exit $status
