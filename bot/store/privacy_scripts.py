"""The Lua scripts behind bot.store.privacy, and the parts of other scripts that keep data findable
and bounded: dedup marks tracked per channel, and the expiry of finished checks (SMC_HISTORY_TTL).

Every script is one atomic EVALSHA. The field prefixes come from bot.core.session, so the scripts
and the Python side cannot drift apart.
"""

from __future__ import annotations

from bot.store.lua_names import fill

_lua = fill  # the statuses and field prefixes shared with bot.core.session (bot.store.lua_names)


# Folded into the claim scripts (CLAIM_ONCE here, CLAIM_WINDOW in bot.store.scripts), so a click stays
# one round trip: the mark joins its channel's sorted set (score: when the mark expires, Redis time),
# which ``purge`` reads instead of scanning keys. Marks that have expired leave the set here; the set
# itself lives as long as its longest-lived mark.
TRACK_MARK = """
local function track_marks(marks, entries)
  local now = tonumber(redis.call('TIME')[1])
  redis.call('ZREMRANGEBYSCORE', marks, '-inf', now)
  local members, longest = {}, 0
  for i = 1, #entries, 2 do
    local ttl = tonumber(entries[i + 1])
    members[#members + 1] = now + ttl
    members[#members + 1] = entries[i]
    if ttl > longest then longest = ttl end
  end
  redis.call('ZADD', marks, unpack(members))
  if redis.call('TTL', marks) < longest then redis.call('EXPIRE', marks, longest) end
end
local function track_mark(marks, mark, ttl)
  track_marks(marks, {mark, ttl})
end
"""

