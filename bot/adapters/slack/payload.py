"""What a Slack payload says, read defensively: the team, the user's name, chosen numbers, a digest.

Also the executor bolt runs listeners with: :class:`InlineExecutor` runs a listener at once in the
thread that dispatches the request, so a listener that acks and hands its work on returns the ack
with no wait (bolt's own pool would poll for the ack every 10 ms).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

from bot.core.numbers import parse_number

P = ParamSpec("P")
T = TypeVar("T")


class InlineExecutor(Executor):
    """An executor that runs what it is given now, in the caller's thread, and returns its result."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the future carries it, as a pool's would
            future.set_exception(exc)
        return future


def team_of(body: dict[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    return str(body.get("team_id") or (user.get("team_id") if isinstance(user, dict) else "") or "")


def user_name_of(body: dict[str, Any]) -> str:
    user = body.get("user") or {}
    return str(user.get("name") or user.get("username") or user.get("id") or "")


def numbers(values: Iterable[str]) -> tuple[int, ...]:
    return tuple(sorted({n for v in values if (n := parse_number(str(v))) is not None}))


def digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32]
