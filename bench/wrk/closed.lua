-- Closed loop, as fast as the server answers: every connection sends its next
-- request as soon as the previous response is in. Used for the peak rate.
local bench = dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")

function setup(thread)
  bench.setup(thread)
end

function response(status, headers, body)
  bench.check(status, headers, body)
end

function done(summary, latency, requests)
  bench.report(summary, latency, { mode = "closed" })
end
