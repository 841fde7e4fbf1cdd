"""Slack's outbound primitives for :class:`bot.adapters.outbox.Outbox`: Web API calls and Block Kit bodies.

The SDK client retries 429s (honouring ``Retry-After``) and connection errors itself; what still
fails becomes an :class:`OutboundError`, ``transient`` for 5xx, timeouts and Slack's own transient
error codes, so the outbox retries it with backoff.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Sequence
from http.client import HTTPMessage
from typing import Any, Literal
from urllib.error import HTTPError, URLError
from urllib.request import Request

import urllib3
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.adapters.outbox import OutboundError
from bot.adapters.slack import blocks as sb
from bot.adapters.slack.retry import RetryAfterHandler, Sleep
from bot.adapters.slack.summary import summary_messages
from bot.core.messages import ChannelKey, HeaderCard, Notice, QuestionView, Summary

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3  # 429s honoured (Retry-After) before a call gives up
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})
TRANSIENT_CODES = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"})


class SlackCallError(OutboundError):
    """A Web API call failed; ``code`` is Slack's error code (``not_in_channel``, ...) when it gave one."""


POOL_CONNECTIONS = 8  # kept-alive connections to Slack per client (the outbox has 4 workers)


class PooledWebClient(WebClient):
    """slack_sdk's WebClient over one keep-alive connection pool (urllib3) instead of urllib, which
    opens a new TCP (and TLS) connection for every call.

    Only the transport changes: slack_sdk still builds the request, runs its retry handlers and
    parses the reply. Its contract is kept: a non-2xx status raises ``HTTPError`` (the 429 handler
    reads it), and a failure to connect or a dropped connection raises ``URLError`` (the connection
    retry handler's), a read timeout ``TimeoutError``. With a proxy configured it uses urllib."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool: urllib3.PoolManager | None = None
        self._pool_lock = threading.Lock()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None or not url.lower().startswith("http"):
            return super()._perform_urllib_http_request_internal(url, req)
        try:
            response = self._connections().request(
                req.get_method(),
                url,
                body=req.data,  # type: ignore[arg-type]
                headers=dict(req.header_items()),
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
                retries=False,
                redirect=False,
            )
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise TimeoutError(str(exc)) from exc
        except urllib3.exceptions.HTTPError as exc:  # refused, reset, dropped: the SDK retries these
            raise URLError(exc) from exc
        headers = HTTPMessage()
        for name, value in response.headers.items():
            headers[name] = value
        if not 200 <= response.status < 300:
            raise HTTPError(url, response.status, response.reason or "", headers, io.BytesIO(response.data))
        charset = headers.get_content_charset() or "utf-8"
        if headers.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": headers, "body": response.data}
        return {"status": response.status, "headers": headers, "body": response.data.decode(charset)}

    def _connections(self) -> urllib3.PoolManager:
        with self._pool_lock:
            if self._pool is None:
                self._pool = urllib3.PoolManager(num_pools=4, maxsize=POOL_CONNECTIONS, ssl_context=self.ssl)
            return self._pool


def web_client(token: str, base_url: str | None = None, sleep: Sleep | None = None) -> WebClient:
    """``sleep``: how a 429's ``Retry-After`` is waited out (default ``time.sleep``; tests record it).
    One keep-alive connection pool per client (:class:`PooledWebClient`)."""
    return PooledWebClient(
        token=token,
        base_url=base_url or "https://slack.com/api/",
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RetryAfterHandler(RATE_LIMIT_RETRIES, sleep=sleep),
        ],
        logger=logging.getLogger("bot.adapters.slack.app.sdk"),
    )


class SlackOutbound:
    platform = "slack"
    chart_mode: Literal["attach", "after", "none"] = "after"

    def __init__(self, client: WebClient) -> None:
        self.client = client

    # --- primitives ----------------------------------------------------------------------------

    def post(self, channel: ChannelKey, body: dict[str, Any], thread: str | None) -> str:
        reply = _call("chat.postMessage", self.client.chat_postMessage, channel=channel.channel, **_in(thread), **body)
        return str(reply["ts"])

    def update(self, channel: ChannelKey, ref: str, body: dict[str, Any]) -> None:
        _call("chat.update", self.client.chat_update, channel=channel.channel, ts=ref, **body)

    def ephemeral(self, channel: ChannelKey, user: str, body: dict[str, Any], thread: str | None) -> None:
        _call(
            "chat.postEphemeral",
            self.client.chat_postEphemeral,
            channel=channel.channel,
            user=user,
            **_in(thread),
            **body,
        )

    def upload_image(
        self, channel: ChannelKey, png: bytes, filename: str, title: str, alt: str, thread: str | None
    ) -> str:
        upload = {"file": png, "filename": filename, "title": title, "alt_txt": alt}
        _call("files.upload", self.client.files_upload_v2, channel=channel.channel, **_in(thread), **upload)
        return ""  # shared into the channel already; nothing to attach

    def upload_file(
        self,
        channel: ChannelKey,
        content: bytes,
        filename: str,
        mime: str,
        title: str,
        thread: str | None,
        user: str | None,
    ) -> str:
        """The files upload v2 flow (getUploadURLExternal, the bytes, completeUploadExternal), shared
        into the channel. Slack has no private upload into a channel (an ephemeral message cannot
        carry a file), so ``user`` gets it in their direct message with the bot instead
        (``conversations.open``, scope ``im:write``). Returns the conversation it was shared to."""
        target = channel.channel
        if user is not None:
            opened = _call("conversations.open", self.client.conversations_open, users=user)
            target, thread = str(opened["channel"]["id"]), None
        upload = {"file": content, "filename": filename, "title": title, "initial_comment": title}
        _call("files.upload", self.client.files_upload_v2, channel=target, **_in(thread), **upload)
        return target

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        _call("views.open", self.client.views_open, trigger_id=trigger_id, view=view)

    # --- renderers -----------------------------------------------------------------------------

    def header_body(self, card: HeaderCard) -> dict[str, Any]:
        return sb.header_message(card)

    def question_body(self, channel: ChannelKey, view: QuestionView) -> dict[str, Any]:
        return sb.question_message(view)

    def notice_body(self, channel: ChannelKey, notice: Notice) -> dict[str, Any]:
        return sb.notice_message(notice)

    def summary_bodies(self, channel: ChannelKey, summary: Summary, file_ids: Sequence[str]) -> list[dict[str, Any]]:
        return summary_messages(summary)


def _in(thread: str | None) -> dict[str, Any]:
    return {"thread_ts": thread} if thread else {}


def _call(method: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call the Web API; SDK errors become :class:`SlackCallError` (429s were retried already)."""
    try:
        return fn(**kwargs)
    except SlackApiError as exc:
        code = str(exc.response.get("error") or "")
        status = int(getattr(exc.response, "status_code", 0) or 0)
        transient = status >= 500 or status == 429 or code in TRANSIENT_CODES
        raise SlackCallError(
            f"Slack {method} failed: {code or status}", transient=transient, not_member=code in NOT_A_MEMBER, code=code
        ) from exc
    except (SlackClientError, OSError) as exc:  # timeouts and refused connections (URLError is an OSError)
        raise SlackCallError(f"Slack {method} failed: {exc}", transient=True) from exc
