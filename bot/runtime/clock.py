"""Clocks that can also run a callback at a deadline: the real one, and one tests move by hand.

``SystemClock`` keeps every deadline in one heap served by ONE scheduler thread, however many
deadlines are pending (10,000 open tally windows cost one thread, not 10,000 ``threading.Timer``s).
Due callbacks run on a few worker threads, so one slow platform call does not hold up the others.
Both the scheduler and the workers start on demand and end when there is nothing left to do (a
worker after lingering a few seconds for more).

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
    """``time.monotonic()``, one scheduler thread, and at most ``workers`` threads running due callbacks.

    Under a steady trickle of due callbacks (tally windows closing every few milliseconds) the same
    threads serve them all: a worker waits ``linger`` seconds for the next one before it ends, and a
    deadline later than the earliest one does not wake the scheduler. Threads start outside the
    lock, because starting one waits for it to run, and the clicks that push deadlines would wait
    for that too."""

    def __init__(self, workers: int = 4, name: str = "clock", linger: float = 5.0) -> None:
        if workers < 1:
            raise BotError("a SystemClock needs at least one worker")
        self._workers = workers
        self._name = name
        self._linger = linger
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the scheduler: an earlier deadline, or close()
        self._due = threading.Condition(self._lock)  # idle workers: a callback is ready, or close()
        self._deadlines = _Deadlines()
        self._scheduler: threading.Thread | None = None
        self._ready: deque[Callback] = deque()
        self._live_workers = 0
        self._idle_workers = 0
        self._closed = False

    def now(self) -> float:
        return time.monotonic()

    def call_at(self, deadline: float, callback: Callback) -> None:
        scheduler = None
        with self._lock:
            if self._closed:
                return
            earliest = self._deadlines.next_deadline()
            self._deadlines.push(deadline, callback)
            if self._scheduler is None:
                scheduler = self._scheduler = self._thread(self._schedule, "scheduler")
            elif earliest is None or deadline < earliest:
                # It waits for a later deadline, or is starting a worker and reads the heap again
                # before it waits: either way an earlier deadline is seen.
                self._wake.notify()
        if scheduler is not None:
            scheduler.start()

    def close(self) -> None:
        """Drop every pending deadline; the threads end once their current callback returns."""
        with self._lock:
            self._closed = True
            self._deadlines.clear()
            self._ready.clear()
            self._wake.notify_all()
            self._due.notify_all()

    def pending(self) -> int:
        with self._lock:
            return len(self._deadlines) + len(self._ready)

    # --- threads -------------------------------------------------------------------------------

    def _thread(self, target: Callback, role: str) -> threading.Thread:
        return threading.Thread(target=target, name=f"{self._name}-{role}", daemon=True)

    def _schedule(self) -> None:
        while (worker := self._next_worker()) is not None:
            worker.start()

    def _next_worker(self) -> threading.Thread | None:
        """Hand due callbacks to the workers until one more worker is needed (returned, to be started
        outside the lock), or no deadline is left (None: this scheduler ends)."""
        with self._lock:
            while True:
                next_at = self._deadlines.next_deadline()
                if next_at is None:
                    self._scheduler = None  # call_at starts a new one under the same lock
                    return None
                due = self._deadlines.pop_due(self.now())
                if due is None:
                    self._wake.wait(max(0.0, next_at - self.now()))
                    continue
                self._ready.append(due[1])
                # A worker leaves only under this lock and with nothing ready, so a callback
                # appended here is taken by a live worker (an idle one is woken) or by a new one.
                if len(self._ready) > self._idle_workers and self._live_workers < self._workers:
                    self._live_workers += 1
                    return self._thread(self._work, "worker")
                self._due.notify()

    def _work(self) -> None:
        with self._lock:
            while True:
                if self._ready:
                    callback = self._ready.popleft()
                    self._lock.release()
                    try:
                        _run(callback)
                    finally:
                        self._lock.acquire()
                    continue
                if self._closed:
                    break
                self._idle_workers += 1
                self._due.wait(self._linger)
                self._idle_workers -= 1
                if not self._ready:
                    break  # nothing came while it waited (or the clock closed)
            self._live_workers -= 1


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
