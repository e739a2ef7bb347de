-- Shared by closed.lua and paced.lua: the request, the response checks, the report.
--
-- The orchestrator (bench/http_load.py) configures the request through the
-- environment:
--   BENCH_AUTH          Authorization header value ("" for none)
--   BENCH_BODY          request body ("" for none: Content-Length: 0)
--   BENCH_CTYPE         Content-Type of a non-empty body
--   BENCH_SAMPLE_EVERY  keep every Nth token for offline verification (per thread)
--   BENCH_MAX_SAMPLES   keep at most this many tokens per thread
--
-- Every response is checked: status 200 and a body with a non-empty
-- "access_token". Anything else is counted (non200 / bad_body); the orchestrator
-- fails the point when either count is not zero. Sampled tokens are verified by the
-- orchestrator afterwards (signature against the server's JWKS, claims).

local bench = {}

wrk.method = "POST"
local auth = os.getenv("BENCH_AUTH") or ""
if auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = os.getenv("BENCH_CTYPE") or "application/x-www-form-urlencoded"
else
  wrk.headers["Content-Length"] = "0"
end

local sample_every = tonumber(os.getenv("BENCH_SAMPLE_EVERY") or "200")
local max_samples = tonumber(os.getenv("BENCH_MAX_SAMPLES") or "10")

-- Per-thread state, read by done() through thread:get().
ok = 0
non200 = 0
bad_body = 0
statuses = {}
samples = {}
first_error = ""

function bench.check(status, headers, text)
  if status ~= 200 then
    non200 = non200 + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
    if first_error == "" then
      first_error = key .. " " .. string.sub(text or "", 1, 300)
    end
    return
  end
  local token = string.match(text or "", '"access_token"%s*:%s*"([^"]+)"')
  if token == nil then
    bad_body = bad_body + 1
    if first_error == "" then
      first_error = "200 without access_token: " .. string.sub(text or "", 1, 300)
    end
    return
  end
  ok = ok + 1
  if ok % sample_every == 1 and #samples < max_samples then
    samples[#samples + 1] = token
  end
end

-- Minimal JSON encoder for the report line (strings, numbers, booleans, tables).
local function encode(value)
  local kind = type(value)
  if kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then return "null" end
    return string.format("%.17g", value)
  elseif kind == "boolean" then
    return tostring(value)
  elseif kind == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
    end) .. '"'
  elseif kind == "table" then
    if #value > 0 or next(value) == nil then
      local parts = {}
      for i = 1, #value do parts[i] = encode(value[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local parts = {}
    for k, v in pairs(value) do
      parts[#parts + 1] = encode(tostring(k)) .. ":" .. encode(v)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

bench.threads = {}

function bench.setup(thread)
  bench.threads[#bench.threads + 1] = thread
  thread:set("thread_index", #bench.threads)
end

-- Collects every thread's counters; `extra` adds fields (paced.lua's latencies).
function bench.report(summary, latency, extra)
  local report = {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    errors = {
      connect = summary.errors.connect, read = summary.errors.read, write = summary.errors.write,
      status = summary.errors.status, timeout = summary.errors.timeout,
    },
    latency_us = {
      p50 = latency:percentile(50), p90 = latency:percentile(90), p99 = latency:percentile(99),
      p999 = latency:percentile(99.9), max = latency.max, mean = latency.mean,
    },
    ok = 0, non200 = 0, bad_body = 0, statuses = {}, samples = {}, first_error = "",
  }
  for _, thread in ipairs(bench.threads) do
    report.ok = report.ok + thread:get("ok")
    report.non200 = report.non200 + thread:get("non200")
    report.bad_body = report.bad_body + thread:get("bad_body")
    for status, count in pairs(thread:get("statuses")) do
      report.statuses[status] = (report.statuses[status] or 0) + count
    end
    for _, token in ipairs(thread:get("samples")) do
      report.samples[#report.samples + 1] = token
    end
    local err = thread:get("first_error")
    if report.first_error == "" and err ~= "" then report.first_error = err end
  end
  for k, v in pairs(extra or {}) do report[k] = v end
  io.write("BENCHJSON " .. encode(report) .. "\n")
end

return bench
