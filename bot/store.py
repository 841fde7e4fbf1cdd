"""The one place that knows Redis keys.

Keys (``p`` = SMC_REDIS_PREFIX)::

    {p}:s:{sid}         session hash (fields: see bot.core.session)
    {p}:ch:{channel}    sid of the channel's running check
    {p}:hist:{channel}  sorted set of finished sids, scored by finished time
    {p}:ref:{sid}       platform message ids kept beside a session
    {p}:once:{key}      delivery de-duplication
    {p}:lock:{key}      short locks
    {p}:dirty:{key}     "needs re-render" flags

Every public call is one round trip: the multi-step ones are Lua scripts (EVALSHA). Scripts that
follow the channel pointer (create, load_running, history) touch a session key that is computed
in the script, so this layout is meant for a single Redis server, not a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.commands.core import Script
from redis.retry import Retry

from bot.core.session import (
    CANCELLED,
    FINISHED,
    NOTE_PREFIX,
    RUNNING,
    Answer,
    Note,
    SessionRecord,
    clean_name,
)
from bot.errors import StoreError

Status = Literal["ok", "stale", "closed", "missing", "conflict"]


@dataclass(frozen=True)
class WriteResult:
    status: Status
    # The session as it is now. Not returned for a recorded answer or note (kept to one small
    # reply on the hot path); None when missing.
    record: SessionRecord | None
    count: int = 0  # record_answer: respondents to the question now; add_note: the note's number

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _lua(source: str) -> str:
    """Fill in the status names and the note prefix shared with bot.core.session."""
    return (
        source.replace("$RUNNING", RUNNING)
        .replace("$FINISHED", FINISHED)
        .replace("$CANCELLED", CANCELLED)
        .replace("$NOTE", NOTE_PREFIX)
    )


# Shared tail of create / replace_running. KEYS[1] pointer, KEYS[2] new session;
# ARGV[first..] field/value pairs. HSET per pair: no unpack() stack limit on big records.
_WRITE_NEW = """
redis.call('SET', KEYS[1], sid, 'EX', ttl)
redis.call('DEL', KEYS[2])
for i = first, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[2], ttl)
return {'ok'}
"""

# KEYS: pointer, session.  ARGV: sid, ttl, session-key prefix, field, value, ...
_CREATE = _lua(
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
    + _WRITE_NEW
)

# KEYS: pointer, new session, old session.  ARGV: old sid, new sid, ttl, session-key prefix, field, value, ...
_REPLACE_RUNNING = _lua(
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
    + _WRITE_NEW
)

# KEYS: pointer.  ARGV: session-key prefix
_LOAD_RUNNING = _lua(
    """
local sid = redis.call('GET', KEYS[1])
if not sid then return {} end
local key = ARGV[1] .. sid
if redis.call('HGET', key, 'status') ~= '$RUNNING' then return {} end
return redis.call('HGETALL', key)
"""
)

# Finds (or adds) the user in the session's users table ``u``; leaves ``idx`` (0-based).
# Plain string operations, no cjson: this runs on every answer (see bot.core.session for the format).
# KEYS[1] session.  ARGV[2] user key, ARGV[3] display name ('' when anonymous).
_USER_INDEX = """
local users = redis.call('HGET', KEYS[1], 'u') or ''
local at = string.find(users, '\\n' .. ARGV[2] .. '\\t', 1, true)
local idx
if at then
  local _, before = string.gsub(string.sub(users, 1, at), '\\n', '')
  idx = before - 1
else
  local _, count = string.gsub(users, '\\n', '')
  idx = count
  redis.call('HSET', KEYS[1], 'u', users .. '\\n' .. ARGV[2] .. '\\t' .. ARGV[3])
