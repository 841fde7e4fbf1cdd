"""The Lua scripts behind bot.store.store: each public store call is one EVALSHA (one round trip). A
click's own (the answer with its claims and tally window) are in bot.store.click_scripts.

Status names and the note prefix come from bot.core.session, so the scripts and the Python side
cannot drift apart.
"""

from __future__ import annotations

from bot.store.lua_names import fill
from bot.store.privacy_scripts import HISTORY_TTL, TRACK_MARK
from bot.store.reminder_scripts import ADD_REMINDER

_lua = fill  # the statuses and field prefixes shared with bot.core.session (bot.store.lua_names)


# Shared tail of create / replace_running. KEYS[1] pointer, KEYS[2] new session, last two: the team's
# and the channel's index sets (bot.store.privacy); ARGV[first..] field/value pairs. HSET per pair:
# no unpack() stack limit on big records.
WRITE_NEW = """
redis.call('SET', KEYS[1], sid, 'EX', ttl)
redis.call('SADD', KEYS[#KEYS], sid)
redis.call('SADD', KEYS[#KEYS - 1], KEYS[#KEYS])
redis.call('DEL', KEYS[2])
for i = first, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[2], ttl)
return {'ok'}
"""

# KEYS: pointer, session, team index, channel index.  ARGV: sid, ttl, session-key prefix, field, value, ...
CREATE = _lua(
    """
local running = redis.call('GET', KEYS[1])
if running then
  local key = ARGV[3] .. running
  if redis.call('HGET', key, 'status') == '$RUNNING' then
    return {'conflict', redis.call('HGETALL', key)}
  end
end
local sid, ttl, first = ARGV[1], ARGV[2], 4
"""
    + WRITE_NEW
)

# KEYS: pointer, new session, old session, team index, channel index.
# ARGV: old sid, new sid, ttl, session-key prefix, field, value, ...
REPLACE_RUNNING = _lua(
    """
local running = redis.call('GET', KEYS[1])
if running ~= ARGV[1] then
  if running then
    local key = ARGV[4] .. running
    if redis.call('HGET', key, 'status') == '$RUNNING' then
      return {'conflict', redis.call('HGETALL', key)}
    end
  end
  return {'conflict'}
end
if redis.call('HGET', KEYS[3], 'status') == '$RUNNING' then
  -- bump ver too, so a facilitator move still in flight on the old check cannot revive it
  redis.call('HSET', KEYS[3], 'status', '$CANCELLED')
  redis.call('HINCRBY', KEYS[3], 'ver', 1)
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
local sid, ttl, first = ARGV[2], ARGV[3], 5
"""
    + WRITE_NEW
)

# KEYS: pointer.  ARGV: session-key prefix
LOAD_RUNNING = _lua(
    """
local sid = redis.call('GET', KEYS[1])
if not sid then return {} end
local key = ARGV[1] .. sid
if redis.call('HGET', key, 'status') ~= '$RUNNING' then return {} end
return redis.call('HGETALL', key)
"""
)

# user_index(session, key, name, known) -> the user's 0-based index in the session's users table ``u``,
# adding them when new. ``known`` is the user's ``x|<key>`` field, read with the caller's own HMGET:
# with it a returning user costs no read of ``u``, and ``uc`` spares a new one the count of its lines.
# Both grow with the crowd (a 2,000-person table is 90 KB; reading it into Lua and counting its lines
# took a millisecond per click). A session written without them (from Python, or before they existed)
# gets them here on its first click: indexes never change (forget blanks a line, it never removes one).
# Plain string operations, no cjson (see bot.core.session for the format). ``name``: '' when anonymous.
USER_INDEX = _lua(
    """
local function user_index(session, key, name, known)
  if known then return tonumber(known) end
  local got = redis.call('HMGET', session, 'u', '$NUSERS')
  local users, count = got[1] or '', tonumber(got[2])
  local idx
  local at = string.find(users, '\\n' .. key .. '\\t', 1, true)
  if at then
    local _, before = string.gsub(string.sub(users, 1, at), '\\n', '')
    idx = before - 1
  else
    if not count then
      local _, lines = string.gsub(users, '\\n', '')
      count = lines
    end
    idx = count
    redis.call('HSET', session, 'u', users .. '\\n' .. key .. '\\t' .. name, '$NUSERS', count + 1)
  end
  redis.call('HSET', session, '$INDEX' .. key, idx)
  return idx
end
"""
)

