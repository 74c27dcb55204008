-- Each request takes a path at random from a file of paths (one per line) and, unless the
-- parameter name is "-", appends a timestamp parameter unique to the request (a date long before
-- any data, so it changes no answer but makes every URL different: nothing can be reused).
--   wrk -s bench/wrk/paths.lua URL -- PATHS_FILE SALT PARAM FORMAT
-- FORMAT is an os.date format, e.g. "!%Y-%m-%dT%H:%M:%SZ".
local threads = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

local paths = {}
local salt, param, format = 0, "-", ""
local counter = 0
local base = 631152000 -- 1990-01-01T00:00:00Z

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then paths[#paths + 1] = line end
   end
   salt = tonumber(args[2])
   param = args[3]
   format = args[4]
   math.randomseed(salt * 101 + tid)
end

function request()
   counter = counter + 1
   local path = paths[math.random(#paths)]
   if param ~= "-" then
      local stamp = base + (salt * 8 + tid) * 200000 + counter
      path = path .. "&" .. param .. "=" .. os.date(format, stamp)
   end
   return wrk.format(nil, path)
end