end
"""

# KEYS: session.  ARGV: question, user key, name, answer value (JSON), toggle choice ('' = none), ttl
# Returns {'ok', respondents} — not the session: the tally is rendered when it is delivered.
_RECORD_ANSWER = _lua(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local state = redis.call('HMGET', KEYS[1], 'status', 'cur')
if state[1] ~= '$RUNNING' then return {'closed', redis.call('HGETALL', KEYS[1])} end
if state[2] ~= ARGV[1] then return {'stale', redis.call('HGETALL', KEYS[1])} end
"""
    + _USER_INDEX
    + """
local field = 'a|' .. ARGV[1]
local stored = redis.call('HGET', KEYS[1], field) or ''
local tag = '\\n' .. idx .. '\\t'
local old = nil
local first = string.find(stored, tag, 1, true)
if first then  -- cut out the user's previous answer
  local following = string.find(stored, '\\n', first + 1, true)
  old = string.sub(stored, first + #tag, following and following - 1 or #stored)
  stored = string.sub(stored, 1, first - 1) .. (following and string.sub(stored, following) or '')
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
if value ~= '' then stored = stored .. tag .. value end
if stored ~= '' then
  redis.call('HSET', KEYS[1], field, stored)
else
  redis.call('HDEL', KEYS[1], field)
end
redis.call('EXPIRE', KEYS[1], ARGV[6])
local _, count = string.gsub(stored, '\\n', '')
return {'ok', count}
"""
)

# KEYS: session.  ARGV: note JSON object without "u", user key, name, ttl
_ADD_NOTE = _lua(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if redis.call('HGET', KEYS[1], 'status') ~= '$RUNNING' then
  return {'closed', redis.call('HGETALL', KEYS[1])}
end
"""
    + _USER_INDEX
    + """
local seq = redis.call('HINCRBY', KEYS[1], 'nseq', 1)
local note = string.sub(ARGV[1], 1, -2) .. ',"u":' .. idx .. '}'
redis.call('HSET', KEYS[1], string.format('$NOTE%06d', seq), note)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {'ok', seq}
"""
)

# KEYS: session, pointer, refs, history.  ARGV: expected ver, meta, cur, status, ttl, sid, finished score
_SAVE_META = _lua(
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if tonumber(redis.call('HGET', KEYS[1], 'ver') or '0') ~= tonumber(ARGV[1]) then
  return {'conflict', redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'meta', ARGV[2], 'cur', ARGV[3], 'status', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'ver', 1)
local ours = redis.call('GET', KEYS[2]) == ARGV[6]
if ARGV[4] == '$FINISHED' then
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[3])
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
return {'ok', redis.call('HGETALL', KEYS[1])}
"""
)

# KEYS: history.  ARGV: limit, session-key prefix
_HISTORY = """
local out = {}
for _, sid in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)) do
  local fields = redis.call('HGETALL', ARGV[2] .. sid)
  if #fields > 0 then table.insert(out, fields) end
end
return out
"""

