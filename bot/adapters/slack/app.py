"""The Slack adapter: slash command, buttons and modals in; Block Kit messages, modals and a chart out.

The only module of the bot that imports ``slack_bolt``/``slack_sdk``. Inbound traffic arrives either
over HTTP (``POST /slack/events``, served by :mod:`bot.runtime.web`; bolt verifies the signature and answers
401 to forged or stale requests) or over Socket Mode (bolt's ``SocketModeHandler`` with the SDK's
built-in WebSocket client). Either way bolt dispatches to the listeners below, which ``ack()`` at once
and do the work after the acknowledgement (``process_before_response=False``).

A check lives in a thread under one header message in the channel; every question is one message in
that thread, edited in place as answers come in (coalesced, see :class:`bot.runtime.coalesce.TallyCoalescer`).
Message timestamps are kept in the store as refs of the session (``header``, ``q:<question id>``,
``channel``). Retried or duplicated deliveries are dropped with ``store.claim_once`` on Slack's own
unique ids (slash/interaction ``trigger_id``, ``action_ts``, view id), so they hold across restarts
and replicas.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt import Ack, App, BoltRequest, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.adapters.slack import blocks as sb
from bot.adapters.slack.summary import summary_messages
from bot.adapters.chart import render_chart
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

log = logging.getLogger(__name__)

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
RATE_LIMIT_RETRIES = 3  # 429s honoured (Retry-After) before a call gives up
LISTENER_THREADS = 16
REF_WAIT_MAX = 1.6  # seconds of back-off for a question ref another replica is still storing
DEDUP_TTL = 86400  # Slack retries within minutes; a day is plenty
TOGGLE_GUARD_SECONDS = 1  # clicks on the same option by the same user closer than this count once
_MAX_ERROR_TEXT = 300
_NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})
# Said through the command's response_url, which works even where the bot may not post.
_INVITE_HINT = {
    "en": "I am not a member of this channel, so I cannot post here. Invite me with "
    "`/invite @socialmedia-check`, then run the command again (a check that started without me: "
    "`/socialmedia-check restart confirm`).",
    "nl": "Ik ben geen lid van dit kanaal en kan hier dus niet posten. Nodig me uit met "
    "`/invite @socialmedia-check` en geef het commando opnieuw (een check die zonder mij begon: "
    "`/socialmedia-check restart confirm`).",
}


class SlackCallError(PlatformError):
    """A Web API call failed; ``code`` is Slack's error code (``not_in_channel``, ...) when it gave one."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Where:
    """Where the replies to one user action go."""

    team: str
    channel: str
    user: str
    thread_ts: str | None = None  # the user acted in this thread (ephemeral replies go there)
    session_id: str | None = None  # the check the action belongs to, when known
    language: str | None = None
    respond: Callable[..., Any] | None = None  # the request's response_url (commands, actions)

    @property
    def key(self) -> ChannelKey:
        return ChannelKey(PLATFORM, self.team, self.channel)


