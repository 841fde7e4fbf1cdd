"""The outbox's platform calls: retried with backoff while the failure is transient, every attempt counted.

Transient means 5xx, 429, timeouts and connection errors (``OutboundError.transient``). A retry happens
inside the channel's job, so the channel's next message waits for it. How a call that finally failed
reads, for /metrics and for the scheduler, is decided here too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot.ports import OutboundError
from bot.runtime.metrics import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")
Wait = Callable[[RetryCallState], float]


class PlatformCalls:
    """Calls of one platform's primitives (``port.post``, ``port.update`` …) with the outbox's retry policy."""

    def __init__(
        self, platform: str, *, attempts: int, wait: Wait | None, sleep: Callable[[float], None], metrics: Metrics
    ) -> None:
        """``attempts`` in all, ``wait`` between them (exponential from 0.25 s up to 8 s by default);
        ``sleep`` waits it out (tests pass a recorder)."""
        self._platform = platform
        self._attempts = attempts
        self._wait: Wait = wait or wait_exponential(multiplier=0.25, max=8)
        self._sleep = sleep
        self._metrics = metrics  # every attempt of every platform call is counted and timed

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        platform, method = self._platform, getattr(fn, "__name__", "call")

        def attempt(*given: Any) -> T:  # each try, retries included, is one observation
            started = time.perf_counter()
            outcome = "error"
            try:
                result = fn(*given)
                outcome = "ok"
                return result
            except OutboundError as exc:
                outcome = _outcome(exc)
                raise
            finally:
                self._metrics.platform_call(platform, method, outcome, time.perf_counter() - started)

        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, OutboundError) and exc.transient),
            wait=self._wait,
            stop=stop_after_attempt(self._attempts),
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(attempt, *args)


def failure_reason(exc: OutboundError) -> str:
    """Why a delivery failed, as the scheduler reads it: "not a member …" and "refused …" will not get
    better by trying again (the channel is gone or archived, the platform rejects the message)."""
    if exc.not_member:
        return f"not a member of the channel ({exc})"
    if not exc.transient:
        return f"refused by the platform ({exc})"
    return str(exc) or repr(exc)


def _outcome(exc: OutboundError) -> str:
    """A failed platform call as /metrics counts it (Slack says ``ratelimited``, Mattermost ``429``)."""
    if exc.code in ("429", "ratelimited"):
        return "ratelimited"
    if exc.not_member:
        return "not_member"
    return "transient" if exc.transient else "refused"


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("a platform call failed (%s); retry %d", exc, state.attempt_number)