# KEYS: session.  ARGV: question, user key, name, answer value (JSON), toggle choice ('' = none), ttl
# record_answer() returns the number of respondents (a bare integer: the cheapest reply to parse) — not
# the session: the tally is rendered when it is delivered. Refusals return {status, session}.
# One HMGET reads what the script needs (status, current question, the user's index, this question's
# answers and their count): this is the hot path of the whole bot. ``c|<q>`` keeps the count, so the
# answers are never counted again (rebuilt when missing, as user_index's fields). A function, so
# RECORD_CLICK (bot.store.click_scripts) can go on after it.
ANSWER_FUNCTION = USER_INDEX + _lua(
    """
local function record_answer()
local field, counted = '$ANSWER' .. ARGV[1], '$COUNT' .. ARGV[1]
local got = redis.call('HMGET', KEYS[1], 'status', 'cur', '$INDEX' .. ARGV[2], field, counted)
if not got[1] then return {'missing'} end
if got[1] ~= '$RUNNING' then return {'closed', redis.call('HGETALL', KEYS[1])} end
if got[2] ~= ARGV[1] then return {'stale', redis.call('HGETALL', KEYS[1])} end
local idx = user_index(KEYS[1], ARGV[2], ARGV[3], got[3])
local stored = got[4] or ''
local count = tonumber(got[5])
if not count then
  local _, lines = string.gsub(stored, '\\n', '')
  count = lines
end
local tag = '\\n' .. idx .. '\\t'
local old = nil
local first = string.find(stored, tag, 1, true)
if first then  -- cut out the user's previous answer
  local following = string.find(stored, '\\n', first + 1, true)
  old = string.sub(stored, first + #tag, following and following - 1 or #stored)
  stored = string.sub(stored, 1, first - 1) .. (following and string.sub(stored, following) or '')
  count = count - 1
end
local value = ARGV[4]
if ARGV[5] ~= '' then
  local n, present, choices = tonumber(ARGV[5]), false, {}
  if old and string.sub(old, 1, 1) == '[' then
    for c in string.gmatch(old, '%d+') do
      c = tonumber(c)
      if c == n then present = true else table.insert(choices, c) end
    end
  end
  if not present then table.insert(choices, n) end
  table.sort(choices)
  value = #choices > 0 and ('[' .. table.concat(choices, ',') .. ']') or ''
end
-- the most recent answer goes last; toggling off the last choice withdraws the answer
if value ~= '' then
  stored = stored .. tag .. value
  count = count + 1
end
if stored ~= '' then
  redis.call('HSET', KEYS[1], field, stored, counted, count)
else
  redis.call('HDEL', KEYS[1], field, counted)
end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return count
end
"""
)

RECORD_ANSWER = ANSWER_FUNCTION + "return record_answer()\n"

# KEYS: session.  ARGV: note JSON object without "u", user key, name, ttl
ADD_NOTE = USER_INDEX + _lua(
    """
local got = redis.call('HMGET', KEYS[1], 'status', '$INDEX' .. ARGV[2])
if not got[1] then return {'missing'} end
if got[1] ~= '$RUNNING' then return {'closed', redis.call('HGETALL', KEYS[1])} end
local idx = user_index(KEYS[1], ARGV[2], ARGV[3], got[2])
local seq = redis.call('HINCRBY', KEYS[1], 'nseq', 1)
local note = string.sub(ARGV[1], 1, -2) .. ',"u":' .. idx .. '}'
redis.call('HSET', KEYS[1], string.format('$NOTE%06d', seq), note)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return seq
"""
)

