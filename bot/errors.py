"""The project's error root. SDK and Redis errors are translated into these at the edges."""

from __future__ import annotations


class BotError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(BotError):
    """An environment variable has an invalid value; the message names the variable."""


class DialogueError(BotError):
    """A dialogue file is invalid; the message names the file, the entry and the problem."""


class StoreError(BotError):
    """Redis is unreachable or answered something unexpected."""


class PlatformError(BotError):
    """A chat platform's API refused a call or could not be reached."""
