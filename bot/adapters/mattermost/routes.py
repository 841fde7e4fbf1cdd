"""Mattermost adapter: a custom slash command and interactive buttons/dialogs in, REST posts out.

The REST client is :mod:`bot.adapters.mattermost.api` (the only importer of ``mattermostdriver``).

Requests from Mattermost
    ``POST /mattermost/command``  custom slash command (form-encoded, token checked in constant time)
    ``POST /mattermost/actions``  button clicks (``context`` signed by us) and dialog submissions
                                  (``state`` signed by us), both JSON

Each request is answered at once: the engine runs in the request thread (Redis round trips only)
and the caller's own ephemeral notices go back in the HTTP response (the slash-command reply, the
action's ``ephemeral_text``, a dialog's ``error``), which needs no extra permission. Everything
that is posted through the REST API (header, questions, thread notices, summary with chart) is
queued on a small worker pool that runs the jobs of one channel strictly in order, so a slow or
rate-limited Mattermost never holds up the reply and never reorders a check's thread.

Live tallies go through :class:`~bot.runtime.coalesce.TallyCoalescer`: a burst of clicks costs a few
``PUT /posts/{id}/patch``, the last one rendered after the last answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from bot.adapters.mattermost import render
from bot.adapters.mattermost.api import MattermostApi, MattermostError
from bot.adapters.mattermost.signing import ContextSigner, new_nonce
from bot.adapters.mattermost.summary import summary_post
from bot.runtime.coalesce import TallyCoalescer
from bot.config import Settings
from bot.core.messages import (
    Audience,
    CardMode,
    ChannelKey,
    Event,
    EventKind,
    HeaderCard,
    Message,
    Notice,
    QuestionCard,
    SummaryCard,
    TallyChanged,
    Tone,
    session_of,
)
from bot.errors import ConfigError, PlatformError
from bot.runtime.http_types import HttpRequest, HttpResponse, Route
from bot.ports import AdapterStore, ChatService
from bot.runtime.workers import OrderedWorkers

log = logging.getLogger(__name__)

PLATFORM = "mattermost"
COMMAND_PATH = "/mattermost/command"
ACTIONS_PATH = "/mattermost/actions"
MAX_REQUEST = 64 * 1024
DOUBLE_CLICK_SECONDS = 2
DEDUP_SECONDS = 86400
LAST_CARDS = 1024


# --------------------------------------------------------------------------------------------
# The adapter
# --------------------------------------------------------------------------------------------


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class MattermostAdapter:
    def __init__(
        self,
        settings: Settings,
        service: ChatService,
        store: AdapterStore,
        api: MattermostApi,
        *,
        workers: int = 4,
        coalesce_window: float = 1.0,
    ) -> None:
        if not settings.secret:
            raise ConfigError(
                "SMC_SECRET is not set: the Mattermost adapter signs every button and dialog with it "
                "(at least 16 characters; e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if not settings.public_url:
            raise ConfigError(
                "SMC_PUBLIC_URL is not set: Mattermost needs the bot's own base URL for buttons and dialogs "
                "(e.g. https://smc.example.com, reachable from the Mattermost server)"
            )
        if not settings.mattermost_command_tokens:
            raise ConfigError(
                "MATTERMOST_COMMAND_TOKEN is not set: run `socialmedia-check mattermost-setup --team <name>` "
                "to create the slash command and print its token (several teams: comma-separated tokens)"
            )
        self._settings = settings
        self._service = service
        self._store = store
        self._api = api
        self._signer = ContextSigner(settings.secret)
        self._tokens = tuple(tok.encode() for tok in settings.mattermost_command_tokens)
        self.action_url = settings.public_url.rstrip("/") + ACTIONS_PATH
        self._workers = OrderedWorkers(workers, name="mattermost-post")
        self._coalescer = TallyCoalescer(store, self._render_fresh, self._deliver_tally, window=coalesce_window)
        self._last_cards: OrderedDict[tuple[str, str], QuestionCard] = OrderedDict()
        self._cards_guard = threading.Lock()
        self._locks: dict[ChannelKey, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._channels: dict[str, ChannelKey] = {}  # session id -> channel (cache of the "channel" ref)
        self._latest: dict[ChannelKey, str] = {}  # channel -> the session whose messages went out last

    # --- HTTP surface ------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route(COMMAND_PATH, ("POST",), self.handle_command),
            Route(ACTIONS_PATH, ("POST",), self.handle_action),
        ]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued post and coalesced tally update went out (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            if not self._workers.wait_idle(left) or not self._coalescer.wait_idle(left):
                return False
            # a coalesced delivery may not queue work, but a queued job may open a new window
            if self._workers.wait_idle(0) and self._coalescer.wait_idle(0):
                return True

    def close(self) -> None:
        self._coalescer.wait_idle(5.0)
        self._workers.shutdown(wait=True)

    def _target(self, channel: ChannelKey) -> render.Target:
        return render.Target(channel, self.action_url, self._signer)

    def _lock(self, channel: ChannelKey) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(channel, threading.Lock())

    # --- slash command -----------------------------------------------------------------------

    def _token_ok(self, candidates: Sequence[str]) -> bool:
        ok = False
        for candidate in candidates:
            given = candidate.encode()
            for token in self._tokens:  # no early exit: the time does not depend on which matched
                ok |= hmac.compare_digest(given, token)
        return ok

    def handle_command(self, request: HttpRequest) -> HttpResponse:
        if len(request.body) > MAX_REQUEST:
            return HttpResponse.json(413, {"error": "request too large"})
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        candidates = [form.get("token", "")]
        auth = request.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            candidates.append(value.strip())
        if not self._token_ok([c for c in candidates if c]):
            log.warning(
                "refused a Mattermost slash command with a wrong or missing token (team %s)",
                form.get("team_id", "?")[:40],
            )
            return HttpResponse.json(401, {"error": "invalid or missing command token"})
        team_id, channel_id, user_id = (
            form.get("team_id", ""),
            form.get("channel_id", ""),
            form.get("user_id", ""),
        )
        if not (team_id and channel_id and user_id):
            return HttpResponse.json(400, {"error": "team_id, channel_id and user_id are required"})
        channel = ChannelKey(PLATFORM, team_id, channel_id)
        trigger = form.get("trigger_id", "")
        try:
            if trigger and not self._store.claim_once(f"mm:cmd:{_digest(trigger)}", DEDUP_SECONDS):
                log.info("dropped a repeated delivery of a slash command")
                return HttpResponse.json(200, {"response_type": "ephemeral", "text": ""})
            with self._lock(channel):
                messages = self._service.handle_command(
                    channel, form.get("text", ""), user_id, form.get("user_name", "")
                )
                inline = [m for m in messages if isinstance(m, Notice) and m.audience is Audience.EPHEMERAL]
                inline += [
                    self._summary_notice(m)
                    for m in messages
                    if isinstance(m, SummaryCard) and m.audience is Audience.EPHEMERAL
                ]
                later = [m for m in messages if not _is_private(m)]
                self._enqueue(channel, later, user_id)
        except Exception:  # Redis down, a bug: a polite line, never a stack trace in the chat
            log.exception("the slash command failed in %s", channel)
            inline = [Notice(render.t(self._safe_ui(), None, "error_generic"), tone=Tone.ERROR)]
        return HttpResponse.json(200, render.command_response(inline, self._target(channel)))

    def _safe_ui(self) -> Mapping[str, str]:
        try:
            return self._service.ui(None)
        except Exception:
            return {}

    def _summary_notice(self, card: SummaryCard) -> Notice:
        return Notice(summary_post(card.summary)["message"], Audience.EPHEMERAL)

    # --- buttons and dialogs -----------------------------------------------------------------

    def handle_action(self, request: HttpRequest) -> HttpResponse:
        if len(request.body) > MAX_REQUEST:
            return HttpResponse.json(413, {"error": "request too large"})
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return HttpResponse.json(400, {"error": "the body must be JSON"})
        if not isinstance(payload, dict):
            return HttpResponse.json(400, {"error": "the body must be a JSON object"})
        try:
            if payload.get("type") == "dialog_submission":
                return self._dialog_submission(payload)
            return self._button(payload)
        except Exception:
            log.exception("a Mattermost action failed")
            return HttpResponse.json(200, render.error_response(render.t(self._safe_ui(), None, "error_generic")))

    def _refuse_forged(self, payload: Mapping[str, Any], what: str) -> HttpResponse:
        log.warning(
            "refused a Mattermost %s whose signature does not verify (user %s, channel %s)",
            what,
            str(payload.get("user_id", "?"))[:40],
            str(payload.get("channel_id", "?"))[:40],
        )
        return HttpResponse.json(200, render.error_response(render.t(self._safe_ui(), None, "forged")))

    def _button(self, payload: Mapping[str, Any]) -> HttpResponse:
        ctx = self._signer.verify(payload.get("context"))
        channel_id, user_id = str(payload.get("channel_id") or ""), str(payload.get("user_id") or "")
        if ctx is None or not ctx.get("c") or ctx.get("c") != channel_id or not user_id:
            return self._refuse_forged(payload, "button")
        channel = ChannelKey(PLATFORM, ctx.get("t") or str(payload.get("team_id") or ""), channel_id)
        user_name = str(payload.get("user_name") or "")
        trigger = str(payload.get("trigger_id") or "")
        signature = str(payload["context"]["sig"])
        # One click, one effect: a repeated delivery carries the same trigger id; a double click
        # sends the same signed button again within a moment.
        if trigger and not self._store.claim_once(f"mm:act:{_digest(trigger)}", DEDUP_SECONDS):
            return HttpResponse.json(200, {})
        action = ctx.get("a", "")
        if action in ("dlganswer", "dlgnote"):  # opens a dialog, records nothing yet
            return self._open_dialog(channel, ctx, trigger, user_id, user_name)
        if not self._store.claim_once(f"mm:click:{_digest(user_id, signature)}", DOUBLE_CLICK_SECONDS):
            return HttpResponse.json(200, {})
        event = self._event_of(ctx, user_id, user_name)
        if event is None:
            return self._refuse_forged(payload, "button")
        return HttpResponse.json(200, render.action_response(self._run(channel, event, user_id)))

    @staticmethod
    def _event_of(ctx: Mapping[str, str], user: str, user_name: str) -> Event | None:
        common: dict[str, Any] = {
            "user": user,
            "user_name": user_name,
            "session_id": ctx.get("s") or None,
            "question_id": ctx.get("q") or None,
            "via_button": True,
        }
        action = ctx.get("a", "")
        if action in ("answer", "toggle"):
            option = ctx.get("o", "")
            if not option.isdigit():
                return None
            return Event(EventKind.ANSWER, choices=(int(option),), toggle=action == "toggle", **common)
        if action in ("next", "back", "skip"):
            return Event(EventKind(action), **common)
        if action == "event":
            try:
                kind = EventKind(ctx.get("e", ""))
            except ValueError:
                return None
            value = ctx.get("v", "")
            return Event(kind, confirm=value == "confirm", value="" if value == "confirm" else value, **common)
        return None

    def _run(self, channel: ChannelKey, event: Event, user_id: str) -> list[str]:
        """Run ``event`` now; queue what is posted; return the texts only this user should see."""
        with self._lock(channel):
            messages = self._service.handle(channel, event)
            texts = [
                m.text for m in messages if isinstance(m, Notice) and m.audience is Audience.EPHEMERAL and not m.actions
            ]
            later = [
                m
                for m in messages
                if not (isinstance(m, Notice) and m.audience is Audience.EPHEMERAL and not m.actions)
            ]
            self._enqueue(channel, later, user_id)
        return texts

    def _open_dialog(
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
        build = render.answer_dialog if kind == "answer" else render.note_dialog
        body = build(card.view, state, self.action_url, self._settings.max_text)
        try:
            self._api.open_dialog(trigger, body)
        except PlatformError:
            log.exception("could not open the %s dialog", kind)
            return HttpResponse.json(
                200, render.error_response(render.t(card.view.ui, card.view.language, "error_generic"))
            )
        return HttpResponse.json(200, {})

    def _dialog_submission(self, payload: Mapping[str, Any]) -> HttpResponse:
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
        if len(text) > self._settings.max_text:
            return HttpResponse.json(
                200, {"errors": {"text": render.t(ui, language, "too_long", max=self._settings.max_text)}}
            )
        if not self._store.claim_once(f"mm:dlg:{_digest(ctx.get('n', ''), user_id, text)}", DEDUP_SECONDS):
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

    # --- delivery (worker threads, one channel at a time) ------------------------------------

    def _enqueue(self, channel: ChannelKey, messages: Sequence[Message], actor: str) -> None:
        if messages:
            self._workers.submit(channel, lambda: self._deliver(channel, list(messages), actor))

    def _deliver(self, channel: ChannelKey, messages: list[Message], actor: str) -> None:
        # Thread notices do not always name their check; the cards around them do.
        session = next((sid for m in messages if (sid := session_of(m))), None) or self._latest.get(channel)
        for message in messages:
            session = session_of(message) or session
            if session:
                self._latest[channel] = session
            try:
                if isinstance(message, TallyChanged):
                    self._coalescer.submit(message.session_id, message.question_id)
                elif isinstance(message, QuestionCard):
                    self._deliver_question(channel, message)
                elif isinstance(message, HeaderCard):
                    self._deliver_header(channel, message)
                elif isinstance(message, Notice):
                    self._deliver_notice(channel, message, actor, message.session_id or session)
                elif isinstance(message, SummaryCard):
                    self._deliver_summary(channel, message, actor)
            except Exception:  # one failed post must not lose the rest of the check's messages
                log.exception("could not deliver a %s to %s", type(message).__name__, channel)

    def _remember_channel(self, session_id: str, channel: ChannelKey) -> None:
        if self._channels.get(session_id) != channel:
            self._channels[session_id] = channel
            self._store.set_ref(session_id, "channel", f"{channel.team}/{channel.channel}")

    def _channel_of(self, session_id: str) -> ChannelKey | None:
        channel = self._channels.get(session_id)
        if channel is None:
            ref = self._store.get_ref(session_id, "channel")
            if ref and "/" in ref:
                team, _, channel_id = ref.partition("/")
                channel = ChannelKey(PLATFORM, team, channel_id)
                self._channels[session_id] = channel
        return channel

    def _deliver_header(self, channel: ChannelKey, card: HeaderCard) -> None:
        body = render.header_post(card)
        self._remember_channel(card.session_id, channel)
        if card.mode is CardMode.UPDATE:
            post_id = self._store.get_ref(card.session_id, "header")
            if post_id:
                self._api.patch_post(post_id, body)
                return
            log.warning("no header post known for session %s; posting a new one", card.session_id)
        post = self._api.create_post({"channel_id": channel.channel, **body})
        self._store.set_ref(card.session_id, "header", str(post["id"]))

    def _deliver_question(self, channel: ChannelKey, card: QuestionCard) -> None:
        view = card.view
        self._remember_channel(view.session_id, channel)
        if card.mode is CardMode.UPDATE:
            self._remember_card(card)
            self._coalescer.submit(view.session_id, view.question_id, card)
            return
        ref = f"q:{view.question_id}"
        earlier = self._store.get_ref(view.session_id, ref)
        if earlier:  # the question is asked again (back): retire the old post's buttons first
            try:
                self._api.patch_post(earlier, render.question_post(replace(view, closed=True), self._target(channel)))
            except PlatformError:
                log.warning("could not close the earlier post of question %s", view.question_id)
        root = self._store.get_ref(view.session_id, "header") or ""
        body = {"channel_id": channel.channel, **render.question_post(view, self._target(channel))}
        if root:
            body["root_id"] = root
        post = self._api.create_post(body)
        self._store.set_ref(view.session_id, ref, str(post["id"]))

    def _remember_card(self, card: QuestionCard) -> None:
        with self._cards_guard:
            self._last_cards[(card.view.session_id, card.view.question_id)] = card
            while len(self._last_cards) > LAST_CARDS:
                self._last_cards.popitem(last=False)

    def _render_fresh(self, session_id: str, question_id: str) -> QuestionCard | None:
        """The coalescer's re-render: from Redis; for a question taken off the path (the facilitator
        went back past it) the engine has no card any more, so close the one we last showed."""
        card = self._service.question_card(session_id, question_id)
        if card is not None:
            return card
        with self._cards_guard:
            last = self._last_cards.get((session_id, question_id))
        return replace(last, view=replace(last.view, closed=True)) if last is not None else None

    def _deliver_tally(self, card: QuestionCard) -> None:
        """The coalescer's delivery: edit the question's post in place with the live tally."""
        view = card.view
        channel = self._channel_of(view.session_id)
        post_id = self._store.get_ref(view.session_id, f"q:{view.question_id}")
        if channel is None or not post_id:
            log.warning("no post known for question %s of session %s", view.question_id, view.session_id)
            return
        self._api.patch_post(post_id, render.question_post(view, self._target(channel)))

    def _deliver_notice(self, channel: ChannelKey, notice: Notice, actor: str, session_id: str | None) -> None:
        body = render.notice_post(notice, self._target(channel))
        if notice.audience is Audience.EPHEMERAL:
            self._ephemeral(channel, actor, body)
            return
        if notice.audience is Audience.THREAD and session_id:
            root = self._store.get_ref(session_id, "header")
            if root:
                body["root_id"] = root
        self._api.create_post({"channel_id": channel.channel, **body})

    def _ephemeral(self, channel: ChannelKey, user_id: str, body: Mapping[str, Any]) -> None:
        if not user_id:
            return
        try:
            self._api.ephemeral_post(user_id, {"channel_id": channel.channel, **body})
        except MattermostError as exc:
            if exc.status == 403:
                log.warning("the bot lacks the create_post_ephemeral permission; a private notice was dropped")
            else:
                raise

    def _deliver_summary(self, channel: ChannelKey, card: SummaryCard, actor: str) -> None:
        summary = card.summary
        if card.audience is Audience.EPHEMERAL:
            self._ephemeral(channel, actor, summary_post(summary))
            return
        file_ids = []
        chart = self._chart(summary)
        if chart is not None:
            try:
                file_ids.append(
                    self._api.upload_file(channel.channel, "socialmedia-check-summary.png", chart, "image/png")
                )
            except PlatformError:
                log.exception("could not upload the summary chart; posting the summary without it")
        body = {"channel_id": channel.channel, **summary_post(summary, file_ids)}
        if card.audience is Audience.THREAD:
            root = self._store.get_ref(summary.session_id, "header")
            if root:
                body["root_id"] = root
        try:
            self._api.create_post(body)
        except PlatformError:
            if not file_ids:
                raise
            log.exception("the summary post with its chart failed; posting the text alone")
            body.pop("file_ids", None)
            self._api.create_post(body)

    @staticmethod
    def _chart(summary: Any) -> bytes | None:
        try:
            from bot.adapters.chart import render_chart
        except ImportError:
            log.warning("bot.adapters.chart is not available; the summary goes out without a chart")
            return None
        try:
            return render_chart(summary)
        except Exception:
            log.exception("could not draw the summary chart")
            return None


def _is_private(message: Message) -> bool:
    return isinstance(message, Notice | SummaryCard) and message.audience is Audience.EPHEMERAL


def build_mattermost_adapter(
    settings: Settings,
    service: ChatService,
    store: AdapterStore,
    *,
    api: MattermostApi | None = None,
    workers: int = 4,
    coalesce_window: float = 1.0,
    login: bool = True,
) -> MattermostAdapter:
    """The adapter for ``settings`` (MATTERMOST_URL + MATTERMOST_BOT_TOKEN); checks the token once."""
    if not settings.mattermost_enabled:
        raise ConfigError("the Mattermost adapter needs MATTERMOST_URL and MATTERMOST_BOT_TOKEN")
    assert settings.mattermost_url and settings.mattermost_bot_token
    client = api or MattermostApi(settings.mattermost_url, settings.mattermost_bot_token)
    adapter = MattermostAdapter(settings, service, store, client, workers=workers, coalesce_window=coalesce_window)
    if login:
        client.login()
    return adapter
