"""What the check service needs of the store, and the refusals a store write can end in.

bot.store.store.Store implements :class:`SessionStore`; the service depends only on this view of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.core.messages import Audience, Event, Notice, Tone
from bot.core.reminders import Reminder
from bot.core.session import FINISHED, Answer, Note, SessionRecord
from bot.core.views import Lens
from bot.followups import ReminderStoreLike
from bot.ports import Delivery, TallySnapshot
from bot.privacy import PrivacyStoreLike


class WriteResultLike(Protocol):
    """What a store write answers (bot.store.results.WriteResult)."""

    @property
    def status(self) -> str: ...
    @property
    def record(self) -> SessionRecord | None: ...
    @property
    def count(self) -> int: ...
    @property
    def lead(self) -> bool | None: ...
    @property
    def snapshot(self) -> TallySnapshot | None: ...


class SessionStore(Protocol):
    """What the service needs of the store (bot.store.store.Store implements it)."""

    def create(self, record: SessionRecord) -> WriteResultLike: ...
    def replace_running(self, record: SessionRecord, old_session_id: str) -> WriteResultLike: ...
    def load(self, session_id: str) -> SessionRecord | None: ...
    def load_running(self, channel: str) -> SessionRecord | None: ...
    def record_answer(
        self,
        session_id: str,
        question_id: str,
        user: str,
        answer: Answer,
        name: str | None = None,
        toggle: int | None = None,
    ) -> WriteResultLike: ...
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
    ) -> WriteResultLike: ...
    def claim(self, delivery: Delivery) -> bool: ...
    def add_note(self, session_id: str, note: Note, name: str | None = None) -> WriteResultLike: ...
    def save_meta(
        self, record: SessionRecord, expected_version: int, reminders: Sequence[Reminder] = ()
    ) -> WriteResultLike: ...
    def history(self, channel: str, limit: int = 20, offset: int = 0) -> list[SessionRecord]: ...
    def history_size(self, channel: str) -> int: ...
    def record_checkin(self, session_id: str, question: str, user: str, choice: int) -> int: ...
    @property
    def reminders(self) -> ReminderStoreLike: ...
    @property
    def privacy(self) -> PrivacyStoreLike: ...


def write_refusal(lens: Lens, result: WriteResultLike, event: Event) -> Notice:
    """The store refused a write because the check moved on or ended since it was read."""
    record = result.record
    if event.question_id and (result.status == "stale" or (record and record.meta.status != FINISHED)):
        key = "stale_button"  # a button of a question or check that is no longer open
    elif result.status == "stale":
        return moved_notice(lens, record)
    elif result.status == "closed":
        key = "check_closed" if record is None or record.meta.status == FINISHED else "no_check"
    else:
        key = "no_check"
    return Notice(lens.t(key), Audience.EPHEMERAL, Tone.REFUSAL, key=key)


def moved_notice(lens: Lens, current: SessionRecord | None) -> Notice:
    if current is None or current.meta.status != "running":
        return Notice(lens.t("check_closed"), Audience.EPHEMERAL, Tone.REFUSAL, key="check_closed")
    moved = lens.t("moved_concurrently", number=len(current.meta.path))
    return Notice(moved, Audience.EPHEMERAL, Tone.REFUSAL, key="moved_concurrently")
