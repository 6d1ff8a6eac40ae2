-- PolicyLayer sliding-window counters: one script call decides every counter of a call that lives in one hash slot.
--
-- Each counter and scope value is one string key holding a packed log (struct, little-endian):
--   header (42 bytes): base time (d, microseconds), latest time decided at (d), live units (d),
--                      sequence base (d), last sequence issued (I4), last sequence gone (I4),
--                      entry format (B: 1 = one unit per entry, 2 = amounts), tombstones (B)
--   tombstones: I4 each, sequences given back while other units of their entry stay live (format 2)
--   entries, oldest first: offset from the base in quanta (I3), the last sequence the entry holds (I4),
--                          and in format 2 its units (d)
-- A unit taken at time t is stamped ceil(t) on the counter's grid (its quantum) and is live while
-- stamp + window > now: times only ever move later, so the store may under-admit by up to a quantum,
-- never over-admit. The client chooses a quantum that keeps a log within 1,024 entries.
--
-- KEYS[i]  = the log of counter i
-- ARGV[1]  = 'r' reserve all or none | 'b' read budgets | 'x' give back
-- ARGV[2]  = now in microseconds since the Unix epoch, or '' to take the server's TIME
-- ARGV[3]  = how many milliseconds a log outlives its newest entry's window
-- 'r', 'b': ARGV[4 + 4(i-1)] .. = max, window (us), quantum (us), amount of counter i
-- 'x':      ARGV[4 + 2(i-1)] .. = reservation id, units of counter i
--
-- 'r' and 'b' return { blocked index (0-based, -1 none), remaining 1, retry 1, id 1, ... }; a retry is in
-- microseconds, -1 when the amount exceeds max and never fits; an id is 0 unless counter i reserved.
-- 'x' returns the units given back.

if redis.replicate_commands then
  redis.replicate_commands() -- Redis 5/6: replicate effects, so TIME may precede writes (a no-op on 7+)
end

