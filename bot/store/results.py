"""What the store's scripts answer, read: a write's WriteResult, and a session from a hash or a flat reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.session import SessionRecord
from bot.errors import StoreError
from bot.ports import TallySnapshot

Status = Literal["ok", "stale", "closed", "missing", "conflict", "duplicate", "guarded"]


@dataclass(frozen=True)
class WriteResult:
    status: Status
    # The session as it is now. Not returned for a recorded answer or note (kept to one small
    # reply on the hot path); None when missing.
    record: SessionRecord | None
    count: int = 0  # record_answer: respondents to the question now; add_note: the note's number
    # record_click: whether this click opened the tally window (None: it did not enter one) and, when
    # it did, the snapshot to render the card from
    lead: bool | None = None
    snapshot: TallySnapshot | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def read_record(reply: Sequence[str] | dict[str, str], what: str) -> SessionRecord | None:
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


def create_result(reply: list[Any], record: SessionRecord) -> WriteResult:
    """A create or replace: "ok" with the new session, else "conflict" with the one that runs."""
    if reply[0] == "ok":
        return WriteResult("ok", record)
    running = read_record(reply[1], "running") if len(reply) > 1 else None
    return WriteResult("conflict", running)


def write_result(reply: int | list[Any], session_id: str) -> WriteResult:
    if isinstance(reply, int):  # recorded: the number of respondents, or the note's number
        return WriteResult("ok", None, reply)
    status: Status = reply[0]
    if status == "missing":
        return WriteResult("missing", None)
    if isinstance(reply[1], int):
        return WriteResult(status, None, reply[1])
    return WriteResult(status, read_record(reply[1], session_id))