# KEYS: refs, session.  ARGV: name, value, ttl for refs of a session that is gone.
# The refs hash follows the session's expiry: same TTL while it lives, none once it is persisted.
_SET_REF = """
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


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Redis errors leave the store as StoreError with a plain message."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreError(f"Redis is unreachable ({action}): {exc}") from exc
    except redis.RedisError as exc:
        raise StoreError(f"Redis refused {action}: {exc}") from exc


def _record(reply: Sequence[str] | dict[str, str], what: str) -> SessionRecord | None:
    """A session from HGETALL (a dict, or a script's flat [field, value, ...] list); None when empty."""
    if not reply:
        return None
    if isinstance(reply, dict):
        fields = reply
    else:
        pairs = iter(reply)
        fields = dict(zip(pairs, pairs, strict=True))
    try:
        return SessionRecord.from_fields(fields)
    except (KeyError, ValueError, TypeError) as exc:
        raise StoreError(f"session {what} in Redis is unreadable: {exc!r}") from exc


# A coalescing window (bot.coalesce): entering and leaving are atomic, so a "dirty" mark set by
# a follower can never fall between the leader's check and its release.
# KEYS: lock, dirty.  ARGV: ttl in ms.
_COALESCE_ENTER = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return 0
"""

_COALESCE_EXIT = """
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return 1
end
redis.call('DEL', KEYS[1])
return 0
"""


class Store:
    """Sessions, channel pointers, history and small coordination keys in Redis."""

    def __init__(self, client: redis.Redis, prefix: str = "smc", session_ttl: int = 30 * 86400) -> None:
        if not client.get_encoder().decode_responses:
            raise ValueError("Store needs a redis client created with decode_responses=True")
        self._r = client
        self._p = prefix
        self._ttl = int(session_ttl)
        self._create: Script = client.register_script(_CREATE)
        self._replace: Script = client.register_script(_REPLACE_RUNNING)
        self._load_running: Script = client.register_script(_LOAD_RUNNING)
        self._answer: Script = client.register_script(_RECORD_ANSWER)
        self._note: Script = client.register_script(_ADD_NOTE)
        self._save_meta: Script = client.register_script(_SAVE_META)
        self._history: Script = client.register_script(_HISTORY)
        self._set_ref: Script = client.register_script(_SET_REF)
        self._enter: Script = client.register_script(_COALESCE_ENTER)
        self._exit: Script = client.register_script(_COALESCE_EXIT)

    @classmethod
    def from_url(cls, url: str, prefix: str = "smc", session_ttl: int = 30 * 86400) -> Store:
        try:
            client = redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=5.0,
                socket_connect_timeout=3.0,
                health_check_interval=30,  # PING a connection idle this long before reusing it
                # Retry only connection failures: a timeout may hide an executed add_note.
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2, (redis.ConnectionError,)),
            )
        except ValueError as exc:
            raise StoreError(f"invalid Redis URL {url!r}: {exc}") from exc
        return cls(client, prefix=prefix, session_ttl=session_ttl)

    # --- keys -------------------------------------------------------------------------------

    def _session_key(self, session_id: str) -> str:
        return f"{self._p}:s:{session_id}"

    def _pointer_key(self, channel: str) -> str:
        return f"{self._p}:ch:{channel}"

    def _history_key(self, channel: str) -> str:
        return f"{self._p}:hist:{channel}"

    def _ref_key(self, session_id: str) -> str:
        return f"{self._p}:ref:{session_id}"

    # --- sessions ---------------------------------------------------------------------------

    def preload_scripts(self) -> None:
        """Load every script once at start-up, so the first answer is one round trip too.
        (After a Redis restart redis-py reloads a missing script by itself: NOSCRIPT, then EVAL.)"""
        scripts = (
            self._create,
            self._replace,
            self._load_running,
            self._answer,
            self._note,
            self._save_meta,
            self._history,
            self._set_ref,
            self._enter,
            self._exit,
        )
        with _translated("script load"):
            for script in scripts:
                script.sha = self._r.script_load(script.script)

    def ping(self) -> bool:
        try:
            return bool(self._r.ping())
        except redis.RedisError:
            return False

    def create(self, record: SessionRecord) -> WriteResult:
        with _translated("create"):
            reply = self._create(
                keys=[self._pointer_key(record.meta.channel), self._session_key(record.id)],
                args=[record.id, self._ttl, self._session_key(""), *_flatten(record.to_fields())],
            )
        return self._new_result(reply, record)

    def replace_running(self, record: SessionRecord, old_session_id: str) -> WriteResult:
        with _translated("replace_running"):
            reply = self._replace(
                keys=[
                    self._pointer_key(record.meta.channel),
                    self._session_key(record.id),
                    self._session_key(old_session_id),
                ],
                args=[
                    old_session_id,
                    record.id,
                    self._ttl,
                    self._session_key(""),
                    *_flatten(record.to_fields()),
                ],
            )
        return self._new_result(reply, record)

    def load(self, session_id: str) -> SessionRecord | None:
        with _translated("load"):
            # decode_responses=True (checked in __init__): keys and values are str
            fields = cast(dict[str, str], self._r.hgetall(self._session_key(session_id)))
        return _record(fields, session_id)

    def load_running(self, channel: str) -> SessionRecord | None:
        with _translated("load_running"):
            flat = self._load_running(keys=[self._pointer_key(channel)], args=[self._session_key("")])
        return _record(flat, f"running in {channel}")

    def record_answer(
        self,
        session_id: str,
        question_id: str,
        user: str,
        answer: Answer,
        name: str | None = None,
        toggle: int | None = None,
    ) -> WriteResult:
        """Store ``user``'s answer (last one counts) if ``question_id`` is still the current question.

        ``user`` is the stored user key (see bot.core.session.user_key). With ``toggle=N`` the
        user's choices gain N, or lose it when already chosen (multi-choice buttons).
        """
        with _translated("record_answer"):
            reply = self._answer(
                keys=[self._session_key(session_id)],
                args=[
                    question_id,
                    user,
                    clean_name(name),
                    answer.value_json(),
                    "" if toggle is None else int(toggle),
                    self._ttl,
                ],
            )
        return _write_result(reply, session_id)

    def add_note(self, session_id: str, note: Note, name: str | None = None) -> WriteResult:
        """Add ``note`` (by ``note.user``, a user key) to a running check; ``count`` is its number."""
        with _translated("add_note"):
            reply = self._note(
                keys=[self._session_key(session_id)],
                args=[note.encode(), note.user, clean_name(name), self._ttl],
            )
        return _write_result(reply, session_id)

    def save_meta(self, record: SessionRecord, expected_version: int) -> WriteResult:
        """A facilitator move: rewrite meta/cur/status if nobody moved since ``expected_version``."""
        meta = record.meta
        fields = record.meta_fields()
        finished_at = meta.finished_at if meta.finished_at is not None else time.time()
        with _translated("save_meta"):
            reply = self._save_meta(
                keys=[
                    self._session_key(record.id),
                    self._pointer_key(meta.channel),
                    self._ref_key(record.id),
                    self._history_key(meta.channel),
                ],
                args=[
                    int(expected_version),
                    fields["meta"],
                    fields["cur"],
                    fields["status"],
                    self._ttl,
                    record.id,
                    repr(float(finished_at)),
                ],
            )
        return _write_result(reply, record.id)

    def history(self, channel: str, limit: int = 20) -> list[SessionRecord]:
        """Finished checks of ``channel``, newest first."""
        if limit <= 0:
            return []
        with _translated("history"):
            rows = self._history(keys=[self._history_key(channel)], args=[int(limit), self._session_key("")])
        return [rec for row in rows if (rec := _record(row, f"in the history of {channel}")) is not None]

    # --- refs and coordination ----------------------------------------------------------------

    def set_ref(self, session_id: str, name: str, value: str) -> None:
        with _translated("set_ref"):
            self._set_ref(
                keys=[self._ref_key(session_id), self._session_key(session_id)], args=[name, value, self._ttl]
            )

    def get_ref(self, session_id: str, name: str) -> str | None:
        with _translated("get_ref"):
            return cast(str | None, self._r.hget(self._ref_key(session_id), name))

    def claim_once(self, key: str, ttl_seconds: int = 86400) -> bool:
        """True the first time ``key`` is claimed (across processes and restarts), False for a repeat."""
        with _translated("claim_once"):
            return bool(self._r.set(f"{self._p}:once:{key}", "1", nx=True, ex=int(ttl_seconds)))

    def coalesce_enter(self, key: str, ttl_ms: int) -> bool:
        """Open a coalescing window for ``key``: True for the leader (deliver now), else mark it dirty."""
        with _translated("coalesce_enter"):
            return bool(self._enter(keys=self._window_keys(key), args=[int(ttl_ms)]))

    def coalesce_exit(self, key: str, ttl_ms: int) -> bool:
        """Close the window: True (window renewed, deliver again) if it was marked dirty meanwhile."""
        with _translated("coalesce_exit"):
            return bool(self._exit(keys=self._window_keys(key), args=[int(ttl_ms)]))

    def _window_keys(self, key: str) -> list[str]:
        return [f"{self._p}:lock:{key}", f"{self._p}:dirty:{key}"]

    def close(self) -> None:
        self._r.close()

    @staticmethod
    def _new_result(reply: list[Any], record: SessionRecord) -> WriteResult:
        if reply[0] == "ok":
            return WriteResult("ok", record)
        running = _record(reply[1], "running") if len(reply) > 1 else None
        return WriteResult("conflict", running)


def _write_result(reply: list[Any], session_id: str) -> WriteResult:
    status: Status = reply[0]
    if status == "missing":
        return WriteResult("missing", None)
    if isinstance(reply[1], int):
        return WriteResult(status, None, reply[1])
    return WriteResult(status, _record(reply[1], session_id))


def _flatten(fields: dict[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]
