-- wrk script: random full level-0 tiles of a log with at least (MAX_TILE + 1) * 256 entries.
-- wrk -t2 -c64 -d15s -s bench/wrk/tiles.lua http://127.0.0.1:7301/
local max_tile = tonumber(os.getenv("MAX_TILE") or "36")
math.randomseed(os.time())
request = function()
  local n = math.random(0, max_tile)
  local path
  if n < 1000 then
    path = string.format("/tile/0/%03d", n)
  else
    path = string.format("/tile/0/x%03d/%03d", math.floor(n / 1000), n % 1000)
  end
  return wrk.format("GET", path)
end
