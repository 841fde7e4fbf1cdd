"""Redis errors leave the store as :class:`bot.errors.StoreError`, with a plain message.

:func:`translated` wraps every store call, so it is also where each call is timed for ``/metrics``
(:func:`observe`): the round trip and the error, if any, labelled by the call's action.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

import redis

from bot.errors import StoreError

# (action, seconds, error kind or None). Process-wide: ``translated`` is called by the store classes
# without an app at hand; bot.app.App adds its metrics while it runs and takes them off when it stops.
StoreObserver = Callable[[str, float, "str | None"], None]
_observers: tuple[StoreObserver, ...] = ()


def observe(observer: StoreObserver) -> Callable[[], None]:
    """Tell ``observer`` about every store call from now on; returns what stops it."""
    global _observers
    _observers = (*_observers, observer)

    def stop() -> None:
        global _observers
        _observers = tuple(o for o in _observers if o is not observer)

    return stop


class translated:  # noqa: N801  (used as ``with translated("load"):``, like a function)
    """Run a Redis call; a connection failure or a refusal becomes a StoreError naming ``action``.

    A class rather than a generator context manager: it wraps every Redis call of every click, and
    a generator's set-up per call was a measurable part of one (issue #13)."""

    __slots__ = ("_action", "_observers", "_started")

    def __init__(self, action: str) -> None:
        self._action = action

    def __enter__(self) -> None:
        self._observers = _observers
        self._started = time.perf_counter() if self._observers else 0.0

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        error: str | None = None
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            error = "unreachable"
        elif isinstance(exc, redis.RedisError):
            error = "refused"
        if self._observers:
            seconds = time.perf_counter() - self._started
            for observer in self._observers:
                observer(self._action, seconds, error)
        if error == "unreachable":
            raise StoreError(f"Redis is unreachable ({self._action}): {exc}") from exc
        if error == "refused":
            raise StoreError(f"Redis refused {self._action}: {exc}") from exc
