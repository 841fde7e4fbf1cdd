"""What a chat adapter is handed: a service to talk to and a narrow view of the store.

Adapters get these, not the world (no Redis client, no settings beyond their own): the check
service for events, and the few store operations a platform needs — references to the messages
it posted, de-duplication of retried deliveries, and the coalescing windows of live tallies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.core.messages import ChannelKey, Event, Message, QuestionCard


class ChatService(Protocol):
    """bot.service.CheckService, as the adapters use it."""

    def handle_command(self, channel: ChannelKey, text: str, user: str, user_name: str = "") -> list[Message]: ...
    def handle(self, channel: ChannelKey, event: Event) -> list[Message]: ...
    def question_card(self, session_id: str, question_id: str) -> QuestionCard | None: ...
    def ui(self, language: str | None) -> Mapping[str, str]: ...


class AdapterStore(Protocol):
    """The part of bot.store.store.Store an adapter may use."""

    def set_ref(self, session_id: str, name: str, value: str) -> None: ...
    def get_ref(self, session_id: str, name: str) -> str | None: ...
    def claim_once(self, key: str, ttl_seconds: int = 86400) -> bool: ...
    def coalesce_enter(self, key: str, ttl_ms: int) -> bool: ...
    def coalesce_exit(self, key: str, ttl_ms: int) -> bool: ...
