"""What the engine decides: the context it works in and the plan (writes + messages) it returns."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.dialogue.load import Dialogue
from bot.core.dialogue.flow import Flow
from bot.core.messages import Audience, Event, Message, Notice, Tone
from bot.core.session import Answer, Note, SessionRecord, user_key
from bot.core.views import Lens

SYSTEM_USER = "__system__"
MAX_DATE_AHEAD = timedelta(days=366 * 10)


@dataclass(frozen=True)
class Context:
    """Everything the engine needs besides the session and the event."""

    dialogue: Dialogue
    flow: Flow
    now: datetime
    channel: str = ""  # str(ChannelKey) of the channel the event came from
    admins: frozenset[str] = frozenset()
    default_language: str = "en"
    max_text: int = 1000
    session_ttl_days: int = 30
    new_id: Callable[[], str] = field(default=lambda: secrets.token_hex(6))
    new_salt: Callable[[], str] = field(default=lambda: secrets.token_hex(16))

    def lens(self, language: str | None) -> Lens:
        if language not in self.dialogue.languages:
            language = (
                self.default_language
                if self.default_language in self.dialogue.languages
                else self.dialogue.languages[0]
            )
        return Lens(self.dialogue, self.flow, language)


class Write(StrEnum):
    NONE = "none"
    CREATE = "create"  # a new check; fails if one runs already
    REPLACE = "replace"  # restart: cancel ``replaces`` and create ``record``
    ANSWER = "answer"
    NOTE = "note"
    META = "meta"  # facilitator move, version-checked


@dataclass
class Plan:
    messages: list[Message] = field(default_factory=list)
    write: Write = Write.NONE
    record: SessionRecord | None = None  # CREATE / REPLACE / META: the record to store
    expected_version: int = 0  # META
    replaces: str | None = None  # REPLACE
    question_id: str = ""  # ANSWER / NOTE
    user: str = ""  # ANSWER / NOTE: the user key
    name: str | None = None  # display name to store (never when anonymous)
    answer: Answer | None = None
    toggle: int | None = None
    note: Note | None = None


def refuse(lens: Lens, key: str, **values: object) -> Plan:
    return Plan([Notice(lens.t(key, **values), Audience.EPHEMERAL, Tone.REFUSAL)])


def may_steer(ctx: Context, record: SessionRecord, event: Event) -> bool:
    return (
        event.user == SYSTEM_USER
        or event.user in ctx.admins
        or user_key(record.meta, event.user) == record.meta.facilitator
    )


def not_facilitator(lens: Lens, record: SessionRecord, action: str) -> Plan:
    return refuse(lens, "not_for_you", facilitator=record.meta.facilitator_name, action=lens.t(action))


# --- answers and notes ----------------------------------------------------------------------
