-- wrk request generator for benches/api.sh and uploads.sh: every request sends the same body
-- (file BODY) with METHOD to PATH_FMT, whose %d becomes a number no other request of the run
-- gets, whatever the thread, counted from REQUEST_OFFSET (so each upload is a new key).
local file = assert(io.open(os.getenv("BODY"), "rb"))
local body = file:read("*a")
file:close()
local method = os.getenv("METHOD")
local path_format = os.getenv("PATH_FMT")
local headers = {
  ["x-api-key"] = os.getenv("API_KEY"),
  ["content-type"] = os.getenv("CONTENT_TYPE"),
}
local counter = tonumber(os.getenv("REQUEST_OFFSET") or "0")

-- Runs in the main state, once per thread: numbers its threads.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

request = function()
  counter = counter + 1
  local number = counter * 100 + (thread_number or 0)
  return wrk.format(method, string.format(path_format, number), headers, body)
end

-- A non-2xx answer is a failed benchmark, not a fast one.
response = function(status, _, answer)
  if status >= 300 then
    io.stderr:write("unexpected status " .. status .. ": " .. answer .. "\n")
    os.exit(1)
  end
end
