"""Block Kit's text, made safe: user strings escaped, everything clipped to Block Kit's limits.

Every user-supplied string (names, notes, typed answers) that lands in ``mrkdwn`` or in a message's
top-level ``text`` goes through :func:`esc`, so ``<!here>``, ``<!channel>``, ``<!subteam^…>``,
``<@U…>`` and ``<#C…>`` arrive as harmless text. Engine texts are escaped too (they may quote user
input, e.g. a display name). Everything is clipped to Block Kit's limits (section text 3000, button
and option text 75, header 150, modal title 24, at most 50 blocks per message). Pure: no SDK import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

Block = dict[str, Any]

# --- Block Kit limits (https://docs.slack.dev/reference/block-kit) -----------------------------
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_CONTEXT = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_OPTION = 75
MAX_OPTION_VALUE = 150
MAX_PLACEHOLDER = 150
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON = 24
MAX_LABEL = 2000
MAX_INPUT = 3000
MAX_FALLBACK = 3000  # top-level text: Slack truncates at 40k; notifications need far less
MAX_BUTTON_OPTIONS = 10  # more options than this become a select menu
MAX_SELECT_OPTIONS = 100
MAX_MESSAGE_CHARS = 12000  # keep one message readable (and well under Slack's msg_too_long)

# --- escaping, clipping, text objects -------------------------------------------------------------

_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")


def esc(text: object) -> str:
    """Escape for mrkdwn/``text``: ``&``, ``<``, ``>`` (Slack's three control characters)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in "…" when cut; never splits an escape entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    cut = _ENTITY_TAIL.sub("", cut)
    return cut + "…"


def md(text: object, limit: int = MAX_SECTION) -> Block:
    """A mrkdwn text object from already-escaped text."""
    return {"type": "mrkdwn", "text": clip(str(text), limit) or " "}


def plain(text: object, limit: int) -> Block:
    """A plain_text object (Slack never parses mentions in plain_text)."""
    value = " ".join(str(text).split()) if limit <= MAX_BUTTON else str(text)
    return {"type": "plain_text", "text": clip(value, limit) or " ", "emoji": True}


def section(text: str) -> Block:
    return {"type": "section", "text": md(text)}


def context(*parts: str) -> Block:
    elements = [md(p, MAX_CONTEXT) for p in parts if p][:10]
    return {"type": "context", "elements": elements or [md(" ")]}


def fallback(text: str) -> str:
    """Top-level ``text`` (notifications, screen readers): escaped and clipped."""
    return clip(esc(text).strip(), MAX_FALLBACK) or " "


def plain_or(render: Any, value: Any, short: str) -> str:
    """The engine's plain-text rendering as fallback text; ``short`` if the ui lacks a key."""
    try:
        return str(render(value))
    except (KeyError, IndexError, ValueError):
        return short


def pack(lines: Iterable[str], limit: int = MAX_SECTION, separator: str = "\n") -> list[str]:
    """Join lines into chunks of at most ``limit`` characters (over-long lines are clipped)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        candidate = f"{current}{separator}{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks
