"""A click in one round trip: the delivery's dedup mark, the double-click guard, the answer and the
live tally's coalescing window in one script, and the snapshot a leading click's card is drawn from.

Before, a button click cost a dedup ``SET``, a guard, the answer's ``EVALSHA``, the window's enter and,
for the click that leads a window, ``HGETALL`` of the session plus ``HGET``s of refs: up to seven
round trips. :meth:`Clicks.record` does all of that in one ``EVALSHA`` (RECORD_CLICK in
bot.store.click_scripts). The window's close (:meth:`Clicks.close_window`) is the one other call, once per
window and not per click: it runs later, on the coalescer's timer, to see whether anyone (in any
replica) clicked while the window was open, and returns the snapshot to render the final tally from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.commands.core import Script

from bot.errors import StoreError
from bot.ports import Delivery, TallySnapshot
from bot.store import click_scripts as lua
from bot.store.errors import translated
from bot.store.keys import Keys, tally_window

# The outbox keeps a question message's id under this ref name (bot.adapters.outbox, "q:<id>").
QUESTION_REF = "q:{question_id}"


def guard_ttl(seconds: float) -> int:
    """How long a double-click guard's mark is kept: well past its window, only to clean it up."""
    return 60 + int(seconds * 10)


class Clicks:
    """The click scripts, on the store's client and keys (``secret``: the keyed hash of marks)."""

    def __init__(self, client: redis.Redis, keys: Keys, secret: Callable[[], bytes], parse: Any) -> None:
        """``parse(flat, what)``: the store's reader of a session from a field/value list."""
        self._keys = keys
        self._secret = secret
        self._parse = parse
        self._record: Script = client.register_script(lua.RECORD_CLICK)
        self._claim: Script = client.register_script(lua.CLAIM_DELIVERY)
        self._close: Script = client.register_script(lua.COALESCE_CLOSE)

    def scripts(self) -> tuple[Script, ...]:
        return self._record, self._claim, self._close

    def record(
        self,
        session_key: str,
        args: Sequence[Any],
        delivery: Delivery,
        session_id: str,
        question_id: str,
        fields: Sequence[str],
    ) -> Any:
        """RECORD_CLICK; ``args`` are RECORD_ANSWER's six. The raw reply (see :func:`parse_click`)."""
        lock, dirty = self._keys.window(tally_window(session_id, question_id))
        with translated("record_answer"):
            return self._record(
                keys=[session_key, *self._claim_keys(delivery), lock, dirty, self._keys.refs(session_id)],
                args=[
                    *args,
                    *self._claim_args(delivery),
                    int(delivery.window_ms) if delivery.window_ms > 0 else "",
                    QUESTION_REF.format(question_id=question_id),
                    *_unique(fields),
                ],
            )

    def claim(self, delivery: Delivery) -> str:
        """The delivery's claim alone: "ok", "duplicate" or "guarded"."""
        with translated("claim"):
            reply = self._claim(keys=self._claim_keys(delivery), args=self._claim_args(delivery))
        return "ok" if reply == 1 else str(reply)

    def close_window(
        self, session_key: str, session_id: str, question_id: str, ttl_ms: int, fields: Sequence[str]
    ) -> TallySnapshot | None:
        """Leave a tally window: None when nobody clicked meanwhile (released), else the window is
        renewed and the snapshot to render the question's card from comes back with it."""
        lock, dirty = self._keys.window(tally_window(session_id, question_id))
        with translated("coalesce_exit"):
            reply = self._close(
                keys=[lock, dirty, session_key, self._keys.refs(session_id)],
                args=[int(ttl_ms), QUESTION_REF.format(question_id=question_id), *_unique(fields)],
            )
        if not isinstance(reply, list):
            return None
        return self.snapshot(session_id, question_id, reply[0], reply[1])

    def snapshot(self, session_id: str, question_id: str, ref: str, flat: Sequence[str]) -> TallySnapshot:
        record = self._parse(flat, session_id) if flat else None
        return TallySnapshot(session_id, question_id, record, str(ref or ""))

    # --- keys and arguments -----------------------------------------------------------------------

    def _claim_keys(self, delivery: Delivery) -> list[str]:
        secret = self._secret()
        # A key that is not used still has to be named; these never exist.
        channel = delivery.channel
        mark = self._keys.once(delivery.mark, secret, channel) if delivery.mark else self._keys.once("-", b"-", channel)
        guard = (
            self._keys.claim_window(delivery.guard, secret, channel)
            if delivery.guard
            else self._keys.claim_window("-", b"-", channel)
        )
        return [mark, self._keys.channel_marks(delivery.channel), guard]

    @staticmethod
    def _claim_args(delivery: Delivery) -> list[Any]:
        if delivery.mark and delivery.mark_ttl <= 0:
            raise StoreError("a dedup mark needs a positive ttl")
        guarded = bool(delivery.guard)
        return [
            int(delivery.mark_ttl) if delivery.mark else "",
            repr(float(delivery.guard_at)) if guarded else "",
            float(delivery.guard_seconds),
            guard_ttl(delivery.guard_seconds),
        ]


def parse_click(reply: Any) -> tuple[str, int, list[Any] | None]:
    """RECORD_CLICK's reply as (what happened, respondents, the rest): "ok" (no window), "follow",
    "lead" (rest: ref and fields), "duplicate", "guarded", or a refusal (rest: RECORD_ANSWER's reply)."""
    if isinstance(reply, int):
        return "ok", reply, None
    kind = str(reply[0])
    if kind in ("follow", "lead"):
        return kind, int(reply[1]), list(reply[2:])
    if kind in ("duplicate", "guarded"):
        return kind, 0, None
    return "refused", 0, list(reply)


def _unique(fields: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(fields))
