"""The clocks behind coalescing windows: the manual one is exact, the system one uses one scheduler thread."""

from __future__ import annotations

import functools
import threading

import pytest

from bot.errors import BotError
from bot.runtime.clock import ManualClock, SystemClock


def test_manual_clock_runs_due_callbacks_in_deadline_order() -> None:
    clock = ManualClock(start=100.0)
    seen: list[tuple[str, float]] = []
    clock.call_at(102.0, lambda: seen.append(("b", clock.now())))
    clock.call_at(101.0, lambda: seen.append(("a", clock.now())))
    clock.call_at(105.0, lambda: seen.append(("c", clock.now())))
    assert clock.advance(0.5) == 0
    assert clock.advance(2.0) == 2
    assert seen == [("a", 101.0), ("b", 102.0)], "each callback sees the time of its own deadline"
    assert clock.now() == 102.5
    assert clock.pending() == 1


def test_manual_clock_runs_callbacks_scheduled_by_callbacks_when_due() -> None:
    clock = ManualClock()
    seen: list[float] = []

    def tick() -> None:
        seen.append(clock.now())
        if len(seen) < 5:
            clock.call_at(clock.now() + 1.0, tick)

    clock.call_at(1.0, tick)
    clock.advance(3.0)
    assert seen == [1.0, 2.0, 3.0]
    clock.advance(10.0)
    assert seen == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_failing_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    seen: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    clock.call_at(1.0, boom)
    clock.call_at(2.0, lambda: seen.append("after"))
    clock.advance(2.0)
    assert seen == ["after"]
    assert "scheduled callback" in caplog.text


def test_manual_clock_does_not_go_back() -> None:
    with pytest.raises(BotError):
        ManualClock().advance(-1)


def test_system_clock_runs_callbacks_and_uses_one_scheduler_thread() -> None:
    clock = SystemClock(workers=2, name="t-clock")
    done = threading.Event()
    seen: list[int] = []
    lock = threading.Lock()
    try:
        before = threading.active_count()
        for _ in range(500):
            clock.call_at(clock.now() + 3600, lambda: None)
        assert threading.active_count() == before + 1, "one scheduler thread for 500 deadlines"

        def record(i: int) -> None:
            with lock:
                seen.append(i)
                if len(seen) == 3:
                    done.set()

        for i in range(3):
            clock.call_at(clock.now(), functools.partial(record, i))
        assert done.wait(10)
        assert sorted(seen) == [0, 1, 2]
        assert clock.pending() == 500
    finally:
        clock.close()
    assert clock.pending() == 0
    clock.call_at(clock.now(), lambda: seen.append(99))
    assert clock.pending() == 0, "a closed clock takes no more deadlines"


def test_system_clock_needs_a_worker() -> None:
    with pytest.raises(BotError):
        SystemClock(workers=0)


def test_system_clock_serves_a_trickle_of_callbacks_on_the_same_worker() -> None:
    """One window closing after another: a lingering worker takes each, instead of a new thread
    per callback (starting one costs the scheduler, and the clicks waiting on its lock, a hand-off)."""
    clock = SystemClock(workers=4, name="t-trickle", linger=60.0)
    ran: list[threading.Thread] = []  # the Thread objects themselves: an ident can be reused
    done = threading.Event()
    try:
        for _ in range(30):
            done.clear()

            def record() -> None:
                ran.append(threading.current_thread())
                done.set()

            clock.call_at(clock.now(), record)
            assert done.wait(10)
        assert len(ran) == 30
        assert len(set(ran)) == 1, f"{len(set(ran))} worker threads for 30 callbacks, one after another"
    finally:
        clock.close()


def test_system_clock_runs_due_callbacks_in_parallel_up_to_its_workers() -> None:
    clock = SystemClock(workers=3, name="t-parallel", linger=60.0)
    inside, release = threading.Semaphore(0), threading.Event()
    ran: list[threading.Thread] = []
    try:

        def block() -> None:
            ran.append(threading.current_thread())
            inside.release()
            release.wait(10)

        for _ in range(5):
            clock.call_at(clock.now(), block)
        for _ in range(3):
            assert inside.acquire(timeout=10), "three callbacks run at once"
        assert not inside.acquire(timeout=0.2), "no more than the three workers"
        release.set()
        for _ in range(2):
            assert inside.acquire(timeout=10), "the rest run once a worker is free"
        assert len(set(ran)) == 3
    finally:
        release.set()
        clock.close()
