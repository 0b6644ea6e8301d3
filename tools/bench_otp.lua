local uins = {}
init = function(args)
  local f = io.open(args[1], "r")
  for line in f:lines() do
    local u = line:match('"UIN":"(%d+)"')
    if u then uins[#uins + 1] = u end
    if #uins >= 20000 then break end
  end
  f:close()
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
local n = 0
request = function()
  n = n + 1
  local uin = uins[math.random(#uins)]
  local trn = string.format("%010d", math.random(0, 2147483646))
  local body = '{"id":"mosip.identity.otp.internal","version":"1.0","transactionID":"' .. trn ..
    '","requestTime":"2026-12-02T06:10:00.000Z","individualId":"' .. uin .. '","otpChannel":["EMAIL"]}'
  return wrk.format("POST", "/resident/v1/req/otp", {["Content-Type"] = "application/json"}, body)
end
