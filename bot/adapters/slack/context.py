"""Who acted where on Slack: the request context of one listener call, and what it hands the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.adapters.outbox import ReplyTo
from bot.adapters.slack import blocks as sb
from bot.core.messages import Audience, ChannelKey, Notice, Tone

log = logging.getLogger(__name__)

PLATFORM = "slack"


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

    def reply(self) -> ReplyTo:
        """The outbox's view of this request: the actor, their thread, and response_url as the hook
        (it works even where the bot may not post, which is how the invite hint gets through)."""
        respond = self.respond
        hook = (lambda text: respond(text=text, response_type="ephemeral")) if respond is not None else None
        return ReplyTo(user=self.user, thread=self.thread_ts, hook=hook, language=self.language)


def polite(ui: Callable[[str | None], Mapping[str, str]], key: str, tone: Tone, language: str | None) -> Notice:
    """A private notice from the interface texts, even when they cannot be loaded."""
    try:
        texts = ui(language)
    except Exception:
        log.exception("no interface texts for %s", language)
        texts = {}
    return Notice(sb.t(texts, key), Audience.EPHEMERAL, tone)
