"""Slack display names for the people who act, instead of the legacy handles payloads carry.

``user_name`` in a slash command (and ``user.name`` in an interaction) is the old, unique handle
("fae.fischer"), not what Slack shows ("Fae"). :class:`DisplayNames` asks ``users.info`` once per
person and keeps the answer in a bounded per-process LRU for ``max_age`` (an hour), on the adapter's
injected clock; anything that goes wrong (the token lacks ``users:read``, a 429, a timeout) falls back
to the last known name, else the handle, and pauses lookups for a while instead of retrying per click.

When: in the listener, after ``ack()`` (bolt has already answered Slack), with a short timeout and no
retries, so a slow Slack delays at most the reply to the first action of a person, never the ack. A
modal submission is acknowledged only after the service ran, so it uses the cache only; the click that
opened the modal has filled it.

Anonymous checks: :class:`AuthorNames` looks a name up only for an action in a check it knows is not
anonymous: a question's button or modal names its check (its anonymity is an immutable fact of the
check), a typed command acts on the channel's running check, or starts one (``--anonymous`` is in
the text). What the adapter cannot place (the buttons of a reminder, which belong to an earlier check,
the follow-up commands, a command when no check runs) gets the handle or an already cached name, with
no lookup. The engine drops names from anonymous answers and notes anyway; a cached name is never
written anywhere by this module.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.adapters.slack.blocks import Ref
from bot.adapters.slack.context import Where
from bot.adapters.slack.outbound import PooledWebClient
from bot.adapters.slack.retry import retry_after
from bot.core.commands import CommandError, parse_command
from bot.core.messages import ChannelKey, EventKind
from bot.ports import ChatService

log = logging.getLogger(__name__)

Clock = Callable[[], float]

REFRESH_AGE = 3600.0  # seconds a looked-up name is used before it is asked for again
CACHE_SIZE = 5000  # people per process; the least recently used go first
LOOKUP_TIMEOUT = 2  # seconds one users.info may take (the SDK's timeout is whole seconds)
SLOW_PAUSE = 60.0  # after a timeout, a connection error or a 5xx: handles only for this long
MAX_NAME = 80  # Slack's own limit for a display name
SCOPE_ERRORS = frozenset({"missing_scope", "not_allowed_token_type", "no_permission", "invalid_auth"})
UNKNOWN_USER = frozenset({"user_not_found", "user_not_visible", "account_inactive"})
# Commands about earlier checks (reminders, history): the running check says nothing about them.
FOLLOW_UPS = frozenset({EventKind.REVISIT, EventKind.REMINDERS, EventKind.REMINDER, EventKind.HISTORY})
STARTS = frozenset({EventKind.SHOW, EventKind.START})


def lookup_client(token: str, base_url: str | None = None, timeout: int = LOOKUP_TIMEOUT) -> WebClient:
    """A Web API client for lookups only: a short timeout and no retries (not even on a 429), so a
    lookup never waits out a ``Retry-After`` inside a listener; :class:`DisplayNames` pauses instead."""
    return PooledWebClient(  # one keep-alive connection pool, as the posting client
        token=token,
        base_url=base_url or "https://slack.com/api/",
        timeout=timeout,
        retry_handlers=[],
        logger=logging.getLogger("bot.adapters.slack.names.sdk"),
    )


@dataclass
class NameCache:
    """Names by (team, user id), bounded, least recently used out first. An entry older than
    ``max_age`` is stale: still the best name known, but due for a new lookup."""

    clock: Clock
    max_age: float = REFRESH_AGE
    size: int = CACHE_SIZE
    _entries: OrderedDict[tuple[str, str], tuple[str, float]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def get(self, key: tuple[str, str]) -> tuple[str, bool] | None:
        """The name and whether it is still fresh; None when nobody asked yet (or it was evicted)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            name, fetched = entry
            return name, self.clock() - fetched < self.max_age

    def put(self, key: tuple[str, str], name: str) -> None:
        with self._lock:
            self._entries[key] = (name, self.clock())
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class DisplayNames:
    """``users.info`` behind a :class:`NameCache`; never raises, never retries inline."""

    def __init__(
        self, client: WebClient, clock: Clock, *, max_age: float = REFRESH_AGE, size: int = CACHE_SIZE
    ) -> None:
        self._client = client
        self._clock = clock
        self.cache = NameCache(clock, max_age, size)
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def cached(self, team: str, user: str, handle: str) -> str:
        """The name known for ``user`` (fresh or stale), else the handle; no lookup."""
        hit = self.cache.get((team, user))
        return hit[0] if hit else handle

    def resolve(self, team: str, user: str, handle: str, may_look_up: Callable[[], bool]) -> str:
        """The display name of ``user``: from the cache while fresh, else looked up when
        ``may_look_up()`` says so (asked only on a miss: it may read the store)."""
        hit = self.cache.get((team, user))
        if hit is not None and hit[1]:
            return hit[0]
        fallback = hit[0] if hit else handle
        if not user or self._paused():
            return fallback
        try:
            allowed = may_look_up()
        except Exception:  # the store or the service failed: no lookup, the handle will do
            log.exception("could not tell whether a Slack name may be looked up; no lookup")
            return fallback
        if not allowed:
            return fallback
        found = self._look_up(user)
        if found is None:
            return fallback
        name = found or handle
        self.cache.put((team, user), name)
        return name

    # --- internals ---------------------------------------------------------------------------------

    def _paused(self) -> bool:
        with self._lock:
            return self._clock() < self._paused_until

    def _pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _look_up(self, user: str) -> str | None:
        """The profile's display name, else its real name, else "" (show the handle); None when
        the lookup failed (nothing is cached then)."""
        try:
            reply = self._client.users_info(user=user)
        except SlackApiError as exc:
            return self._refused(exc)
        except (SlackClientError, OSError) as exc:  # TimeoutError and URLError are OSErrors
            log.warning("users.info failed (%s); showing Slack handles for %.0f s", exc, SLOW_PAUSE)
            self._pause(SLOW_PAUSE)
            return None
        data = reply.get("user")
        member: dict[str, Any] = data if isinstance(data, dict) else {}
        found = member.get("profile")
        profile: dict[str, Any] = found if isinstance(found, dict) else {}
        for candidate in (profile.get("display_name"), profile.get("real_name"), member.get("real_name")):
            if isinstance(candidate, str) and candidate.strip():
                return candidate.strip()[:MAX_NAME]
        return ""

    def _refused(self, exc: SlackApiError) -> str | None:
        response = exc.response
        code = str(response.get("error", ""))
        if response.status_code == 429 or code == "ratelimited":
            wait = float(retry_after(response.headers))
            log.info("users.info is rate limited; showing Slack handles for %.0f s", wait)
            self._pause(wait)
            return None
        if code in SCOPE_ERRORS:
            if not self._paused():
                log.warning(
                    "users.info refused (%s): showing Slack handles instead of display names; reinstall "
                    "the app from deploy/slack/manifest.yaml to grant users:read",
                    code,
                )
            self._pause(self.cache.max_age)
            return None
        if code in UNKNOWN_USER:
            return ""  # remembered as the handle: asking again within the hour would not help
        reason = code or response.status_code
        log.warning("users.info failed (%s); showing Slack handles for %.0f s", reason, SLOW_PAUSE)
        self._pause(SLOW_PAUSE)
        return None


