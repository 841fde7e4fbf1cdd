"""The answer and note modals at work: opened by a button, their submissions → events, a refusal kept in the modal.

A submission is handled in the listener itself, not after the ack like every other delivery: its
``ack()`` carries the validation errors that keep the modal open (too long, or the service's refusal).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import Ack

from bot.adapters.slack import blocks as sb
from bot.adapters.slack import modals
from bot.adapters.slack.context import Where, polite
from bot.adapters.slack.names import AuthorNames
from bot.adapters.slack.outbound import SlackOutbound
from bot.adapters.slack.payload import team_of, user_name_of
from bot.adapters.slack.text import clip
from bot.core.messages import ChannelKey, Event, EventKind, Message, Notice, Tone
from bot.ports import AdapterStore, ChatService

log = logging.getLogger(__name__)

_MAX_ERROR_TEXT = 300


class ModalSubmissions:
    """Opens the answer and note modals and takes their submissions (``view_submission``)."""

    def __init__(
        self,
        *,
        service: ChatService,
        store: AdapterStore,
        outbound: SlackOutbound,
        names: AuthorNames,
        max_text: int,
        first: Callable[[str, ChannelKey], bool],
        send: Callable[[Where, Sequence[Message]], None],
    ) -> None:
        """``first(key, channel)``: the adapter's dedup claim; ``send``: its way to the outbox."""
        self._service = service
        self._store = store
        self._outbound = outbound
        self._names = names
        self._max_text = max_text
        self._first = first
        self._send = send

    def open(self, where: Where, body: dict[str, Any], ref: sb.Ref, action_id: str) -> None:
        card = self._service.question_card(ref.session_id, ref.question_id)
        if card is None or (action_id == sb.TEXT and card.view.closed):
            self._send(where, [self._stale(card.view.language if card else None)])
            return
        where.language = card.view.language
        build = modals.answer_modal if action_id == sb.TEXT else modals.note_modal
        view = build(card.view, where.channel, self._max_text)
        self._outbound.open_view(str(body.get("trigger_id", "")), view)

    def submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = sb.Ref.decode(view.get("private_metadata"))
        user = str((body.get("user") or {}).get("id", ""))
        if ref is None or not ref.channel:
            ack()
            log.warning("modal submission without a readable reference")
            return
        values = ((view.get("state") or {}).get("values") or {}).get(sb.INPUT_BLOCK) or {}
        text = str((values.get(sb.INPUT_ACTION) or {}).get("value") or "").strip()
        where = Where(team=team_of(body), channel=ref.channel, user=user, session_id=ref.session_id)
        where.thread_ts = self._ref(ref.session_id, "header")
        if len(text) > self._max_text:
            card = self._service.question_card(ref.session_id, ref.question_id)
            ui = self._service.ui(card.view.language if card else None)
            ack(
                response_action="errors",
                errors={sb.INPUT_BLOCK: clip(sb.t(ui, "too_long", max=self._max_text), _MAX_ERROR_TEXT)},
            )
            return
        text_hash = hashlib.sha256(text.encode()).hexdigest()[:16]
        if not self._first(f"view:{view.get('id')}:{view.get('hash', '')}:{text_hash}", where.key):
            ack()
            return
        kind = EventKind.NOTE if view.get("callback_id") == sb.NOTE_VIEW else EventKind.ANSWER
        event = Event(
            kind,
            user=user,
            user_name=self._names.cached(where, user_name_of(body)),
            text=text,
            question_id=ref.question_id or None,
            session_id=ref.session_id,
            via_button=True,
        )
        try:
            messages = self._service.handle(where.key, event)
        except Exception:
            ack()
            log.exception("the service failed on a Slack modal submission")
            self._send(where, [polite(self._service.ui, "error_generic", Tone.ERROR, None)])
            return
        # A refusal (unreadable date, too long, question closed) keeps the modal open with the reason.
        if len(messages) == 1 and isinstance(messages[0], Notice) and messages[0].tone is Tone.REFUSAL:
            ack(response_action="errors", errors={sb.INPUT_BLOCK: clip(messages[0].text, _MAX_ERROR_TEXT)})
            return
        ack()
        self._send(where, messages)

    def _stale(self, language: str | None) -> Notice:
        return polite(self._service.ui, "stale_button", Tone.REFUSAL, language)

    def _ref(self, session_id: str | None, name: str) -> str | None:
        if not session_id:
            return None
        return self._store.get_ref(session_id, name)
