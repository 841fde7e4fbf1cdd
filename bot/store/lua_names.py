"""The names every Lua script shares with bot.core.session: statuses and field prefixes, filled in
one place so the scripts and the Python side cannot drift apart."""

from __future__ import annotations

from bot.core.session import (
    ANSWER_PREFIX,
    CANCELLED,
    CHECKIN_PREFIX,
    COUNT_PREFIX,
    FINISHED,
    INDEX_PREFIX,
    NOTE_PREFIX,
    RUNNING,
    USER_COUNT,
)

_NAMES = {
    "$RUNNING": RUNNING,
    "$FINISHED": FINISHED,
    "$CANCELLED": CANCELLED,
    "$ANSWER": ANSWER_PREFIX,
    "$NOTE": NOTE_PREFIX,
    "$CHECKIN": CHECKIN_PREFIX,
    "$INDEX": INDEX_PREFIX,
    "$COUNT": COUNT_PREFIX,
    "$NUSERS": USER_COUNT,
}


def fill(source: str) -> str:
    """``source`` with every ``$NAME`` replaced by the value bot.core.session gives it."""
    for name, value in _NAMES.items():
        source = source.replace(name, value)
    return source
