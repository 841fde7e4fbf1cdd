"""A check's record survives its Redis fields: whatever people answered (option numbers or any text,
commas, quotes, brackets and newlines included) comes back the same, in the order it was given.
``SessionRecord.from_fields`` decodes a question's answers in one go, so one person's text must never
run into the next person's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.session import Answer, SessionMeta, SessionRecord

ANSWER = st.one_of(
    st.lists(st.integers(min_value=1, max_value=9), max_size=4).map(lambda c: Answer(choices=tuple(c))),
    st.text(max_size=40).map(lambda t: Answer(text=t)),
)


@given(answers=st.lists(st.tuples(st.sampled_from(["q1", "q2"]), ANSWER), max_size=30))
def test_answers_come_back_from_the_fields_as_given(answers: list[tuple[str, Answer]]) -> None:
    meta = SessionMeta(
        id="s1", channel="slack|T1|C1", dialogue="d", language="en", facilitator="f", facilitator_name="F"
    )
    record = SessionRecord(meta=meta)
    for n, (question, answer) in enumerate(answers):
        user = f"u{n}"
        record.users.append(user)
        record.answers.setdefault(question, {})[user] = Answer(answer.choices, answer.text, float(n))
    back = SessionRecord.from_fields(record.to_fields())
    for question, per_user in record.answers.items():
        got = back.answers_to(question)
        assert list(got) == list(per_user), "everyone, in the order they answered"
        assert [(a.choices, a.text) for a in got.values()] == [(a.choices, a.text) for a in per_user.values()]
    assert set(back.answers) == set(record.answers)
