"""Mattermost's interactive dialogs: the one a button opens (its state signed by us), and its submission.

A typed answer or a note is a dialog: the button that opens it records nothing; the submission is
verified (the state is signed, and names the user and the channel it was opened for), checked for
length, claimed once (a repeated delivery adds nothing) and handed to the service under the
channel's lock, as a slash command is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.adapters.mattermost import render
from bot.adapters.mattermost.api import MattermostApi
from bot.adapters.mattermost.dialog_bodies import answer_dialog, note_dialog
from bot.adapters.mattermost.signing import ContextSigner, digest, new_nonce
from bot.core.messages import Audience, ChannelKey, Event, EventKind, Message, Notice, Tone
from bot.errors import PlatformError
from bot.ports import AdapterStore, ChatService
from bot.runtime.http_types import HttpResponse
from bot.runtime.metrics import Metrics

log = logging.getLogger(__name__)

PLATFORM = "mattermost"


class Dialogs:
    """Opens the answer and note dialogs and takes their submissions (``POST /mattermost/actions``)."""

    def __init__(
        self,
        *,
        service: ChatService,
        store: AdapterStore,
        api: MattermostApi,
        signer: ContextSigner,
        action_url: str,
        max_text: int,
        dedup_ttl: int,
        metrics: Metrics,
        lock: Callable[[ChannelKey], threading.Lock],
        enqueue: Callable[[ChannelKey, Sequence[Message], str], None],
        safe_ui: Callable[[], Mapping[str, str]],
    ) -> None:
        self._service = service
        self._store = store
        self._api = api
        self._signer = signer
        self._action_url = action_url
        self._max_text = max_text
        self._dedup_ttl = dedup_ttl
        self._metrics = metrics
        self._lock = lock
        self._enqueue = enqueue
        self._safe_ui = safe_ui

    def open(
        self, channel: ChannelKey, ctx: Mapping[str, str], trigger: str, user_id: str, user_name: str
    ) -> HttpResponse:
        session_id, question_id = ctx.get("s", ""), ctx.get("q", "")
        card = self._service.question_card(session_id, question_id) if session_id and question_id else None
        if card is None or card.view.closed:
            ui = card.view.ui if card else self._service.ui(None)
            return HttpResponse.json(
                200, render.error_response(render.t(ui, card.view.language if card else None, "stale_button"))
            )
        if not trigger:
            return HttpResponse.json(
                200, render.error_response(render.t(card.view.ui, card.view.language, "error_generic"))
            )
        kind = "answer" if ctx.get("a") == "dlganswer" else "note"
        state = self._signer.sign_state(
            a=kind,
            s=session_id,
            q=question_id,
            c=channel.channel,
            t=channel.team,
            n=new_nonce(),
            u=user_id,
            un=user_name[:200],
        )
        build = answer_dialog if kind == "answer" else note_dialog
        body = build(card.view, state, self._action_url, self._max_text)
        try:
            self._api.open_dialog(trigger, body)
        except PlatformError:
            log.exception("could not open the %s dialog", kind)
            return HttpResponse.json(
                200, render.error_response(render.t(card.view.ui, card.view.language, "error_generic"))
            )
        return HttpResponse.json(200, {})

    def submitted(self, payload: Mapping[str, Any]) -> HttpResponse:
        ctx = self._signer.verify_state(payload.get("state"))
        channel_id, user_id = str(payload.get("channel_id") or ""), str(payload.get("user_id") or "")
        if (
            ctx is None
            or ctx.get("c") != channel_id
            or ctx.get("a") not in ("answer", "note")
            or not user_id
            or ctx.get("u") != user_id
        ):
            log.warning("refused a Mattermost dialog submission whose state does not verify")
            ui = self._safe_ui()
            return HttpResponse.json(200, {"error": render.t(ui, None, "forged")})
        if payload.get("cancelled"):
            return HttpResponse.json(200, {})
        channel = ChannelKey(PLATFORM, ctx.get("t") or str(payload.get("team_id") or ""), channel_id)
        submission = payload.get("submission")
        text = str((submission or {}).get("text") or "").strip() if isinstance(submission, dict) else ""
        card = self._service.question_card(ctx.get("s", ""), ctx.get("q", ""))
        ui = card.view.ui if card else self._service.ui(None)
        language = card.view.language if card else None
        if not text:
            return HttpResponse.json(200, {"errors": {"text": render.t(ui, language, "empty_text")}})
        if len(text) > self._max_text:
            return HttpResponse.json(200, {"errors": {"text": render.t(ui, language, "too_long", max=self._max_text)}})
        submitted = f"mm:dlg:{digest(ctx.get('n', ''), user_id, text)}"
        if not self._store.claim_once(submitted, self._dedup_ttl, str(channel)):
            self._metrics.duplicate_dropped(PLATFORM, "delivery")
            return HttpResponse.json(200, {})
        kind = EventKind.ANSWER if ctx["a"] == "answer" else EventKind.NOTE
        event = Event(
            kind,
            user=user_id,
            user_name=ctx.get("un", ""),
            text=text,
            session_id=ctx.get("s") or None,
            question_id=ctx.get("q") or None,
            via_button=True,
        )
        with self._lock(channel):
            messages = self._service.handle(channel, event)
            refusals = [
                m
                for m in messages
                if isinstance(m, Notice) and m.audience is Audience.EPHEMERAL and m.tone in (Tone.REFUSAL, Tone.ERROR)
            ]
            later = [m for m in messages if m not in refusals]
            self._enqueue(channel, later, user_id)
        if refusals:  # keep the dialog open and say why, in the dialog itself
            return HttpResponse.json(200, {"error": render.neutralise(" ".join(n.text for n in refusals), 1000)})
        return HttpResponse.json(200, {})
