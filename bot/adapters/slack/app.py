"""The Slack adapter: slash command, buttons and modals in; Block Kit messages, modals and a chart out.

Inbound traffic arrives either over HTTP (``POST /slack/events``, served by :mod:`bot.runtime.web`;
:func:`bot.adapters.slack.guard.screen_http` verifies the signature, answering 401 to forged or stale
requests, and parses the body once for bolt) or over Socket Mode (bolt's
``SocketModeHandler`` with the SDK's built-in WebSocket client). Either way bolt dispatches to the
listeners below. They run in the dispatching thread (:class:`~bot.adapters.slack.payload.InlineExecutor`),
``ack()`` at once and hand the work to the adapter's own pool of ``LISTENER_THREADS``, so the
acknowledgement goes back before the work is done; a modal submission is the exception, since its
ack carries the validation errors (:mod:`bot.adapters.slack.submissions`).

A check lives in a thread under one header message in the channel; every question is one message in
that thread. Everything goes out through :class:`bot.adapters.outbox.Outbox` (ordered per channel,
retried; the Web API calls are in :mod:`bot.adapters.slack.outbound`). Retried or duplicated
deliveries are dropped with ``store.claim_once`` on Slack's own unique ids (slash/interaction
``trigger_id``, ``action_ts``, view id), so they hold across restarts and replicas.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError, SlackClientError

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.adapters.outbox import Outbox
from bot.adapters.slack import blocks as sb
from bot.adapters.slack import guard
from bot.adapters.slack.context import Where, polite
from bot.adapters.slack.names import AuthorNames, DisplayNames, lookup_client
from bot.adapters.slack.outbound import SlackCallError as SlackCallError
from bot.adapters.slack.outbound import SlackOutbound, web_client
from bot.adapters.slack.payload import STALE, InlineExecutor, click_event, digest, team_of, user_name_of
from bot.adapters.slack.retry import Sleep
from bot.adapters.slack.submissions import ModalSubmissions
from bot.config import Settings
from bot.core.messages import (
    ChannelKey,
    Event,
    EventKind,
    Message,
    Notice,
    Tone,
    session_of,
)
from bot.errors import ConfigError, PlatformError
from bot.ports import AdapterStore, ChatService, Delivery
from bot.runtime.http_types import HttpRequest, HttpResponse, Route
from bot.runtime.metrics import NO_METRICS, Metrics

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
LISTENER_THREADS = 16
TOGGLE_GUARD_SECONDS = 1  # clicks on the same option by the same user closer than this count once


class SlackAdapter:
    def __init__(
        self,
        settings: Settings,
        service: ChatService,
        store: AdapterStore,
        *,
        coalesce_window: float = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Sleep | None = None,
        metrics: Metrics = NO_METRICS,
        **outbox: Any,
    ) -> None:
        """``clock``: epoch seconds for the double-click guard (shared by replicas, so not monotonic);
        ``sleep``: waits out a 429's ``Retry-After`` (default ``time.sleep``); ``outbox``: options of
        :class:`~bot.adapters.outbox.Outbox` (``workers``, ``wait`` for retries)."""
        if not settings.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN: required for the Slack adapter")
        self._settings = settings
        self._service = service
        self._store = store
        self._max_text = settings.max_text
        self._clock = clock
        self._metrics = metrics
        self._dedup_ttl = int(settings.dedup_ttl.total_seconds())  # Slack retries within minutes
        self.client = web_client(settings.slack_bot_token, settings.slack_api_url, sleep=sleep)
        self.outbound = SlackOutbound(self.client)
        # display names instead of handles, cached on the same clock (users.info needs users:read)
        lookups = lookup_client(settings.slack_bot_token, settings.slack_api_url)
        self.names = AuthorNames(service, DisplayNames(lookups, clock))
        self._executor = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack")
        try:
            self.app = App(
                name="socialmedia-check",  # bolt reads the caller's file name off the stack otherwise
                client=self.client,
                signing_secret=settings.slack_signing_secret or "",
                process_before_response=False,
                # The listeners ack, then hand their work to self._executor: run inline, bolt returns
                # the ack at once instead of polling for it every 10 ms from the request thread.
                listener_executor=InlineExecutor(),
                logger=logging.getLogger("bot.adapters.slack.app.bolt"),
                # guard.screen_http verifies every HTTP request before bolt sees it (401 when forged),
                # Socket Mode needs no signature, and HTTP is not served without a signing secret.
                request_verification_enabled=False,
            )
        except (SlackApiError, SlackClientError) as exc:  # auth.test at start-up: a bad token fails fast
            self._executor.shutdown(wait=False)
            raise PlatformError(f"Slack refused the bot token (SLACK_BOT_TOKEN): {exc}") from exc
        except (OSError, BoltError) as exc:  # URLError is an OSError: Slack (SLACK_API_URL) unreachable
            self._executor.shutdown(wait=False)
            reason = getattr(exc, "reason", exc)
            raise PlatformError(f"could not reach Slack at {self.client.base_url} (SLACK_API_URL): {reason}") from exc
        outbox.setdefault("cache_size", settings.cache_size)
        self.outbox = Outbox.for_service(
            self.outbound, service, store, window=coalesce_window, metrics=metrics, **outbox
        )
        # What close() and tests wait on: the outbox covers queued posts and open tally windows.
        self.coalescer = self.outbox
        self._socket_handler: SocketModeHandler | None = None
        self._stopped = threading.Event()
        self._socket_lock = threading.Lock()
        self._modals = ModalSubmissions(
            service=service,
            store=store,
            outbound=self.outbound,
            names=self.names,
            max_text=self._max_text,
            first=self._first,
            send=self._send,
        )
        self._register()

    # --- public surface ------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """``POST /slack/events`` for slash commands and interactivity (only with a signing secret)."""
        if not self._settings.slack_signing_secret:
            log.warning("SLACK_SIGNING_SECRET is not set: /slack/events is not served (Socket Mode only)")
            return []
        return [Route(EVENTS_PATH, ("POST",), self.handle_http)]

    def handle_http(self, request: HttpRequest) -> HttpResponse:
        screened = guard.screen_http(request, self._settings.slack_signing_secret or "")
        if isinstance(screened, HttpResponse):
            return screened
        try:
            response = self.app.dispatch(screened)
        except Exception:  # a signed body of a shape the guard did not foresee: ack, never a 5xx
            log.exception("could not dispatch a signed Slack request; acknowledged and dropped")
            return HttpResponse(200)
        headers = {name: values[0] for name, values in response.headers.items() if values}
        body = response.body.encode() if isinstance(response.body, str) else (response.body or b"")
        return HttpResponse(response.status, body, headers)

    def start_socket_mode(self, block: bool = True) -> None:
        """Connect over Socket Mode (SLACK_APP_TOKEN, ``xapp-…``); with ``block``, wait until :meth:`close`.

        Without ``block`` it returns once connected: the SDK's client runs on its own threads."""
        token = self._settings.slack_app_token
        if not token:
            raise ConfigError("SLACK_APP_TOKEN: Socket Mode needs an app-level token (xapp-…)")
        from slack_bolt.adapter.socket_mode import SocketModeHandler  # only this mode holds its client

        handler = SocketModeHandler(self.app, token, logger=logging.getLogger("bot.adapters.slack.app.socket"))
        with self._socket_lock:
            self._socket_handler = handler
        try:
            handler.connect()  # type: ignore[no-untyped-call]
        except (SlackApiError, SlackClientError, OSError) as exc:
            self._close_socket()
            raise PlatformError(f"could not open a Socket Mode connection: {exc}") from exc
        log.info("Slack Socket Mode connected")
        if not block:
            return
        try:
            self._stopped.wait()
        finally:  # Ctrl-C or close(): leave the WebSocket cleanly
            self._close_socket()

    def close(self, timeout: float = 5.0) -> None:
        """Stop Socket Mode (if running), finish running listeners, then send what they queued (posts,
        tally updates) for at most ``timeout`` seconds."""
        self._stopped.set()
        self._close_socket()
        self._executor.shutdown(wait=True, cancel_futures=False)
        self.outbox.close(timeout)

    def _close_socket(self) -> None:
        with self._socket_lock:
            handler, self._socket_handler = self._socket_handler, None
        if handler is not None:
            try:
                handler.close()  # type: ignore[no-untyped-call]
            except Exception:  # closing must not raise on the way out
                log.exception("closing the Socket Mode connection failed")

    # --- listeners --------------------------------------------------------------------------------

    def _register(self) -> None:
        self.app.use(guard.ShapeGuard())  # Socket Mode deliveries get the same shape checks as HTTP
        self.app.command(_ANY_COMMAND)(self._on_command)
        self.app.action({"action_id": _OUR_ACTIONS})(self._on_action)
        self.app.view(sb.NOTE_VIEW)(self._modals.submitted)
        self.app.view(sb.ANSWER_VIEW)(self._modals.submitted)
        self.app.error(self._on_error)

    def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a Slack listener (%s)", type(error).__name__, exc_info=error)

    def _on_command(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        where = Where(
            team=team_of(body),
            channel=str(body.get("channel_id", "")),
            user=str(body.get("user_id", "")),
            respond=respond,
        )
        self._later(where, lambda: self._command(where, body))

    def _command(self, where: Where, body: dict[str, Any]) -> list[Message]:
        if not self._first(f"cmd:{where.team}:{body.get('trigger_id') or digest(body)}", where.key):
            return []
        name = self.names.for_command(where, str(body.get("user_name", "")), str(body.get("text", "")))
        return self._service.handle_command(where.key, str(body.get("text", "")), where.user, name)

    def _on_action(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        container = body.get("container") or {}
        message = body.get("message") or {}
        where = Where(
            team=team_of(body),
            channel=str((body.get("channel") or {}).get("id") or container.get("channel_id") or ""),
            user=str((body.get("user") or {}).get("id", "")),
            thread_ts=container.get("thread_ts") or message.get("thread_ts"),
            respond=respond,
        )
        action_id = str(action.get("action_id", ""))
        unique = action.get("action_ts") or body.get("trigger_id") or digest(body)
        mark = f"act:{where.team}:{where.user}:{action_id}:{unique}"
        user_name = user_name_of(body)
        self._later(where, lambda: self._act(where, body, action, action_id, user_name, mark))

    def _act(
        self, where: Where, body: dict[str, Any], action: dict[str, Any], action_id: str, user_name: str, mark: str
    ) -> list[Message]:
        """``mark``: this delivery's dedup key. A click the service handles claims it (and a toggle's
        double-click guard) in the same Redis script as its answer; anything else claims it first."""
        ref = sb.Ref.decode(action.get("value")) or sb.Ref.decode(action.get("block_id"))
        if ref is None:
            log.warning("Slack action %s without a readable reference", action_id)
            return [self._stale(None)] if self._first(mark, where.key) else []
        where.session_id = ref.session_id or None
        if action_id in (sb.TEXT, sb.NOTE):
            if not self._first(mark, where.key):
                return []
            self._modals.open(where, body, ref, action_id)
            self.names.for_click(where, user_name, ref)  # warms the cache: the submission's ack cannot wait
            return []
        base = Event(
            EventKind.ANSWER,
            user=where.user,
            user_name=self.names.for_click(where, user_name, ref),
            via_button=True,
            session_id=ref.session_id or None,
            question_id=ref.question_id or None,
        )
        event = click_event(base, action_id, action, ref)
        if event == STALE:
            return [self._stale(None)] if self._first(mark, where.key) else []
        if event is None:
            log.warning("unknown Slack action %s", action_id)
            return []
        delivery = self._delivery(where, mark)
        if event.toggle:
            # A double click must not undo itself: one toggle per user and option within a moment.
            guard_key = f"slack:toggle:{where.user}:{ref.session_id}:{ref.question_id}:{ref.number}"
            delivery = replace(delivery, guard=guard_key, guard_at=self._clock(), guard_seconds=TOGGLE_GUARD_SECONDS)
        return self._service.handle(where.key, event, delivery)

    def _delivery(self, where: Where, mark: str) -> Delivery:
        """The click's claims for the service: its dedup mark, and the tally window to enter with them."""
        coalescer = self.outbox.coalescer
        return Delivery(
            str(where.key),
            f"slack:{mark}",
            self._dedup_ttl,
            window_ms=coalescer.ttl_ms if coalescer is not None else 0,
            refused=_log_refused,
        )

    # --- running the service safely ---------------------------------------------------------------

    def _first(self, key: str, channel: ChannelKey) -> bool:
        """True the first time Slack delivers this (retries and duplicates are dropped)."""
        try:
            first = self._store.claim_once(f"slack:{key}", self._dedup_ttl, str(channel))
        except Exception:  # the store is down: better to risk a duplicate than to drop the click
            log.exception("dedup claim failed for %s", key)
            return True
        if not first:
            log.info("dropping a repeated Slack delivery (%s)", key)
            self._metrics.duplicate_dropped("slack", "delivery")
        return first

    def _later(self, where: Where, work: Callable[[], list[Message]]) -> None:
        """Run ``work`` on the adapter's pool, after the ack went back."""
        try:
            self._executor.submit(self._guarded, where, work)
        except RuntimeError:  # the pool is shut down: close() runs, the web server drained before it
            log.error("a Slack request in %s arrived while shutting down and was not run", where.key)

    def _guarded(self, where: Where, work: Callable[[], list[Message]]) -> None:
        try:
            messages = work()
        except Exception:
            log.exception("the service failed on a Slack request in %s", where.key)
            messages = [self._error_notice(where.language)]
        self._send(where, messages)

    def _error_notice(self, language: str | None) -> Notice:
        return polite(self._service.ui, "error_generic", Tone.ERROR, language)

    def _stale(self, language: str | None) -> Notice:
        return polite(self._service.ui, "stale_button", Tone.REFUSAL, language)

    # --- sending (through the outbox) --------------------------------------------------------

    def _send(self, where: Where, messages: Sequence[Message]) -> None:
        if where.session_id is None:
            where.session_id = next((session_of(m) for m in messages if session_of(m)), None)
        self.outbox.send(where.key, messages, reply=where.reply())


def build_slack_adapter(
    settings: Settings,
    service: ChatService,
    store: AdapterStore,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Sleep | None = None,
    metrics: Metrics = NO_METRICS,
) -> SlackAdapter:
    return SlackAdapter(settings, service, store, clock=clock, sleep=sleep, metrics=metrics)


# --- payload helpers --------------------------------------------------------------------------------

_ANY_COMMAND = re.compile(r"^/")  # a Slack app only receives its own commands, whatever they are named
_OUR_ACTIONS = re.compile("^" + re.escape(sb.PREFIX))


def _log_refused(why: str) -> None:
    """A click's claim did not hold (the service counts it; this says so in the log)."""
    if why == "guarded":
        log.info("dropping a double click on a multi-choice option")
    else:
        log.info("dropping a repeated Slack delivery")
