-- Closed loop like closed.lua, but every request carries the next body of a file
-- (one per line): for requests that may not repeat, such as client assertions whose
-- jti is single use. BENCH_BODIES_FILE names the file; running out is an error.
local bench = dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")

-- common.lua set up a bodiless request; each of these carries a form.
wrk.headers["Content-Length"] = nil
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES_FILE")) do
  bodies[#bodies + 1] = line
end
local next_body = 0

function setup(thread)
  bench.setup(thread)
end

function request()
  next_body = next_body + 1
  if next_body > #bodies then
    next_body = 1 -- replays from here on: answered 401 and counted, so the point fails
  end
  return wrk.format(nil, nil, nil, bodies[next_body])
end

function response(status, headers, body)
  bench.check(status, headers, body)
end

function done(summary, latency, requests)
  bench.report(summary, latency, { mode = "bodies" })
end
