-- POST one JSON body a request, taken in turn from BENCH_BODIES (a file of one body a line);
-- each thread takes its own share of the lines, so no body is sent twice while they last.
-- A thread that runs out stops (its rate is then over the time it ran, see report.lua) and
-- counts what it sent after running out (repeats of its last body, answered as refusals).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

function init(args)
  bodies = share(os.getenv("BENCH_BODIES"))
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_API_KEY"),
    ["User-Agent"] = os.getenv("BENCH_USER_AGENT"),
  }
  position = 0
end

function request()
  if not started then
    started = now()
  end
  position = position + 1
  if position > #bodies then
    after_out = after_out + 1
    if not stopped then
      stopped = now()
      wrk.thread:stop()
    end
    return wrk.format("POST", nil, headers, bodies[#bodies])
  end
  return wrk.format("POST", nil, headers, bodies[position])
end
