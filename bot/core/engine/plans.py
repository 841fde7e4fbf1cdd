"""What the engine decides: the context it works in and the plan (writes + messages) it returns."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypeAlias

from bot.core.dialogue.flow import Flow
from bot.core.dialogue.load import Dialogue
from bot.core.messages import Audience, Event, Message, Notice, Tone
from bot.core.reminders import Reminder
from bot.core.session import Answer, Note, SessionRecord, new_session_id, user_key
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
    zone: tzinfo = UTC  # SMC_TIMEZONE: where "on 2027-06-01" and "09:00" are
    nudge_after: float = 2 * 86400.0  # SMC_NUDGE_AFTER, seconds a question stays open before its nudge
    summary_grace: float = 120.0  # seconds the inline summary post has before the durable outbox takes over
    new_id: Callable[[str], str] = new_session_id  # the channel's byte first (bot.core.session)
    new_salt: Callable[[], str] = field(default=lambda: secrets.token_hex(16))

    def lens(self, language: str | None) -> Lens:
        if language not in self.dialogue.languages:
            language = (
                self.default_language
                if self.default_language in self.dialogue.languages
                else self.dialogue.languages[0]
            )
        return Lens(self.dialogue, self.flow, language)


# The plan kinds: what to write (if anything) and the messages to send once it is written.


@dataclass
class Reply:
    """Nothing to write: only messages (help, status, a refusal)."""

    messages: list[Message] = field(default_factory=list)


@dataclass
class CreateCheck:
    """A new check; the store refuses it if one runs already."""

    record: SessionRecord
    messages: list[Message]


@dataclass
class ReplaceCheck:
    """Restart: cancel the running check ``replaces`` and create ``record``, atomically."""

    record: SessionRecord
    replaces: str
    messages: list[Message]


@dataclass
class RecordAnswer:
    question_id: str
    user: str  # the user key (a salted hash in an anonymous check)
    name: str | None  # display name to store (never when anonymous)
    answer: Answer
    toggle: int | None = None  # multi choice: add/remove this one option


@dataclass
class AddNote:
    question_id: str
    user: str
    name: str | None
    note: Note


@dataclass
class SaveMove:
    """A facilitator move, applied only if nobody moved the check since ``expected_version``."""

    record: SessionRecord
    expected_version: int
    messages: list[Message]
    reminders: list[Reminder] = field(default_factory=list)  # scheduled in the same atomic write


Plan: TypeAlias = Reply | CreateCheck | ReplaceCheck | RecordAnswer | AddNote | SaveMove


def refuse(lens: Lens, key: str, **values: object) -> Reply:
    return Reply([Notice(lens.t(key, **values), Audience.EPHEMERAL, Tone.REFUSAL, key=key)])


def may_steer(ctx: Context, record: SessionRecord, event: Event) -> bool:
    return (
        event.user == SYSTEM_USER
        or event.user in ctx.admins
        or user_key(record.meta, event.user) == record.meta.facilitator
    )


def not_facilitator(lens: Lens, record: SessionRecord, action: str) -> Plan:
    name = "" if record.meta.anonymous else record.meta.facilitator_name  # none stored: anonymous, or forgotten
    if not name:
        return refuse(lens, "not_for_you_unnamed", action=lens.t(action))
    return refuse(lens, "not_for_you", facilitator=name, action=lens.t(action))


# --- answers and notes ----------------------------------------------------------------------
