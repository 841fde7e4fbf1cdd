"""The reminder scheduler: one background thread per process that posts what has come due.

Each round is one Redis command (:meth:`ReminderStore.claim`; one per bucket, 16, on a Redis Cluster:
bot.store.keys) over the queues this process serves
(the platforms it has configured, or its console channel); it hands every due reminder to exactly
one process for a lease. The posts go through the same outbox as everything else (ordered per
channel, retried on transient failures); when a batch finally fails, the reminder is scheduled again
with exponential back-off, and after ``attempts`` claims it is recorded as failed with the reason —
visible in ``reminders``, logged at ERROR — never dropped. A live process renews the leases of the
reminders it still holds (one command per third of a lease, only while it holds any), so a slow post
is never taken over; a process killed while posting simply lets its lease run out, and another
process posts the reminder.

Idle cost: one command (16 on a cluster) per ``poll`` seconds (1 by default), whatever the number of
pending reminders.
The thread sleeps until the earlier of the next poll and the next due time it was told about.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.messages import ChannelKey, Message
from bot.core.reminders import Reminder, State, is_late
from bot.errors import BotError, StoreError
from bot.runtime.metrics import NO_METRICS, Metrics
from bot.store.keys import queue_of
from bot.store.reminders import Claimed

log = logging.getLogger(__name__)


class ClaimStore(Protocol):
    """bot.store.reminders.ReminderStore, as the scheduler uses it."""

    def claim(self, queues: Sequence[str], now: float, lease: float, limit: int, token: str) -> Claimed: ...
    def report(self, reminder: Reminder, state: State, error: str = "") -> bool: ...
    def retry(self, reminder: Reminder, due: float, error: str) -> bool: ...
    def extend(self, reminders: Sequence[Reminder], until: float) -> tuple[int, int]: ...


class Sender(Protocol):
    """bot.adapters.outbox.Outbox, as the scheduler uses it."""

    def send(
        self,
        channel: ChannelKey,
        messages: Sequence[Message],
        *,
        on_done: Callable[[str | None], None] | None = None,
        still_wanted: Callable[[], bool] | None = None,
    ) -> None: ...


class Renderer(Protocol):
    """bot.followups.FollowUps, as the scheduler uses it."""

    def due_messages(self, reminder: Reminder, now: float) -> list[Message] | None: ...
    def state_after_post(self, reminder: Reminder) -> State: ...


@dataclass(frozen=True)
class SchedulerOptions:
    poll: float = 1.0  # seconds between claims while nothing is due (SMC_REMINDER_POLL)
    lease: float = 60.0  # seconds a claim holds before another process may take over (SMC_REMINDER_LEASE)
    attempts: int = 8  # claims before a reminder is recorded as failed (SMC_REMINDER_ATTEMPTS)
    batch: int = 200  # reminders claimed per round
    backoff: float = 30.0  # seconds before the first retry; doubled per attempt, at most max_backoff
    max_backoff: float = 6 * 3600.0


class ReminderScheduler:
    """A :class:`bot.ports.BackgroundJob`: start() the thread, stop() it; tick() is one round (tests call it)."""

    def __init__(
        self,
        store: ClaimStore,
        render: Renderer,
        senders: Mapping[str, Sender],
        *,
        options: SchedulerOptions | None = None,
        clock: Callable[[], float] = time.time,
        name: str = "reminders",
        metrics: Metrics = NO_METRICS,
    ) -> None:
        """``senders`` maps a queue (bot.store.keys.queue_of: a platform, or a console channel) to the
        outbox that posts there; only those queues are served. ``clock``: epoch seconds."""
        if not senders:
            raise BotError("a reminder scheduler needs at least one queue to serve")
        self._store = store
        self._render = render
        self._senders = dict(senders)
        self.options = options or SchedulerOptions()
        self._clock = clock
        self._name = name
        self._metrics = metrics  # fired, late and their lag, and what became of them (/metrics)
        self._token = secrets.token_hex(8)  # this process's claims
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Claimed and handed to an outbox, not yet reported. Their leases are renewed every third of
        # a lease while this process lives (a post may wait behind the channel's others, or retry for
        # longer than a lease); only a dead process's claims run out. At most one batch is held, so
        # several processes share what is due.
        self._held: dict[str, Reminder] = {}
        self._renew_at = 0.0
        self._cond = threading.Condition()
        self.next_due: float | None = None

    @property
    def queues(self) -> list[str]:
        return sorted(self._senders)

    # --- the background thread -------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop claiming; wait (within ``timeout``) for the reminders already handed to the outbox."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + max(timeout, 0.0)
        if self._thread is not None:
            self._thread.join(max(deadline - time.monotonic(), 0.0))
        while not self.wait_idle(min(max(deadline - time.monotonic(), 0.0), self.options.lease / 3)):
            if time.monotonic() >= deadline:
                break
            try:  # the loop has stopped: keep the claims of the posts still going out from here
                self._keep_claims(self._clock(), force=True)
            except StoreError as exc:
                log.warning("reminders: could not keep the claims of the posts still going out (%s)", exc)

    def wake(self) -> None:
        """Claim now (this process just scheduled something due soon)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self.tick()
            except StoreError as exc:  # Redis is away: try again after a poll, without a traceback storm
                log.warning("reminders: could not claim (%s); retrying", exc)
                claimed = 0
            except Exception:
                log.exception("reminders: a scheduler round failed")
                claimed = 0
            if claimed >= self.options.batch:
                continue  # more may be due right now
            self._wake.wait(self._pause())
            self._wake.clear()

    def _pause(self) -> float:
        pause = self.options.poll
        with self._cond:
            held = len(self._held)
        if self.next_due is not None and held < self.options.batch:  # full: _done wakes the loop
            pause = min(pause, max(self.next_due - self._clock(), 0.0))
        if held:
            pause = min(pause, max(self._renew_at - self._clock(), 0.0))
        return max(pause, 0.01)

    # --- one round -------------------------------------------------------------------------------

    def tick(self) -> int:
        """Claim what is due and hand it to the outboxes; how many were claimed."""
        now = self._clock()
        self._keep_claims(now)
        with self._cond:
            room = self.options.batch - len(self._held)
        if room <= 0:  # a whole batch is still going out: claim more as it drains (_done wakes the loop)
            return 0
        claimed = self._store.claim(self.queues, now, self.options.lease, room, self._token)
        self.next_due = claimed.next_due
        for reminder in claimed.reminders:
            self._deliver(reminder, now)
        return len(claimed.reminders)

    def _deliver(self, reminder: Reminder, now: float) -> None:
        try:
            messages = self._render.due_messages(reminder, now)
        except Exception as exc:  # the store hiccuped or the record is unreadable: try again later
            log.exception("reminders: could not prepare %s %s", reminder.kind.value, reminder.id)
            self._failed(reminder, repr(exc))
            return
        if messages is None:  # nothing left to say (a nudged question moved on, the check is gone)
            self._store.report(reminder, State.DONE)
            self._metrics.reminder_outcome(reminder.kind.value, "skipped")
            return
        sender = self._senders.get(queue_of(reminder.channel))
        if sender is None:  # not ours after all (the queue names a platform we do not serve)
            self._failed(reminder, "no process here serves this platform")
            return
        with self._cond:
            self._held[reminder.id] = reminder
        self._metrics.reminder_fired(reminder.kind.value, now - reminder.due, is_late(reminder, now))
        sender.send(
            ChannelKey.parse(reminder.channel),
            messages,
            on_done=lambda error: self._done(reminder, error),
            still_wanted=lambda: self._still_ours(reminder),
        )

    def _still_ours(self, reminder: Reminder) -> bool:
        """Asked when the post's turn comes in its channel: post only what this process still holds
        (a summary that went out inline meanwhile, a reminder dismissed or taken over, is not posted)."""
        try:
            held, _ = self._store.extend([reminder], self._clock() + self.options.lease)
        except Exception as exc:  # unsure: leave it to come due again once its lease runs out
            log.warning("reminders: could not confirm the claim of %s (%r); it comes due again", reminder.id, exc)
            held = 0
        if not held:
            log.info("reminders: %s was settled or taken over while it waited; not posted", reminder.id)
            self._release(reminder)
        return bool(held)

    def _done(self, reminder: Reminder, error: str | None) -> None:
        try:
            if error is None:
                # Logged before the report: whoever sees the reminder posted in Redis finds the line too.
                log.info("reminders: posted %s %s in %s", reminder.kind.value, reminder.id, reminder.channel)
                if not self._store.report(reminder, self._render.state_after_post(reminder)):
                    log.warning("reminders: %s was posted after its lease ran out", reminder.id)
                self._metrics.reminder_outcome(reminder.kind.value, "posted")
            else:
                self._failed(reminder, error)
        except Exception:
            log.exception("reminders: could not record the outcome of %s", reminder.id)
        finally:
            self._release(reminder)

    def _release(self, reminder: Reminder) -> None:
        with self._cond:
            self._held.pop(reminder.id, None)
            if len(self._held) in (0, self.options.batch // 2):
                self._wake.set()  # room for more: claim again now rather than after a poll
            self._cond.notify_all()

    def _keep_claims(self, now: float, force: bool = False) -> None:
        """Every third of a lease, push the lease of every reminder still being posted one lease ahead."""
        with self._cond:
            held = list(self._held.values())
        if not held:
            self._renew_at = now + self.options.lease / 3  # what is claimed next is renewed from then
            return
        if now < self._renew_at and not force:
            return
        self._renew_at = now + self.options.lease / 3
        _, taken = self._store.extend(held, now + self.options.lease)
        if taken:
            log.warning("reminders: %d claim(s) ran out and were taken over before they were posted", taken)

    def _failed(self, reminder: Reminder, error: str) -> None:
        permanent = error.startswith(("not a member", "refused by the platform"))
        if permanent or reminder.attempts >= self.options.attempts:
            log.error(
                "reminders: %s %s in %s failed for good after %d attempts: %s",
                reminder.kind.value,
                reminder.id,
                reminder.channel,
                reminder.attempts,
                error,
            )
            self._store.report(reminder, State.FAILED, error)
            self._metrics.reminder_outcome(reminder.kind.value, "failed")
            return
        wait = min(self.options.backoff * 2 ** max(reminder.attempts - 1, 0), self.options.max_backoff)
        log.warning("reminders: %s failed (%s); retry %d in %.0f s", reminder.id, error, reminder.attempts, wait)
        self._store.retry(reminder, self._clock() + wait, error)
        self._metrics.reminder_outcome(reminder.kind.value, "retried")

    def wait_idle(self, timeout: float) -> bool:
        """True once every handed-out reminder has been reported (tests)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._held, timeout)
