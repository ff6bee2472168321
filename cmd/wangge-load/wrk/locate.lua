-- GET /v1/locate of uniform random points in the demo town's box
-- (lon 112.05–112.19, lat 27.204–27.33), a fixed sequence per thread. The
-- 4,096 requests are formatted once per thread (init), not per request, so
-- that the load generator takes less of the CPU it shares with the server.
local reqs = {}
local n = 0
function init(args)
  math.randomseed(42)
  for i = 1, 4096 do
    reqs[i] = wrk.format("GET", string.format("/v1/locate?lon=%.6f&lat=%.6f", 112.05 + math.random() * 0.14, 27.2041 + math.random() * 0.1259))
  end
end
request = function()
  n = n + 1
  return reqs[(n % 4096) + 1]
end
