"""What a Slack payload says, read defensively: the team, the user's name, what a click means, a digest.

Also the executor bolt runs listeners with: :class:`InlineExecutor` runs a listener at once in the
thread that dispatches the request, so a listener that acks and hands its work on returns the ack
with no wait (bolt's own pool would poll for the ack every 10 ms).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import replace
from typing import Any, Final, Literal, ParamSpec, TypeVar

from bot.adapters.slack import blocks as sb
from bot.core.messages import Event, EventKind
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


STALE: Final = "stale"


def click_event(base: Event, action_id: str, action: dict[str, Any], ref: sb.Ref) -> Event | Literal["stale"] | None:
    """What a click on one of the bot's elements means, as ``base`` (who, which check and question)
    completed; :data:`STALE` for a notice button of a kind this version does not know, None for an
    element the bot does not have. A toggle's event has ``toggle`` set."""
    if action_id.startswith(sb.ANSWER + ":"):
        return replace(base, choices=(ref.number,))
    if action_id == sb.SELECT:
        chosen = (action.get("selected_option") or {}).get("value", "")
        return replace(base, choices=numbers([chosen]))
    if action_id.startswith(sb.TOGGLE + ":"):
        return replace(base, choices=(ref.number,), toggle=True)
    if action_id == sb.MULTI:  # a multi-select (more than 10 options) reports the whole selection: replace
        chosen = [o.get("value", "") for o in action.get("selected_options") or []]
        return replace(base, choices=numbers(chosen), toggle=False)
    if action_id in sb.FACILITATOR_ACTIONS:
        return replace(base, kind=sb.FACILITATOR_ACTIONS[action_id])
    if action_id.startswith(sb.NOTICE_ACTION + ":"):
        try:
            kind = EventKind(ref.kind)
        except ValueError:
            return STALE
        confirm = ref.value == "confirm"
        return replace(base, kind=kind, confirm=confirm, value="" if confirm else ref.value)
    return None


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