class AuthorNames:
    """Who acted, by display name, for the listeners: decides whether a lookup is allowed."""

    def __init__(self, service: ChatService, names: DisplayNames) -> None:
        self._service = service
        self.display = names

    def for_command(self, where: Where, handle: str, text: str) -> str:
        return self.display.resolve(where.team, where.user, handle, lambda: self._command_is_named(where, text))

    def for_click(self, where: Where, handle: str, ref: Ref) -> str:
        return self.display.resolve(where.team, where.user, handle, lambda: self._click_is_named(where.key, ref))

    def cached(self, where: Where, handle: str) -> str:
        return self.display.cached(where.team, where.user, handle)

    def _command_is_named(self, where: Where, text: str) -> bool:
        """A typed command acts on the running check, or starts one."""
        event = parse_command(text, where.user)
        if isinstance(event, CommandError) or event.kind in FOLLOW_UPS:
            return False
        card = self._service.current(where.key)
        if card is not None:
            return not card.view.anonymous
        return event.kind in STARTS and not event.anonymous

    def _click_is_named(self, channel: ChannelKey, ref: Ref) -> bool:
        """A question's button or modal names its check; a notice's (restart) acts on the running one."""
        if not ref.session_id:
            return False
        if ref.question_id:
            card = self._service.question_card(ref.session_id, ref.question_id)
            return card is not None and not card.view.anonymous
        if ref.kind in FOLLOW_UPS:
            return False
        running = self._service.current(channel)
        return running is not None and running.view.session_id == ref.session_id and not running.view.anonymous