-- The fast path: a reservation, the decision of every allowed call. Straight-line code with no closures, on exactly
-- the logs the general code below reads and writes (the same bytes), so that both, and older instances that have
-- only the general code, share every key. It takes a log of one unit per entry (format 1) for one unit on a counter
-- of at most 1,024, and a log of amounts without tombstones (format 2) for any amount up to max; anything else (a
-- log to convert, tombstones, a log that needs rebasing, an amount of 0 or above max) falls through to the general
-- code before anything is written. Writes wait until every counter has said yes.
-- fast path: begin
if ARGV[1] == 'r' and #KEYS > 0 then
  local clock
  if ARGV[2] == '' then
    local t = redis.call('TIME')
    clock = tonumber(t[1]) * 1000000 + tonumber(t[2])
  else
    clock = tonumber(ARGV[2])
  end
  -- The first counter's write waits in locals and any others' in one table made only for them: tables cost here.
  local result, pending = { -1, 0, 0, 0 }, nil
  local value1, ttl1, id1
  local longest, fast = 0, true
  for i = 1, #KEYS do
    local max, window, quantum, amount = tonumber(ARGV[4 * i]), tonumber(ARGV[4 * i + 1]), tonumber(ARGV[4 * i + 2]), tonumber(ARGV[4 * i + 3])
    if amount < 1 or amount > max then
      fast = false
      break
    end
    local blob = redis.call('GET', KEYS[i])
    local wide = amount ~= 1 or max > 1024 -- the general code keeps such a counter's log in format 2
    local base, latest, used, seqbase, seq, gone, format, tombs = clock, clock, 0, clock, 0, 0, 1, 0
    if wide then format = 2 end
    local pos, stop = 43, 43
    if blob then
      base, latest, used, seqbase, seq, gone, format, tombs = struct.unpack('<ddddI4I4BB', blob)
      stop = #blob + 1
    end
    if tombs ~= 0 or (wide and format == 1) then
      fast = false
      break
    end
    local layout, w = '<I3I4', 7
    if format == 2 then layout, w = '<I3I4d', 15 end
    local now = clock
    if latest > now then now = latest end
    -- Entries that left the window at now go; the sequences rise along the log.
    while pos < stop do
      local offset, s, units = struct.unpack(layout, blob, pos)
      if base + offset * quantum + window > now then break end
      if format == 1 then units = 1 end
      used = used - units
      if s > gone then gone = s end
      pos = pos + w
    end
    if pos == stop then
      seqbase, seq, gone, used = seqbase + seq, 0, 0, 0
    end
    local retry = 0
    if used + amount > max then
      -- Room comes when enough of the oldest live entries have left; the counter that frees up last decides.
      local need, freed, at = used + amount - max, 0, pos
      retry = -1
      while at < stop do
        local offset, _, units = struct.unpack(layout, blob, at)
        if format == 1 then units = 1 end
        freed = freed + units
        if freed >= need then
          retry = base + offset * quantum + window - now
          break
        end
        at = at + w
      end
      if result[1] == -1 or (longest ~= -1 and (retry == -1 or retry > longest)) then
        result[1] = i - 1
        longest = retry
      end
    elseif result[1] == -1 then
      if pos == stop then
        base = now
      end
      local offset = math.ceil((now - base) / quantum)
      if offset > 16777215 or seq >= 2147483647 then
        fast = false
        break
      end
      seq = seq + 1
      local live, entry = '', nil
      if format == 1 then
        if pos < stop then live = string.sub(blob, pos) end
        entry = struct.pack('<I3I4', offset, seq)
      else
        local newest, last, units = -1, 0, 0
        if pos < stop then newest, last, units = struct.unpack('<I3I4d', blob, stop - 15) end
        if newest == offset then
          -- Units of the same stamp share an entry; the entry now ends at this reservation's sequence.
          live = string.sub(blob, pos, stop - 16)
          entry = struct.pack('<I3I4d', offset, seq, units + amount)
        else
          if pos < stop then live = string.sub(blob, pos) end
          entry = struct.pack('<I3I4d', offset, seq, amount)
        end
      end
      local value = struct.pack('<ddddI4I4BB', base, now, used + amount, seqbase, seq, gone, format, 0) .. live .. entry
      -- A whole number of milliseconds, which redis.call passes on exactly (%.17g), as a number: no string made here.
      local ttl = math.ceil((base + offset * quantum + window - now) / 1000) + tonumber(ARGV[3])
      if i == 1 then
        value1, ttl1, id1 = value, ttl, seqbase + seq
      else
        pending = pending or {}
        pending[3 * i - 5], pending[3 * i - 4], pending[3 * i - 3] = value, ttl, seqbase + seq
      end
    end
    result[3 * i - 1] = max - used
    result[3 * i] = retry
    result[3 * i + 1] = 0
  end
  if fast then
    if result[1] == -1 then
      redis.call('SET', KEYS[1], value1, 'PX', ttl1)
      result[2] = result[2] - tonumber(ARGV[7])
      result[4] = id1
      for i = 2, #KEYS do
        redis.call('SET', KEYS[i], pending[3 * i - 5], 'PX', pending[3 * i - 4])
        result[3 * i - 1] = result[3 * i - 1] - tonumber(ARGV[4 * i + 3])
        result[3 * i + 1] = pending[3 * i - 3]
      end
    end
    return result
  end
end
-- fast path: end

local HEADER = '<ddddI4I4BB'
local HEADER_SIZE = 42
local OFFSET_LIMIT = 16777215 -- 2^24 - 1, the largest I3
local SEQ_LIMIT = 2147483647

local op = ARGV[1]
local n = #KEYS

local function fmt(x)
  return string.format('%.0f', x) -- never Lua's %.14g, which rounds microsecond timestamps
end

local function width(format)
  if format == 1 then return 7 end
  return 15
end

-- Reads a log into a table; entries stay packed in one string and are unpacked only where needed.
local function load(key, now)
  local blob = redis.call('GET', key)
  if not blob then
    return { base = now, latest = now, used = 0, seqbase = now, seq = 0, gone = 0, format = 1, tombs = {}, entries = '' }
  end
  local base, latest, used, seqbase, seq, gone, format, ntomb = struct.unpack(HEADER, blob)
  local tombs = {}
  local pos = HEADER_SIZE + 1
  for t = 1, ntomb do
    tombs[t], pos = struct.unpack('<I4', blob, pos)
  end
  return { base = base, latest = latest, used = used, seqbase = seqbase, seq = seq, gone = gone, format = format,
           tombs = tombs, entries = string.sub(blob, pos) }
