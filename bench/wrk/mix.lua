-- Cycles through the request paths listed, one a line, in the file named by
-- the first script argument:  wrk ... -s mix.lua URL -- paths.txt
-- Requests are formatted once up front so the script costs wrk nothing per request.
dofile('report.lua')

local requests = {}
local next_index = 1

function init(args)
  for path in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format('GET', path)
  end
  if #requests == 0 then error('no paths in ' .. tostring(args[1])) end
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end
