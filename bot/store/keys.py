"""Every Redis key name the bot uses, in one place: nothing outside bot/store builds a key.

All keys start with the configured prefix (``SMC_REDIS_PREFIX``). Keys that would otherwise carry a
person's id (delivery de-duplication marks, double-click guards) are stored under a keyed hash, so a
key listing never shows who clicked what — anonymous checks included.

Redis Cluster (``Keys(prefix, cluster=True)``): a script may only touch keys of one hash slot, and
finishing a check writes its session, its channel's history and the reminders it schedules in one
script. So every key of a channel carries the hash tag of the channel's *bucket* — one of
:data:`CLUSTER_BUCKETS` — right after the prefix (``smc:{a21}:s:<id>``), and what used to span
channels is kept per bucket: the reminder queues and the team index. A check id starts with its
channel's byte (bot.core.session.new_session_id), so a check's keys are found from its id alone.
The bucket tags were chosen to spread evenly over the 16,384 slots; they are part of the data
format and never change. Outside a cluster there is one bucket and no tag: the names are those the
bot always used.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from bot.core.session import channel_byte

CLUSTER_BUCKETS = 16
# Tag i hashes into slots [i * 1024, (i + 1) * 1024): tests/store/test_cluster_store.py checks it.
BUCKET_TAGS = (
    *("03", "122", "212", "311", "461", "562", "60", "742"),
    *("843", "940", "a21", "b60", "c13", "d13", "e61", "f20"),
)


@dataclass(frozen=True)
class Keys:
    prefix: str
    cluster: bool = False

    # --- buckets (Redis Cluster hash slots) ---------------------------------------------------------

    @property
    def buckets(self) -> range:
        """Every bucket: one outside a cluster."""
        return range(CLUSTER_BUCKETS if self.cluster else 1)

    def bucket_of_channel(self, channel: str) -> int:
        return channel_byte(channel) % CLUSTER_BUCKETS if self.cluster else 0

    def bucket_of_session(self, session_id: str) -> int:
        """The bucket of a check id (its first byte: its channel's). An id that is not one of ours
        still gets a bucket; its keys simply do not exist."""
        if not self.cluster:
            return 0
        try:
            return int(session_id[:2], 16) % CLUSTER_BUCKETS
        except ValueError:
            return channel_byte(session_id) % CLUSTER_BUCKETS

    def _base(self, bucket: int) -> str:
        return f"{self.prefix}:{{{BUCKET_TAGS[bucket]}}}" if self.cluster else self.prefix

    def _of_channel(self, channel: str, bucket: int | None) -> str:
        return self._base(self.bucket_of_channel(channel) if bucket is None else bucket)

    def _of_session(self, session_id: str, bucket: int | None) -> str:
        return self._base(self.bucket_of_session(session_id) if bucket is None else bucket)

    # --- a check and its channel --------------------------------------------------------------------
    # ``bucket`` (with an empty id or channel) gives the prefix a script appends ids to.

    def session(self, session_id: str, bucket: int | None = None) -> str:
        """One hash per check: meta, version, position, users table, answers, notes."""
        return f"{self._of_session(session_id, bucket)}:s:{session_id}"

    def refs(self, session_id: str, bucket: int | None = None) -> str:
        """The platform's ids of the messages a check posted (header, questions, channel)."""
        return f"{self._of_session(session_id, bucket)}:ref:{session_id}"

    def running(self, channel: str, bucket: int | None = None) -> str:
        """The id of the channel's running check."""
        return f"{self._of_channel(channel, bucket)}:ch:{channel}"

    def history(self, channel: str, bucket: int | None = None) -> str:
        """Sorted set of the channel's finished checks (score: when they finished)."""
        return f"{self._of_channel(channel, bucket)}:hist:{channel}"

    def hash_secret(self) -> str:
        """The random key of :meth:`once` (created on first use, kept with the data it protects)."""
        return f"{self.prefix}:k:once"

    def once(self, mark: str, secret: bytes, channel: str | None = None) -> str:
        """A de-duplication mark; ``mark`` may name a user, so only its keyed hash is stored. With
        ``channel`` it lives beside that channel's keys (the scripts that claim it touch them too)."""
        base = self.prefix if channel is None else self._of_channel(channel, None)
        return f"{base}:once:{_keyed(mark, secret)}"

    def claim_window(self, mark: str, secret: bytes, channel: str | None = None) -> str:
        """When ``mark`` (a double-click guard, naming a user) was last accepted; keyed hash as in :meth:`once`."""
        base = self.prefix if channel is None else self._of_channel(channel, None)
        return f"{base}:win:{_keyed(mark, secret)}"

    def window(self, name: str) -> tuple[str, str]:
        """The lock and the dirty flag of one coalescing window (live tally edits); a check's tally
        window (:func:`tally_window`) lives beside the check."""
        kind, _, rest = name.partition(":")
        if kind == "tally":
            base = self._of_session(rest.partition(":")[0], None)
        else:  # any other window: its two keys share the slot of its name
            base = f"{self.prefix}:{{{name}}}" if self.cluster else self.prefix
        return f"{base}:lock:{name}", f"{base}:dirty:{name}"

    # --- reminders (bot.store.reminders) ----------------------------------------------------------

    def reminder(self, reminder_id: str, channel: str = "", bucket: int | None = None) -> str:
        """One hash per reminder (bot.core.reminders.Reminder.fields), beside its channel's keys."""
        return f"{self._of_channel(channel, bucket)}:rem:{reminder_id}"

    def reminder_queue(self, queue: str, bucket: int = 0) -> str:
        """Sorted set of reminder ids by due time, one per queue (see :func:`queue_of`) and bucket."""
        return f"{self._base(bucket)}:remq:{queue}"

    def queue_of_channel(self, channel: str) -> str:
        """The queue key a channel's reminders wait in."""
        return self.reminder_queue(queue_of(channel), self.bucket_of_channel(channel))

    def channel_reminders(self, channel: str) -> str:
        """Set of a channel's open reminder ids: its ``reminders`` list, and what ``purge`` removes."""
        return f"{self._of_channel(channel, None)}:remch:{channel}"

    # --- privacy (bot.store.privacy) ----------------------------------------------------------------

    def channel_sessions(self, channel: str, bucket: int | None = None) -> str:
        """Set of the ids of every check created in a channel (running, finished, cancelled)."""
        return f"{self._of_channel(channel, bucket)}:chsess:{channel}"

    def team_channels(self, channel: str, bucket: int | None = None) -> str:
        """Set of the :meth:`channel_sessions` keys of a channel's team (in a cluster: of those of its
        channels in ``channel``'s bucket): where ``forget-me`` looks."""
        platform, _, rest = channel.partition(":")
        return f"{self._of_channel(channel, bucket)}:team:{platform}:{rest.partition(':')[0]}"

    def channel_marks(self, channel: str) -> str:
        """Sorted set of a channel's dedup marks and click guards (score: when each expires), for ``purge``."""
        return f"{self._of_channel(channel, None)}:marks:{channel}"

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
