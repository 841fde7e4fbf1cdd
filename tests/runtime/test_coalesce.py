"""Tally updates are coalesced across threads (and processes: the window lives in Redis).

Windows close when the injected ManualClock is advanced; nothing here sleeps or measures time.
"""

from __future__ import annotations

import threading
import uuid

import pytest

from bot.core.dialogue.load import load_dialogue
from bot.core.messages import EventKind, QuestionCard, TallyChanged
from bot.runtime.clock import ManualClock
from bot.runtime.coalesce import TallyCoalescer
from bot.service import CheckService
from bot.store.store import Store
from tests.team import FIXED_NOW, Team

DIALOGUE = load_dialogue()
WINDOW = 1.0


class Deliveries:
    def __init__(self) -> None:
        self.cards: list[QuestionCard] = []
        self._lock = threading.Lock()

    def __call__(self, card: QuestionCard) -> None:
        with self._lock:
            self.cards.append(card)

    def __len__(self) -> int:
        with self._lock:
            return len(self.cards)


def _started(store: Store) -> Team:
    team = Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))
    team.say("anna", "start")
    return team


def _answer(team: Team, coalescer: TallyCoalescer, user: str, choice: int) -> None:
    view = team.current().view
    fields = dict(kind=EventKind.ANSWER, choices=(choice,), session_id=view.session_id, question_id=view.question_id)
    for message in team.click(user, **fields):
        if isinstance(message, TallyChanged):
            coalescer.submit(message.session_id, message.question_id)


def test_a_burst_of_30_concurrent_answers_costs_two_deliveries_and_the_last_is_final(store: Store) -> None:
    team = _started(store)
    clock = ManualClock()
    delivered = Deliveries()
    coalescer = TallyCoalescer(store, team.service.question_card, delivered, window=WINDOW, clock=clock)
    barrier = threading.Barrier(30)

    def click(i: int) -> None:
        barrier.wait()
        _answer(team, coalescer, f"user{i}", 1 + i % 3)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(delivered) == 1, "the first click of a quiet period is shown at once"
    assert coalescer.open_windows == 1
    clock.advance(WINDOW)
    assert len(delivered) == 2, "the other 29 clicks are folded into one closing update"
    assert delivered.cards[-1].view.respondent_count == 30, "the last update shows the final tally"
    clock.advance(WINDOW)
    assert len(delivered) == 2, "a quiet renewed window closes without another edit"
    assert coalescer.open_windows == 0
    assert coalescer.wait_idle(timeout=0)


def test_a_window_without_further_answers_closes_without_an_edit(store: Store) -> None:
    team = _started(store)
    clock = ManualClock()
    delivered = Deliveries()
    coalescer = TallyCoalescer(store, team.service.question_card, delivered, window=WINDOW, clock=clock)
    _answer(team, coalescer, "bob", 1)
    clock.advance(WINDOW / 2)
    assert coalescer.open_windows == 1, "the window is still open half-way"
    clock.advance(WINDOW / 2)
    assert len(delivered) == 1
    assert coalescer.open_windows == 0


def test_answers_spread_over_windows_are_each_folded_into_their_windows_close(store: Store) -> None:
    team = _started(store)
    clock = ManualClock()
    delivered = Deliveries()
    coalescer = TallyCoalescer(store, team.service.question_card, delivered, window=WINDOW, clock=clock)
    _answer(team, coalescer, "u1", 1)  # leader: delivered at once
    _answer(team, coalescer, "u2", 2)  # dirty
    clock.advance(WINDOW)  # close: renew and deliver
    _answer(team, coalescer, "u3", 3)  # dirty again, in the renewed window
    clock.advance(WINDOW)
    clock.advance(WINDOW)
    assert [c.view.respondent_count for c in delivered.cards] == [1, 2, 3]
    assert coalescer.open_windows == 0


