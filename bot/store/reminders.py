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
from bot.store.keys import Keys

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
            self._keys.reminder(reminder_id, channel),
            self._keys.queue_of_channel(channel),
            self._keys.channel_reminders(channel),
        ]

    # --- writes --------------------------------------------------------------------------------

    def schedule(self, reminders: Sequence[Reminder]) -> int:
        """Add the reminders that do not exist yet (by id); how many were new."""
        added = 0
        for group in _by_bucket(self._keys, reminders).values():
            # KEYS[1] only routes the script to the bucket's slot (Redis Cluster); it reads ARGV.
            with translated("schedule reminders"):
                route = [self._keys.queue_of_channel(group[0].channel)]
                added += int(self._schedule(keys=route, args=self.schedule_args(group)))
        return added

    def reschedule(self, reminder: Reminder, due: float) -> bool:
        """Move an existing reminder to ``due`` (scheduled again, attempts reset)."""
        with translated("reschedule reminder"):
            keys, session = self._three(reminder.id, reminder.channel), self._keys.session(reminder.session_id)
            return bool(self._reschedule(keys=keys, args=[repr(float(due)), session]))

    def claim(self, queues: Sequence[str], now: float, lease: float, limit: int, token: str) -> Claimed:
        """Take up to ``limit`` due reminders of ``queues`` for ``lease`` seconds: one script per
        bucket (one in all outside a Redis Cluster)."""
        taken: list[Reminder] = []
        next_due: float | None = None
        for bucket in self._keys.buckets:
            keys = [self._keys.reminder_queue(q, bucket) for q in queues]
            room = max(0, limit - len(taken))
            prefix = self._keys.reminder("", bucket=bucket)
            args: list[str | int] = [repr(float(now)), repr(float(lease)), room, token, prefix]
            with translated("claim reminders"):
                reply = cast(list[Any], self._claim(keys=keys, args=args))
            if reply[0] and (next_due is None or float(reply[0]) < next_due):
                next_due = float(reply[0])
            taken += [Reminder.from_fields(_pairs(row)) for row in reply[1]]
        return Claimed(taken, next_due)

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
        held = taken = 0
        for bucket, group in _by_bucket(self._keys, reminders).items():
            args = [repr(float(until)), self._keys.reminder("", bucket=bucket)]
            for reminder in group:
                args += [self._keys.queue_of_channel(reminder.channel), reminder.id, reminder.token]
            with translated("extend reminder claims"):
                # KEYS[1] only routes the script to the bucket's slot (Redis Cluster).
                route = [self._keys.queue_of_channel(group[0].channel)]
                still, lost = cast(list[int], self._extend(keys=route, args=args))
            held, taken = held + int(still), taken + int(lost)
        return held, taken

    def settle(self, reminder_id: str, channel: str, state: State) -> bool:
        """End a reminder without a claim (dismissed, cancelled, done elsewhere)."""
        with translated("settle reminder"):
            return bool(self._settle(keys=self._three(reminder_id, channel), args=[state.value, SETTLED_TTL]))

    def record_checkin(self, session_key: str, question: str, user: str, choice: int) -> int:
        """A pilot check-in answer kept with its check; the question's answer count (-1: check gone)."""
        with translated("check-in answer"):
            return int(self._checkin(keys=[session_key], args=[question, user, str(int(choice))]))

    # --- reads ---------------------------------------------------------------------------------

    def get(self, reminder_id: str, channel: str = "") -> Reminder | None:
        """A reminder of ``channel``: in a Redis Cluster it is kept beside its channel's keys, so every
        caller in the bot names the channel (outside a cluster it may be left out)."""
        with translated("load reminder"):
            data = cast(dict[str, str], self._r.hgetall(self._keys.reminder(reminder_id, channel)))
        return Reminder.from_fields(data) if data else None

    def of_channel(self, channel: str) -> list[Reminder]:
        """The channel's listed reminders (scheduled, being posted, posted and waiting, failed), by due time."""
        with translated("list reminders"):
            prefix = self._keys.reminder("", channel)
            rows = cast(list[Any], self._list(keys=[self._keys.channel_reminders(channel)], args=[prefix]))
        return sorted((Reminder.from_fields(_pairs(row)) for row in rows), key=lambda r: r.due)

    def pending(self, queue: str) -> int:
        with translated("count reminders"):
            return sum(int(self._r.zcard(self._keys.reminder_queue(queue, b))) for b in self._keys.buckets)


def _by_bucket(keys: Keys, reminders: Sequence[Reminder]) -> dict[int, list[Reminder]]:
    groups: dict[int, list[Reminder]] = {}
    for reminder in reminders:
        groups.setdefault(keys.bucket_of_channel(reminder.channel), []).append(reminder)
    return groups


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    items = iter(flat)
    return dict(zip(items, items, strict=True))