class SlackAdapter:
    def __init__(
        self, settings: Settings, service: ChatService, store: AdapterStore, *, coalesce_window: float = 1.0
    ) -> None:
        if not settings.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN: required for the Slack adapter")
        self._settings = settings
        self._service = service
        self._store = store
        self._max_text = settings.max_text
        self.client = WebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url or "https://slack.com/api/",
            retry_handlers=[
                ConnectionErrorRetryHandler(),
                RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ],
            logger=logging.getLogger("bot.adapters.slack.app.sdk"),
        )
        self._executor = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack")
        try:
            self.app = App(
                client=self.client,
                signing_secret=settings.slack_signing_secret or "",
                process_before_response=False,
                listener_executor=self._executor,
                logger=logging.getLogger("bot.adapters.slack.app.bolt"),
                # Socket-Mode-only installs have no signing secret; HTTP is then not served at all.
                request_verification_enabled=bool(settings.slack_signing_secret),
            )
        except (SlackApiError, SlackClientError) as exc:  # auth.test at start-up: a bad token fails fast
            self._executor.shutdown(wait=False)
            raise PlatformError(f"Slack refused the bot token (SLACK_BOT_TOKEN): {exc}") from exc
        except (OSError, BoltError) as exc:  # URLError is an OSError: Slack (SLACK_API_URL) unreachable
            self._executor.shutdown(wait=False)
            reason = getattr(exc, "reason", exc)
            raise PlatformError(f"could not reach Slack at {self.client.base_url} (SLACK_API_URL): {reason}") from exc
        self.coalescer = TallyCoalescer(store, service.question_card, self._deliver_tally, window=coalesce_window)
        self._socket_handler: SocketModeHandler | None = None
        self._stopped = threading.Event()
        self._socket_lock = threading.Lock()
        self._edit_locks = tuple(threading.Lock() for _ in range(64))
        self._post_locks = tuple(threading.Lock() for _ in range(64))
        self._register()

    # --- public surface ------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """``POST /slack/events`` for slash commands and interactivity (only with a signing secret)."""
        if not self._settings.slack_signing_secret:
            log.warning("SLACK_SIGNING_SECRET is not set: /slack/events is not served (Socket Mode only)")
            return []
        return [Route(EVENTS_PATH, ("POST",), self.handle_http)]

    def handle_http(self, request: HttpRequest) -> HttpResponse:
        bolt_request = BoltRequest(
            body=request.body.decode("utf-8", errors="replace"),
            query=dict(request.query),
            headers=dict(request.headers),
        )
        response = self.app.dispatch(bolt_request)
        headers = {name: values[0] for name, values in response.headers.items() if values}
        body = response.body.encode() if isinstance(response.body, str) else (response.body or b"")
        return HttpResponse(response.status, body, headers)

    def start_socket_mode(self) -> None:
        """Connect over Socket Mode (SLACK_APP_TOKEN, ``xapp-…``) and block until :meth:`close`."""
        token = self._settings.slack_app_token
        if not token:
            raise ConfigError("SLACK_APP_TOKEN: Socket Mode needs an app-level token (xapp-…)")
        handler = SocketModeHandler(self.app, token, logger=logging.getLogger("bot.adapters.slack.app.socket"))
        with self._socket_lock:
            self._socket_handler = handler
        try:
            handler.connect()
        except (SlackApiError, SlackClientError, OSError) as exc:
            self._close_socket()
            raise PlatformError(f"could not open a Socket Mode connection: {exc}") from exc
        log.info("Slack Socket Mode connected")
        try:
            self._stopped.wait()
        finally:  # Ctrl-C or close(): leave the WebSocket cleanly
            self._close_socket()

    def close(self) -> None:
        """Stop Socket Mode (if running), flush pending tally updates, finish running listeners."""
        self._stopped.set()
        self._close_socket()
        self.coalescer.wait_idle(timeout=5)
        self._executor.shutdown(wait=True, cancel_futures=False)

    def _close_socket(self) -> None:
        with self._socket_lock:
            handler, self._socket_handler = self._socket_handler, None
        if handler is not None:
            try:
                handler.close()
            except Exception:  # closing must not raise on the way out
                log.exception("closing the Socket Mode connection failed")

    # --- listeners --------------------------------------------------------------------------------

    def _register(self) -> None:
        self.app.command(_ANY_COMMAND)(self._on_command)
        self.app.action({"action_id": _OUR_ACTIONS})(self._on_action)
        self.app.view(sb.NOTE_VIEW)(self._on_view)
        self.app.view(sb.ANSWER_VIEW)(self._on_view)
        self.app.error(self._on_error)

    def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a Slack listener (%s)", type(error).__name__, exc_info=error)

    def _on_command(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        where = Where(
            team=_team(body),
            channel=str(body.get("channel_id", "")),
            user=str(body.get("user_id", "")),
            respond=respond,
        )
        if not self._first(f"cmd:{where.team}:{body.get('trigger_id') or _digest(body)}"):
            return
        self._guarded(
            where,
            lambda: self._service.handle_command(
                where.key, str(body.get("text", "")), where.user, str(body.get("user_name", ""))
            ),
        )

    def _on_action(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        container = body.get("container") or {}
        message = body.get("message") or {}
        where = Where(
            team=_team(body),
            channel=str((body.get("channel") or {}).get("id") or container.get("channel_id") or ""),
            user=str((body.get("user") or {}).get("id", "")),
            thread_ts=container.get("thread_ts") or message.get("thread_ts"),
            respond=respond,
        )
        action_id = str(action.get("action_id", ""))
        unique = action.get("action_ts") or body.get("trigger_id") or _digest(body)
        if not self._first(f"act:{where.team}:{where.user}:{action_id}:{unique}"):
            return
        user_name = _user_name(body)
        self._guarded(where, lambda: self._act(where, body, action, action_id, user_name))

    def _act(
        self, where: Where, body: dict[str, Any], action: dict[str, Any], action_id: str, user_name: str
    ) -> list[Message]:
        ref = sb.Ref.decode(action.get("value")) or sb.Ref.decode(action.get("block_id"))
        if ref is None:
            log.warning("Slack action %s without a readable reference", action_id)
            return [self._stale(None)]
        where.session_id = ref.session_id or None
        base = Event(
            EventKind.ANSWER,
            user=where.user,
            user_name=user_name,
            via_button=True,
            session_id=ref.session_id or None,
            question_id=ref.question_id or None,
        )
        if action_id in (sb.TEXT, sb.NOTE):
            self._open_modal(where, body, ref, action_id)
            return []
        if action_id.startswith(sb.ANSWER + ":"):
            event = replace(base, choices=(ref.number,))
        elif action_id == sb.SELECT:
            chosen = (action.get("selected_option") or {}).get("value", "")
            event = replace(base, choices=_numbers([chosen]))
        elif action_id.startswith(sb.TOGGLE + ":"):
            # A double click must not undo itself: one toggle per user and option within a moment.
            once = f"slack:toggle:{where.user}:{ref.session_id}:{ref.question_id}:{ref.number}"
            if not self._store.claim_once(once, TOGGLE_GUARD_SECONDS):
                return []
            event = replace(base, choices=(ref.number,), toggle=True)
        elif action_id == sb.MULTI:
            # A multi-select (more than 10 options) reports the user's whole selection: replace.
            chosen = [o.get("value", "") for o in action.get("selected_options") or []]
            event = replace(base, choices=_numbers(chosen), toggle=False)
        elif action_id in sb.FACILITATOR_ACTIONS:
            event = replace(base, kind=sb.FACILITATOR_ACTIONS[action_id])
        elif action_id.startswith(sb.NOTICE_ACTION + ":"):
            try:
                kind = EventKind(ref.kind)
            except ValueError:
                return [self._stale(None)]
            value = ref.value if kind is EventKind.DECIDE else ""
            event = replace(base, kind=kind, confirm=ref.value == "confirm", value=value)
        else:
            log.warning("unknown Slack action %s", action_id)
            return []
        return self._service.handle(where.key, event)

    def _open_modal(self, where: Where, body: dict[str, Any], ref: sb.Ref, action_id: str) -> None:
        card = self._service.question_card(ref.session_id, ref.question_id)
        if card is None or (action_id == sb.TEXT and card.view.closed):
            self._deliver(where, [self._stale(card.view.language if card else None)])
            return
        where.language = card.view.language
        build = sb.answer_modal if action_id == sb.TEXT else sb.note_modal
        view = build(card.view, where.channel, self._max_text)
        self._call("views.open", self.client.views_open, trigger_id=body.get("trigger_id", ""), view=view)

    def _on_view(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = sb.Ref.decode(view.get("private_metadata"))
        user = str((body.get("user") or {}).get("id", ""))
        if ref is None or not ref.channel:
            ack()
            log.warning("modal submission without a readable reference")
            return
        values = ((view.get("state") or {}).get("values") or {}).get(sb.INPUT_BLOCK) or {}
        text = str((values.get(sb.INPUT_ACTION) or {}).get("value") or "").strip()
        where = Where(team=_team(body), channel=ref.channel, user=user, session_id=ref.session_id)
        where.thread_ts = self._ref(ref.session_id, "header")
        if len(text) > self._max_text:
            card = self._service.question_card(ref.session_id, ref.question_id)
            ui = self._service.ui(card.view.language if card else None)
            ack(
                response_action="errors",
                errors={sb.INPUT_BLOCK: sb.clip(sb.t(ui, "too_long", max=self._max_text), _MAX_ERROR_TEXT)},
            )
            return
        text_hash = hashlib.sha256(text.encode()).hexdigest()[:16]
        if not self._first(f"view:{view.get('id')}:{view.get('hash', '')}:{text_hash}"):
            ack()
            return
        kind = EventKind.NOTE if view.get("callback_id") == sb.NOTE_VIEW else EventKind.ANSWER
        event = Event(
            kind,
            user=user,
            user_name=_user_name(body),
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
            self._deliver(where, [self._error_notice(None)])
            return
        # A refusal (unreadable date, too long, question closed) keeps the modal open with the reason.
        if len(messages) == 1 and isinstance(messages[0], Notice) and messages[0].tone is Tone.REFUSAL:
            ack(response_action="errors", errors={sb.INPUT_BLOCK: sb.clip(messages[0].text, _MAX_ERROR_TEXT)})
            return
        ack()
        self._deliver(where, messages)

    # --- running the service safely ---------------------------------------------------------------

    def _first(self, key: str) -> bool:
        """True the first time Slack delivers this (retries and duplicates are dropped)."""
        try:
            first = self._store.claim_once(f"slack:{key}", DEDUP_TTL)
        except Exception:  # the store is down: better to risk a duplicate than to drop the click
            log.exception("dedup claim failed for %s", key)
            return True
        if not first:
            log.info("dropping a repeated Slack delivery (%s)", key)
        return first

    def _guarded(self, where: Where, work: Callable[[], list[Message]]) -> None:
        try:
            messages = work()
        except Exception:
            log.exception("the service failed on a Slack request in %s", where.key)
            messages = [self._error_notice(where.language)]
        self._deliver(where, messages)

    def _error_notice(self, language: str | None) -> Notice:
        try:
            ui = self._service.ui(language)
        except Exception:
            ui = {}
        return Notice(sb.t(ui, "error_generic"), Audience.EPHEMERAL, Tone.ERROR)

    def _stale(self, language: str | None) -> Notice:
        try:
            ui = self._service.ui(language)
        except Exception:
            ui = {}
        return Notice(sb.t(ui, "stale_button"), Audience.EPHEMERAL, Tone.REFUSAL)

    # --- delivering messages ---------------------------------------------------------------------

    def _deliver(self, where: Where, messages: Iterable[Message]) -> None:
        messages = list(messages)
        if where.session_id is None:
            where.session_id = next((session_of(m) for m in messages if session_of(m)), None)
        failed = False
        for message in messages:
            try:
                self._deliver_one(where, message)
            except SlackCallError as exc:
                if exc.code in _NOT_A_MEMBER and where.respond is not None:
                    self._invite_hint(where)
                    return
                log.exception("could not deliver %s to Slack %s", type(message).__name__, where.key)
                failed = True
            except Exception:  # one failed message must not lose the rest of the batch
                log.exception("could not deliver %s to Slack %s", type(message).__name__, where.key)
                failed = True
        if failed:
            try:
                self._ephemeral(where, sb.error_message(self._service.ui(where.language)))
            except Exception:
                log.exception("could not tell the user about the failure either")

    def _invite_hint(self, where: Where) -> None:
        log.warning("the bot is not a member of Slack channel %s; asking the user to invite it", where.key)
        language = where.language or self._settings.default_language
        try:
            assert where.respond is not None
            where.respond(text=_INVITE_HINT.get(language, _INVITE_HINT["en"]), response_type="ephemeral")
        except Exception:
            log.exception("could not send the invite hint through response_url")

    def _deliver_one(self, where: Where, message: Message) -> None:
        if isinstance(message, TallyChanged):
            self.coalescer.submit(message.session_id, message.question_id)
        elif isinstance(message, QuestionCard):
            if message.mode is CardMode.UPDATE:
                # Through the coalescer too, so a tally window's late re-render can never bring an
                # older state (with buttons) back over the closed card.
                self.coalescer.submit(message.view.session_id, message.view.question_id, message)
            else:
                self._post_question(where, message)
        elif isinstance(message, HeaderCard):
            self._header(where, message)
        elif isinstance(message, Notice):
            self._notice(where, message)
        elif isinstance(message, SummaryCard):
            self._summary(where, message)
        else:  # pragma: no cover - the Message union is closed
            log.warning("no Slack rendering for %r", type(message).__name__)

    def _header(self, where: Where, card: HeaderCard) -> None:
        payload = sb.header_message(card)
        if card.mode is CardMode.POST:
            reply = self._call("chat.postMessage", self.client.chat_postMessage, channel=where.channel, **payload)
            self._store.set_ref(card.session_id, "channel", where.channel)
            self._store.set_ref(card.session_id, "header", str(reply["ts"]))
            return
        ts = self._ref(card.session_id, "header")
        channel = self._ref(card.session_id, "channel") or where.channel
        if ts is None:
            log.warning("no header message known for session %s; posting a new one", card.session_id)
            self._header(where, replace(card, mode=CardMode.POST))
            return
        self._call("chat.update", self.client.chat_update, channel=channel, ts=ts, **payload)

    def _post_question(self, where: Where, card: QuestionCard) -> None:
        view = card.view
        thread = self._ref(view.session_id, "header")
        channel = self._ref(view.session_id, "channel") or where.channel
        payload = sb.question_message(view)
        kwargs: dict[str, Any] = {"thread_ts": thread} if thread else {}
        # A fast click can reach us between Slack's answer and the stored ref: tally updates of this
        # question wait for the lock (in this process) or re-read the ref (see _question_ts).
        with self._lock_for(self._post_locks, view.session_id, view.question_id):
            reply = self._call("chat.postMessage", self.client.chat_postMessage, channel=channel, **kwargs, **payload)
            self._store.set_ref(view.session_id, f"q:{view.question_id}", str(reply["ts"]))

    def _deliver_tally(self, card: QuestionCard) -> None:
        """TallyCoalescer's delivery: edit the question's message with a fresh render."""
        view = card.view
        channel = self._ref(view.session_id, "channel")
        ts = self._question_ts(view.session_id, view.question_id)
        if channel is None or ts is None:
            log.warning("no message known for question %s of session %s", view.question_id, view.session_id)
            return
        payload = sb.question_message(view)
        # One edit of a message at a time: a slow (rate-limited) edit finishes before a fresher one.
        with self._lock_for(self._edit_locks, view.session_id, view.question_id):
            self._call("chat.update", self.client.chat_update, channel=channel, ts=ts, **payload)

    def _question_ts(self, session_id: str, question_id: str) -> str | None:
        """The question message's ts; waits out a post still in flight here or in another replica."""
        with self._lock_for(self._post_locks, session_id, question_id):
            ts = self._ref(session_id, f"q:{question_id}")
        delay = 0.1
        while ts is None and delay <= REF_WAIT_MAX and not self._stopped.is_set():
            self._stopped.wait(delay)  # bounded back-off, only when another replica is posting
            ts = self._ref(session_id, f"q:{question_id}")
            delay *= 2
        return ts

    @staticmethod
    def _lock_for(locks: tuple[threading.Lock, ...], session_id: str, question_id: str) -> threading.Lock:
        return locks[hash((session_id, question_id)) % len(locks)]

    def _notice(self, where: Where, notice: Notice) -> None:
        payload = sb.notice_message(notice)
        if notice.audience is Audience.EPHEMERAL:
            self._ephemeral(where, payload)
            return
        kwargs: dict[str, Any] = {}
        if notice.audience is Audience.THREAD:
            thread = self._ref(notice.session_id or where.session_id, "header")
            if thread:
                kwargs["thread_ts"] = thread
        self._call("chat.postMessage", self.client.chat_postMessage, channel=where.channel, **kwargs, **payload)

    def _ephemeral(self, where: Where, payload: dict[str, Any]) -> None:
        if not where.user:
            return
        kwargs: dict[str, Any] = {"thread_ts": where.thread_ts} if where.thread_ts else {}
        self._call(
            "chat.postEphemeral",
            self.client.chat_postEphemeral,
            channel=where.channel,
            user=where.user,
            **kwargs,
            **payload,
        )

    def _summary(self, where: Where, card: SummaryCard) -> None:
        summary = card.summary
        parts = summary_messages(summary)
        if card.audience is Audience.EPHEMERAL:
            for part in parts:
                self._ephemeral(where, part)
            return
        channel = self._ref(summary.session_id, "channel") or where.channel
        thread = self._ref(summary.session_id, "header") if card.audience is Audience.THREAD else None
        first = self._call(
            "chat.postMessage",
            self.client.chat_postMessage,
            channel=channel,
            **({"thread_ts": thread} if thread else {}),
            **parts[0],
        )
        for part in parts[1:]:  # a very long summary continues in the thread of its first message
            self._call(
                "chat.postMessage",
                self.client.chat_postMessage,
                channel=channel,
                thread_ts=thread or str(first["ts"]),
                **part,
            )
        if card.audience is Audience.CHANNEL:
            self._upload_chart(channel, summary)

    def _upload_chart(self, channel: str, summary: Any) -> None:
        """The chart is a bonus: if drawing or uploading fails, the text summary is already out."""
        try:
            png = render_chart(summary)
            title = sb.t(summary.ui, "chart_title")
            self._call(
                "files.upload",
                self.client.files_upload_v2,
                channel=channel,
                file=png,
                filename=f"socialmedia-check-{summary.session_id[:12]}.png",
                title=f"{title} — {summary.title}"[:250],
                alt_txt=sb.t(summary.ui, "chart_alt")[:1000],
            )
        except Exception:
            log.exception("could not upload the summary chart of session %s", summary.session_id)

    # --- helpers ------------------------------------------------------------------------------

    def _ref(self, session_id: str | None, name: str) -> str | None:
        if not session_id:
            return None
        return self._store.get_ref(session_id, name)

    @staticmethod
    def _call(method: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Call the Web API; SDK errors become :class:`PlatformError` (429s were retried already)."""
        try:
            return fn(**kwargs)
        except SlackApiError as exc:
            code = str(exc.response.get("error") or "")
            raise SlackCallError(f"Slack {method} failed: {code}", code) from exc
        except (SlackClientError, OSError) as exc:
            raise SlackCallError(f"Slack {method} failed: {exc}") from exc


def build_slack_adapter(settings: Settings, service: ChatService, store: AdapterStore) -> SlackAdapter:
    return SlackAdapter(settings, service, store)


# --- payload helpers --------------------------------------------------------------------------------

_ANY_COMMAND = re.compile(r"^/")  # a Slack app only receives its own commands, whatever they are named
_OUR_ACTIONS = re.compile("^" + re.escape(sb.PREFIX))


def _team(body: dict[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    return str(body.get("team_id") or (user.get("team_id") if isinstance(user, dict) else "") or "")


def _user_name(body: dict[str, Any]) -> str:
    user = body.get("user") or {}
    return str(user.get("name") or user.get("username") or user.get("id") or "")


def _numbers(values: Iterable[str]) -> tuple[int, ...]:
    return tuple(sorted({int(v) for v in values if str(v).isdigit() and len(str(v)) <= 3}))


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32]