def test_the_window_is_shared_across_replicas(store: Store) -> None:
    """Two coalescers on one Redis (two processes): only the leader edits; the other's answer is folded in."""
    team = _started(store)
    clock_a, clock_b = ManualClock(), ManualClock()
    delivered_a, delivered_b = Deliveries(), Deliveries()
    a = TallyCoalescer(store, team.service.question_card, delivered_a, window=WINDOW, clock=clock_a)
    b = TallyCoalescer(store, team.service.question_card, delivered_b, window=WINDOW, clock=clock_b)
    _answer(team, a, "u1", 1)
    _answer(team, b, "u2", 2)
    assert (len(delivered_a), len(delivered_b)) == (1, 0)
    assert b.open_windows == 0, "the second replica does not lead the window"
    clock_a.advance(WINDOW)
    clock_a.advance(WINDOW)
    assert len(delivered_b) == 0
    assert [c.view.respondent_count for c in delivered_a.cards] == [1, 2]
    _answer(team, b, "u3", 3)  # the window was released: now b leads
    assert len(delivered_b) == 1


def test_a_failing_delivery_does_not_keep_the_window_open(store: Store) -> None:
    team = _started(store)
    card = team.current()
    clock = ManualClock()
    calls: list[int] = []

    def deliver(c: QuestionCard) -> None:
        calls.append(1)
        raise RuntimeError("platform down")

    coalescer = TallyCoalescer(store, team.service.question_card, deliver, window=WINDOW, clock=clock)
    coalescer.submit(card.view.session_id, card.view.question_id, card)
    clock.advance(WINDOW)
    assert coalescer.open_windows == 0
    coalescer.submit(card.view.session_id, card.view.question_id)  # a new window: the failed one was released
    assert len(calls) == 2
    clock.advance(WINDOW)
    assert coalescer.open_windows == 0


def test_many_open_windows_share_one_scheduler_thread(store: Store) -> None:
    """2,000 open windows on the real clock cost one thread (threading.Timer cost one each)."""
    coalescer = TallyCoalescer(store, lambda s, q: None, lambda c: None, window=600.0)
    before = threading.active_count()
    session = uuid.uuid4().hex
    try:
        for i in range(2000):
            coalescer.submit(session, f"q{i}")
        assert coalescer.open_windows == 2000
        assert threading.active_count() <= before + 1
    finally:
        coalescer.close()
    assert coalescer.open_windows == 0


def test_on_the_real_clock_windows_close_by_themselves(store: Store) -> None:
    team = _started(store)
    delivered = Deliveries()
    coalescer = TallyCoalescer(store, team.service.question_card, delivered, window=0.01)
    try:
        _answer(team, coalescer, "u1", 1)
        _answer(team, coalescer, "u2", 2)
        assert coalescer.wait_idle(timeout=10), "the scheduler thread closes every window"
        assert [c.view.respondent_count for c in delivered.cards] == [1, 2]
    finally:
        coalescer.close()


def test_a_spread_window_lasts_longer_by_its_own_draw_never_shorter(store: Store) -> None:
    """Windows opened together would close, render and edit together every second (the p99 of a
    crowd, issue #13): each window lasts window × (1 + spread × a fresh draw), so they drift apart;
    never less than the window, so a message still gets at most about one edit per second."""
    team = _started(store)
    clock = ManualClock()
    delivered = Deliveries()
    draws = iter([0.8, 0.2])
    coalescer = TallyCoalescer(
        store, team.service.question_card, delivered, window=WINDOW, clock=clock, spread=0.5, rng=lambda: next(draws)
    )
    _answer(team, coalescer, "u1", 1)  # leads: the window lasts 1.4
    _answer(team, coalescer, "u2", 2)  # dirty
    clock.advance(WINDOW)
    assert (len(delivered), coalescer.open_windows) == (1, 1), "not closed at the plain window's end"
    clock.advance(0.4)
    assert len(delivered) == 2, "closed (renewed) at 1.4"
    clock.advance(1.0)
    assert coalescer.open_windows == 1, "the renewed window drew again: 1.1, not 1.4"
    clock.advance(0.1)
    assert (len(delivered), coalescer.open_windows) == (2, 0)
    for wrong in (-0.1, 1.5):
        with pytest.raises(ValueError):
            TallyCoalescer(store, team.service.question_card, delivered, window=WINDOW, clock=clock, spread=wrong)
