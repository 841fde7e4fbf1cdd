"""Tally updates are coalesced across threads (and processes: the window lives in Redis)."""

from __future__ import annotations

import threading

from bot.runtime.coalesce import TallyCoalescer
from bot.core.dialogue.load import load_dialogue
from bot.core.messages import EventKind, QuestionCard, TallyChanged
from bot.service import CheckService
from bot.store.store import Store
from tests.team import FIXED_NOW, Team

DIALOGUE = load_dialogue()


def test_a_burst_of_30_answers_causes_at_most_3_deliveries_and_the_last_is_final(store: Store) -> None:
    team = Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))
    team.say("anna", "start")
    view = team.current().view
    delivered: list[QuestionCard] = []
    lock = threading.Lock()

    def deliver(card: QuestionCard) -> None:
        with lock:
            delivered.append(card)

    coalescer = TallyCoalescer(store, team.service.question_card, deliver, window=0.5)
    barrier = threading.Barrier(30)

    def click(i: int) -> None:
        barrier.wait()
        event_fields = dict(
            kind=EventKind.ANSWER,
            choices=(1 + i % 3,),
            session_id=view.session_id,
            question_id=view.question_id,
        )
        for message in team.click(f"user{i}", **event_fields):
            if isinstance(message, TallyChanged):
                coalescer.submit(message.session_id, message.question_id)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert coalescer.wait_idle(timeout=10)
    assert 1 <= len(delivered) <= 3, len(delivered)
    assert delivered[-1].view.respondent_count == 30, "the last update shows the final tally"


def test_a_failing_delivery_does_not_keep_the_window_open(store: Store) -> None:
    team = Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))
    team.say("anna", "start")
    card = team.current()
    calls: list[int] = []

    def deliver(c: QuestionCard) -> None:
        calls.append(1)
        raise RuntimeError("platform down")

    coalescer = TallyCoalescer(store, team.service.question_card, deliver, window=0.05)
    coalescer.submit(card.view.session_id, card.view.question_id, card)
    assert coalescer.wait_idle(timeout=5)
    coalescer.submit(card.view.session_id, card.view.question_id)  # a new window: the failed one was released
    assert coalescer.wait_idle(timeout=5)
    assert len(calls) == 2
