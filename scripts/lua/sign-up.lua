-- Sign-ups of new usernames. With SPREAD set, each request says (through the trusted proxy
-- the server is told the client is) that it comes from another random IPv4 address.
local counter = 0
local prefix = os.getenv("PREFIX") or "flood"
local spread = os.getenv("SPREAD")
math.randomseed(os.time())

request = function()
  counter = counter + 1
  local name = string.format("%s%d", prefix, counter)
  local body = string.format(
    '{"username":"%s","password":"Tr0ub4dour&3x","email":"%s@example.com","first_name":"Flood","last_name":"Test"}',
    name, name)
  local headers = { ["Content-Type"] = "application/json" }
  if spread then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.random(0, 255), math.random(0, 255), math.random(1, 254))
  end
  return wrk.format("POST", "/obp/v5.1.0/users", headers, body)
end
