"""Clocks that can also run a callback at a deadline: the real one, and one tests move by hand.

``SystemClock`` keeps every deadline in one heap served by ONE scheduler thread, however many
deadlines are pending (10,000 open tally windows cost one thread, not 10,000 ``threading.Timer``s).
Due callbacks run on a few worker threads, so one slow platform call does not hold up the others.
Both the scheduler and the workers start on demand and end when there is nothing left to do.

``ManualClock`` never runs anything by itself: :meth:`ManualClock.advance` moves its time and runs
the callbacks that became due, in deadline order, in the caller's thread, so tests are exact.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from bot.errors import BotError

log = logging.getLogger(__name__)

Callback = Callable[[], None]


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def call_at(self, deadline: float, callback: Callback) -> None:
        """Run ``callback`` once, no earlier than ``deadline`` (in :meth:`now`'s seconds)."""
        ...


def _run(callback: Callback) -> None:
    try:
        callback()
    except Exception:  # one failing callback must not stop the ones after it
        log.exception("scheduled callback %r failed", callback)


class _Deadlines:
    """A heap of (deadline, seq, callback); seq keeps equal deadlines in scheduling order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callback]] = []
        self._seq = itertools.count()

    def push(self, deadline: float, callback: Callback) -> None:
        heapq.heappush(self._heap, (deadline, next(self._seq), callback))

    def next_deadline(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> tuple[float, Callback] | None:
        if self._heap and self._heap[0][0] <= now:
            deadline, _, callback = heapq.heappop(self._heap)
            return deadline, callback
        return None

    def clear(self) -> None:
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)


class SystemClock:
    """``time.monotonic()``, one scheduler thread, and at most ``workers`` threads running due callbacks."""

    def __init__(self, workers: int = 4, name: str = "clock") -> None:
        if workers < 1:
            raise BotError("a SystemClock needs at least one worker")
        self._workers = workers
        self._name = name
        self._cond = threading.Condition()
        self._deadlines = _Deadlines()
        self._scheduler: threading.Thread | None = None
        self._ready: deque[Callback] = deque()
        self._live_workers = 0
        self._closed = False

    def now(self) -> float:
        return time.monotonic()

    def call_at(self, deadline: float, callback: Callback) -> None:
        with self._cond:
            if self._closed:
                return
            self._deadlines.push(deadline, callback)
            if self._scheduler is None:
                self._scheduler = threading.Thread(target=self._schedule, name=f"{self._name}-scheduler", daemon=True)
                self._scheduler.start()
            self._cond.notify_all()

    def close(self) -> None:
        """Drop every pending deadline; the threads end once their current callback returns."""
        with self._cond:
            self._closed = True
            self._deadlines.clear()
            self._ready.clear()
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._deadlines) + len(self._ready)

    # --- threads -------------------------------------------------------------------------------

    def _schedule(self) -> None:
        with self._cond:
            while True:
                next_at = self._deadlines.next_deadline()
                if next_at is None:
                    self._scheduler = None  # call_at starts a new one under the same lock
                    return
                due = self._deadlines.pop_due(self.now())
                if due is None:
                    self._cond.wait(max(0.0, next_at - self.now()))
                    continue
                self._ready.append(due[1])
                # A worker leaves only under this lock and with nothing ready, so a callback
                # appended here is either picked up by a live worker or gets a new one.
                if self._live_workers < self._workers:
                    self._live_workers += 1
                    threading.Thread(target=self._work, name=f"{self._name}-worker", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._cond:
                if not self._ready:
                    self._live_workers -= 1
                    return
                callback = self._ready.popleft()
            _run(callback)


class ManualClock:
    """A clock for tests: time stands still until :meth:`advance`, which runs what became due."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._deadlines = _Deadlines()
        self._lock = threading.RLock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def call_at(self, deadline: float, callback: Callback) -> None:
        with self._lock:
            self._deadlines.push(deadline, callback)

    def pending(self) -> int:
        with self._lock:
            return len(self._deadlines)

    def advance(self, seconds: float) -> int:
        """Move time forward by ``seconds`` and run every callback due by then (including ones the
        callbacks schedule), each with :meth:`now` at its own deadline. Returns how many ran."""
        if seconds < 0:
            raise BotError("a clock does not go back")
        ran = 0
        with self._lock:
            target = self._now + seconds
            while (due := self._deadlines.pop_due(target)) is not None:
                self._now = max(self._now, due[0])
                _run(due[1])
                ran += 1
            self._now = target
        return ran
