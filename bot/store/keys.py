"""Every Redis key name the bot uses, in one place: nothing outside bot/store builds a key.

All keys start with the configured prefix (``SMC_REDIS_PREFIX``). Keys that would otherwise carry a
person's id (delivery de-duplication marks, double-click guards) are stored under a keyed hash, so a
key listing never shows who clicked what — anonymous checks included.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    def session(self, session_id: str) -> str:
        """One hash per check: meta, version, position, users table, answers, notes."""
        return f"{self.prefix}:s:{session_id}"

    def running(self, channel: str) -> str:
        """The id of the channel's running check."""
        return f"{self.prefix}:ch:{channel}"

    def history(self, channel: str) -> str:
        """Sorted set of the channel's finished checks (score: when they finished)."""
        return f"{self.prefix}:hist:{channel}"

    def refs(self, session_id: str) -> str:
        """The platform's ids of the messages a check posted (header, questions, channel)."""
        return f"{self.prefix}:ref:{session_id}"

    def hash_secret(self) -> str:
        """The random key of :meth:`once` (created on first use, kept with the data it protects)."""
        return f"{self.prefix}:k:once"

    def once(self, mark: str, secret: bytes) -> str:
        """A de-duplication mark; ``mark`` may name a user, so only its keyed hash is stored."""
        return f"{self.prefix}:once:{_keyed(mark, secret)}"

    def claim_window(self, mark: str, secret: bytes) -> str:
        """When ``mark`` (a double-click guard, naming a user) was last accepted; keyed hash as in :meth:`once`."""
        return f"{self.prefix}:win:{_keyed(mark, secret)}"

    def window(self, name: str) -> tuple[str, str]:
        """The lock and the dirty flag of one coalescing window (live tally edits)."""
        return f"{self.prefix}:lock:{name}", f"{self.prefix}:dirty:{name}"

    # --- reminders (bot.store.reminders) ----------------------------------------------------------

    def reminder(self, reminder_id: str) -> str:
        """One hash per reminder (bot.core.reminders.Reminder.fields)."""
        return f"{self.prefix}:rem:{reminder_id}"

    def reminder_queue(self, queue: str) -> str:
        """Sorted set of reminder ids by due time, one per queue (see :func:`queue_of`)."""
        return f"{self.prefix}:remq:{queue}"

    def channel_reminders(self, channel: str) -> str:
        """Set of a channel's open reminder ids: its ``reminders`` list, and what ``purge`` removes."""
        return f"{self.prefix}:remch:{channel}"

    # --- privacy (bot.store.privacy) ----------------------------------------------------------------

    def channel_sessions(self, channel: str) -> str:
        """Set of the ids of every check created in a channel (running, finished, cancelled)."""
        return f"{self.prefix}:chsess:{channel}"

    def team_channels(self, channel: str) -> str:
        """Set of the :meth:`channel_sessions` keys of a channel's team: where ``forget-me`` looks."""
        platform, _, rest = channel.partition(":")
        return f"{self.prefix}:team:{platform}:{rest.partition(':')[0]}"

    def channel_marks(self, channel: str) -> str:
        """Sorted set of a channel's dedup marks and click guards (score: when each expires), for ``purge``."""
        return f"{self.prefix}:marks:{channel}"

    def indexed(self) -> str:
        """Set once the checks stored before the channel/team indexes existed were indexed (one SCAN)."""
        return f"{self.prefix}:k:indexed"


def tally_window(session_id: str, question_id: str) -> str:
    """The name of a question's coalescing window (:meth:`Keys.window`), shared by the click script
    that enters it and the coalescer that closes it (bot.runtime.coalesce)."""
    return f"tally:{session_id}:{question_id}"


def queue_of(channel: str) -> str:
    """The schedule a channel's reminders wait in: one per platform, so only a process that serves the
    platform claims them; a console channel has its own (only that console can print there)."""
    platform = channel.partition(":")[0]
    return channel if platform == "console" else platform


def _keyed(mark: str, secret: bytes) -> str:
    return hmac.new(secret, mark.encode(), hashlib.sha256).hexdigest()[:32]
