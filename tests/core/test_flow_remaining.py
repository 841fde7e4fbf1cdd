"""Flow.remaining: remembered per state and what the conditions read, never stale when an answer changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.dialogue.flow import Flow
from bot.core.dialogue.load import load_dialogue

DIALOGUE = load_dialogue()
SHARED = Flow(DIALOGUE)  # its memory carries over from example to example, as in a process
STATES = list(DIALOGUE.questions)
# What the packaged flow's conditions read, and values each may take (None: no answer yet)
READ = {"leaning": ["not_now", "go", None], "decision": ["go", "pilot", "not_now", None]}
UNANSWERED = ["channels", "domain"]


class Facts:
    def __init__(self, results: dict[str, str | None], answered: set[str]) -> None:
        self._results, self._answered = results, answered

    def result(self, question_id: str) -> str | None:
        return self._results.get(question_id)

    def answered(self, question_id: str) -> bool:
        return question_id in self._answered or self._results.get(question_id) is not None


facts_of = st.builds(
    Facts,
    st.fixed_dictionaries({q: st.sampled_from(values) for q, values in READ.items()}),
    st.sets(st.sampled_from(UNANSWERED)),
)


@given(state=st.sampled_from(STATES), facts=facts_of)
def test_the_remembered_count_is_the_count_a_fresh_walk_gives(state: str, facts: Facts) -> None:
    fresh = Flow(DIALOGUE)  # nothing remembered
    assert SHARED.remaining(state, facts) == fresh.remaining(state, facts)


def test_a_branch_answer_changes_the_count_ahead() -> None:
    flow = Flow(DIALOGUE)
    go = flow.remaining("leaning", Facts({"leaning": "go"}, set()))
    not_now = flow.remaining("leaning", Facts({"leaning": "not_now"}, set()))
    assert not_now < go  # "not now" skips the channel questions
    assert flow.remaining("leaning", Facts({"leaning": "go"}, set())) == go
