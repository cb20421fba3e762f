-- wrk request generator for benches/api.sh: every request sends the same body (file BODY)
-- with METHOD to PATH_FMT, whose %d becomes a request counter (so each upload is a new key).
local file = assert(io.open(os.getenv("BODY"), "rb"))
local body = file:read("*a")
file:close()
local method = os.getenv("METHOD")
local path_format = os.getenv("PATH_FMT")
local headers = {
  ["x-api-key"] = os.getenv("API_KEY"),
  ["content-type"] = os.getenv("CONTENT_TYPE"),
}
local counter = 0

request = function()
  counter = counter + 1
  return wrk.format(method, string.format(path_format, counter), headers, body)
end

-- A non-2xx answer is a failed benchmark, not a fast one.
response = function(status, _, answer)
  if status >= 300 then
    io.stderr:write("unexpected status " .. status .. ": " .. answer .. "\n")
    os.exit(1)
  end
end
