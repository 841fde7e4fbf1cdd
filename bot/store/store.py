"""The one place that knows Redis keys.

Keys (``p`` = SMC_REDIS_PREFIX)::

    {p}:s:{sid}         session hash (fields: see bot.core.session)
    {p}:ch:{channel}    sid of the channel's running check
    {p}:hist:{channel}  sorted set of finished sids, scored by finished time
    {p}:ref:{sid}       platform message ids kept beside a session
    {p}:once:{key}      delivery de-duplication
    {p}:win:{key}       double-click guards: when a claim was last accepted (claim_window)
    {p}:lock:{key}      short locks
    {p}:dirty:{key}     "needs re-render" flags
    {p}:chsess:{channel}, {p}:team:{platform}:{team}, {p}:marks:{channel}   privacy indexes (bot.store.privacy)

Every public call is one round trip: the multi-step ones are Lua scripts (EVALSHA). Scripts that
follow the channel pointer (create, load_running, history) touch a session key that is computed
in the script; in a Redis Cluster it shares the channel's hash slot (bot.store.keys: buckets), so
every script stays within one slot.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any, cast

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script

from bot.core.reminders import Reminder, State
from bot.core.session import CHECKIN_PREFIX, Answer, Note, SessionRecord, clean_name
from bot.errors import StoreError
from bot.ports import Delivery, TallySnapshot
from bot.store import scripts as lua
from bot.store.clicks import Clicks, parse_click
from bot.store.connect import RedisSettings, RedisTarget
from bot.store.connect import connect as redis_client
from bot.store.errors import translated
from bot.store.keys import Keys
from bot.store.privacy import PrivacyStore
from bot.store.privacy_scripts import CLAIM_ONCE
from bot.store.reminders import ReminderStore
from bot.store.results import Status, WriteResult, create_result, read_record, write_result

_translated = translated  # Redis errors leave the store as StoreError (bot.store.errors)


class Store:
    """Sessions, channel pointers, history and small coordination keys in Redis."""

    def __init__(
        self, client: redis.Redis, prefix: str = "smc", session_ttl: int = 30 * 86400, history_ttl: int = 0
    ) -> None:
        """``history_ttl``: seconds a finished check is kept (SMC_HISTORY_TTL); 0 keeps it."""
        if not client.get_encoder().decode_responses:
            raise StoreError("Store needs a redis client created with decode_responses=True")
        self._r = client
        self._keys = Keys(prefix, cluster=isinstance(client, RedisCluster))
        self._secret: bytes | None = None
        self._ttl = int(session_ttl)
        self._history_ttl = max(0, int(history_ttl))
        self._create: Script = client.register_script(lua.CREATE)
        self._replace: Script = client.register_script(lua.REPLACE_RUNNING)
        self._load_running: Script = client.register_script(lua.LOAD_RUNNING)
        self._answer: Script = client.register_script(lua.RECORD_ANSWER)
        self._note: Script = client.register_script(lua.ADD_NOTE)
        self._save_meta: Script = client.register_script(lua.SAVE_META)
        self._history: Script = client.register_script(lua.HISTORY)
        self._set_ref: Script = client.register_script(lua.SET_REF)
        self._enter: Script = client.register_script(lua.COALESCE_ENTER)
        self._exit: Script = client.register_script(lua.COALESCE_EXIT)
        self._claim_window: Script = client.register_script(lua.CLAIM_WINDOW)
        self._claim_once: Script = client.register_script(CLAIM_ONCE)
        self.reminders = ReminderStore(client, self._keys)
        self.privacy = PrivacyStore(client, self._keys)
        self.clicks = Clicks(client, self._keys, self._once_secret, read_record)

    @classmethod
    def from_url(cls, url: str, prefix: str = "smc", session_ttl: int = 30 * 86400, history_ttl: int = 0) -> Store:
        return cls.connect(RedisTarget(redis_url=url), prefix=prefix, session_ttl=session_ttl, history_ttl=history_ttl)

    @classmethod
    def connect(cls, settings: RedisSettings, url: str | None = None, **options: Any) -> Store:
        """A Store on the client bot.store.connect builds (REDIS_URL or ``url``, TLS, Sentinel);
        ``options`` as for the constructor."""
        return cls(redis_client(settings, url), **options)

    # --- keys (names in bot.store.keys) ------------------------------------------------------

    def _session_key(self, session_id: str) -> str:
        return self._keys.session(session_id)

    def _sessions_of(self, channel: str) -> str:
        """The prefix the scripts append a session id of ``channel`` to."""
        return self._keys.session("", self._keys.bucket_of_channel(channel))

    def _pointer_key(self, channel: str) -> str:
        return self._keys.running(channel)

    def _history_key(self, channel: str) -> str:
        return self._keys.history(channel)

    def _ref_key(self, session_id: str) -> str:
        return self._keys.refs(session_id)

    def _once_secret(self) -> bytes:
        """The key of the dedup marks' hashes: one random value per prefix, shared by every replica."""
        if self._secret is None:
            fresh = secrets.token_hex(32)
            with _translated("dedup key"):
                self._r.set(self._keys.hash_secret(), fresh, nx=True)
                value = cast(str | None, self._r.get(self._keys.hash_secret()))
            self._secret = (value or fresh).encode()
        return self._secret

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
            self._claim_window,
            self._claim_once,
            *self.reminders.scripts(),
            *self.privacy.scripts(),
            *self.clicks.scripts(),
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
                keys=[
                    self._pointer_key(record.meta.channel),
                    self._session_key(record.id),
                    *self.privacy.index_keys(record.meta.channel),
                ],
                args=[record.id, self._ttl, self._sessions_of(record.meta.channel), *_flatten(record.to_fields())],
            )
        return create_result(reply, record)

    def replace_running(self, record: SessionRecord, old_session_id: str) -> WriteResult:
        with _translated("replace_running"):
            reply = self._replace(
                keys=[
                    self._pointer_key(record.meta.channel),
                    self._session_key(record.id),
                    self._session_key(old_session_id),
                    *self.privacy.index_keys(record.meta.channel),
                ],
                args=[
                    old_session_id,
                    record.id,
                    self._ttl,
                    self._sessions_of(record.meta.channel),
                    *_flatten(record.to_fields()),
                ],
            )
        return create_result(reply, record)

    def load(self, session_id: str) -> SessionRecord | None:
        with _translated("load"):
            # decode_responses=True (checked in __init__): keys and values are str
            fields = cast(dict[str, str], self._r.hgetall(self._session_key(session_id)))
        return read_record(fields, session_id)

    def load_running(self, channel: str) -> SessionRecord | None:
        with _translated("load_running"):
            flat = self._load_running(keys=[self._pointer_key(channel)], args=[self._sessions_of(channel)])
        return read_record(flat, f"running in {channel}")

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
        return write_result(reply, session_id)

    def record_click(
        self,
        session_id: str,
        question_id: str,
        user: str,
        answer: Answer,
        name: str | None,
        toggle: int | None,
        delivery: Delivery,
        fields: Sequence[str] = (),
    ) -> WriteResult:
        """:meth:`record_answer` and the click's claims and tally window in one round trip
        (bot.store.clicks): "duplicate" / "guarded" when the delivery does not count (nothing written);
        with ``delivery.window_ms`` the window is entered too, and the click that opens it (``lead``)
        gets the snapshot of ``fields`` (:meth:`bot.service.CheckService.tally_fields`) to render from."""
        args = [question_id, user, clean_name(name), answer.value_json(), "" if toggle is None else int(toggle)]
        reply = self.clicks.record(
            self._session_key(session_id), [*args, self._ttl], delivery, session_id, question_id, fields
        )
        kind, count, rest = parse_click(reply)
        if kind in ("duplicate", "guarded"):
            return WriteResult(cast(Status, kind), None)
        if kind == "refused":
            return write_result(rest or ["missing"], session_id)
        if kind == "lead" and rest is not None:
            return WriteResult("ok", None, count, True, self.clicks.snapshot(session_id, question_id, rest[0], rest[1]))
        return WriteResult("ok", None, count, False if kind == "follow" else None)

    def claim(self, delivery: Delivery) -> bool:
        """The claims of a delivery that records no answer (dedup mark, double-click guard), in one
        script: False for a repeat or a double click."""
        return self.clicks.claim(delivery) == "ok"

    def coalesce_close(
        self, session_id: str, question_id: str, ttl_ms: int, fields: Sequence[str]
    ) -> TallySnapshot | None:
        """Close a question's tally window: None when released, else renewed, with the snapshot to render."""
        return self.clicks.close_window(self._session_key(session_id), session_id, question_id, ttl_ms, fields)

    def add_note(self, session_id: str, note: Note, name: str | None = None) -> WriteResult:
        """Add ``note`` (by ``note.user``, a user key) to a running check; ``count`` is its number."""
        with _translated("add_note"):
            reply = self._note(
                keys=[self._session_key(session_id)],
                args=[note.encode(), note.user, clean_name(name), self._ttl],
            )
        return write_result(reply, session_id)

    def save_meta(
        self, record: SessionRecord, expected_version: int, reminders: Sequence[Reminder] = ()
    ) -> WriteResult:
        """A facilitator move: rewrite meta/cur/status if nobody moved since ``expected_version``;
        the ``reminders`` it causes are scheduled in the same atomic step (those that exist are kept)."""
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
                    self._history_ttl,
                    *self.reminders.schedule_args(reminders),
                ],
            )
        return write_result(reply, record.id)

    def history(self, channel: str, limit: int = 20, offset: int = 0) -> list[SessionRecord]:
        """Finished checks of ``channel``, newest first, skipping the ``offset`` newest."""
        if limit <= 0:
            return []
        with _translated("history"):
            rows = self._history(
                keys=[self._history_key(channel)], args=[int(limit), self._sessions_of(channel), max(0, int(offset))]
            )
        return [rec for row in rows if (rec := read_record(row, f"in the history of {channel}")) is not None]

    def history_size(self, channel: str) -> int:
        with _translated("history size"):
            return int(self._r.zcard(self._history_key(channel)))

    def settle_outbox(self, job_id: str, channel: str) -> None:
        """A summary went out inline: its durable outbox entry (a reminder of kind summary) is done."""
        self.reminders.settle(job_id, channel, State.DONE)

    def record_checkin(self, session_id: str, question: str, user: str, choice: int) -> int:
        """A pilot check-in answer kept with the (finished) check; -1 when the check is gone."""
        return self.reminders.record_checkin(self._session_key(session_id), CHECKIN_PREFIX + question, user, choice)

    # --- refs and coordination ----------------------------------------------------------------

    def set_ref(self, session_id: str, name: str, value: str) -> None:
        with _translated("set_ref"):
            self._set_ref(
                keys=[self._ref_key(session_id), self._session_key(session_id)], args=[name, value, self._ttl]
            )

    def get_ref(self, session_id: str, name: str) -> str | None:
        with _translated("get_ref"):
            return cast(str | None, self._r.hget(self._ref_key(session_id), name))

    def claim_once(self, key: str, ttl_seconds: int = 86400, channel: str | None = None) -> bool:
        """True the first time ``key`` is claimed (across processes and restarts), False for a repeat.
        With ``channel`` (str(ChannelKey)) the mark is listed with that channel's, for ``purge``."""
        with _translated("claim_once"):
            mark = self._keys.once(key, self._once_secret(), channel)
            if channel is None:
                return bool(self._r.set(mark, "1", nx=True, ex=int(ttl_seconds)))
            marks = self._keys.channel_marks(channel)
            return bool(self._claim_once(keys=[mark, marks], args=[int(ttl_seconds)]))

    def claim_window(self, key: str, now: float, seconds: float, channel: str | None = None) -> bool:
        """True unless ``key`` was last accepted within ``seconds`` of ``now`` (a double-click guard).

        ``now`` comes from the caller's clock (epoch seconds, comparable across replicas), so tests move
        time instead of waiting; a refused claim does not extend the window. The mark expires on its own
        well after any window (Redis time), only to clean up. ``channel``: as in :meth:`claim_once`."""
        with _translated("claim_window"):
            mark = self._keys.claim_window(key, self._once_secret(), channel)
            ttl = 60 + int(seconds * 10)
            keys = [mark] if channel is None else [mark, self._keys.channel_marks(channel)]
            return bool(self._claim_window(keys=keys, args=[repr(float(now)), float(seconds), ttl]))

    def coalesce_enter(self, key: str, ttl_ms: int) -> bool:
        """Open a coalescing window for ``key``: True for the leader (deliver now), else mark it dirty."""
        with _translated("coalesce_enter"):
            return bool(self._enter(keys=self._window_keys(key), args=[int(ttl_ms)]))

    def coalesce_exit(self, key: str, ttl_ms: int) -> bool:
        """Close the window: True (window renewed, deliver again) if it was marked dirty meanwhile."""
        with _translated("coalesce_exit"):
            return bool(self._exit(keys=self._window_keys(key), args=[int(ttl_ms)]))

    def _window_keys(self, key: str) -> list[str]:
        return list(self._keys.window(key))

    def close(self) -> None:
        self._r.close()


def _flatten(fields: dict[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]
