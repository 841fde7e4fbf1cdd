"""Hostile input to the follow-up commands (revisit, reminders, reminder, history) and the moment parser.

Properties: the parser never raises and only returns moments after now; every command on a channel
with a finished check gets a list of neutral messages (a refusal at worst), never an exception, and
a scheduled reminder is never moved into the past or more than ten years ahead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.messages import Message, Notice, Tone
from bot.core.reminders import MAX_AHEAD, Kind, check_moment, parse_moment, reminder_id
from bot.store.store import Store
from tests.test_followups import finish, make_world

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
VERBS = ["start", "snooze", "dismiss", "answer", "nieuw", "uitstellen", "laten-vallen", "cancel", "annuleer"]
WHEN = [
    "in 20 seconds", "on 2027-06-01", "over 2 jaar", "volgend jaar", "in 99999999999 days", "in -5 days",
    "on 1999-01-01", "in 11 years", "1 juni 2027", "morgen", "", "in ①", "in ٣ months", "\x00", "on 31-02-2027",
]  # fmt: skip
texts = st.one_of(st.sampled_from(WHEN), st.text(max_size=40), st.text(min_size=70, max_size=200))


@example(text="in 99999999999999999999 days", language="en")
@example(text="in ٣ months", language="nl")
@example(text="x" * 500, language="en")
@given(text=texts, language=st.sampled_from(["en", "nl", "de"]))
def test_the_moment_parser_never_raises_and_only_looks_ahead(text: str, language: str) -> None:
    moment = parse_moment(text, language, NOW)
    if moment is None:
        return
    assert moment.at.tzinfo is not None
    if check_moment(moment, NOW) is None:
        assert NOW < moment.at <= NOW + MAX_AHEAD


@settings(max_examples=60)
@example(command="revisit in 99999999999 days")
@example(command="reminders cancel ../../etc")
@example(command="reminder 0badc0de answer 9 9")
@example(command="history 99999999999999999999")
@given(
    command=st.one_of(
        st.builds(lambda w: f"revisit {w}", texts),
        st.builds(
            lambda v, t: f"reminders {v} {t}", st.sampled_from(["cancel", "annuleer", "x"]), st.text(max_size=12)
        ),
        st.builds(lambda i, v, t: f"reminder {i} {v} {t}", st.sampled_from(["IDS", "0badc0de", ""]),
                  st.sampled_from(VERBS), texts),  # fmt: skip
        st.builds(lambda p: f"history {p}", st.text(max_size=25)),
    )
)
def test_every_follow_up_command_gets_a_polite_answer(store: Store, command: str) -> None:
    world = make_world(store)
    if not store.history("console:local:room", limit=1):
        finish(world)
    revisit = store.history("console:local:room", limit=1)[0]
    rid = reminder_id(Kind.REVISIT, revisit.id)
    reply: list[Message] = world.team.say("bram", command.replace("IDS", rid))
    assert reply and all(isinstance(m, Message.__args__) for m in reply)  # type: ignore[attr-defined]
    for notice in (m for m in reply if isinstance(m, Notice)):
        assert "Traceback" not in notice.text and notice.tone is not Tone.ERROR
    due = store.reminders.get(rid)
    assert due is not None
    if due.due != 0:
        assert due.due <= (NOW + MAX_AHEAD + timedelta(days=1)).timestamp()
