"""What ``forget-me`` and ``purge`` need of Redis: a team's and a channel's checks, and their removal.

Two small indexes, written by the scripts that create a check (bot.store.scripts ``WRITE_NEW``),
find a team's checks without a key scan: per channel the set of its check ids, per team the set of
its channels' sets (keys in bot.store.keys). Checks stored before the indexes existed are indexed
once by :meth:`PrivacyStore.ensure_indexed`, the only SCAN in the bot, run by the first ``forget-me``
or ``purge`` (never on the answer path) and remembered in Redis.

Reached as ``Store.privacy``. Every write is one atomic script (bot.store.privacy_scripts).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import redis
from redis.commands.core import Script

from bot.core.reminders import Kind, reminder_id
from bot.core.session import SessionMeta, SessionRecord
from bot.errors import StoreError
from bot.store import privacy_scripts as lua
from bot.store.errors import translated
from bot.store.keys import Keys

log = logging.getLogger(__name__)

# The coalescing window of a question's live tally is named this way by bot.runtime.coalesce
# (TallyCoalescer._key); a test keeps the two in step.
TALLY_WINDOW = "tally:{session}:{question}"
FORGET_ATTEMPTS = 5  # a check moved by its facilitator while forgetting: read again, at most this often
_SCAN_BATCH = 500


@dataclass(frozen=True)
class Forgotten:
    """What ``forget`` removed from one check."""

    status: str  # ok | missing | conflict
    answers: int = 0
    notes: int = 0
    checkins: int = 0
    found: bool = False  # the check named them (users table, or as its facilitator)
    questions: tuple[str, ...] = ()  # whose answers or notes changed (their messages can be refreshed)


@dataclass(frozen=True)
class Purged:
    checks: int
    reminders: int  # that were still open
    keys: int


class PrivacyStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._sessions: Script = client.register_script(lua.SESSIONS)
        self._forget: Script = client.register_script(lua.FORGET)
        self._purge: Script = client.register_script(lua.PURGE)
        self._indexed = False

    def scripts(self) -> tuple[Script, ...]:
        return (self._sessions, self._forget, self._purge)

    def index_keys(self, channel: str) -> list[str]:
        """The team's set and the channel's set, as the create scripts take them (last in KEYS)."""
        return [self._keys.team_channels(channel), self._keys.channel_sessions(channel)]

    # --- finding checks -----------------------------------------------------------------------

    def team_checks(self, channel: str) -> list[SessionRecord]:
        """Every stored check of the team ``channel`` belongs to (all its channels, any state)."""
        self.ensure_indexed()
        found: list[SessionRecord] = []
        for bucket in self._keys.buckets:  # a team's channels are spread over the buckets in a cluster
            with translated("list the team's channels"):
                sets = sorted(cast(set[str], self._r.smembers(self._keys.team_channels(channel, bucket))))
            found += [record for _, record in self._read(sets, bucket) if record is not None]
        return found

    def channel_checks(self, channel: str) -> list[tuple[str, SessionRecord | None]]:
        """Every check id of ``channel`` with its record (None: the check is gone, its id remains)."""
        self.ensure_indexed()
        return self._read([self._keys.channel_sessions(channel)], self._keys.bucket_of_channel(channel))

    def _read(self, sets: Sequence[str], bucket: int) -> list[tuple[str, SessionRecord | None]]:
        """The checks listed in ``sets`` (channel sets of one bucket)."""
        if not sets:
            return []
        keys = self._keys
        args = [keys.channel_sessions("", bucket), keys.running("", bucket), keys.history("", bucket)]
        args.append(keys.session("", bucket))
        with translated("read the checks"):
            rows = cast(list[Any], self._sessions(keys=list(sets), args=args))
        return [(str(sid), _record(sid, fields)) for sid, fields in rows]

    def ensure_indexed(self) -> None:
        """Index the checks stored before the indexes existed: one SCAN over ``{p}:s:*``, once per
        Redis (a marker key says it is done); checks created since are indexed as they are created."""
        if self._indexed:
            return
        with translated("index the checks"):
            # A cluster never held checks from before the indexes (the bot refused clusters then).
            if self._keys.cluster or self._r.exists(self._keys.indexed()):
                self._indexed = True
                return
            found = 0
            batch: list[str] = []
            for key in self._r.scan_iter(match=self._keys.session("*"), count=_SCAN_BATCH, _type="hash"):
                batch.append(key)
                if len(batch) >= _SCAN_BATCH:
                    found += self._index(batch)
                    batch = []
            found += self._index(batch)
            self._r.set(self._keys.indexed(), "1")
        log.info("indexed %d checks stored before the channel and team indexes", found)
        self._indexed = True

    def _index(self, session_keys: list[str]) -> int:
        if not session_keys:
            return 0
        pipe = self._r.pipeline(transaction=False)
        for key in session_keys:
            pipe.hget(key, "meta")
        metas = cast(list[str | None], pipe.execute())
        pipe = self._r.pipeline(transaction=False)
        indexed = 0
        for raw in metas:
            try:
                meta = json.loads(raw) if raw else None
            except ValueError:
                meta = None
            if not isinstance(meta, dict) or not isinstance(meta.get("id"), str) or not meta.get("channel"):
                continue
            channel = str(meta["channel"])
            pipe.sadd(self._keys.channel_sessions(channel), meta["id"])
            pipe.sadd(self._keys.team_channels(channel), self._keys.channel_sessions(channel))
            indexed += 1
        pipe.execute()
        return indexed

    # --- forget-me ------------------------------------------------------------------------------

    def forget(self, record: SessionRecord, user: str) -> Forgotten:
        """Remove ``user`` (their stored key in this check) from ``record``'s check: answers, notes,
        check-in answers, their users-table entry and, if they facilitated it, the facilitator's
        key and name. Retries with a fresh read when the facilitator moved the check meanwhile."""
        for _ in range(FORGET_ATTEMPTS):
            expected, meta = "", ""
            if record.meta.facilitator == user:
                blank = _without_facilitator(record.meta)
                expected, meta = str(record.version), blank.encode()
            with translated("forget"):
                reply = cast(list[Any], self._forget(keys=[self._keys.session(record.id)], args=[user, expected, meta]))
            if reply[0] != "conflict":
                if reply[0] != "ok":
                    return Forgotten(str(reply[0]))
                answers, notes, checkins, listed = (int(n) for n in reply[1:5])
                questions = tuple(dict.fromkeys(str(q) for q in reply[5:]))
                return Forgotten("ok", answers, notes, checkins, bool(listed or expected), questions)
            with translated("forget"):
                fields = cast(dict[str, str], self._r.hgetall(self._keys.session(record.id)))
            fresh = _record(record.id, _flat(fields))
            if fresh is None:
                return Forgotten("missing")
            record = fresh
        return Forgotten("conflict")

    # --- purge ----------------------------------------------------------------------------------

    def purge(self, channel: str, session_ids: Iterable[str], questions: Iterable[str]) -> Purged:
        """Remove every check of ``channel`` with its history, reminders, message references, dedup
        marks and click guards, tally windows and index entries, in one atomic step. ``questions``:
        every question id a check could have visited (their nudges and tally windows)."""
        sids = sorted(set(session_ids))
        asked = sorted(set(questions))
        reminder_ids = [reminder_id(kind, sid) for sid in sids for kind in (Kind.REVISIT, Kind.CHECKIN, Kind.SUMMARY)]
        reminder_ids += [reminder_id(Kind.NUDGE, sid, q) for sid in sids for q in asked]
        windows = [
            key
            for sid in sids
            for q in asked
            for key in self._keys.window(TALLY_WINDOW.format(session=sid, question=q))
        ]
        keys = [
            self._keys.running(channel),
            self._keys.history(channel),
            self._keys.channel_sessions(channel),
            self._keys.team_channels(channel),
            self._keys.channel_marks(channel),
            self._keys.channel_reminders(channel),
            self._keys.queue_of_channel(channel),
            *windows,
        ]
        bucket = self._keys.bucket_of_channel(channel)
        args: list[str | int] = [
            self._keys.session("", bucket),
            self._keys.refs("", bucket),
            self._keys.reminder("", bucket=bucket),
            len(sids),
            *sids,
            *reminder_ids,
        ]
        with translated("purge"):
            checks, reminders, removed = (int(n) for n in cast(list[Any], self._purge(keys=keys, args=args)))
        return Purged(checks, reminders, removed)


def _without_facilitator(meta: SessionMeta) -> SessionMeta:
    return replace(meta, facilitator="", facilitator_name="")


def _flat(fields: dict[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]


def _record(sid: object, flat: Sequence[str]) -> SessionRecord | None:
    if not flat:
        return None
    pairs = iter(flat)
    try:
        return SessionRecord.from_fields(dict(zip(pairs, pairs, strict=True)))
    except (KeyError, ValueError, TypeError) as exc:
        raise StoreError(f"session {sid} in Redis is unreadable: {exc!r}") from exc
