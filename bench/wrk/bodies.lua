-- Closed loop like closed.lua, but every request carries the next line of a file: as
-- its body, for requests that may not repeat, such as client assertions whose jti is
-- single use; or, with BENCH_LINE_HEADER set, in that header field beside common.lua's
-- one body (a DPoP proof per request). BENCH_BODIES_FILE names the file; running out
-- replays from the first line (refused and counted, so the point fails).
local bench = dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")

local header = os.getenv("BENCH_LINE_HEADER") or ""
if header == "" then
  -- common.lua set up a bodiless request; each of these carries a form.
  wrk.headers["Content-Length"] = nil
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

local lines = {}
for line in io.lines(os.getenv("BENCH_BODIES_FILE")) do
  lines[#lines + 1] = line
end
local next_line = 0

function setup(thread)
  bench.setup(thread)
end

function request()
  next_line = next_line + 1
  if next_line > #lines then
    next_line = 1
  end
  if header == "" then
    return wrk.format(nil, nil, nil, lines[next_line])
  end
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers[header] = lines[next_line]
  return wrk.format(nil, nil, headers, nil)
end

function response(status, headers, body)
  bench.check(status, headers, body)
end

function done(summary, latency, requests)
  bench.report(summary, latency, { mode = header == "" and "bodies" or "line-header" })
end
