-- GET /v1/locate of uniform random points in the demo town's box
-- (lon 112.05–112.19, lat 27.204–27.33), a fixed sequence per thread.
local pts = {}
math.randomseed(42)
for i = 1, 4096 do
  pts[i] = string.format("/v1/locate?lon=%.6f&lat=%.6f", 112.05 + math.random() * 0.14, 27.2041 + math.random() * 0.1259)
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", pts[(n % 4096) + 1])
end