# KEYS: mark, the channel's marks.  ARGV: ttl (seconds).  1 the first time, 0 for a repeat.
CLAIM_ONCE = (
    TRACK_MARK
    + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
track_mark(KEYS[2], KEYS[1], ARGV[1])
return 1
"""
)

# Used by SAVE_META (bot.store.scripts). A check that finishes is kept ``ttl`` seconds from then
# (SMC_HISTORY_TTL), or for good with ttl 0; a later save of a finished check (a new revisit date)
# leaves that expiry alone, so changing the date never extends how long a check is kept. A reminder
# of a check lives no longer than the check (the scheduler's claim drops ids whose hash is gone).
HISTORY_TTL = _lua(
    """
local function keep_finished(session, refs, was, ttl)
  ttl = tonumber(ttl) or 0
  if ttl <= 0 then
    redis.call('PERSIST', session)
    redis.call('PERSIST', refs)
  elseif was ~= '$FINISHED' then
    redis.call('EXPIRE', session, ttl)
    redis.call('EXPIRE', refs, ttl)
  end
end
local function no_longer_than(key, session)
  local left = redis.call('PTTL', session)
  if left <= 0 then return end
  local own = redis.call('PTTL', key)
  if own == -1 or own > left then redis.call('PEXPIRE', key, left) end
end
"""
)

# KEYS: sets of channel check ids (bot.store.keys.Keys.channel_sessions).  ARGV: that key's prefix,
# the running-pointer prefix, the history prefix, the session prefix.
# Every check of those channels as {sid, {field, value, ...}} ({} when it is gone: the id leaves
# the set). The running pointer and the history are read too, for checks created before the index.
SESSIONS = """
local out = {}
for _, set in ipairs(KEYS) do
  local channel = string.sub(set, #ARGV[1] + 1)
  local ids = redis.call('SMEMBERS', set)
  for _, sid in ipairs(redis.call('ZRANGE', ARGV[3] .. channel, 0, -1)) do table.insert(ids, sid) end
  local running = redis.call('GET', ARGV[2] .. channel)
  if running then table.insert(ids, running) end
  local seen = {}
  for _, sid in ipairs(ids) do
    if not seen[sid] then
      seen[sid] = true
      local fields = redis.call('HGETALL', ARGV[4] .. sid)
      if #fields == 0 then redis.call('SREM', set, sid) end
      table.insert(out, {sid, fields})
    end
  end
end
return out
"""

# KEYS: session.  ARGV: user key, expected version ('' = leave the meta alone), the meta without them
# (they facilitated the check: their key and name blanked).
# Cuts the user's lines out of the users table (the entry is blanked, not removed, so every other
# user keeps their index), of every answer field, of the notes and of the pilot check-in answers.
# Returns {'ok', answers, notes, check-in answers, 1 if the users table named them (else 0), question
# ids whose answers or notes changed...}, {'missing'}, or {'conflict'} when the check moved since its
# meta was read.
FORGET = _lua(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if ARGV[2] ~= '' and tonumber(redis.call('HGET', KEYS[1], 'ver') or '0') ~= tonumber(ARGV[2]) then
  return {'conflict'}
end
local function cut(stored, tag)
  local first = string.find(stored, tag, 1, true)
  if not first then return nil end
  local following = string.find(stored, '\\n', first + 1, true)
  return string.sub(stored, 1, first - 1) .. (following and string.sub(stored, following) or '')
end
local function rewrite(field, stored)
  if stored ~= '' then redis.call('HSET', KEYS[1], field, stored) else redis.call('HDEL', KEYS[1], field) end
end
local users = redis.call('HGET', KEYS[1], 'u') or ''
local entry = '\\n' .. ARGV[1] .. '\\t'
local at = string.find(users, entry, 1, true)
local idx = nil
if at then
  local _, before = string.gsub(string.sub(users, 1, at), '\\n', '')
  idx = before - 1
  local following = string.find(users, '\\n', at + 1, true)
  local rest = following and string.sub(users, following) or ''
  redis.call('HSET', KEYS[1], 'u', string.sub(users, 1, at - 1) .. '\\n\\t' .. rest)
end
redis.call('HDEL', KEYS[1], '$INDEX' .. ARGV[1])  -- the answer script's index of the user: their key
local answers, notes, checkins, changed = 0, 0, 0, {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if idx and string.sub(field, 1, #'$ANSWER') == '$ANSWER' then
    local kept = cut(redis.call('HGET', KEYS[1], field), '\\n' .. idx .. '\\t')
    if kept then
      rewrite(field, kept)
      answers = answers + 1
      table.insert(changed, string.sub(field, #'$ANSWER' + 1))
      redis.call('HDEL', KEYS[1], '$COUNT' .. string.sub(field, #'$ANSWER' + 1))  -- recounted at the next answer
    end
  elseif idx and string.sub(field, 1, #'$NOTE') == '$NOTE' then
    local note = cjson.decode(redis.call('HGET', KEYS[1], field))
    if tonumber(note['u']) == idx then
      redis.call('HDEL', KEYS[1], field)
      notes = notes + 1
      table.insert(changed, tostring(note['q']))
    end
  elseif string.sub(field, 1, #'$CHECKIN') == '$CHECKIN' then
    local kept = cut(redis.call('HGET', KEYS[1], field), entry)
    if kept then
      rewrite(field, kept)
      checkins = checkins + 1
    end
  end
end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'meta', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
end
local out = {'ok', answers, notes, checkins, at and 1 or 0}
for _, question in ipairs(changed) do table.insert(out, question) end
return out
"""
)

# KEYS: running pointer, history, channel check ids, team channels, marks, open reminders, reminder
# queue, then the tally windows (coalescing locks and flags) of the channel's checks.
# ARGV: session prefix, refs prefix, reminder prefix, number of check ids, the check ids, then the
# ids of the checks' reminders (bot.core.reminders.reminder_id: settled ones included).
# Checks indexed since the caller read them (started a moment ago) go too. Returns {checks,
# reminders that were still open, keys removed}.
PURGE = """
local checks, reminders, removed = 0, 0, 0
local sids = redis.call('SMEMBERS', KEYS[3])
for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do table.insert(sids, sid) end
local running = redis.call('GET', KEYS[1])
if running then table.insert(sids, running) end
local count = tonumber(ARGV[4])
for i = 5, 4 + count do table.insert(sids, ARGV[i]) end
local seen = {}
for _, sid in ipairs(sids) do
  if not seen[sid] then
    seen[sid] = true
    local gone = redis.call('DEL', ARGV[1] .. sid)
    checks = checks + gone
    removed = removed + gone + redis.call('DEL', ARGV[2] .. sid)
  end
end
local ids = redis.call('SMEMBERS', KEYS[6])
for i = 5 + count, #ARGV do table.insert(ids, ARGV[i]) end
seen = {}
for _, id in ipairs(ids) do
  if not seen[id] then
    seen[id] = true
    redis.call('ZREM', KEYS[7], id)
    local state = redis.call('HGET', ARGV[3] .. id, 'state')
    if state == 'scheduled' or state == 'claimed' or state == 'posted' or state == 'failed' then
      reminders = reminders + 1
    end
    removed = removed + redis.call('DEL', ARGV[3] .. id)
  end
end
for _, mark in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do removed = removed + redis.call('DEL', mark) end
for i = 8, #KEYS do removed = removed + redis.call('DEL', KEYS[i]) end
redis.call('SREM', KEYS[4], KEYS[3])
for i = 1, 6 do
  if i ~= 4 then removed = removed + redis.call('DEL', KEYS[i]) end
end
return {checks, reminders, removed}
"""
