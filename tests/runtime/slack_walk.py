"""A whole check through Slack slash commands, as people type them (the metrics and the log tests).

The facilitator and colleagues answer every question with ``answer …`` — numbers for choice
questions, their own words for free-text ones, a duration for dates — one of them adds a note,
the team leans "not now" and the facilitator moves on with ``next`` until ``decide not-now`` ends
it. Each command's effect is awaited in Redis (the bot acknowledges first and works just after),
so the walk works against an adapter in this process or a ``socialmedia-check serve`` beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.dialogue.load import Dialogue, load_dialogue
from bot.core.session import SessionRecord, user_key
from bot.store.store import Store

WAIT = 20.0
LEANING = "leaning"  # the question whose "not now" skips the channel choices
DECISION = "not_now"


@dataclass
class Walk:
    check: str = ""
    answers: int = 0  # answers the bot recorded
    texts: list[str] = field(default_factory=list)  # everything people typed in their own words


def wait_for(what: str, condition: Callable[[], object], timeout: float = WAIT) -> None:
    """Poll ``condition`` (a Redis read) until it holds; a bound on waiting, not a pause."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def walk_check(
    slash: Callable[[str, str], object],
    store: Store,
    channel: str,
    facilitator: str,
    colleagues: tuple[str, ...],
    *,
    marker: str = "typed",
    paste: str = "",
    dialogue: Dialogue | None = None,
) -> Walk:
    """Start a check in ``channel`` (``slack:TEAM:CHANNEL``) and walk it to its end; what was typed.
    ``paste`` goes into the first free-text answer as well (what a colleague pasted by mistake)."""
    dialogue = dialogue or load_dialogue(None)
    walk = Walk()
    slash(facilitator, "start en")
    wait_for("the check to start", lambda: store.load_running(channel))
    record = _running(store, channel)
    walk.check = record.id
    people = (facilitator, *colleagues)
    for step in range(100):
        question = dialogue.question(record.meta.state)
        for i, user in enumerate(people):
            if question.kind in ("scale", "single", "multi"):
                values = [o.value for o in question.options]
                wanted = DECISION if question.is_decision or question.id == LEANING else None
                answer = str(values.index(wanted) + 1 if wanted in values else 1 + i % len(values))
            elif question.kind == "date":
                answer = "in 6 months"
            else:
                answer = f"{marker}-answer-{question.id}-{i} we would rather ask our members first"
                walk.texts.append(answer)
                if paste:
                    answer, paste = f"{answer} {paste}", ""
            slash(user, f"answer {answer}")
            key = user_key(record.meta, user)
            wait_for(
                f"{user}'s answer to {question.id}", lambda q=question.id, k=key: k in _answers(store, walk.check, q)
            )
            walk.answers += 1
        if step == 0:
            note = f"{marker}-note no budget for this before the summer"
            walk.texts.append(note)
            slash(colleagues[0], f"note {note}")
            wait_for("the note", lambda: bool(_load(store, walk.check).notes))
        before = len(record.meta.path)
        slash(facilitator, "decide not-now" if question.is_decision else "next")
        wait_for(f"the move past {question.id}", lambda n=before: _moved_on(store, walk.check, n))
        record = _load(store, walk.check)
        if record.meta.status != "running":
            assert record.meta.status == "finished", record.meta.status
            return walk
    raise AssertionError("the check never ended")


def _load(store: Store, check: str) -> SessionRecord:
    record = store.load(check)
    assert record is not None
    return record


def _running(store: Store, channel: str) -> SessionRecord:
    record = store.load_running(channel)
    assert record is not None
    return record


def _answers(store: Store, check: str, question: str) -> dict[str, object]:
    return dict(_load(store, check).answers_to(question))


def _moved_on(store: Store, check: str, before: int) -> bool:
    """Finished, or the next question is open and its message posted (the whole batch went out)."""
    record = _load(store, check)
    if record.meta.status != "running":
        return True
    return len(record.meta.path) > before and store.get_ref(check, f"q:{record.meta.state}") is not None
