"""Checks to export, played through the real service and a real Redis store.

Four kinds, as issue #11 asks every format to be tested with: a live check (still running), a
finished one (a second check in the channel, so it carries the comparison with the first), an
anonymous one and a Dutch one. People have distinctive ids and names, so a test can scan every
export for them; their texts hold markup, formulas and mentions that no format may let through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.dialogue.load import load_dialogue
from bot.core.export.source import Source, build_source
from bot.core.messages import ChannelKey, FileExport, Message, Notice
from bot.core.session import SessionRecord
from bot.core.summary import build_summary
from bot.service import CheckService
from bot.store.store import Store

DIALOGUE = load_dialogue()
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
# platform user id -> display name; both must never appear in an anonymous check's exports
PEOPLE = {"U0ANNA7Q": "Anna Quist", "U0BRAM8X": "Bram Xander", "U0CARLA9": "@Carla =Zed"}
FACILITATOR = "U0ANNA7Q"
HOSTILE_TEXT = '=HYPERLINK("http://evil.example","click") # <script>alert(1)</script> [x](javascript:alert(1)) *b* `c`'
HOSTILE_NOTE = "+cmd|' /C calc'!A0 & <b>bold</b> @here"
DATE_ANSWER = "in 6 months"


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    service: CheckService
    store: Store
    channel: ChannelKey
    clock: Clock
    log: list[Message] = field(default_factory=list)

    def say(self, user: str, text: str) -> list[Message]:
        messages = self.service.handle_command(self.channel, text, user, PEOPLE.get(user, user))
        self.log += messages
        return messages

    def export(self, command: str = "export", user: str = FACILITATOR) -> FileExport:
        messages = self.say(user, command)
        files = [m for m in messages if isinstance(m, FileExport)]
        assert len(files) == 1, [m.text for m in messages if isinstance(m, Notice)]
        return files[0]

    def refusal(self, command: str, user: str = FACILITATOR) -> str:
        messages = self.say(user, command)
        assert not any(isinstance(m, FileExport) for m in messages), command
        return "\n".join(m.text for m in messages if isinstance(m, Notice))

    def running(self) -> SessionRecord:
        record = self.store.load_running(str(self.channel))
        assert record is not None
        return record

    def last(self) -> SessionRecord:
        return self.store.history(str(self.channel), limit=1)[0]

    def source(self, record: SessionRecord) -> Source:
        """The export source of ``record``, built the way bot.exports builds it."""
        lens = self.service._context(self.channel).lens(record.meta.language)
        summary = self.service.followups.with_previous(lens, build_summary(lens, record), record)
        return build_source(lens, record, summary, self.clock.now)


def make_world(
    store: Store, channel: str = "room", chart: Callable[..., tuple[bytes, str] | None] | None = None
) -> World:
    clock = Clock()
    service = CheckService(DIALOGUE, store, clock=clock, chart=chart)
    return World(service, store, ChannelKey("console", "local", channel), clock)


def play(world: World, start: str = "start", decision: str = "pilot", stop_after: int | None = None) -> None:
    """Everyone answers every question (differently, so some disagree); the facilitator moves on.
    ``stop_after``: leave the check running after that many questions."""
    world.say(FACILITATOR, start)
    people = list(PEOPLE)
    for asked in range(1, 80):
        card = world.service.current(world.channel)
        assert card is not None, "the check ended before its decision"
        question = DIALOGUE.question(card.view.question_id)
        if question.is_decision:
            number = [o.value for o in question.options].index(decision.replace("-", "_")) + 1
            for user in people:
                world.say(user, f"answer {number}")
            replies = world.say(FACILITATOR, f"decide {decision}")
        else:
            for i, user in enumerate(people):
                answer = _answer_for(question.kind, len(question.options), i, asked)
                if answer is not None:
                    world.say(user, f"answer {answer}")
            if asked == 2:
                world.say("U0BRAM8X", f"note {HOSTILE_NOTE}")
            if asked == 3:
                world.say("U0CARLA9", "note we really have no time for this")
            if stop_after is not None and asked >= stop_after:
                return
            replies = world.say(FACILITATOR, "next")
        if world.store.load_running(str(world.channel)) is None:
            assert any(type(m).__name__ == "SummaryCard" for m in replies)
            return
    raise AssertionError("the check never ended")


def _answer_for(kind: str, options: int, person: int, asked: int) -> str | None:
    if kind in ("scale", "single"):
        return str(1 + (person * 2 + asked) % options)  # spread over the options: some questions disagree
    if kind == "multi":
        return ",".join(str(1 + (person + k) % options) for k in range(1 + person % 2))
    if kind == "text":
        return HOSTILE_TEXT if person == 0 else f"plain answer {person}-{asked}" if person == 1 else None
    if kind == "date":
        return DATE_ANSWER if person == 0 else None
    return None


def live(store: Store) -> World:
    world = make_world(store, "live")
    play(world, stop_after=8)  # past the first text question (7: wishes)
    return world


def finished(store: Store, chart: Callable[..., tuple[bytes, str] | None] | None = None) -> World:
    """Two finished checks in one channel: the second one compares with the first."""
    world = make_world(store, "finished", chart=chart)
    play(world, decision="not-now")
    world.clock.now += timedelta(days=200)  # the second check finishes later: it is the channel's last
    play(world, decision="pilot")
    return world


def anonymous(store: Store, chart: Callable[..., tuple[bytes, str] | None] | None = None) -> World:
    world = make_world(store, "anonymous", chart=chart)
    play(world, start="start --anonymous", decision="go")
    return world


def dutch(store: Store, chart: Callable[..., tuple[bytes, str] | None] | None = None) -> World:
    world = make_world(store, "dutch", chart=chart)
    play(world, start="start nl", decision="pilot")
    return world


KINDS: dict[str, Callable[[Store], World]] = {
    "live": live,
    "finished": finished,
    "anonymous": anonymous,
    "dutch": dutch,
}


def identities(record: SessionRecord) -> list[str]:
    """Everything that would name or identify a person of ``record``: ids, names, salted keys, the salt."""
    found = [*PEOPLE, *PEOPLE.values(), *record.users, record.meta.facilitator]
    if record.meta.salt:
        found.append(record.meta.salt)
    return [f for f in found if f]
