-- POST one JSON body a request, taken in turn from BENCH_BODIES (a file of one body a line);
-- each thread takes its own share of the lines, so no body is sent twice.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  local i = 0
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if i % tonumber(os.getenv("BENCH_THREADS")) == index then
      table.insert(bodies, line)
    end
    i = i + 1
  end
  position = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_API_KEY")
end

function request()
  position = position + 1
  return wrk.format(nil, nil, nil, bodies[((position - 1) % #bodies) + 1])
end

-- Out of fresh bodies (a small data set has few tickets): this thread stops, so no replay is
-- counted; the rate is still requests over the time the run took.
function response(status, headers, body)
  if position >= #bodies then
    wrk.thread:stop()
  end
end
