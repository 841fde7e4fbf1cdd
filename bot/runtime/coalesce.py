"""Coalesce live-tally updates so a burst of clicks costs a few message edits, not one per click.

Per question message there is a window (default 1 s), held as a lock in Redis so it works across
processes. The first answer in a quiet period becomes the *leader*: its card is delivered at once
and a timer closes the window later. Answers that arrive while the window is open only mark the
message dirty. When the window closes, the leader atomically either renews the window (if dirty)
and re-renders the card from Redis, or releases it. Entering and leaving are atomic in Redis, so a
dirty mark is never lost between the check and the release; the last delivery is always rendered
after the last answer was written.

A button click enters the window in its own atomic write (bot.store.clicks): the click's result says
whether it leads, with the card drawn from a snapshot read in the same script, and :meth:`TallyCoalescer.led`
only delivers it and arms the close. The close is one script as well (``coalesce_close``), which
returns the snapshot of a renewed window: no click and no close reads the whole session.

Windows opened together (a crowd starting on 20 questions at once) would otherwise close together
every second, and their closes and edits, rendered in one burst, hold the interpreter while every
click in flight waits. So each window lasts ``window`` plus a random part of ``spread`` × ``window``
(the outbox's default: between 1 and 1.5 s): never shorter than ``window``, which keeps a message at
about one edit per second, and windows opened together close apart and keep drifting apart.

Every window of a coalescer shares one clock (``bot.runtime.clock``): by default a
:class:`~bot.runtime.clock.SystemClock`, whose single scheduler thread serves all open windows;
tests pass a :class:`~bot.runtime.clock.ManualClock` and close windows by advancing it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol

from bot.core.messages import QuestionCard
from bot.ports import TallySnapshot
from bot.runtime.clock import Clock, SystemClock
from bot.store.keys import tally_window

log = logging.getLogger(__name__)


class CoalescingStore(Protocol):
    def coalesce_enter(self, key: str, ttl_ms: int) -> bool: ...
    def coalesce_exit(self, key: str, ttl_ms: int) -> bool: ...
    def coalesce_close(
        self, session_id: str, question_id: str, ttl_ms: int, fields: Sequence[str]
    ) -> TallySnapshot | None: ...


Render = Callable[[str, str], "QuestionCard | None"]
Deliver = Callable[[QuestionCard], None]
DeliverTo = Callable[[QuestionCard, str], None]  # the card, and the ref of its message (known already)


class Snapshots(Protocol):
    """Renders a window's closing edit from the snapshot its close returned (the outbox, on the service)."""

    def tally_card(self, snapshot: TallySnapshot) -> QuestionCard | None: ...
    def tally_fields(self, question_id: str) -> tuple[str, ...]: ...


class TallyCoalescer:
    def __init__(
        self,
        store: CoalescingStore,
        render: Render,
        deliver: Deliver,
        window: float = 1.0,
        clock: Clock | None = None,
        snapshots: Snapshots | None = None,
        deliver_to: DeliverTo | None = None,
        spread: float = 0.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        """``snapshots``: close windows with ``coalesce_close`` and render from its snapshot (else
        ``coalesce_exit`` and ``render``, which reads the session); ``deliver_to``: delivers a card
        whose message ref the script returned (else ``deliver``, which looks it up); ``spread``: each
        window lasts ``window × (1 + spread × rng())``, ``rng`` giving a number in [0, 1)."""
        if not 0.0 <= spread <= 1.0:
            raise ValueError("spread is a fraction of the window, between 0 and 1")
        self._deliver_to = deliver_to
        self._store = store
        self._render = render
        self._deliver = deliver
        self._window = window
        self._spread = spread
        self._rng = rng
        self._snapshots = snapshots
        # The lock outlives the (longest) window so that a slow timer never lets a second leader in
        # early; a crashed leader's lock still expires.
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

    def led(self, session_id: str, question_id: str, card: QuestionCard | None, ref: str = "") -> None:
        """A click's own write opened the window (it leads): deliver its card now, close later."""
        if card is not None:
            self._safe_deliver(card, ref)
        self._arm(self._key(session_id, question_id), session_id, question_id)

    @property
    def ttl_ms(self) -> int:
        """How long a window's lock lives in Redis (the click script enters windows with it)."""
        return self._ttl_ms

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
        return tally_window(session_id, question_id)

    def _arm(self, key: str, session_id: str, question_id: str) -> None:
        with self._idle:
            if self._closed:
                return
            self._pending += 1
        length = self._window * (1.0 + self._spread * self._rng()) if self._spread else self._window
        self._clock.call_at(self._clock.now() + length, partial(self._close_window, key, session_id, question_id))

    def _close_window(self, key: str, session_id: str, question_id: str) -> None:
        try:
            if self._snapshots is not None:
                fields = self._snapshots.tally_fields(question_id)
                snapshot = self._store.coalesce_close(session_id, question_id, self._ttl_ms, fields)
                if snapshot is not None:
                    card = self._snapshots.tally_card(snapshot)
                    if card is not None:
                        self._safe_deliver(card, snapshot.ref)
                    self._arm(key, session_id, question_id)
            elif self._store.coalesce_exit(key, self._ttl_ms):
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

    def _safe_deliver(self, card: QuestionCard, ref: str = "") -> None:
        try:
            if ref and self._deliver_to is not None:
                self._deliver_to(card, ref)
            else:
                self._deliver(card)
        except Exception:
            log.exception("could not update the tally of question %s", card.view.question_id)
