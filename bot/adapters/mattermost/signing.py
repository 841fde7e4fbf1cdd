"""Signed button contexts and dialog state for Mattermost.

Mattermost sends back whatever ``context`` was posted with a button (and a dialog's ``state``), so
both carry an HMAC-SHA256 over their canonical fields with a key derived from ``SMC_SECRET``: a
forged or altered context is refused and records nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

CONTEXT_FIELDS = ("a", "s", "q", "o", "c", "t", "e", "v", "n", "u", "un")
"""a: action · s: session id · q: question id · o: option number · c: channel id · t: team id ·
e: event kind (notice buttons) · v: extra value · n: nonce, u: user id, un: user name (dialogs:
a submission carries no user name, and only the user who opened the dialog may submit it)."""


class ContextSigner:
    """HMAC-SHA256 over the canonical fields of an action context or dialog state.

    The key is derived from SMC_SECRET with a fixed label, so a signature made here is useless
    anywhere else the same secret is used.
    """

    VERSION = "1"

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a non-empty secret is required")
        self._key = hmac.new(secret.encode(), b"smc/mattermost/action-context/v1", hashlib.sha256).digest()

    def _mac(self, fields: Mapping[str, str]) -> str:
        canonical = json.dumps(
            [self.VERSION, [[name, fields.get(name, "")] for name in CONTEXT_FIELDS]],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()

    def sign(self, **fields: object) -> dict[str, str]:
        unknown = set(fields) - set(CONTEXT_FIELDS)
        if unknown:
            raise ValueError(f"unknown context fields: {sorted(unknown)}")
        context = {name: str(value) for name, value in fields.items() if value is not None and value != ""}
        context["sig"] = self._mac(context)
        return context

    def verify(self, context: object) -> dict[str, str] | None:
        """The signed fields when ``context`` is authentic, else None. Extra keys are ignored."""
        if not isinstance(context, Mapping):
            return None
        sig = context.get("sig")
        if not isinstance(sig, str):
            return None
        fields: dict[str, str] = {}
        for name in CONTEXT_FIELDS:
            value = context.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                return None
            fields[name] = value
        if not hmac.compare_digest(sig.encode(), self._mac(fields).encode()):
            return None
        return fields

    def sign_state(self, **fields: object) -> str:
        """A dialog ``state`` string (Mattermost echoes it back on submission)."""
        return json.dumps(self.sign(**fields), separators=(",", ":"))

    def verify_state(self, state: object) -> dict[str, str] | None:
        if not isinstance(state, str) or len(state) > 2000:
            return None
        try:
            data = json.loads(state)
        except ValueError:
            return None
        return self.verify(data)


def new_nonce() -> str:
    return secrets.token_hex(8)


def digest(*parts: str) -> str:
    """A short fixed-length key of ``parts`` for a dedup mark (a trigger id, a user and a text …)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
