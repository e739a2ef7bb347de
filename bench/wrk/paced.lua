-- Fixed offered rate (wrk2-style) with plain wrk: one connection per wrk thread
-- (run as `wrk -t N -c N`), each sending on its own fixed schedule of one request
-- every BENCH_INTERVAL_US microseconds, staggered across connections. A connection
-- that falls behind its schedule sends at once, and its latency is counted from when
-- the request was due, not from when it went out, so queueing behind a slow
-- response is not hidden (the "coordinated omission" correction wrk2 makes).
-- wrk's delay() hook has millisecond resolution; a request is never sent later than
-- due because of it, and a request sent early is timed from when it was sent.
--
--   BENCH_INTERVAL_US  microseconds between two requests of one connection
--   BENCH_CONNECTIONS  number of connections (= wrk threads), for the stagger
local bench = dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")
local ffi = require("ffi")

ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *ts);
]]
local timespec = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1e6 + tonumber(timespec.tv_nsec) / 1e3
end

local interval = tonumber(os.getenv("BENCH_INTERVAL_US"))
local connections = tonumber(os.getenv("BENCH_CONNECTIONS") or "1")
local next_due = nil
local due = nil
local sent = nil
local request_text = nil

latencies = {}   -- per thread: corrected latency of every response, microseconds
late_sends = 0   -- requests that went out more than 1 ms after they were due

function setup(thread)
  bench.setup(thread)
end

function init(args)
  request_text = wrk.format()
end

function delay()
  local now = now_us()
  if next_due == nil then
    next_due = now + interval * (thread_index - 1) / connections
  end
  due = next_due
  next_due = next_due + interval
  local wait = due - now
  if wait <= 0 then
    return 0
  end
  return math.floor(wait / 1000)
end

function request()
  sent = now_us()
  if due ~= nil and sent - due > 1000 then
    late_sends = late_sends + 1
  end
  return request_text
end

function response(status, headers, body)
  local now = now_us()
  local start = sent
  if due ~= nil and due < start then
    start = due
  end
  latencies[#latencies + 1] = now - start
  bench.check(status, headers, body)
end

local function percentile(sorted, p)
  if #sorted == 0 then return 0 end
  local index = math.ceil(p / 100 * #sorted)
  if index < 1 then index = 1 end
  return sorted[index]
end

function done(summary, latency, requests)
  local all = {}
  local late = 0
  for _, thread in ipairs(bench.threads) do
    for _, value in ipairs(thread:get("latencies")) do
      all[#all + 1] = value
    end
    late = late + thread:get("late_sends")
  end
  table.sort(all)
  bench.report(summary, latency, {
    mode = "paced",
    late_sends = late,
    corrected_latency_us = {
      count = #all,
      p50 = percentile(all, 50), p90 = percentile(all, 90), p99 = percentile(all, 99),
      p999 = percentile(all, 99.9), max = all[#all] or 0,
    },
  })
end
