"""Mattermost adapter: a custom slash command and interactive buttons/dialogs in, REST posts out.

The REST client is :mod:`bot.adapters.mattermost.api` (the only importer of ``mattermostdriver``).

Requests from Mattermost
    ``POST /mattermost/command``  custom slash command (form-encoded, token checked in constant time)
    ``POST /mattermost/actions``  button clicks (``context`` signed by us) and dialog submissions
                                  (``state`` signed by us, :mod:`bot.adapters.mattermost.dialogs`), both JSON

Each request is answered at once: the engine runs in the request thread (Redis round trips only)
and the caller's own ephemeral notices go back in the HTTP response, which needs no extra
permission; so does the clicked question's new card when the click leads its tally window
(``update``, which Mattermost applies to the post itself). Everything else goes through
:class:`bot.adapters.outbox.Outbox` (REST calls in :mod:`bot.adapters.mattermost.outbound`):
ordered per channel, retried, coalesced tally edits.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from bot.adapters.mattermost import render
from bot.adapters.mattermost.api import MattermostApi
from bot.adapters.mattermost.dialogs import Dialogs
from bot.adapters.mattermost.outbound import MattermostOutbound, require_settings
from bot.adapters.mattermost.signing import ContextSigner, digest
from bot.adapters.outbox import Outbox, ReplyTo
from bot.config import Settings
from bot.core.messages import (
    Audience,
    ChannelKey,
    Event,
    EventKind,
    Message,
    Notice,
    SummaryCard,
    TallyChanged,
    Tone,
)
from bot.core.numbers import is_ascii_number
from bot.errors import ConfigError, StoreError
from bot.ports import AdapterStore, ChatService, Delivery
from bot.runtime.http_types import HttpRequest, HttpResponse, Route
from bot.runtime.metrics import NO_METRICS, Metrics

log = logging.getLogger(__name__)

PLATFORM = "mattermost"
COMMAND_PATH = "/mattermost/command"
ACTIONS_PATH = "/mattermost/actions"
MAX_REQUEST = 64 * 1024
DOUBLE_CLICK_SECONDS = 2  # the same signed button clicked again by the same user within this counts once
LOCK_STRIPES = 64  # channel locks, shared by hash: a fixed number however many channels there are


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
        clock: Callable[[], float] = time.time,
        metrics: Metrics = NO_METRICS,
        **outbox: Any,
    ) -> None:
        """``clock``: epoch seconds for the double-click guard (comparable across replicas, so not
        monotonic); ``outbox``: options of :class:`~bot.adapters.outbox.Outbox`."""
        require_settings(settings)
        assert settings.secret and settings.public_url
        self._settings = settings
        self._service = service
        self._store = store
        self._api = api
        self._clock = clock
        self._metrics = metrics
        self._signer = ContextSigner(settings.secret)
        self._tokens = tuple(tok.encode() for tok in settings.mattermost_command_tokens)
        self.action_url = settings.public_url.rstrip("/") + ACTIONS_PATH
        self.outbound = MattermostOutbound(api, self.action_url, self._signer)
        self._dedup_ttl = int(settings.dedup_ttl.total_seconds())
        outbox.setdefault("cache_size", settings.cache_size)
        self.outbox = Outbox.for_service(
            self.outbound, service, store, window=coalesce_window, workers=workers, metrics=metrics, **outbox
        )
        # A command's or a move's write and the queueing of its posts happen under its channel's lock,
        # so this process queues a channel's posts in the order of their writes (a question posted
        # after the closing card of the one before). A fixed set of locks striped by channel: bounded,
        # and never one dropped while held. Answers take none (see _run).
        self._locks = tuple(threading.Lock() for _ in range(LOCK_STRIPES))
        self._dialogs = Dialogs(
            service=service,
            store=store,
            api=api,
            signer=self._signer,
            action_url=self.action_url,
            max_text=settings.max_text,
            dedup_ttl=self._dedup_ttl,
            metrics=metrics,
            lock=self._lock,
            enqueue=self._enqueue,
            safe_ui=self._safe_ui,
        )

    # --- HTTP surface ------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route(COMMAND_PATH, ("POST",), self.handle_command),
            Route(ACTIONS_PATH, ("POST",), self.handle_action),
        ]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued post and coalesced tally update went out (tests, shutdown)."""
        return self.outbox.wait_idle(timeout)

    def close(self) -> None:
        self.outbox.close(5.0)

    def _target(self, channel: ChannelKey) -> render.Target:
        return self.outbound.target(channel)

    def _lock(self, channel: ChannelKey) -> threading.Lock:
        return self._locks[hash(channel) % LOCK_STRIPES]

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
            if trigger and not self._store.claim_once(f"mm:cmd:{digest(trigger)}", self._dedup_ttl, str(channel)):
                log.info("dropped a repeated delivery of a slash command")
                self._metrics.duplicate_dropped(PLATFORM, "delivery")
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
        except StoreError as exc:  # the dedup claim before the service: nothing was recorded
            log.error("the slash command in %s was not run, the store is unavailable: %s", channel, exc)
            inline = [Notice(render.t(self._safe_ui(), None, "store_down"), tone=Tone.ERROR)]
        except Exception:  # a bug: a polite line, never a stack trace in the chat
            log.exception("the slash command failed in %s", channel)
            inline = [Notice(render.t(self._safe_ui(), None, "error_generic"), tone=Tone.ERROR)]
        return HttpResponse.json(200, render.command_response(inline, self._target(channel)))

    def _safe_ui(self) -> Mapping[str, str]:
        try:
            return self._service.ui(None)
        except Exception:
            log.exception("no interface texts; answering with the built-in ones")
            return {}

    def _summary_notice(self, card: SummaryCard) -> Notice:
        posts = self.outbound.summary_bodies(ChannelKey(PLATFORM, "", ""), card.summary, ())
        return Notice("\n\n".join(str(p.get("message", "")) for p in posts), Audience.EPHEMERAL)

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
                return self._dialogs.submitted(payload)
            return self._button(payload)
        except StoreError as exc:  # the dedup claim before the service: nothing was recorded
            log.error("a Mattermost action was not recorded, the store is unavailable: %s", exc)
            return HttpResponse.json(200, render.error_response(render.t(self._safe_ui(), None, "store_down")))
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
        mark = f"mm:act:{digest(trigger)}" if trigger else None
        action = ctx.get("a", "")
        if action in ("dlganswer", "dlgnote"):  # opens a dialog, records nothing yet
            if mark and not self._store.claim(Delivery(str(channel), mark, self._dedup_ttl)):
                self._metrics.duplicate_dropped(PLATFORM, "delivery")
                return HttpResponse.json(200, {})
            return self._dialogs.open(channel, ctx, trigger, user_id, user_name)
        event = self._event_of(ctx, user_id, user_name)
        if event is None:
            return self._refuse_forged(payload, "button")
        coalescer = self.outbox.coalescer
        # Both claims go with the click to the service: into its answer's own Redis script, with the
        # tally window (one round trip), or on their own before a move.
        delivery = Delivery(
            str(channel),
            mark,
            self._dedup_ttl,
            guard=f"mm:click:{digest(user_id, signature)}",
            guard_at=self._clock(),
            guard_seconds=DOUBLE_CLICK_SECONDS,
            window_ms=coalescer.ttl_ms if coalescer is not None else 0,
            refused=_log_refused,
        )
        post_id = str(payload.get("post_id") or "")
        texts, update = self._run(channel, event, user_id, delivery, post_id)
        return HttpResponse.json(200, render.action_response(texts, update))

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
            if not is_ascii_number(option):
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

    def _run(
        self, channel: ChannelKey, event: Event, user_id: str, delivery: Delivery | None = None, post_id: str = ""
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Run ``event`` now; queue what is posted; return the texts only this user should see, and
        the new body of the clicked post ``post_id`` when the click's answer carries it.

        An answer takes no channel lock: its messages are a tally change, whose edits all go through
        the question's coalescing window and whose last one is drawn after the last write, so their
        order does not matter — and a lock held across its Redis round trip would serialise every
        click of a channel in this process."""
        lock = self._lock(channel) if event.kind is not EventKind.ANSWER else contextlib.nullcontext()
        with lock:
            messages = self._service.handle(channel, event, delivery)
            texts = [
                m.text for m in messages if isinstance(m, Notice) and m.audience is Audience.EPHEMERAL and not m.actions
            ]
            later = [
                m
                for m in messages
                if not (isinstance(m, Notice) and m.audience is Audience.EPHEMERAL and not m.actions)
            ]
            update = self._in_reply(channel, later, post_id) if event.kind is EventKind.ANSWER else None
            if update is None:
                self._enqueue(channel, later, user_id)
        return texts, update

    def _in_reply(self, channel: ChannelKey, later: Sequence[Message], post_id: str) -> dict[str, Any] | None:
        """The clicked question's card as the click's ``update``, when that is all the click changes
        and it leads its tally window: Mattermost edits the post before it answers the clicker, so
        the click costs no REST call, and the window's close edits only if more clicks came.

        Only then: with anything else to post (a quorum moving the check on), the order of the
        channel's posts matters, and the outbox keeps it. A close cannot overtake this update
        either: it comes a whole window (a second or more) after the click was answered."""
        if len(later) != 1 or not isinstance(change := later[0], TallyChanged):
            return None
        if not (change.lead and change.card is not None and post_id and change.ref == post_id):
            return None
        try:
            body = self.outbound.question_body(channel, change.card.view)
        except Exception:  # the outbox renders and edits it as before
            log.exception("could not render question %s for the click's reply", change.question_id)
            return None
        self.outbox.led_in_reply(channel, change)
        return body

    # --- sending (through the outbox) --------------------------------------------------------

    def _enqueue(self, channel: ChannelKey, messages: Sequence[Message], actor: str) -> None:
        self.outbox.send(channel, messages, reply=ReplyTo(user=actor))


def _log_refused(why: str) -> None:
    """A click's claim did not hold (the service counts it; this says so in the log)."""
    if why == "guarded":
        log.info("dropped a double click on a Mattermost button")
    else:
        log.info("dropped a repeated delivery of a Mattermost button")


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
    clock: Callable[[], float] = time.time,
    **outbox: Any,
) -> MattermostAdapter:
    """The adapter for ``settings`` (MATTERMOST_URL + MATTERMOST_BOT_TOKEN); checks the token once."""
    if not settings.mattermost_enabled:
        raise ConfigError("the Mattermost adapter needs MATTERMOST_URL and MATTERMOST_BOT_TOKEN")
    assert settings.mattermost_url and settings.mattermost_bot_token
    client = api or MattermostApi(settings.mattermost_url, settings.mattermost_bot_token)
    adapter = MattermostAdapter(
        settings, service, store, client, workers=workers, coalesce_window=coalesce_window, clock=clock, **outbox
    )
    if login:
        client.login()
    return adapter
