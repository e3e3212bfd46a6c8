#!/bin/sh
# Runs the libFuzzer targets in build-fuzz/fuzz/ (built by `make fuzz-build`).
#   run.sh SECONDS smoke|keep TARGET...
# Each target starts from its seeds in tests/fuzz/corpus/<target>/. "smoke" runs it from a
# scratch copy (nothing kept); "keep" grows build-fuzz/corpus/<target>/ across runs.
# One summary line per target, then "N passed, N failed" (targets); exit 1 on any failure.
# A failing input is saved as build-fuzz/crash-<target>-<hash>; its log is build-fuzz/<target>.log.
secs=$1; mode=$2; shift 2
out=build-fuzz
pass=0; fail=0
for t in "$@"; do
	bin=$out/fuzz/$t
	seeds=tests/fuzz/corpus/$t
	if [ "$mode" = keep ]; then
		work=$out/corpus/$t
	else
		work=$out/smoke/$t
		rm -rf "$work"
	fi
	mkdir -p "$work"
	log=$out/$t.log
	start=$(date +%s)
	# -rss_limit_mb bounds a runaway; ASan's leak check runs at exit (detect_leaks=1).
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$t-" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	units=$(ls "$work" | wc -l)
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); verdict=ok
	else
		fail=$((fail + 1)); verdict="FAILED (rc=$rc, see $log)"
	fi
	printf '%-20s %-4s %3ss %9s execs  cov %5s  corpus %5s  %s\n' "$t" "" $((end - start)) "${execs:-?}" \
		"${cov:-?}" "$units" "$verdict"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
