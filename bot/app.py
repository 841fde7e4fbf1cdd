"""Composition root: settings -> store -> dialogue -> service -> adapters."""

from __future__ import annotations

from bot.config import Settings
from bot.core.dialogue.load import Dialogue, load_dialogue
from bot.service import CheckService, SessionStore
from bot.store.store import Store


def load_app_dialogue(settings: Settings) -> Dialogue:
    """The team's own dialogue when SMC_DIALOGUES_DIR is set, else the one shipped in the package."""
    return load_dialogue(settings.dialogues_dir)


def build_store(settings: Settings, url: str | None = None) -> Store:
    target = url or settings.redis_url
    if not target:
        raise ValueError("no Redis URL")
    store = Store.from_url(
        target, prefix=settings.redis_prefix, session_ttl=int(settings.session_ttl.total_seconds())
    )
    store.preload_scripts()
    return store


def build_service(settings: Settings, store: SessionStore, dialogue: Dialogue | None = None) -> CheckService:
    return CheckService(
        dialogue or load_app_dialogue(settings),
        store,
        admins=settings.admins,
        default_language=settings.default_language,
        max_text=settings.max_text,
        session_ttl_days=max(1, settings.session_ttl.days),
    )
