#!/bin/sh
# Tempest conformance runs against a fresh novalite (details: tests/tempest/gate.py --help).
#   tests/tempest/run.sh [gate] [ARGS]   the gate: interop-required subset, compared with
#                                        tests/tempest/expected-*.txt; exit 1 on a regression
#   tests/tempest/run.sh wide [ARGS]     all of compute / identity v3 / image v2; per-module
#                                        counts into docs/conformance.md
# The daemon binary is build/novalite-api (NOVALITE_API_BIN or NOVALITE_ASAN=1 choose another).
set -e
cd "$(dirname "$0")/../.."
mode=${1:-gate}
[ $# -gt 0 ] && shift
case "$mode" in
  gate) exec /usr/bin/python3 tests/tempest/gate.py --selection gate "$@" ;;
  wide) exec /usr/bin/python3 tests/tempest/gate.py --selection wide --doc docs/conformance.md "$@" ;;
  *)    echo "usage: $0 [gate|wide] [gate.py args]" >&2; exit 2 ;;
esac
