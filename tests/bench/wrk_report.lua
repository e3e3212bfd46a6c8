-- wrk script for tests/bench/run.sh: no request changes (headers come from -H);
-- at the end, print one machine-readable line with exact figures in microseconds.
-- wrk's own summary rounds ("1.42ms"); this line does not.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT requests=%d duration_us=%d rps=%.1f mean_us=%.2f stdev_us=%.2f " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx3xx=%d sockerr=%d bytes=%d\n",
    summary.requests, summary.duration,
    summary.requests / (summary.duration / 1e6),
    latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout, summary.bytes))
end