end

local function entry(log, k)
  local w = width(log.format)
  local pos = (k - 1) * w + 1
  if log.format == 1 then
    local offset, seq = struct.unpack('<I3I4', log.entries, pos)
    return offset, seq, 1
  end
  local offset, seq, units = struct.unpack('<I3I4d', log.entries, pos)
  return offset, seq, units
end

local function count(log)
  return #log.entries / width(log.format)
end

local function pack(format, offset, seq, units)
  if format == 1 then return struct.pack('<I3I4', offset, seq) end
  return struct.pack('<I3I4d', offset, seq, units)
end

-- Drops the entries that left the window at now.
local function prune(log, window, quantum, now)
  local c, k = count(log), 0
  while k < c do
    local offset, seq, units = entry(log, k + 1)
    if log.base + offset * quantum + window > now then break end
    log.used = log.used - units
    log.gone = math.max(log.gone, seq)
    k = k + 1
  end
  if k > 0 then
    log.entries = string.sub(log.entries, k * width(log.format) + 1)
    local kept = {}
    for _, t in ipairs(log.tombs) do
      if t > log.gone then kept[#kept + 1] = t end
    end
    log.tombs = kept
  end
  if #log.entries == 0 then
    -- Nothing is live: every sequence issued so far is gone, so the numbering restarts from here.
    log.seqbase, log.seq, log.gone, log.used, log.tombs = log.seqbase + log.seq, 0, 0, 0, {}
  end
end

-- Microseconds until enough of the oldest entries leave the window to free `need` units.
local function retry_after(log, need, window, quantum, now)
  local freed = 0
  for k = 1, count(log) do
    local offset, _, units = entry(log, k)
    freed = freed + units
    if freed >= need then
      return log.base + offset * quantum + window - now
    end
  end
  return -1
end

-- Format 1 gives a unit back by removing its entry; format 2 entries hold ranges of sequences, so the sequences
-- given back before the change become tombstones (or, past 255 of them, count as gone: giving back nothing more
-- for them is the safe side).
local function to_amounts(log)
  if log.format == 2 then return end
  local parts, expected = {}, log.gone + 1
  local function given_back(last)
    for m = expected, last do
      if #log.tombs < 255 then
        log.tombs[#log.tombs + 1] = m
      else
        log.gone = m
      end
    end
  end
  for k = 1, count(log) do
    local offset, seq = entry(log, k)
    given_back(seq - 1)
    expected = seq + 1
    parts[k] = struct.pack('<I3I4d', offset, seq, 1)
  end
  given_back(log.seq)
  local kept = {}
  for _, t in ipairs(log.tombs) do
    if t > log.gone then kept[#kept + 1] = t end
  end
  log.tombs = kept
  log.entries, log.format = table.concat(parts), 2
end

-- Moves offset 0 to the oldest entry and sequence 0 to the last one gone, so both keep fitting their fields.
local function rebase(log, quantum)
  local first = entry(log, 1)
  local shift, seqshift = first, log.gone
  local parts = {}
  for k = 1, count(log) do
    local offset, seq, units = entry(log, k)
    parts[k] = pack(log.format, offset - shift, seq - seqshift, units)
  end
  for t = 1, #log.tombs do
    log.tombs[t] = log.tombs[t] - seqshift
  end
  log.entries = table.concat(parts)
  log.base = log.base + shift * quantum
  log.seqbase, log.seq, log.gone = log.seqbase + seqshift, log.seq - seqshift, 0
end

local function serialize(log)
  local parts = { struct.pack(HEADER, log.base, log.latest, log.used, log.seqbase, log.seq, log.gone, log.format, #log.tombs) }
  for t = 1, #log.tombs do
    parts[#parts + 1] = struct.pack('<I4', log.tombs[t])
  end
  parts[#parts + 1] = log.entries
  return table.concat(parts)
end

local function time_now()
  if ARGV[2] == '' then
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000000 + tonumber(t[2])
  end
  return tonumber(ARGV[2])
end

if op == 'x' then
  local given = 0
  for i = 1, n do
    local key = KEYS[i]
    local id, amount = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
    local blob = redis.call('GET', key)
    if blob then
      local log = load(key, 0)
      local rel = id - log.seqbase
      local found = nil
      if rel > log.gone and rel <= log.seq then
        for _, t in ipairs(log.tombs) do
          if t == rel then rel = nil break end
        end
        if rel then
          -- An entry holds the sequences after the previous entry's, up to its own.
          for k = 1, count(log) do
            local offset, seq, units = entry(log, k)
            if seq >= rel then
              if log.format == 1 and seq ~= rel then break end
              found = { k = k, offset = offset, seq = seq, units = units }
              break
            end
          end
        end
      end
      if found and (log.format == 1 or #log.tombs < 255) then
        local take = math.min(amount, found.units)
        local w = width(log.format)
        local before = string.sub(log.entries, 1, (found.k - 1) * w)
        local after = string.sub(log.entries, found.k * w + 1)
        local left = found.units - take
        if left > 0 then
          log.entries = before .. pack(log.format, found.offset, found.seq, left) .. after
        else
          log.entries = before .. after
        end
        if log.format == 2 then
          log.tombs[#log.tombs + 1] = rel
        end
        log.used = log.used - take
        given = given + take
        -- Kept even when empty (it expires by itself): its sequence must go on, or a later reservation in the same
        -- microsecond would get the id just given back, and a second give-back of that id would free it.
        redis.call('SET', key, serialize(log), 'KEEPTTL')
      end
    end
  end
  return given
end

local clock = time_now()
local slack = tonumber(ARGV[3])
local result = { -1 }
local longest = 0
local logs, params = {}, {}
for i = 1, n do
  local base = 4 + 4 * (i - 1)
  local max, window, quantum, amount = tonumber(ARGV[base]), tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local log = load(KEYS[i], clock)
  -- Time never runs backwards for a counter: a clock that steps back (or an instance whose clock lags, with
  -- RedisClock.TimeProvider) decides at the latest time seen, so that no window can ever hold more than max.
  local now = math.max(clock, log.latest)
  prune(log, window, quantum, now)
  local retry = 0
  if amount > 0 and log.used + amount > max then
    if amount > max then
      retry = -1
    else
      retry = retry_after(log, log.used + amount - max, window, quantum, now)
    end
    -- The counter that frees up last decides when the whole call fits; one that never fits wins outright.
    if result[1] == -1 or (longest ~= -1 and (retry == -1 or retry > longest)) then
      result[1] = i - 1
      longest = retry
    end
  end
  logs[i], params[i] = log, { max = max, window = window, quantum = quantum, amount = amount, now = now }
  result[3 * i - 1] = max - log.used
  result[3 * i] = retry
  result[3 * i + 1] = 0
end

if op == 'r' and result[1] == -1 then
  for i = 1, n do
    local log, p = logs[i], params[i]
    if p.amount > 0 then
      local now = p.now
      if #log.entries == 0 then
        log.base = now
      end
      local offset = math.ceil((now - log.base) / p.quantum)
      if offset > OFFSET_LIMIT or log.seq >= SEQ_LIMIT then
        rebase(log, p.quantum)
        offset = math.ceil((now - log.base) / p.quantum)
      end
      if p.amount ~= 1 or p.max > 1024 then
        to_amounts(log)
      end
      log.seq = log.seq + 1
      local c = count(log)
      local merged = false
      if log.format == 2 and c > 0 then
        local newest, _, units = entry(log, c)
        if newest == offset then
          -- Units of the same stamp share an entry; the entry now ends at this reservation's sequence.
          local w = width(2)
          log.entries = string.sub(log.entries, 1, (c - 1) * w) .. pack(2, offset, log.seq, units + p.amount)
          merged = true
        end
      end
      if not merged then
        log.entries = log.entries .. pack(log.format, offset, log.seq, p.amount)
      end
      log.used = log.used + p.amount
      log.latest = now
      local stamp = log.base + offset * p.quantum
      local ttl = math.ceil((stamp + p.window - now) / 1000) + slack
      redis.call('SET', KEYS[i], serialize(log), 'PX', fmt(ttl))
      result[3 * i - 1] = result[3 * i - 1] - p.amount
      result[3 * i + 1] = log.seqbase + log.seq
    end
  end
end

return result
