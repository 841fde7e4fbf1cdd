"""A question card's options, drawn in one pass over the answers: for each option, who chose it in the
order they answered, how many, and whether everybody did — the same as asking each option in turn,
whatever the stored answers hold (repeated or unknown option numbers included)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.dialogue.flow import Flow
from bot.core.dialogue.load import load_dialogue
from bot.core.session import Answer, SessionMeta, SessionRecord
from bot.core.views import Lens, option_views

DIALOGUE = load_dialogue()
LENS = Lens(DIALOGUE, Flow(DIALOGUE), "en")
QUESTIONS = [q.id for q in DIALOGUE.questions.values() if q.kind in ("scale", "single", "multi")]
CHOICES = st.lists(st.integers(min_value=0, max_value=7), max_size=4).map(tuple)


@given(
    question_id=st.sampled_from(QUESTIONS),
    answers=st.lists(st.tuples(CHOICES, st.integers(min_value=0, max_value=20)), max_size=25),
    anonymous=st.booleans(),
)
def test_each_option_shows_who_chose_it_in_order(
    question_id: str, answers: list[tuple[tuple[int, ...], int]], anonymous: bool
) -> None:
    meta = SessionMeta(
        id="s1", channel="slack|T1|C1", dialogue="d", language="en", facilitator="f", facilitator_name="F"
    )
    meta.anonymous = anonymous
    record = SessionRecord(meta=meta)
    for n, (choices, at) in enumerate(answers):  # the same moment twice: the user key decides
        user = f"u{n:02d}"
        record.names[user] = f"Person {n}"
        record.answers.setdefault(question_id, {})[user] = Answer(choices=choices, at=float(at))
    given_answers = record.answers_to(question_id)
    ordered = sorted(given_answers.items(), key=lambda kv: (kv[1].at, kv[0]))
    views = option_views(LENS, DIALOGUE.question(question_id), record)
    assert [v.number for v in views] == list(range(1, len(DIALOGUE.question(question_id).options) + 1))
    for view in views:
        chose = [user for user, answer in ordered if view.number in answer.choices]
        assert view.count == len(chose)
        assert view.voters == (() if anonymous else tuple(f"Person {int(u[1:])}" for u in chose))
        assert view.selected_by_all == (bool(given_answers) and len(chose) == len(given_answers))
