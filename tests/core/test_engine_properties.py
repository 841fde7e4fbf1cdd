"""Property: any sequence of events from any users never crashes, never loses an answer, and stores the
RIGHT answer (checked against an independent model of what each accepted answer must leave behind).

Runs under the Hypothesis profile chosen in tests/conftest.py ("ci" is deterministic).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.commands import parse_command
from bot.core.dialogue.load import load_dialogue
from bot.core.messages import ChannelKey, Event, EventKind, Message, Notice, TallyChanged, Tone
from bot.core.session import user_key
from bot.service import CheckService
from bot.store.store import Store

DIALOGUE = load_dialogue()
USERS = ("anna", "bram", "carla", "boss", "dörte.ü")
NO_USERS = ("", "   ")  # a platform that sent no usable user id: refused, nothing recorded
START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
# Digits that str.isdigit() (or int()) accepts but the bot must not: only ASCII 0-9 are numbers.
FOREIGN_DIGITS = ("¹", "²", "①", "ⅷ", "Ⅷ", "٣", "𝟑", "३", "３", "½")
ASCII_CHOICES = re.compile(r"[0-9]{1,3}")

numbers = st.one_of(
    st.integers(0, 12).map(str), st.sampled_from(FOREIGN_DIGITS), st.sampled_from(["-1", "+2", "1.0", "0001", "9999"])
)
choice_lists = st.lists(numbers, min_size=1, max_size=4).flatmap(
    lambda parts: st.sampled_from([",", " ", ", ", ";"]).map(lambda sep: sep.join(parts))
)
start_options = st.lists(
    st.sampled_from(
        ["nl", "en", "de", "--anonymous", "anoniem", "--quorum", "--quorum=2", "2", "3", "0", "501", *FOREIGN_DIGITS]
    ),
    max_size=4,
).map(lambda tokens: " ".join(["start", *tokens]))
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(min_size=990, max_size=1010),  # around the 1000-character limit
    st.just(""),
    st.sampled_from(["in 3 months", "2027-06-01", "over 2 jaar", "in ³ months", "in ٣ months", "tomorrow"]),
)
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
            "note a concern",
            "antwoord 1",
        ]  # fmt: skip
    ),
    start_options,
    st.builds(lambda t: f"answer {t}", choice_lists),
    st.builds(lambda t: f"answer {t}", texts),
    st.builds(lambda t: f"note {t}", texts),
    texts,
)
# Most sequences begin with a check started and moved on some questions, so every kind of question is reached.
openings = st.builds(
    lambda start, skip: [] if start is None else [("anna", ("say", start))] + [("anna", ("say", "next"))] * skip,
    st.sampled_from([None, "start", "start --anonymous", "start nl --quorum 2"]),
    st.integers(0, 30),
)
answers = st.one_of(
    st.builds(lambda n: f"answer {n}", st.integers(1, 6)),
    st.builds(lambda t: f"answer {t}", choice_lists),
    st.sampled_from(["answer in 3 months", "answer 2027-06-01", "answer a plain text answer", "antwoord over 2 jaar"]),
)
clicks = st.tuples(st.just("click"), st.integers(0, 6), st.booleans())
step = st.tuples(
    st.sampled_from(USERS + USERS + NO_USERS[:1]),
    st.one_of(
        commands.map(lambda c: ("say", c)),
        answers.map(lambda c: ("say", c)),
        answers.map(lambda c: ("say", c)),
        clicks,
        clicks,
        st.just(("anna", "next")).map(lambda _: ("say", "next")),
    ),
)
steps = st.builds(lambda first, rest: first + rest, openings, st.lists(step, min_size=5, max_size=40))
Expected = tuple[tuple[int, ...], str | None] | None  # (choices, text); None = withdrawn


def _expected_choices(text: str) -> tuple[int, ...] | None:
    """The model of a typed choice list: ASCII digits only, separated by spaces, commas or semicolons."""
    parts = text.replace(",", " ").replace(";", " ").split()
    if not parts or not all(ASCII_CHOICES.fullmatch(p) for p in parts):
        return None
    return tuple(sorted({int(p) for p in parts}))


@example(steps=[("anna", ("say", "start")), ("bram", ("say", "answer ¹"))])
@example(steps=[("anna", ("say", "start")), ("bram", ("say", "answer ①"))])
@example(steps=[("anna", ("say", "start")), ("bram", ("say", "answer ٣"))])
@example(steps=[("anna", ("say", "start")), ("bram", ("say", "answer 𝟑"))])
@example(steps=[("anna", ("say", "start")), ("bram", ("say", "answer ⅷ"))])
@example(steps=[("anna", ("say", "start --quorum ¹"))])
@example(steps=[("anna", ("say", "start --quorum ٣")), ("anna", ("say", "status"))])
@example(steps=[("anna", ("say", "start")), ("", ("say", "answer 1")), ("   ", ("click", 1, False))])
@given(steps=steps)
def test_random_event_sequences(store: Store, steps: list) -> None:
    clock = [START]

    def now() -> datetime:
        clock[0] += timedelta(seconds=1)  # every event happens a second later
        return clock[0]

    service = CheckService(DIALOGUE, store, admins=frozenset({"boss"}), clock=now)
    channel = ChannelKey("console", "prop", uuid.uuid4().hex)
    model: dict[tuple[str, str, str], Expected] = {}  # (session, question, user key) -> what must be stored

    for user, step in steps:
        running = store.load_running(str(channel))
        before = store.load(running.id) if running else None
        if step[0] == "say":
            messages = service.handle_command(channel, step[1], user, user.title())
            parsed = parse_command(step[1], user)
            answer = parsed if isinstance(parsed, Event) and parsed.kind is EventKind.ANSWER else None
        else:
            if running is None:
                continue
            _, number, toggle = step
            answer = Event(
                EventKind.ANSWER,
                user=user,
                user_name=user.title(),
                choices=(number,),
                toggle=toggle,
                session_id=running.id,
                question_id=running.meta.state,
                via_button=True,
            )
            messages = service.handle(channel, answer)
        _check_messages(messages)
        accepted = [m for m in messages if isinstance(m, TallyChanged)]
        refused = [m for m in messages if isinstance(m, Notice) and m.tone is Tone.REFUSAL]
        if not user.strip():
            assert refused and not accepted, "an event without a user id is refused"
            if before is not None:
                after = store.load(before.id)
                assert after is not None and after.to_fields() == before.to_fields(), "nothing was recorded"
            continue
        if answer is None or running is None or not (accepted and not refused):
            continue
        qid = running.meta.state
        question = DIALOGUE.question(qid)
        key = user_key(running.meta, user)
        previous = model.get((running.id, qid, key))
        want: Expected
        if question.has_options:
            size = len(question.options)
            if answer.via_button:
                if answer.toggle and question.kind == "multi":
                    had = set(previous[0]) if previous else set()
                    chosen = tuple(sorted(had ^ {answer.choices[0]}))
                    want = (chosen, None) if chosen else None
                else:
                    want = (answer.choices, None)
            else:
                choices = _expected_choices(answer.text)
                assert choices is not None, f"{answer.text!r} is not a list of ASCII numbers, yet it was accepted"
                want = (choices, None)
            if want is not None:
                assert all(1 <= c <= size for c in want[0]), f"{want} is out of range 1..{size}"
                assert question.kind == "multi" or len(want[0]) == 1
        elif question.kind == "date":
            stored_answer = store.load(running.id).answers_to(qid).get(key)  # type: ignore[union-attr]
            assert stored_answer is not None and stored_answer.text is not None
            assert date.fromisoformat(stored_answer.text) > START.date()
            assert not any(c.isnumeric() and not c.isascii() for c in answer.text), "foreign digits are no date"
            want = ((), stored_answer.text)
        else:
            want = ((), answer.text.strip())
        model[(running.id, qid, key)] = want
        _assert_stored(store, running.id, qid, key, want)

    for (sid, qid, key), want in model.items():
        _assert_stored(store, sid, qid, key, want)


def _assert_stored(store: Store, sid: str, qid: str, key: str, want: Expected) -> None:
    record = store.load(sid)
    assert record is not None
    answer = record.answers_to(qid).get(key)
    if want is None:
        assert answer is None, f"{key} withdrew the answer to {qid}, yet {answer} is stored"
        return
    assert answer is not None, f"answer of {key} to {qid} was lost"
    assert (answer.choices, answer.text) == want, "the last accepted answer counts, exactly as given"


def _check_messages(messages: list[Message]) -> None:
    assert isinstance(messages, list)
    for message in messages:
        if isinstance(message, Notice):
            assert message.text and "Traceback" not in message.text
