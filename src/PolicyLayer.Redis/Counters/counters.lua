-- PolicyLayer sliding-window counters: one script call per decision, whatever the number of counters.
--
-- Each counter has two keys in the same hash slot:
--   entries (sorted set): member "<reservation id>:<amount>", score = reservation time in microseconds
--   total   (string):     the sum of the amounts of the entries, so that a check costs O(log n) and not O(n)
-- An entry at time t counts in the window of every instant now with t > now - window.
--
-- KEYS[1] = the store's state (hash): 'seq' the last reservation id, 'now' the latest time any call decided at.
-- KEYS[2i], KEYS[2i+1] = entries and total of counter i.
-- ARGV[1] = 'r' reserve all or none | 'b' read budgets | 'x' release
-- ARGV[2] = now in microseconds since the Unix epoch, or '' to take the server's TIME
-- ARGV[3] = how many milliseconds a counter's keys outlive its newest entry's window
-- 'r' and 'b': ARGV[4 + 3(i-1)] .. = max, window (microseconds), amount of counter i
-- 'x':         ARGV[3 + i] = the entry of counter i to remove
--
-- 'r' and 'b' return { blocked index (0-based, -1 none), reservation id (0 none), remaining 1, retry 1, ... };
-- a retry is in microseconds, -1 when the amount exceeds max and never fits. 'x' returns the units given back.

if redis.replicate_commands then
  redis.replicate_commands() -- Redis 5/6: replicate effects, so TIME may precede writes (a no-op on 7+)
end

local op = ARGV[1]
local n = (#KEYS - 1) / 2

local function fmt(x)
  return string.format('%.0f', x) -- never Lua's %.14g, which rounds microsecond timestamps
end

local function amount_of(member)
  return tonumber(string.match(member, ':(%d+)$'))
end

if op == 'x' then
  local given = 0
  for i = 1, n do
    local entries, total, member = KEYS[2 * i], KEYS[2 * i + 1], ARGV[3 + i]
    if redis.call('ZREM', entries, member) == 1 then
      local amount = amount_of(member)
      given = given + amount
      if redis.call('ZCARD', entries) == 0 then
        redis.call('DEL', entries, total)
      elseif redis.call('EXISTS', total) == 1 then
        redis.call('DECRBY', total, amount) -- keeps the key's expiry
      end
    end
  end
  return given
end

local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
-- Time never runs backwards for the counters: a clock that steps back (or an instance whose clock lags, with
-- RedisClock.TimeProvider) decides at the latest time seen, so entries another call already dropped stay dropped
-- for everyone and no window can ever hold more than max.
local latest = tonumber(redis.call('HGET', KEYS[1], 'now'))
if latest ~= nil and latest > now then
  now = latest
else
  redis.call('HSET', KEYS[1], 'now', fmt(now))
end
local slack = tonumber(ARGV[3])

-- Drops the entries that left the window and returns the units still in it.
local function used(entries, total, window)
  if redis.call('ZCARD', entries) == 0 then
    redis.call('DEL', total)
    return 0
  end
  local cutoff = fmt(now - window)
  local sum = tonumber(redis.call('GET', total))
  local old = redis.call('ZRANGEBYSCORE', entries, '-inf', cutoff)
  if #old > 0 then
    redis.call('ZREMRANGEBYSCORE', entries, '-inf', cutoff)
  end
  if sum == nil then
    -- The total vanished on its own (it expires like the entries); rebuild it from the entries.
    sum = 0
    for _, member in ipairs(redis.call('ZRANGE', entries, 0, -1)) do
      sum = sum + amount_of(member)
    end
    if sum > 0 then
      local ttl = redis.call('PTTL', entries)
      if ttl > 0 then redis.call('SET', total, fmt(sum), 'PX', ttl) else redis.call('SET', total, fmt(sum)) end
    end
    return sum
  end
  if #old > 0 then
    local gone = 0
    for _, member in ipairs(old) do
      gone = gone + amount_of(member)
    end
    sum = sum - gone
    if redis.call('ZCARD', entries) == 0 then
      redis.call('DEL', entries, total)
      return 0
    end
    redis.call('DECRBY', total, gone)
  end
  return sum
end

-- Microseconds until enough of the oldest entries leave the window to free `need` units.
local function retry_after(entries, need, window)
  local freed, start = 0, 0
  while true do
    local batch = redis.call('ZRANGE', entries, start, start + 63, 'WITHSCORES')
    if #batch == 0 then
      return -1
    end
    for j = 1, #batch, 2 do
      freed = freed + amount_of(batch[j])
      if freed >= need then
        return tonumber(batch[j + 1]) + window - now
      end
    end
    start = start + 64
  end
end

local result = { -1, 0 }
local longest = 0
local amounts, windows = {}, {}
for i = 1, n do
  local entries, total = KEYS[2 * i], KEYS[2 * i + 1]
  local base = 4 + 3 * (i - 1)
  local max, window, amount = tonumber(ARGV[base]), tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local units = used(entries, total, window)
  local retry = 0
  if amount > 0 and units + amount > max then
    if amount > max then
      retry = -1
    else
      retry = retry_after(entries, units + amount - max, window)
    end
    -- The counter that frees up last decides when the whole call fits; one that never fits wins outright.
    if result[1] == -1 or (longest ~= -1 and (retry == -1 or retry > longest)) then
      result[1] = i - 1
      longest = retry
    end
  end
  amounts[i], windows[i] = amount, window
  result[2 * i + 1] = max - units
  result[2 * i + 2] = retry
end

if op == 'r' and result[1] == -1 then
  local id = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  result[2] = id
  for i = 1, n do
    local amount = amounts[i]
    if amount > 0 then
      local entries, total = KEYS[2 * i], KEYS[2 * i + 1]
      local ttl = fmt(math.ceil(windows[i] / 1000) + slack)
      redis.call('ZADD', entries, fmt(now), fmt(id) .. ':' .. fmt(amount))
      redis.call('INCRBY', total, fmt(amount))
      redis.call('PEXPIRE', entries, ttl)
      redis.call('PEXPIRE', total, ttl)
      result[2 * i + 1] = result[2 * i + 1] - amount
    end
  end
end

return result
