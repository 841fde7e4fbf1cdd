"""Property: any sequence of events from any users never crashes and never loses an answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.dialogue.load import load_dialogue
from bot.core.messages import ChannelKey, Event, EventKind, Message, Notice, TallyChanged, Tone
from bot.core.session import user_key
from bot.service import CheckService
from bot.store.store import Store

DIALOGUE = load_dialogue()
USERS = ("anna", "bram", "carla", "boss")

commands = st.one_of(
    st.sampled_from(
        [
            "",
            "start",
            "start nl",
            "start --anonymous",
            "start en --quorum 2",
            "next",
            "back",
            "skip",
            "status",
            "summary",
            "cancel",
            "restart",
            "restart confirm",
            "help",
            "decide go",
            "decide pilot",
            "decide not-now",
            "answer 1",
            "answer 2",
            "answer 3",
            "answer 1,2",
            "answer in 3 months",
            "answer 2027-06-01",
            "answer over 2 jaar",
            "note a concern",
        ]
    ),
    st.builds(lambda t: f"answer {t}", st.text(max_size=40)),
    st.builds(lambda t: f"note {t}", st.text(max_size=40)),
    st.text(max_size=30),
)

steps = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.one_of(
            commands.map(lambda c: ("say", c)), st.tuples(st.just("click"), st.integers(1, 4), st.booleans())
        ),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_random_event_sequences(store: Store, steps: list) -> None:
    clock = [datetime(2026, 11, 28, 9, 0, tzinfo=UTC)]

    def now() -> datetime:
        clock[0] += timedelta(seconds=1)  # every event happens a second later
        return clock[0]

    service = CheckService(DIALOGUE, store, admins=frozenset({"boss"}), clock=now)
    channel = ChannelKey("console", "prop", uuid.uuid4().hex)
    expected: dict[tuple[str, str, str], tuple] = {}  # (session, question, user) -> last accepted answer

    for user, step in steps:
        running = store.load_running(str(channel))
        if step[0] == "say":
            messages = service.handle_command(channel, step[1], user, user.title())
        else:
            if running is None:
                continue
            _, number, toggle = step
            event = Event(
                EventKind.ANSWER,
                user=user,
                user_name=user.title(),
                choices=(number,),
                toggle=toggle,
                session_id=running.id,
                question_id=running.meta.state,
                via_button=True,
            )
            messages = service.handle(channel, event)
        _check_messages(messages)
        accepted = [m for m in messages if isinstance(m, TallyChanged)]
        refused = [m for m in messages if isinstance(m, Notice) and m.tone is Tone.REFUSAL]
        is_answer = step[0] == "click" or step[1].startswith("answer ")
        if is_answer and accepted and not refused and running is not None:
            after = store.load(running.id)
            assert after is not None
            key = user_key(after.meta, user)
            stored = after.answers_to(running.meta.state).get(key)
            assert stored is not None, "an accepted answer is stored"
            expected[(running.id, running.meta.state, key)] = (stored.choices, stored.text)

    for (sid, qid, key), (choices, text) in expected.items():
        record = store.load(sid)
        assert record is not None
        answer = record.answers_to(qid).get(key)
        assert answer is not None, f"answer of {key} to {qid} was lost"
        assert (answer.choices, answer.text) == (choices, text), "the last accepted answer counts"


def _check_messages(messages: list[Message]) -> None:
    assert isinstance(messages, list)
    for message in messages:
        if isinstance(message, Notice):
            assert message.text and "Traceback" not in message.text
