-- Shared by every script: each thread counts the answers it got (statuses other than
-- BENCH_EXPECT, responses that set the session cookie again) and the moment it started and,
-- if it ran out of work, stopped; done() prints the figures as one JSON line for run.py.
local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *ts);
]])
local timespec = ffi.new("bench_timespec")

-- Seconds on the monotonic clock (CLOCK_MONOTONIC = 1).
function now()
  ffi.C.clock_gettime(1, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local threads = {}
local count = 0

function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end

-- This thread's share of the lines of ``path`` (line i goes to thread i mod BENCH_THREADS);
-- all of them when there are fewer lines than threads.
function share(path)
  local lines, i = {}, 0
  local n = tonumber(os.getenv("BENCH_THREADS"))
  for line in io.lines(path) do
    if i % n == id then
      table.insert(lines, line)
    end
    i = i + 1
  end
  if #lines == 0 then
    for line in io.lines(path) do
      table.insert(lines, line)
    end
  end
  return lines
end

local expected = {}
for code in string.gmatch(os.getenv("BENCH_EXPECT") or "200", "%d+") do
  expected[tonumber(code)] = true
end
local cookie = (os.getenv("BENCH_SESSION_COOKIE") or "session") .. "="

answered, resigned, after_out = 0, 0, 0
unexpected = {}
started, stopped = nil, nil

function response(status, headers, body)
  answered = answered + 1
  if not expected[status] then
    unexpected[status] = (unexpected[status] or 0) + 1
  end
  local set = headers["Set-Cookie"] or headers["set-cookie"]
  if set and string.sub(set, 1, #cookie) == cookie then
    resigned = resigned + 1
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local total, resent, after, ran_out, rate = 0, 0, 0, false, 0
  local statuses = {}
  for _, thread in ipairs(threads) do
    local n = thread:get("answered")
    total = total + n
    resent = resent + thread:get("resigned")
    after = after + thread:get("after_out")
    local first, last = thread:get("started"), thread:get("stopped")
    if last then
      -- This thread ran out of work: its rate is over the time it actually ran.
      ran_out = true
      rate = rate + n / math.max(last - first, 1e-3)
    else
      rate = rate + n / seconds
    end
    for status, k in pairs(thread:get("unexpected")) do
      table.insert(statuses, string.format('"%d": %d', status, k))
    end
  end
  if not ran_out then
    rate = summary.requests / seconds
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "answered": %d, "seconds": %.3f, "rps": %.1f, ' ..
    '"p50_ms": %.3f, "p99_ms": %.3f, "ran_out": %s, "sent_after_out": %d, "resigned": %d, ' ..
    '"unexpected": {%s}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, total, seconds, rate,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    tostring(ran_out), after, resent, table.concat(statuses, ", "),
    e.connect, e.read, e.write, e.status, e.timeout))
end
