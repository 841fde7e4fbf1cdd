"""The Lua scripts behind bot.store.reminders: every reminder operation is one atomic EVALSHA.

The schedule is a sorted set per queue (member: reminder id, score: when it is due). Claiming moves
the score one lease into the future instead of removing the member, so a claimant that dies before it
reports back simply lets the reminder come due again: exactly one process holds a reminder at a
time, and none is lost. The claim's random token guards the report: a process whose lease ran out
(and whose reminder someone else now holds) cannot finish or reschedule it.
"""

from __future__ import annotations

# Adds one reminder unless it exists: KEYS-like names come in the arguments (hash, queue, channel
# set) so SAVE_META can schedule reminders in the same script as the move that causes them. A
# reminder given as 'done' is settled instead (the nudge of a question the check just left), and
# kept as done for 30 days, so the question is not nudged if the check comes back to it.
ADD_REMINDER = """
local function add_reminder(hkey, qkey, ckey, json)
  local f = cjson.decode(json)
  if f['state'] == 'done' then
    redis.call('ZREM', qkey, f['id'])
    redis.call('SREM', ckey, f['id'])
    if redis.call('EXISTS', hkey) == 0 then
      for k, v in pairs(f) do redis.call('HSET', hkey, k, v) end
    end
    redis.call('HSET', hkey, 'state', 'done')
    redis.call('EXPIRE', hkey, 2592000)
    return 0
  end
  if redis.call('EXISTS', hkey) == 1 then return 0 end
  for k, v in pairs(f) do redis.call('HSET', hkey, k, v) end
  redis.call('ZADD', qkey, f['due'], f['id'])
  redis.call('SADD', ckey, f['id'])
  return 1
end
"""

# ARGV: groups of (hash key, queue key, channel-set key, fields JSON). Returns how many were new.
SCHEDULE = (
    ADD_REMINDER
    + """
local added = 0
for i = 1, #ARGV, 4 do
  added = added + add_reminder(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
end
return added
"""
)

# KEYS: hash, queue, channel set.  ARGV: due, the check's session key.  A new time for an existing
# reminder (snooze, revisit); it is kept as long as its check (SMC_HISTORY_TTL), or for good.
RESCHEDULE = """
local id = redis.call('HGET', KEYS[1], 'id')
if not id then return 0 end
redis.call('HSET', KEYS[1], 'due', ARGV[1], 'state', 'scheduled', 'attempts', 0, 'error', '')
redis.call('HDEL', KEYS[1], 'token')
local left = redis.call('PTTL', ARGV[2] or '')
if left > 0 then redis.call('PEXPIRE', KEYS[1], left) else redis.call('PERSIST', KEYS[1]) end
redis.call('ZADD', KEYS[2], ARGV[1], id)
redis.call('SADD', KEYS[3], id)
return 1
"""

# KEYS: the queues to serve.  ARGV: now, lease seconds, limit, token, hash key prefix.
# Returns {next due time or '', {fields of each claimed reminder}}.
CLAIM = """
local now, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
local next_due = nil
for _, queue in ipairs(KEYS) do
  if #out < limit then
    local ids = redis.call('ZRANGEBYSCORE', queue, '-inf', now, 'LIMIT', 0, limit - #out)
    for _, id in ipairs(ids) do
      local key = ARGV[5] .. id
      local state = redis.call('HGET', key, 'state')
      if state == 'scheduled' or state == 'claimed' then
        redis.call('ZADD', queue, now + lease, id)
        redis.call('HSET', key, 'state', 'claimed', 'token', ARGV[4])
        redis.call('HINCRBY', key, 'attempts', 1)
        table.insert(out, redis.call('HGETALL', key))
      else  -- gone, or settled without leaving the queue: nothing to post
        redis.call('ZREM', queue, id)
      end
    end
  end
  local head = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
  if head[2] and (next_due == nil or tonumber(head[2]) < next_due) then next_due = tonumber(head[2]) end
end
return {next_due and tostring(next_due) or '', out}
"""

# KEYS: hash, queue, channel set.  ARGV: token, new state, ttl for a settled reminder, error.
# 'posted' keeps the reminder listed (its buttons still act on it); 'failed' keeps it listed with
# the reason; any other state leaves the list and expires after the ttl.
REPORT = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', KEYS[1], 'token')
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'error', ARGV[4])
if ARGV[2] ~= 'posted' and ARGV[2] ~= 'failed' then
  redis.call('SREM', KEYS[3], id)
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 1
"""

# KEYS: hash, queue.  ARGV: token, next due, error.  A failed attempt, tried again later.
RETRY = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'scheduled', 'error', ARGV[3])
redis.call('HDEL', KEYS[1], 'token')
redis.call('ZADD', KEYS[2], ARGV[2], redis.call('HGET', KEYS[1], 'id'))
return 1
"""

# ARGV: until, hash key prefix, then groups of (queue key, id, token).  A live claimant keeps the
# claims it is still posting (queued behind the channel's other posts, or retrying): each one it
# still holds is due again only at ``until``. Returns {how many it still held, how many another
# claimant holds now} (one reported or settled meanwhile holds no token: neither).
EXTEND = """
local held, taken = 0, 0
for i = 3, #ARGV, 3 do
  local token = redis.call('HGET', ARGV[2] .. ARGV[i + 1], 'token')
  if token == ARGV[i + 2] then
    redis.call('ZADD', ARGV[i], 'XX', ARGV[1], ARGV[i + 1])
    held = held + 1
  elseif token then
    taken = taken + 1
  end
end
return {held, taken}
"""

# KEYS: hash, queue, channel set.  ARGV: state, ttl.  Settle without a claim (dismiss, cancel, a
# summary that went out inline, a check that moved on before its nudge).
SETTLE = """
local id = redis.call('HGET', KEYS[1], 'id')
if not id then return 0 end
redis.call('ZREM', KEYS[2], id)
redis.call('SREM', KEYS[3], id)
redis.call('HDEL', KEYS[1], 'token')
redis.call('HSET', KEYS[1], 'state', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: channel set.  ARGV: hash key prefix.  The channel's listed reminders.
LIST = """
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local fields = redis.call('HGETALL', ARGV[1] .. id)
  if #fields > 0 then table.insert(out, fields) else redis.call('SREM', KEYS[1], id) end
end
return out
"""

# KEYS: session.  ARGV: field, user key, value.  A pilot check-in answer, kept with the finished
# check (the user's earlier answer to the same question is replaced). Returns the answer count.
CHECKIN_ANSWER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local stored = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local tag = '\\n' .. ARGV[2] .. '\\t'
local first = string.find(stored, tag, 1, true)
if first then
  local following = string.find(stored, '\\n', first + 1, true)
  stored = string.sub(stored, 1, first - 1) .. (following and string.sub(stored, following) or '')
end
stored = stored .. tag .. ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], stored)
local _, count = string.gsub(stored, '\\n', '')
return count
"""
