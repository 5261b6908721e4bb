-- GET the URL with the Cookie header given on the command line; report as JSON.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
