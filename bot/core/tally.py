"""Counting answers: distribution, spread, the disagreement rule, and the team's result.

Disagreement rule (documented in the README):
- scale questions: two or more people answered and their answers lie two or more steps apart
  on the scale (e.g. "poorly" and "well" on a three-step scale);
- single-choice questions (the decision included): two or more people answered and no option is
  held by a strict majority (more than half);
- multiple choice, free text and dates are never flagged: different picks are expected there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from bot.core.dialogue.load import Dialogue, Question
from bot.core.session import Answer, SessionRecord


def counts(question: Question, answers: Mapping[str, Answer]) -> Counter[int]:
    """How often each option number was chosen."""
    tally: Counter[int] = Counter()
    for answer in answers.values():
        for choice in answer.choices:
            if 1 <= choice <= len(question.options):
                tally[choice] += 1
    return tally


def steps(question: Question, answers: Mapping[str, Answer]) -> list[int]:
    """Scale answers as option positions (0-based), one per person: the scale people answer on (the
    buttons' numbering, minus one). The options' hidden scores feed only the themes (bot.core.summary)."""
    return [a.choices[0] - 1 for a in answers.values() if a.choices and 1 <= a.choices[0] <= len(question.options)]


def disagreement(question: Question, answers: Mapping[str, Answer]) -> tuple[bool, str, int]:
    """(flagged, reason key, gap in steps) by the rule above."""
    if len(answers) < 2:
        return False, "", 0
    if question.kind == "scale":
        positions = steps(question, answers)
        gap = max(positions) - min(positions) if positions else 0
        return gap >= 2, "reason_gap" if gap >= 2 else "", gap
    if question.kind == "single":
        tally = counts(question, answers)
        top = max(tally.values(), default=0)
        if top * 2 <= len(answers):
            return True, "reason_split_decision" if question.is_decision else "reason_no_majority", 0
    return False, "", 0


def plurality(question: Question, answers: Mapping[str, Answer]) -> str | None:
    """The option value chosen most, or None when nobody answered or the top is tied."""
    tally = counts(question, answers)
    if not tally:
        return None
    ranked = tally.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return question.options[ranked[0][0] - 1].value


class SessionFacts:
    """The team's answers as the flow's conditions read them."""

    def __init__(self, dialogue: Dialogue, record: SessionRecord) -> None:
        self._dialogue = dialogue
        self._record = record

    def result(self, question_id: str) -> str | None:
        question = self._dialogue.questions.get(question_id)
        if question is None:
            return None
        if question.is_decision and self._record.meta.decision:
            return self._record.meta.decision
        return plurality(question, self._record.answers_to(question_id))

    def answered(self, question_id: str) -> bool:
        return bool(self._record.answers_to(question_id))
