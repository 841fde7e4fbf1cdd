"""Slack's 429 retries, waiting ``Retry-After`` through an injected ``sleep``.

slack_sdk's ``RateLimitErrorRetryHandler`` decides well (retry a 429, at most N times) but calls
``time.sleep`` itself. This subclass keeps its decision and its wait — ``Retry-After`` seconds plus up to
one second of jitter, so many clients do not retry in step — and only hands the pause to ``sleep``:
real time in the bot, a recorder in the tests, which then assert what was asked for instead of
measuring gaps.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.errors import PlatformError

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
DEFAULT_RETRY_AFTER = 1  # what the SDK waits when a 429 names no Retry-After


def retry_after(headers: Mapping[str, str | Sequence[str]]) -> int:
    """Whole seconds from a ``Retry-After`` header (any case); the default when missing or unreadable."""
    for name, value in headers.items():
        if name.lower() != "retry-after":
            continue
        first = value if isinstance(value, str) else (value[0] if value else "")
        try:
            return max(int(first), 0)
        except ValueError:
            log.warning("unreadable Retry-After %r from Slack; waiting %ss", first, DEFAULT_RETRY_AFTER)
            return DEFAULT_RETRY_AFTER
    return DEFAULT_RETRY_AFTER


class RetryAfterHandler(RateLimitErrorRetryHandler):
    """``RateLimitErrorRetryHandler`` whose wait goes through ``sleep`` (default: ``time.sleep``)."""

    def __init__(
        self, max_retry_count: int = 1, *, sleep: Sleep | None = None, jitter: Callable[[], float] = random.random
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep: Sleep = sleep or time.sleep
        self._jitter = jitter

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # as the SDK does: only a response can carry a 429
            raise error or PlatformError("Slack: a rate-limit retry without a response")
        state.next_attempt_requested = True
        self._sleep(retry_after(response.headers) + self._jitter())
        state.increment_current_attempt()
