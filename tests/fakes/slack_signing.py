"""Requests into the bot exactly as Slack sends them: signed, form-encoded, over real HTTP.

``sign`` follows https://api.slack.com/authentication/verifying-requests-from-slack (the v0 scheme);
:class:`SlackSender` builds slash-command, ``block_actions`` and ``view_submission`` bodies the way
Slack does (PLATFORMS.md S1/S3) and POSTs them, signed, to the bot's ``/slack/events``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.fakes.slack_api import TEAM_ID


def sign(secret: str, timestamp: str | int, body: str | bytes) -> str:
    """The ``X-Slack-Signature`` value: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Prepared:
    """A request ready to send (and to send again, as Slack's retries do)."""

    body: bytes
    headers: dict[str, str]


class SlackSender:
    """Plays Slack's side of the inbound traffic for one workspace."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        team_id: str = TEAM_ID,
        trigger_id: Callable[[], str] | None = None,
        command: str = "/socialmedia-check",
        hooks_url: str = "https://hooks.slack.com",
    ) -> None:
        self.url = url
        self.secret = secret
        self.team_id = team_id
        self.command = command
        self.hooks_url = hooks_url.rstrip("/")
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._trigger_id = trigger_id or self._own_trigger_id

    def _own_trigger_id(self) -> str:
        n = self._next()
        return f"{n}.4242.{n:032x}"

    def _next(self) -> int:
        with self._lock:
            return next(self._counter)

    # --- building requests -----------------------------------------------------------------

    def prepare(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        retry_num: int | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> Prepared:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret or self.secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return Prepared(body.encode(), headers)

    def command_body(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        user_name: str | None = None,
        trigger_id: str | None = None,
    ) -> str:
        """The form body of a slash command (PLATFORMS.md S1), fields in Slack's order."""
        fields = {
            "token": "verification-token-unused",
            "team_id": self.team_id,
            "team_domain": "fake-workspace",
            "channel_id": channel,
            "channel_name": channel.lower(),
            "user_id": user,
            "user_name": user_name or user.lower(),
            "command": self.command,
            "text": text,
            "api_app_id": "A0FAKE",
            "is_enterprise_install": "false",
            "response_url": f"{self.hooks_url}/commands/{self.team_id}/{self._next()}/x",
            "trigger_id": trigger_id or self._trigger_id(),
        }
        return urlencode(fields)

    def block_actions_payload(
        self,
        channel: str,
        user: str,
        message_ts: str,
        action: dict[str, Any],
        *,
        user_name: str | None = None,
        thread_ts: str | None = None,
        trigger_id: str | None = None,
    ) -> dict[str, Any]:
        """A ``block_actions`` payload for a click on ``action`` (a button/checkboxes element as sent)."""
        n = self._next()
        name = user_name or user.lower()
        act = {
            "action_id": action["action_id"],
            "block_id": action.get("block_id", "b"),
            "type": action["type"],
            "action_ts": f"{int(time.time())}.{n:06d}",
        }
        if action["type"] == "button":
            act["text"] = action["text"]
            if "value" in action:
                act["value"] = action["value"]
        elif action["type"] in ("checkboxes", "multi_static_select"):
            act["selected_options"] = action.get("selected_options", [])
        elif action["type"] in ("static_select", "radio_buttons"):
            act["selected_option"] = action.get("selected_option")
        message: dict[str, Any] = {"type": "message", "ts": message_ts, "text": "...", "blocks": []}
        if thread_ts:
            message["thread_ts"] = thread_ts
        return {
            "type": "block_actions",
            "user": {"id": user, "username": name, "name": name, "team_id": self.team_id},
            "api_app_id": "A0FAKE",
            "token": "verification-token-unused",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
                **({"thread_ts": thread_ts} if thread_ts else {}),
            },
            "trigger_id": trigger_id or self._trigger_id(),
            "team": {"id": self.team_id, "domain": "fake-workspace"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": channel.lower()},
            "message": message,
            "state": {"values": {}},
            "response_url": f"{self.hooks_url}/actions/{self.team_id}/{n}/x",
            "actions": [act],
        }

    def view_submission_payload(
        self,
        user: str,
        view: dict[str, Any],
        values: dict[str, dict[str, str]],
        *,
        user_name: str | None = None,
        view_id: str | None = None,
    ) -> dict[str, Any]:
        """A ``view_submission`` for ``view`` (as the bot opened it) with ``values[block_id][action_id]``."""
        n = self._next()
        name = user_name or user.lower()
        state = {
            block: {action: {"type": "plain_text_input", "value": value} for action, value in acts.items()}
            for block, acts in values.items()
        }
        vid = view_id or view.get("id") or f"V{n:08d}"
        full = dict(
            view,
            id=vid,
            team_id=self.team_id,
            state={"values": state},
            hash=f"{n}.hash",
            previous_view_id=None,
            root_view_id=vid,
            app_id="A0FAKE",
            external_id="",
            bot_id="B0BOT0001",
        )
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "fake-workspace"},
            "user": {"id": user, "username": name, "name": name, "team_id": self.team_id},
            "api_app_id": "A0FAKE",
            "token": "verification-token-unused",
            "trigger_id": self._trigger_id(),
            "view": full,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    @staticmethod
    def payload_body(payload: dict[str, Any]) -> str:
        """Interactivity bodies are form-encoded with one field, ``payload`` (PLATFORMS.md S3)."""
        return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})

    # --- sending ---------------------------------------------------------------------------

    def send(self, prepared: Prepared, timeout: float = 10.0) -> Reply:
        request = urllib.request.Request(self.url, data=prepared.body, headers=prepared.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return Reply(resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()})
        except urllib.error.HTTPError as err:
            with err:
                return Reply(err.code, err.read(), {k.lower(): v for k, v in err.headers.items()})

    def slash(self, channel: str, user: str, text: str, **kw: Any) -> Reply:
        return self.send(self.prepare(self.command_body(channel, user, text, **kw)))

    def click(self, channel: str, user: str, message_ts: str, action: dict[str, Any], **kw: Any) -> Reply:
        return self.send(
            self.prepare(self.payload_body(self.block_actions_payload(channel, user, message_ts, action, **kw)))
        )

    def submit(self, user: str, view: dict[str, Any], values: dict[str, dict[str, str]], **kw: Any) -> Reply:
        return self.send(self.prepare(self.payload_body(self.view_submission_payload(user, view, values, **kw))))
