"""Mattermost's outbound primitives for :class:`bot.adapters.outbox.Outbox`: REST posts and their bodies.

:class:`~bot.adapters.mattermost.api.MattermostApi` already retries 429s and refused connections;
what still fails becomes an :class:`OutboundError`, ``transient`` for 5xx, timeouts and connection
errors (no HTTP status), so the outbox retries it with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from bot.adapters import outbox
from bot.adapters.mattermost import render
from bot.adapters.mattermost.api import MattermostApi, MattermostError
from bot.adapters.mattermost.signing import ContextSigner
from bot.adapters.mattermost.summary import summary_posts
from bot.config import Settings
from bot.core.messages import ChannelKey, HeaderCard, Notice, QuestionView, Summary
from bot.errors import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")


def require_settings(settings: Settings) -> None:
    """What the adapter cannot run without: its buttons are signed and point back at the bot."""
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


class MattermostOutbound:
    platform = "mattermost"
    chart_mode: Literal["attach", "after", "none"] = "attach"

    def __init__(self, api: MattermostApi, action_url: str, signer: ContextSigner) -> None:
        self.api = api
        self.action_url = action_url
        self._signer = signer

    def target(self, channel: ChannelKey) -> render.Target:
        return render.Target(channel, self.action_url, self._signer)

    # --- primitives ----------------------------------------------------------------------------

    def post(self, channel: ChannelKey, body: dict[str, Any], thread: str | None) -> str:
        post = {"channel_id": channel.channel, **body}
        if thread:
            post["root_id"] = thread
        created = _translated(lambda: self.api.create_post(post))
        return str(created["id"])

    def update(self, channel: ChannelKey, ref: str, body: dict[str, Any]) -> None:
        _translated(lambda: self.api.patch_post(ref, body))

    def ephemeral(self, channel: ChannelKey, user: str, body: dict[str, Any], thread: str | None) -> None:
        post = {"channel_id": channel.channel, **body}
        if thread:
            post["root_id"] = thread
        try:
            self.api.ephemeral_post(user, post)
        except MattermostError as exc:
            if exc.status != 403:
                raise _outbound(exc) from exc
            log.warning("the bot lacks the create_post_ephemeral permission; a private notice was dropped")

    def upload_image(
        self, channel: ChannelKey, png: bytes, filename: str, title: str, alt: str, thread: str | None
    ) -> str:
        return _translated(lambda: self.api.upload_file(channel.channel, filename, png, "image/png"))

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
        """Upload (``POST /files``) and post it with its title. Privately (``user``): in the bot's
        direct message with that user, because an ephemeral post cannot carry a file (and needs a
        permission bots rarely have). Returns the channel it was posted to."""
        target = channel.channel
        if user is not None:
            target, thread = _translated(lambda: self.api.direct_channel(user)), None
        file_id = _translated(lambda: self.api.upload_file(target, filename, content, mime))
        post: dict[str, Any] = {"channel_id": target, "message": render.neutralise(title, 1000), "file_ids": [file_id]}
        if thread:
            post["root_id"] = thread
        _translated(lambda: self.api.create_post(post))
        return target

    # --- renderers -----------------------------------------------------------------------------

    def header_body(self, card: HeaderCard) -> dict[str, Any]:
        return render.header_post(card)

    def question_body(self, channel: ChannelKey, view: QuestionView) -> dict[str, Any]:
        return render.question_post(view, self.target(channel))

    def notice_body(self, channel: ChannelKey, notice: Notice) -> dict[str, Any]:
        return render.notice_post(notice, self.target(channel))

    def summary_bodies(self, channel: ChannelKey, summary: Summary, file_ids: Sequence[str]) -> list[dict[str, Any]]:
        return summary_posts(summary, file_ids)


def _outbound(exc: MattermostError) -> outbox.OutboundError:
    status = exc.status
    transient = status is None or status == 429 or status >= 500
    return outbox.OutboundError(str(exc), transient=transient, not_member=status == 403, code=str(status or ""))


def _translated(call: Callable[[], T]) -> T:
    try:
        return call()
    except MattermostError as exc:
        raise _outbound(exc) from exc
