"""The Lua scripts of a click (bot.store.clicks): one EVALSHA records it, its claims and its tally window.

A button click used to cost a dedup claim, a double-click guard, the answer, the tally window's
enter and, for the click that leads the window, a read of the whole session and of the message's
ref. These scripts do all of it in one EVALSHA; the window's close (COALESCE_CLOSE, once per window,
not per click) is the only other call, because it happens later, on a timer.
"""

from __future__ import annotations

from bot.store.lua_names import fill
from bot.store.privacy_scripts import TRACK_MARK
from bot.store.scripts import ANSWER_FUNCTION

_lua = fill  # the statuses and field prefixes shared with bot.core.session (bot.store.lua_names)

# claim(...) -> nil when the delivery counts, else 'duplicate' (its mark exists: a retry or a
# duplicate delivery) or 'guarded' (a double click within the guard's window, as CLAIM_WINDOW).
# mark_ttl '' = no mark; now '' = no guard. Both are listed in the channel's marks (TRACK_MARK).
CLAIM_FUNCTION = (
    TRACK_MARK
    + """
local function claim(mark, marks, mark_ttl, guard, now, seconds, guard_ttl)
  local tracked = {}  -- both marks join the channel's set in one pass (one TIME, one trim, one ZADD)
  if mark_ttl ~= '' then
    if not redis.call('SET', mark, '1', 'NX', 'EX', mark_ttl) then return 'duplicate' end
    tracked = {mark, mark_ttl}
  end
  local refused = nil
  if now ~= '' then
    local last = tonumber(redis.call('GET', guard))
    if last and math.abs(tonumber(now) - last) < tonumber(seconds) then
      refused = 'guarded'
    else
      redis.call('SET', guard, now, 'EX', guard_ttl)
      tracked[#tracked + 1] = guard
      tracked[#tracked + 1] = guard_ttl
    end
  end
  if #tracked > 0 then track_marks(marks, tracked) end
  return refused
end
"""
)

# snapshot(session, refs, ref name, first) -> {ref or '', {field, value, ...}}: what a question's card
# is rendered from — meta, position, status, the users table, the answer fields named in ARGV[first..]
# (the question's own and those the flow's branch conditions read) and the notes — instead of HGETALL.
SNAPSHOT_FUNCTION = _lua(
    """
local function snapshot(session, refs, ref_name, first)
  local names = {'meta', 'cur', 'status', 'u'}
  for i = first, #ARGV do names[#names + 1] = ARGV[i] end
  local values = redis.call('HMGET', session, unpack(names))
  local out = {}
  for i, name in ipairs(names) do
    if values[i] then
      out[#out + 1] = name
      out[#out + 1] = values[i]
    end
  end
  local cursor = '0'
  repeat
    local page = redis.call('HSCAN', session, cursor, 'MATCH', '$NOTE*', 'COUNT', 1000)
    cursor = page[1]
    for _, item in ipairs(page[2]) do out[#out + 1] = item end
  until cursor == '0'
  return {redis.call('HGET', refs, ref_name) or '', out}
end
"""
)

# KEYS: session, dedup mark, the channel's marks, guard, window lock, window dirty flag, refs.
# ARGV: 1-6 as RECORD_ANSWER; 7 mark ttl ('' none), 8 guard now ('' none), 9 guard seconds, 10 guard
# ttl, 11 window ttl in ms ('' = do not enter the window), 12 the question message's ref name,
# 13.. the answer fields of a snapshot.
# Returns {'duplicate'} / {'guarded'} (nothing written), RECORD_ANSWER's refusals, the bare count
# (no window), {'follow', count} (the window was open: marked dirty) or
# {'lead', count, ref, fields} (this click opened the window: deliver the card now).
RECORD_CLICK = (
    CLAIM_FUNCTION
    + ANSWER_FUNCTION
    + SNAPSHOT_FUNCTION
    + """
local refused = claim(KEYS[2], KEYS[3], ARGV[7], KEYS[4], ARGV[8], ARGV[9], ARGV[10])
if refused then return {refused} end
local count = record_answer()
if type(count) == 'table' or ARGV[11] == '' then return count end
if not redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[11]) then
  redis.call('SET', KEYS[6], '1', 'PX', ARGV[11])
  return {'follow', count}
end
local snap = snapshot(KEYS[1], KEYS[7], ARGV[12], 13)
return {'lead', count, snap[1], snap[2]}
"""
)

# The claim alone, for a delivery that records no answer (a move, a dialog that opens).
# KEYS: mark, the channel's marks, guard.  ARGV: mark ttl, guard now, guard seconds, guard ttl
# (as RECORD_CLICK). Returns 1 when it counts, else 'duplicate' or 'guarded'.
CLAIM_DELIVERY = (
    CLAIM_FUNCTION
    + """
local refused = claim(KEYS[1], KEYS[2], ARGV[1], KEYS[3], ARGV[2], ARGV[3], ARGV[4])
if refused then return refused end
return 1
"""
)

# COALESCE_EXIT with the snapshot of a renewed window, so the closing edit needs no read of its own.
# KEYS: lock, dirty, session, refs.  ARGV: ttl in ms, the question message's ref name, answer fields...
# Returns 0 (released) or {ref, fields} (renewed: deliver again).
COALESCE_CLOSE = (
    SNAPSHOT_FUNCTION
    + """
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return snapshot(KEYS[3], KEYS[4], ARGV[2], 3)
end
redis.call('DEL', KEYS[1])
return 0
"""
)
