-- GET the URL as an owner's phone: its User-Agent (BENCH_USER_AGENT) and, when BENCH_COOKIES
-- names a file of Cookie headers (one signed-in owner a line), each request the next owner's
-- session of this thread's share, round and round.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

function init(args)
  local agent = os.getenv("BENCH_USER_AGENT")
  local cookies = os.getenv("BENCH_COOKIES")
  prepared = {}
  if cookies and cookies ~= "" then
    for _, line in ipairs(share(cookies)) do
      table.insert(prepared, wrk.format("GET", nil, {["User-Agent"] = agent, ["Cookie"] = line}))
    end
  else
    prepared[1] = wrk.format("GET", nil, {["User-Agent"] = agent})
  end
  position = 0
end

function request()
  if not started then
    started = now()
  end
  position = position % #prepared + 1
  return prepared[position]
end
