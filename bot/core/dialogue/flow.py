"""The dialogue's flow as one shared ``transitions`` machine per dialogue definition.

The machine is built once (``Machine(model=None, auto_transitions=False)``) and never stored:
each request restores a tiny model whose ``state`` comes from Redis and fires
``machine.events["next"].trigger(model, facts)``. Conditions come from the dialogue data and
read the team's answers through :class:`Facts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from transitions import Machine, MachineError

from bot.core.dialogue.load import Dialogue
from bot.core.dialogue.schema import END, Condition


class Facts(Protocol):
    """What the flow may ask of the team's answers."""

    def result(self, question_id: str) -> str | None: ...
    def answered(self, question_id: str) -> bool: ...


@dataclass
class _Position:
    state: str


def _condition(cond: Condition) -> Callable[[Facts], bool]:
    if cond.unanswered is not None:
        question = cond.unanswered
        return lambda facts: not facts.answered(question)
    question, values = cond.question or "", frozenset(cond.is_ or ())
    return lambda facts: facts.result(question) in values


class Flow:
    """Where ``next`` leads from each question, given the answers so far."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.dialogue = dialogue
        states = [*dialogue.questions, END]
        self.machine = Machine(model=None, states=states, initial=dialogue.start, auto_transitions=False)
        for question in dialogue.questions.values():
            for rule in question.rules:
                conditions: list[str | Callable[..., bool | None]] = [_condition(rule.when)] if rule.when else []
                self.machine.add_transition("next", question.id, rule.goto, conditions=conditions)
        self._next = self.machine.events["next"]

    def next_of(self, state: str, facts: Facts) -> str:
        """The question after ``state`` (or END)."""
        position = _Position(state)
        try:
            self._next.trigger(position, facts)
        except MachineError:  # END has no way out
            return END
        return position.state

    def remaining(self, state: str, facts: Facts) -> int:
        """How many questions are still ahead, the current one excluded, if answers stay as they are."""
        count = 0
        seen = {state}
        while state != END:
            state = self.next_of(state, facts)
            if state == END or state in seen:
                break
            seen.add(state)
            count += 1
        return count