# KEYS: session, pointer, refs, history.  ARGV: expected ver, meta, cur, status, ttl, sid, finished score,
# history ttl (SMC_HISTORY_TTL, 0: keep), then the reminders the move schedules
# (bot.store.reminders.ReminderStore.schedule_args), added with it.
SAVE_META = _lua(
    ADD_REMINDER
    + HISTORY_TTL
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if tonumber(redis.call('HGET', KEYS[1], 'ver') or '0') ~= tonumber(ARGV[1]) then
  return {'conflict', redis.call('HGETALL', KEYS[1])}
end
local was = redis.call('HGET', KEYS[1], 'status')
redis.call('HSET', KEYS[1], 'meta', ARGV[2], 'cur', ARGV[3], 'status', ARGV[4])
if ARGV[4] ~= '$RUNNING' and was == '$RUNNING' then
  -- the answer script's caches serve a running check only: a finished one is kept without them
  local cached = {}
  for _, name in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(name, 1, #'$INDEX') == '$INDEX' or string.sub(name, 1, #'$COUNT') == '$COUNT'
        or name == '$NUSERS' then
      cached[#cached + 1] = name
    end
  end
  for i = 1, #cached, 1000 do redis.call('HDEL', KEYS[1], unpack(cached, i, math.min(i + 999, #cached))) end
end
redis.call('HINCRBY', KEYS[1], 'ver', 1)
local ours = redis.call('GET', KEYS[2]) == ARGV[6]
if ARGV[4] == '$FINISHED' then
  keep_finished(KEYS[1], KEYS[3], was, ARGV[8])
  if ours then redis.call('DEL', KEYS[2]) end
  redis.call('ZADD', KEYS[4], ARGV[7], ARGV[6])
else
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
  if ours then
    if ARGV[4] == '$CANCELLED' then
      redis.call('DEL', KEYS[2])
    else
      redis.call('EXPIRE', KEYS[2], ARGV[5])
    end
  end
end
for i = 9, #ARGV, 4 do
  add_reminder(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  if ARGV[4] == '$FINISHED' then no_longer_than(ARGV[i], KEYS[1]) end
end
return {'ok', redis.call('HGETALL', KEYS[1])}
"""
)

# KEYS: history.  ARGV: limit, session-key prefix, offset (newest first)
HISTORY = """
local out = {}
local first = tonumber(ARGV[3] or '0')
for _, sid in ipairs(redis.call('ZREVRANGE', KEYS[1], first, first + tonumber(ARGV[1]) - 1)) do
  local fields = redis.call('HGETALL', ARGV[2] .. sid)
  if #fields > 0 then table.insert(out, fields) else redis.call('ZREM', KEYS[1], sid) end  -- expired
end
return out
"""

# KEYS: refs, session.  ARGV: name, value, ttl for refs of a session that is gone.
# The refs hash follows the session's expiry: same TTL while it lives, none once it is persisted.
SET_REF = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
elseif ttl == -1 then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 1
"""


# A coalescing window (bot.runtime.coalesce): entering and leaving are atomic, so a "dirty" mark set by
# a follower can never fall between the leader's check and its release.
# KEYS: lock, dirty.  ARGV: ttl in ms.
COALESCE_ENTER = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return 0
"""

COALESCE_EXIT = """
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return 1
end
redis.call('DEL', KEYS[1])
return 0
"""

# A double-click guard on an injected clock (bot.store.store.Store.claim_window): the mark holds the
# time of the last accepted claim, so a refused claim never extends the window. The distance is
# absolute: a replica whose clock lags can at worst let a double click count twice, never lock a user
# out. KEYS: mark (and the channel's marks, bot.store.privacy_scripts.TRACK_MARK).  ARGV: now, window
# (seconds), ttl (whole seconds; only to clean the mark up).
CLAIM_WINDOW = (
    TRACK_MARK
    + """
local last = tonumber(redis.call('GET', KEYS[1]))
local now = tonumber(ARGV[1])
if last and math.abs(now - last) < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
if KEYS[2] then track_mark(KEYS[2], KEYS[1], ARGV[3]) end
return 1
"""
)
