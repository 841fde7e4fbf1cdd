"""Coalesce live-tally updates so a burst of clicks costs a few message edits, not one per click.

Per question message there is a window (default 1 s), held as a lock in Redis so it works across
processes. The first answer in a quiet period becomes the *leader*: its card is delivered at once
and a timer closes the window later. Answers that arrive while the window is open only mark the
message dirty. When the window closes, the leader atomically either renews the window (if dirty)
and re-renders the card from Redis, or releases it. Entering and leaving are atomic in Redis, so a
dirty mark is never lost between the check and the release; the last delivery is always rendered
after the last answer was written.

Every window of a coalescer shares one clock (``bot.runtime.clock``): by default a
:class:`~bot.runtime.clock.SystemClock`, whose single scheduler thread serves all open windows;
tests pass a :class:`~bot.runtime.clock.ManualClock` and close windows by advancing it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Protocol

from bot.core.messages import QuestionCard
from bot.runtime.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class CoalescingStore(Protocol):
    def coalesce_enter(self, key: str, ttl_ms: int) -> bool: ...
    def coalesce_exit(self, key: str, ttl_ms: int) -> bool: ...


Render = Callable[[str, str], "QuestionCard | None"]
Deliver = Callable[[QuestionCard], None]


class TallyCoalescer:
    def __init__(
        self,
        store: CoalescingStore,
        render: Render,
        deliver: Deliver,
        window: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._render = render
        self._deliver = deliver
        self._window = window
        # The lock outlives the window so that a slow timer never lets a second leader in early;
        # a crashed leader's lock still expires.
        self._ttl_ms = int(window * 1000 * 5)
        self._pending = 0
        self._idle = threading.Condition()
        self._closed = False
        self._own_clock: SystemClock | None = None
        if clock is None:
            clock = self._own_clock = SystemClock(name="tally")
        self._clock: Clock = clock

    def submit(self, session_id: str, question_id: str, card: QuestionCard | None = None) -> None:
        """Update the question's message now if no window is open for it, else fold this change into
        the window's closing update. ``card`` saves a render when the caller has a fresh one."""
        key = self._key(session_id, question_id)
        if not self._store.coalesce_enter(key, self._ttl_ms):
            return
        if card is None:
            card = self._render(session_id, question_id)
        if card is not None:
            self._safe_deliver(card)
        self._arm(key, session_id, question_id)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no window is open in this process (for tests and graceful shutdown).
        With a :class:`~bot.runtime.clock.ManualClock` nothing closes by itself: advance it first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    @property
    def open_windows(self) -> int:
        """Windows this process leads and has not closed yet."""
        with self._idle:
            return self._pending

    def close(self) -> None:
        """Forget the open windows (their Redis locks expire on their own) and stop the own clock's
        threads. Only for shutdown: a window dropped here gets no closing update from this process."""
        if self._own_clock is not None:
            self._own_clock.close()
        with self._idle:
            self._closed = True
            self._pending = 0
            self._idle.notify_all()

    # --- internals ---------------------------------------------------------------------------

    @staticmethod
    def _key(session_id: str, question_id: str) -> str:
        return f"tally:{session_id}:{question_id}"

    def _arm(self, key: str, session_id: str, question_id: str) -> None:
        with self._idle:
            if self._closed:
                return
            self._pending += 1
        self._clock.call_at(self._clock.now() + self._window, partial(self._close_window, key, session_id, question_id))

    def _close_window(self, key: str, session_id: str, question_id: str) -> None:
        try:
            if self._store.coalesce_exit(key, self._ttl_ms):
                card = self._render(session_id, question_id)
                if card is not None:
                    self._safe_deliver(card)
                self._arm(key, session_id, question_id)
        except Exception:  # never leave the window counted open, nor fail silently
            log.exception("tally update for %s failed", key)
        finally:
            with self._idle:
                self._pending = max(0, self._pending - 1)  # close() may have zeroed it meanwhile
                self._idle.notify_all()

    def _safe_deliver(self, card: QuestionCard) -> None:
        try:
            self._deliver(card)
        except Exception:
            log.exception("could not update the tally of question %s", card.view.question_id)
