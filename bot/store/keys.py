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
        digest = hmac.new(secret, mark.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{self.prefix}:once:{digest}"

    def window(self, name: str) -> tuple[str, str]:
        """The lock and the dirty flag of one coalescing window (live tally edits)."""
        return f"{self.prefix}:lock:{name}", f"{self.prefix}:dirty:{name}"
