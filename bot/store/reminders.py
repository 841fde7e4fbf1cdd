"""The durable reminder schedule in Redis (keys in bot.store.keys, scripts in reminder_scripts).

Several processes (``serve``, ``socket``, ``console``, ``worker``) poll the queues they serve with
one :meth:`ReminderStore.claim` each; the script hands every due reminder to exactly one of them.
While nothing is due a poll is that single command, however many reminders are pending.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.commands.core import Script

from bot.core.reminders import Reminder, State
from bot.store import reminder_scripts as lua
from bot.store.errors import translated
from bot.store.keys import Keys, queue_of

SETTLED_TTL = 30 * 86400  # a settled reminder is kept this long (its id keeps a nudge from coming twice)


@dataclass(frozen=True)
class Claimed:
    reminders: list[Reminder]
    next_due: float | None  # the earliest time anything in the served queues is due


class ReminderStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._keys = keys
        self._schedule: Script = client.register_script(lua.SCHEDULE)
        self._reschedule: Script = client.register_script(lua.RESCHEDULE)
        self._claim: Script = client.register_script(lua.CLAIM)
        self._report: Script = client.register_script(lua.REPORT)
        self._retry: Script = client.register_script(lua.RETRY)
        self._extend: Script = client.register_script(lua.EXTEND)
        self._settle: Script = client.register_script(lua.SETTLE)
        self._list: Script = client.register_script(lua.LIST)
        self._checkin: Script = client.register_script(lua.CHECKIN_ANSWER)

    def scripts(self) -> tuple[Script, ...]:
        return (
            self._schedule,
            self._reschedule,
            self._claim,
            self._report,
            self._retry,
            self._extend,
            self._settle,
            self._list,
            self._checkin,
        )

    # --- the arguments SAVE_META and SCHEDULE take ------------------------------------------------

    def schedule_args(self, reminders: Sequence[Reminder]) -> list[str]:
        """Groups of (hash key, queue key, channel-set key, fields JSON), as the add_reminder Lua takes them."""
        args: list[str] = []
        for reminder in reminders:
            args += [
                *self._three(reminder.id, reminder.channel),
                json.dumps(reminder.fields(), ensure_ascii=False, separators=(",", ":")),
            ]
        return args

    def _three(self, reminder_id: str, channel: str) -> list[str]:
        return [
            self._keys.reminder(reminder_id),
            self._keys.reminder_queue(queue_of(channel)),
            self._keys.channel_reminders(channel),
        ]

    # --- writes --------------------------------------------------------------------------------

    def schedule(self, reminders: Sequence[Reminder]) -> int:
        """Add the reminders that do not exist yet (by id); how many were new."""
        if not reminders:
            return 0
        with translated("schedule reminders"):
            return int(self._schedule(keys=[], args=self.schedule_args(reminders)))

    def reschedule(self, reminder: Reminder, due: float) -> bool:
        """Move an existing reminder to ``due`` (scheduled again, attempts reset)."""
        with translated("reschedule reminder"):
            keys, session = self._three(reminder.id, reminder.channel), self._keys.session(reminder.session_id)
            return bool(self._reschedule(keys=keys, args=[repr(float(due)), session]))

    def claim(self, queues: Sequence[str], now: float, lease: float, limit: int, token: str) -> Claimed:
        """Take up to ``limit`` due reminders of ``queues`` for ``lease`` seconds."""
        keys = [self._keys.reminder_queue(q) for q in queues]
        with translated("claim reminders"):
            reply = cast(
                list[Any],
                self._claim(keys=keys, args=[repr(float(now)), repr(float(lease)), int(limit), token, self._prefix()]),
            )
        next_due = float(reply[0]) if reply[0] else None
        return Claimed([Reminder.from_fields(_pairs(row)) for row in reply[1]], next_due)

    def report(self, reminder: Reminder, state: State, error: str = "") -> bool:
        """The claimant's outcome: posted, done or failed. False when the claim was lost (lease over)."""
        with translated("report reminder"):
            return bool(
                self._report(
                    keys=self._three(reminder.id, reminder.channel),
                    args=[reminder.token, state.value, SETTLED_TTL, error[:300]],
                )
            )

    def retry(self, reminder: Reminder, due: float, error: str) -> bool:
        """A failed attempt: due again at ``due``. False when the claim was lost."""
        keys = self._three(reminder.id, reminder.channel)[:2]
        with translated("retry reminder"):
            return bool(self._retry(keys=keys, args=[reminder.token, repr(float(due)), error[:300]]))

    def extend(self, reminders: Sequence[Reminder], until: float) -> tuple[int, int]:
        """Keep the claims of ``reminders`` (still being posted) until ``until``. Returns (how many
        were still held, how many another process has taken over: their leases ran out)."""
        if not reminders:
            return 0, 0
        args = [repr(float(until)), self._prefix()]
        for reminder in reminders:
            args += [self._keys.reminder_queue(queue_of(reminder.channel)), reminder.id, reminder.token]
        with translated("extend reminder claims"):
            held, taken = cast(list[int], self._extend(keys=[], args=args))
        return int(held), int(taken)

    def settle(self, reminder_id: str, channel: str, state: State) -> bool:
        """End a reminder without a claim (dismissed, cancelled, done elsewhere)."""
        with translated("settle reminder"):
            return bool(self._settle(keys=self._three(reminder_id, channel), args=[state.value, SETTLED_TTL]))

    def record_checkin(self, session_key: str, question: str, user: str, choice: int) -> int:
        """A pilot check-in answer kept with its check; the question's answer count (-1: check gone)."""
        with translated("check-in answer"):
            return int(self._checkin(keys=[session_key], args=[question, user, str(int(choice))]))

    # --- reads ---------------------------------------------------------------------------------

    def get(self, reminder_id: str) -> Reminder | None:
        with translated("load reminder"):
            data = cast(dict[str, str], self._r.hgetall(self._keys.reminder(reminder_id)))
        return Reminder.from_fields(data) if data else None

    def of_channel(self, channel: str) -> list[Reminder]:
        """The channel's listed reminders (scheduled, being posted, posted and waiting, failed), by due time."""
        with translated("list reminders"):
            rows = cast(list[Any], self._list(keys=[self._keys.channel_reminders(channel)], args=[self._prefix()]))
        return sorted((Reminder.from_fields(_pairs(row)) for row in rows), key=lambda r: r.due)

    def pending(self, queue: str) -> int:
        with translated("count reminders"):
            return int(self._r.zcard(self._keys.reminder_queue(queue)))

    def _prefix(self) -> str:
        return self._keys.reminder("")


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    items = iter(flat)
    return dict(zip(items, items, strict=True))
