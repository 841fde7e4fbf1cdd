"""Redis errors leave the store as :class:`bot.errors.StoreError`, with a plain message.

:func:`translated` wraps every store call, so it is also where each call is timed for ``/metrics``
(:func:`observe`): the round trip and the error, if any, labelled by the call's action.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Run a Redis call; a connection failure or a refusal becomes a StoreError naming ``action``."""
    observers = _observers
    started = time.perf_counter() if observers else 0.0
    error: str | None = None
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        error = "unreachable"
        raise StoreError(f"Redis is unreachable ({action}): {exc}") from exc
    except redis.RedisError as exc:
        error = "refused"
        raise StoreError(f"Redis refused {action}: {exc}") from exc
    finally:
        if observers:
            seconds = time.perf_counter() - started
            for observer in observers:
                observer(action, seconds, error)
