"""A test team: several colleagues talking to the real service (real engine, real Redis store)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.core.dialogue.load import Dialogue
from bot.core.messages import (
    ChannelKey,
    Event,
    EventKind,
    HeaderCard,
    Message,
    Notice,
    QuestionCard,
    QuestionView,
    SummaryCard,
    TallyChanged,
)
from bot.core.render_text import header_text, question_text, summary_text
from bot.service import CheckService

FIXED_NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def render(messages: Iterable[Message]) -> str:
    out = []
    for m in messages:
        if isinstance(m, Notice):
            out.append(m.text)
        elif isinstance(m, QuestionCard):
            out.append(question_text(m.view))
        elif isinstance(m, HeaderCard):
            out.append(header_text(m))
        elif isinstance(m, SummaryCard):
            out.append(summary_text(m.summary))
    return "\n".join(out)


@dataclass
class Team:
    service: CheckService
    channel: ChannelKey = field(default_factory=lambda: ChannelKey("console", "local", "room"))
    log: list[Message] = field(default_factory=list)

    def say(self, user: str, text: str) -> list[Message]:
        messages = self.service.handle_command(self.channel, text, user, user.capitalize())
        self.log += messages
        return messages

    def click(self, user: str, **fields: object) -> list[Message]:
        event = Event(user=user, user_name=user.capitalize(), via_button=True, **fields)  # type: ignore[arg-type]
        messages = self.service.handle(self.channel, event)
        self.log += messages
        return messages

    def tally(self, messages: Iterable[Message]) -> QuestionView:
        """The question card as the adapter would render it after a TallyChanged."""
        changed = [m for m in messages if isinstance(m, TallyChanged)]
        assert changed, "expected a tally change in: " + render(messages)
        card = self.service.question_card(changed[-1].session_id, changed[-1].question_id)
        assert card is not None
        return card.view

    def current(self) -> QuestionCard:
        card = self.service.current(self.channel)
        assert card is not None, "no check is running"
        return card

    @property
    def dialogue(self) -> Dialogue:
        return self.service.dialogue


def notices(messages: Iterable[Message]) -> list[Notice]:
    return [m for m in messages if isinstance(m, Notice)]


def summary_of(messages: Iterable[Message]) -> SummaryCard:
    cards = [m for m in messages if isinstance(m, SummaryCard)]
    assert cards, "no summary in " + render(messages)
    return cards[-1]


def option_number(dialogue: Dialogue, question_id: str, value: str) -> int:
    values = [o.value for o in dialogue.question(question_id).options]
    return values.index(value) + 1


__all__ = ["FIXED_NOW", "Team", "EventKind", "notices", "option_number", "render", "summary_of"]
