"""What a chat adapter is handed: a service to talk to and a narrow view of the store.

Adapters get these, not the world (no Redis client, no settings beyond their own): the check
service for events, and the few store operations a platform needs — references to the messages
it posted, de-duplication of retried deliveries, and the coalescing windows of live tallies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.core.messages import ChannelKey, Event, HeaderCard, Message, Notice, QuestionCard, QuestionView, Summary
from bot.core.session import SessionRecord
from bot.errors import PlatformError


class ChatService(Protocol):
    """bot.service.CheckService, as the adapters use it."""

    def handle_command(self, channel: ChannelKey, text: str, user: str, user_name: str = "") -> list[Message]: ...
    # delivery: the click's dedup mark and guard, claimed in the same atomic write as its answer
    def handle(self, channel: ChannelKey, event: Event, delivery: Delivery | None = None) -> list[Message]: ...
    def question_card(self, session_id: str, question_id: str) -> QuestionCard | None: ...
    # a coalesced tally edit rendered from what the store's click or window script returned
    def tally_card(self, snapshot: TallySnapshot) -> QuestionCard | None: ...
    def tally_fields(self, question_id: str) -> tuple[str, ...]: ...
    def current(self, channel: ChannelKey) -> QuestionCard | None: ...
    def ui(self, language: str | None) -> Mapping[str, str]: ...


class BackgroundJob(Protocol):
    """A worker the process owns besides the adapters (a reminder scheduler, say): registered with
    ``bot.app.App.register``, started after the adapters, stopped before them on shutdown."""

    def start(self) -> None: ...
    def stop(self, timeout: float) -> None: ...


class AdapterStore(Protocol):
    """The part of bot.store.store.Store an adapter may use."""

    def set_ref(self, session_id: str, name: str, value: str) -> None: ...
    def get_ref(self, session_id: str, name: str) -> str | None: ...
    # channel (str(ChannelKey)): the mark is listed with the channel's, so `purge` removes it
    def claim_once(self, key: str, ttl_seconds: int = 86400, channel: str | None = None) -> bool: ...
    def claim_window(self, key: str, now: float, seconds: float, channel: str | None = None) -> bool: ...
    def coalesce_enter(self, key: str, ttl_ms: int) -> bool: ...
    def coalesce_exit(self, key: str, ttl_ms: int) -> bool: ...
    def coalesce_close(
        self, session_id: str, question_id: str, ttl_ms: int, fields: Sequence[str]
    ) -> TallySnapshot | None: ...
    def claim(self, delivery: Delivery) -> bool: ...
    def settle_outbox(self, job_id: str, channel: str) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """What makes one platform delivery count once, claimed by the store in the same atomic write as
    the click's answer (bot.store.clicks), or on its own for a delivery that records no answer.

    ``mark``: the platform's unique id of the delivery (a retry or duplicate carries the same), kept
    ``mark_ttl`` seconds (SMC_DEDUP_TTL); ``guard``: a double-click guard naming the user and button,
    refusing a second claim within ``guard_seconds`` of ``guard_at`` (the adapter's epoch clock);
    ``window_ms``: the tally window's lock time, to enter the window in the same write (0: the
    outbox enters it when it delivers); ``refused`` is told "duplicate" or "guarded" when the
    delivery does not count (the adapter logs and counts it). Both keys are stored as keyed hashes
    and listed with ``channel``'s marks, for ``purge``."""

    channel: str  # str(ChannelKey)
    mark: str | None = None
    mark_ttl: int = 600
    guard: str | None = None
    guard_at: float = 0.0
    guard_seconds: float = 0.0
    window_ms: int = 0
    refused: Callable[[str], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TallySnapshot:
    """What a question's card is rendered from after a click or a window's close, read in the same
    script: ``record`` holds only the fields the card reads (meta, users, the question's answers and
    those the flow's branches read, the notes), None when the check is gone; ``ref`` is the question
    message's platform id ("" when not posted yet)."""

    session_id: str
    question_id: str
    record: SessionRecord | None
    ref: str = ""


class OutboundError(PlatformError):
    """A platform call failed. ``transient``: worth retrying; ``not_member``: the bot may not post here."""

    def __init__(self, message: str, *, transient: bool = False, not_member: bool = False, code: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        self.not_member = not_member
        self.code = code


@dataclass(frozen=True)
class ReplyTo:
    """Who caused a batch, when a user did: private notices and failure reports go to them."""

    user: str = ""
    thread: str | None = None  # the thread the user acted in (private replies go there)
    hook: Callable[[str], None] | None = None  # says a text privately through the request (Slack's response_url)
    language: str | None = None


class RefStore(Protocol):
    """Where the outbox keeps references to the messages it posted (``header``, ``q:<id>``, ``channel``)."""

    def set_ref(self, session_id: str, name: str, value: str) -> None: ...
    def get_ref(self, session_id: str, name: str) -> str | None: ...


class OutboundPort(Protocol):
    """What one platform implements for :class:`bot.adapters.outbox.Outbox`: primitives and renderers.

    Calls raise :class:`bot.adapters.outbox.OutboundError` (``transient`` when worth retrying)."""

    platform: str
    # "attach": upload the chart first and attach it to the summary; "after": upload it after the
    # summary's text; "none": no chart.
    chart_mode: Literal["attach", "after", "none"]

    def post(self, channel: ChannelKey, body: dict[str, Any], thread: str | None) -> str: ...
    def update(self, channel: ChannelKey, ref: str, body: dict[str, Any]) -> None: ...
    def ephemeral(self, channel: ChannelKey, user: str, body: dict[str, Any], thread: str | None) -> None: ...
    def upload_image(
        self, channel: ChannelKey, png: bytes, filename: str, title: str, alt: str, thread: str | None
    ) -> str: ...
    # A file for the channel, or privately for ``user`` when given (Slack and Mattermost: a direct
    # message from the bot; the console: a file written beside it). Returns where it went.
    def upload_file(
        self,
        channel: ChannelKey,
        content: bytes,
        filename: str,
        mime: str,
        title: str,
        thread: str | None,
        user: str | None,
    ) -> str: ...
    def header_body(self, card: HeaderCard) -> dict[str, Any]: ...
    def question_body(self, channel: ChannelKey, view: QuestionView) -> dict[str, Any]: ...
    def notice_body(self, channel: ChannelKey, notice: Notice) -> dict[str, Any]: ...
    def summary_bodies(
        self, channel: ChannelKey, summary: Summary, file_ids: Sequence[str]
    ) -> list[dict[str, Any]]: ...
