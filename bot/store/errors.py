"""Redis errors leave the store as :class:`bot.errors.StoreError`, with a plain message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from bot.errors import StoreError


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Run a Redis call; a connection failure or a refusal becomes a StoreError naming ``action``."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreError(f"Redis is unreachable ({action}): {exc}") from exc
    except redis.RedisError as exc:
        raise StoreError(f"Redis refused {action}: {exc}") from exc
