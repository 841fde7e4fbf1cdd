"""The question cards the service hands out: the open one, a fresh one, a tally edit's from a click's snapshot.

A mixin of :class:`bot.service.CheckService`; the store, the context and the session cache it uses are
the service's. A tally edit renders from the few fields its script returned, not from the whole session.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.dialogue.flow import Flow
from bot.core.engine.dispatch import Context
from bot.core.messages import CardMode, ChannelKey, Message, QuestionCard, TallyChanged
from bot.core.session import SessionMeta, SessionRecord, answer_field
from bot.core.views import question_card
from bot.ports import TallySnapshot
from bot.service_store import SessionStore, WriteResultLike


class QuestionCards:
    _store: SessionStore
    _branch_fields: tuple[str, ...]  # branch_fields(flow), computed once

    def _context(self, channel: ChannelKey | None) -> Context:
        raise NotImplementedError

    def _remember(self, meta: SessionMeta) -> None:
        raise NotImplementedError

    def question_card(self, session_id: str, question_id: str) -> QuestionCard | None:
        """A fresh card for a question (coalesced tally updates render from Redis)."""
        return self._card_of(self._store.load(session_id), question_id)

    def tally_card(self, snapshot: TallySnapshot) -> QuestionCard | None:
        """The card of a tally edit, from the snapshot the click's (or the window's) script returned:
        the same card :meth:`question_card` renders, without reading the whole session."""
        return self._card_of(snapshot.record, snapshot.question_id)

    def tally_fields(self, question_id: str) -> tuple[str, ...]:
        """The answer fields :meth:`tally_card` needs for ``question_id`` (bot.store.clicks)."""
        return (answer_field(question_id), *self._branch_fields)

    def _card_of(self, record: SessionRecord | None, question_id: str) -> QuestionCard | None:
        if record is None or question_id not in record.meta.path + [record.meta.state]:
            return None
        lens = self._context(None).lens(record.meta.language)
        return question_card(lens, record, question_id, CardMode.UPDATE)

    def current(self, channel: ChannelKey) -> QuestionCard | None:
        """The open question of the channel's running check, as a card to post (None if none runs)."""
        record = self._store.load_running(str(channel))
        if record is None:
            return None
        self._remember(record.meta)
        lens = self._context(channel).lens(record.meta.language)
        return question_card(lens, record, record.meta.state, CardMode.POST)

    def _led(self, messages: list[Message], result: WriteResultLike) -> list[Message]:
        """The tally change says what the click's script did with the window: led it (with the card
        to deliver now and the message's ref) or followed (the window's close edits); None: not entered."""
        if result.lead is None:
            return messages
        if not result.lead:  # the window's close will edit the message: nothing to queue now
            return [m for m in messages if not isinstance(m, TallyChanged)]
        out: list[Message] = []
        for message in messages:
            if isinstance(message, TallyChanged):
                snapshot = result.snapshot
                card = self.tally_card(snapshot) if result.lead and snapshot is not None else None
                message = replace(message, lead=result.lead, card=card, ref=snapshot.ref if snapshot else "")
            out.append(message)
        return out


def branch_fields(flow: Flow) -> tuple[str, ...]:
    """The answers a question's card reads besides its own: those the flow's branches depend on (the
    total ahead and the skip notes), so a tally renders from a snapshot, not the session."""
    return tuple(answer_field(q) for q in flow.reads)
