-- POST /v1/locate of 10,000 uniform random points in the demo town's box.
math.randomseed(7)
local parts = {}
for i = 1, 10000 do
  parts[i] = string.format("[%.6f,%.6f]", 112.05 + math.random() * 0.14, 27.2041 + math.random() * 0.1259)
end
wrk.method = "POST"
wrk.path = "/v1/locate"
wrk.body = '{"points":[' .. table.concat(parts, ",") .. '],"crs":"wgs84"}'
wrk.headers["Content-Type"] = "application/json"
