-- Distinct random paths of every kind the rules know, none of which exists
-- upstream: images, images below a sub-path, .conf files, SHA256SUMS and
-- docs-site paths, each with a random query.
--
-- The run is a count, not a time: after `limit` responses (the first script
-- argument) the thread stops and says so on stdout, and the driver ends wrk
-- with SIGINT (wrk itself would sit out its -d duration first). One thread:
--   wrk -t1 ... -s random.lua URL -- 1000000
dofile('report.lua')

local limit = 0
local answered = 0
local chars = 'abcdefghijklmnopqrstuvwxyz0123456789'

local function word(n)
  local out = {}
  for i = 1, n do
    local k = math.random(#chars)
    out[i] = chars:sub(k, k)
  end
  return table.concat(out)
end

local function arch()
  if math.random(2) == 1 then return 'x86-64' end
  return 'arm64'
end

-- One path in four is a release target (each of the five kinds below costs
-- the service an upstream HEAD, answered 404): a quarter of a million of them
-- in a default run, far more than the check cache holds (CHECK_CACHE_MAX,
-- 10,000 by default), while the fake GitHub's speed does not set the pace.
-- The other three in four go to the docs site, with no upstream work.
local release_kinds = {
  function() return '/extensions/' .. word(8) .. '-v' .. word(6) .. '-' .. arch() .. '.raw' end,
  function() return '/extensions/' .. word(6) .. '/' .. word(8) .. '-' .. word(6) .. '-' .. arch() .. '.raw' end,
  function() return '/extensions/' .. word(10) .. '.conf' end,
  function() return '/extensions/' .. word(8) .. '/' .. word(8) .. '.conf' end,
  function() return '/extensions/' .. word(10) .. '/SHA256SUMS' end,
}
local fallback_kinds = {
  function() return '/' .. word(8) .. '/' .. word(8) .. '.html' end,
  function() return '/' .. word(12) end,
}

local function random_path()
  if math.random(4) == 1 then return release_kinds[math.random(#release_kinds)]() end
  return fallback_kinds[math.random(#fallback_kinds)]()
end

function init(args)
  limit = tonumber(args[1]) or error('random.lua needs a request count')
  -- Seconds alone would repeat across runs started in the same second.
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  local path = random_path() .. '?r=' .. word(6)
  return wrk.format('GET', path)
end

function response(status, headers, body)
  answered = answered + 1
  if answered == limit then
    io.write('BENCH_LIMIT_REACHED\n')
    io.flush()
    wrk.thread:stop()
  end
end
