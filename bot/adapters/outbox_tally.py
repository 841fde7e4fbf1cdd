"""The outbox's tally edits: a click's tally change, an updated question card, and what the coalescer
renders and delivers for a burst of clicks.

A mixin of :class:`bot.adapters.outbox.Outbox`, kept apart because it is the one part that runs on
the coalescer's timer as well as in a channel's job; the attributes it uses are the outbox's.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from bot.core.messages import ChannelKey, QuestionCard, TallyChanged
from bot.ports import OutboundError, OutboundPort, ReplyTo, TallySnapshot
from bot.runtime.coalesce import Snapshots, TallyCoalescer

log = logging.getLogger(__name__)

LAST_CARDS = 1024  # question cards remembered to close a question the engine took off the path
T = TypeVar("T")


class TallyEdits:
    port: OutboundPort
    coalescer: TallyCoalescer | None
    _cards: Callable[[str, str], QuestionCard | None] | None
    _guard: threading.Lock
    _last_cards: OrderedDict[tuple[str, str], QuestionCard]
    _snapshots: Snapshots | None
    _local: threading.local
    _ref_wait: float
    _stopped: threading.Event

    def channel_of(self, session_id: str) -> ChannelKey | None:
        raise NotImplementedError

    def _submit(self, channel: ChannelKey, job: Callable[[], None]) -> None:
        raise NotImplementedError

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    def ref(self, session_id: str | None, name: str) -> str | None:
        raise NotImplementedError

    def _remember(self, session: str, channel: ChannelKey, language: str | None, write: bool = True) -> None:
        raise NotImplementedError

    # --- the operation of a click's tally change, and of an updated question card --------------

    def _tally(self, channel: ChannelKey, change: TallyChanged, reply: ReplyTo, session: str | None) -> None:
        if change.lead is None or self.coalescer is None:
            self._tally_of(channel, change.session_id, change.question_id, change.card)
        elif change.lead:  # the click's write opened the window: its card goes out now
            card = change.card or self._closed_last(change.session_id, change.question_id)
            self.coalescer.led(change.session_id, change.question_id, card, change.ref)
        # else the window was open: the click's write marked it, and its close edits the message

    def led_in_reply(self, channel: ChannelKey, change: TallyChanged) -> None:
        """A click that leads its window and whose card the platform shows from the click's own
        answer (Mattermost's ``update``): nothing to deliver now, only the window's close to arm,
        which edits the message if more clicks came meanwhile."""
        if self.coalescer is None or not change.lead:
            raise ValueError("only a click that leads its tally window can be shown in its reply")
        self._remember(change.session_id, channel, None, write=False)
        self.coalescer.led(change.session_id, change.question_id, None, change.ref)

    def _updated(self, channel: ChannelKey, card: QuestionCard) -> None:
        """An updated question card (CardMode.UPDATE): remembered, then edited like a tally change."""
        view = card.view
        # Through the coalescer too, so a tally window's late re-render can never bring an older
        # state (with buttons) back over the closed card.
        with self._guard:
            self._last_cards[(view.session_id, view.question_id)] = card
            while len(self._last_cards) > LAST_CARDS:
                self._last_cards.popitem(last=False)
        self._tally_of(channel, view.session_id, view.question_id, card)

    def _tally_of(self, channel: ChannelKey, session_id: str, question_id: str, card: QuestionCard | None) -> None:
        if self.coalescer is not None:
            self.coalescer.submit(session_id, question_id, card)
            return
        card = card or self._render_fresh(session_id, question_id)
        if card is not None:
            self._edit(channel, card)

    # --- tally edits (the coalescer's render and delivery) -------------------------------------

    def _render_fresh(self, session_id: str, question_id: str) -> QuestionCard | None:
        """From Redis; for a question taken off the path (the facilitator went back past it) the
        engine has no card any more, so close the one shown last."""
        card = self._cards(session_id, question_id) if self._cards is not None else None
        return card if card is not None else self._closed_last(session_id, question_id)

    def _closed_last(self, session_id: str, question_id: str) -> QuestionCard | None:
        with self._guard:
            last = self._last_cards.get((session_id, question_id))
        return replace(last, view=replace(last.view, closed=True)) if last is not None else None

    # The coalescer's Snapshots: a closing edit drawn from what the window's close script returned.
    def tally_card(self, snapshot: TallySnapshot) -> QuestionCard | None:
        assert self._snapshots is not None
        card = self._snapshots.tally_card(snapshot)
        return card if card is not None else self._closed_last(snapshot.session_id, snapshot.question_id)

    def tally_fields(self, question_id: str) -> tuple[str, ...]:
        assert self._snapshots is not None
        return self._snapshots.tally_fields(question_id)

    def _queue_edit(self, card: QuestionCard, ref: str = "") -> None:
        channel = self.channel_of(card.view.session_id)
        if channel is None:
            log.warning("no channel known for session %s", card.view.session_id)
            return
        if getattr(self._local, "channel", None) == channel:  # inside the channel's job: in its order
            self._edit(channel, card, ref)
        else:  # a window closing: behind whatever the channel still has queued
            self._submit(channel, partial(self._edit, channel, card, ref))

    def _edit(self, channel: ChannelKey, card: QuestionCard, ref: str = "") -> None:
        view = card.view
        ref = ref or self._question_ref(view.session_id, view.question_id) or ""
        if not ref:
            log.warning("no message known for question %s of session %s", view.question_id, view.session_id)
            return
        try:
            self.call(self.port.update, channel, ref, self.port.question_body(channel, view))
        except OutboundError:  # the next click or the window's close renders it again
            log.exception("could not update the tally of question %s in %s", view.question_id, channel)

    def _question_ref(self, session_id: str, question_id: str) -> str | None:
        """The question message's ref; waits out a post still in flight in another replica."""
        ref = self.ref(session_id, f"q:{question_id}")
        delay = 0.1
        while ref is None and delay <= self._ref_wait and not self._stopped.is_set():
            self._stopped.wait(delay)  # bounded back-off, only when another replica is posting
            ref = self.ref(session_id, f"q:{question_id}")
            delay *= 2
        return ref
