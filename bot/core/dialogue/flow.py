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

REMEMBERED = 4096  # counts of questions ahead kept per flow (bounded: a key is a few short strings)


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
        # The questions the conditions read: all that where the flow leads depends on.
        self.reads = tuple(
            dict.fromkeys(
                name
                for question in dialogue.questions.values()
                for rule in question.rules
                if rule.when is not None
                for name in (rule.when.question, rule.when.unanswered)
                if name
            )
        )
        self._ahead: dict[tuple[object, ...], int] = {}

    def next_of(self, state: str, facts: Facts) -> str:
        """The question after ``state`` (or END)."""
        position = _Position(state)
        try:
            self._next.trigger(position, facts)
        except MachineError:  # END has no way out
            return END
        return position.state

    def remaining(self, state: str, facts: Facts) -> int:
        """How many questions are still ahead, the current one excluded, if answers stay as they are.

        Walking the machine to the end is a trigger per question, and every card shows the count: it
        is remembered per state and what the conditions read (a handful of answers, few combinations)."""
        key = (state, *((facts.result(q), facts.answered(q)) for q in self.reads))
        ahead = self._ahead.get(key)
        if ahead is None:
            ahead = self._walk(state, facts)
            if len(self._ahead) >= REMEMBERED:  # a bound for a dialogue with many branches; rarely hit
                self._ahead.clear()
            self._ahead[key] = ahead
        return ahead

    def _walk(self, state: str, facts: Facts) -> int:
        count = 0
        seen = {state}
        while state != END:
            state = self.next_of(state, facts)
            if state == END or state in seen:
                break
            seen.add(state)
            count += 1
        return count
