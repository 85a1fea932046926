-- wrk: print the percentiles we report, in microseconds, on one parseable line.
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d duration_us=%d p50=%d p95=%d p99=%d\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
