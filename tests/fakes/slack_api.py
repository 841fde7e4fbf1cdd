"""A fake Slack Web API: a threaded HTTP server on 127.0.0.1 that answers like Slack and records calls.

The bot's real ``slack_sdk.WebClient`` talks to it through ``base_url`` (``SLACK_API_URL``), so tests
assert on what actually went over the wire. It:

* records every call (method, parsed parameters from JSON, form and query, headers, raw body),
  thread-safely, and lets tests wait for calls with a Condition (no sleeps);
* answers ``auth.test``, ``chat.postMessage`` (unique, increasing ``ts``), ``chat.update``,
  ``chat.postEphemeral``, ``views.open``, ``files.getUploadURLExternal`` (with an ``upload_url``
  pointing at itself), the upload URL (keeps the bytes), ``files.completeUploadExternal``,
  ``apps.connections.open`` (hands out the URL of a fake Socket Mode server) and ``users.info``
  (profiles added with :meth:`FakeSlackApi.add_user`; ``user_not_found`` for anyone else, and
  ``missing_scope`` when ``users:read`` is taken out of :attr:`FakeSlackApi.scopes`);
* answers ``conversations.open`` for one user with the bot's direct message (``D…``, kept in
  :attr:`FakeSlackApi.dms`; ``missing_scope`` without ``im:write``), where private exports are shared;
* answers 429 with ``Retry-After`` on demand (:meth:`FakeSlackApi.rate_limit`) and injects failures
  (:meth:`FakeSlackApi.fail`), including on the upload URL (method name ``"upload"``);
* validates every request's arguments with jsonschema against Slack's OpenAPI spec (see
  :mod:`tests.fakes.slack_spec`; an unknown method, a missing or mistyped argument is answered with
  Slack's error and recorded, an argument the spec does not list is only recorded), checks Block
  Kit limits Slack enforces (it answers ``invalid_blocks`` like Slack), and notes any mention syntax
  (``<!here>``, ``<@U…>``, ``<!subteam^…>``, ``<#C…>``) in mrkdwn text. All of these are recorded in
  :attr:`FakeSlackApi.violations` / :meth:`FakeSlackApi.mentions` for tests to assert on.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackServer
from tests.fakes.slack_spec import SpecMethod, check_request, find_spec, load_spec

__all__ = ["FakeSlackApi", "SpecMethod", "check_message_blocks", "check_view", "find_spec", "load_spec"]

TEAM_ID = "T0FAKE001"
BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
SCOPES = ("commands", "chat:write", "files:write", "users:read", "im:write")  # what the manifest asks for


@dataclass
class Call:
    method: str  # "chat.postMessage", or "upload" for the upload URL
    params: dict[str, Any]  # query + body, JSON values kept as sent (blocks may be a JSON string)
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)  # what the fake answered besides the body
    at: float = 0.0  # the fake's clock (time.monotonic() unless injected) when received

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok", True))

    def blocks(self) -> list[dict[str, Any]]:
        return _as_json(self.params.get("blocks")) or []

    def view(self) -> dict[str, Any]:
        return _as_json(self.params.get("view")) or {}


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


@dataclass
class Posted:
    """A message as the fake's workspace holds it now (after every chat.update)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    updates: int = 0


class FakeSlackApi(LoopbackServer):
    """Start with ``with FakeSlackApi() as fake:``; point the client at :attr:`url`."""

    thread_name = "fake-slack-api"

    def __init__(
        self,
        *,
        spec_path: Path | None = None,
        socket_mode_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (monotonic seconds) stamps calls and ages trigger ids: a test can inject one to
        expire a trigger without waiting 3 s."""
        super().__init__()
        self._clock = clock
        self.spec_path = spec_path if spec_path is not None else find_spec()
        self.spec = load_spec(self.spec_path)
        self.socket_mode_url = socket_mode_url
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._rate_limits: dict[str, list[float]] = defaultdict(list)  # method -> Retry-After per 429
        self._failures: dict[str, list[tuple[int, str]]] = defaultdict(list)  # method -> (status, error)
        self.violations: list[str] = []
        self.messages: dict[tuple[str, str], Posted] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.uploads: dict[str, bytes] = {}
        self._upload_meta: dict[str, dict[str, Any]] = {}
        self._holds: dict[str, list[Any]] = {}
        self.completed_files: list[dict[str, Any]] = []
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._triggers: dict[str, float] = {}
        self.scopes: set[str] = set(SCOPES)  # the bot token's scopes; take one out to get missing_scope
        self.users: dict[str, dict[str, Any]] = {}  # users.info answers, by user id
        self.dms: dict[str, str] = {}  # conversations.open: user id -> the bot's direct-message channel

    # --- lifecycle ---------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Handler):
            api = fake

        return Handler

    @property
    def url(self) -> str:
        """The base URL for ``WebClient(base_url=...)`` / ``SLACK_API_URL``."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def hooks_url(self) -> str:
        """Where ``response_url``s of commands and actions point (recorded as method ``response_url``)."""
        return f"http://127.0.0.1:{self.port}/hooks"

    # --- behaviour switches ----------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: float = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After``."""
        with self._lock:
            self._rate_limits[method].extend([retry_after] * times)

    def fail(self, method: str, times: int = 1, *, error: str = "internal_error", status: int = 200) -> None:
        """Answer the next ``times`` calls with ``{"ok": false, "error": error}`` (or a bare ``status``)."""
        with self._lock:
            self._failures[method].extend([(status, error)] * times)

    def hold(self, method: str, skip: int = 0) -> threading.Event:
        """Hold Slack's answer to a call of ``method`` (after ``skip`` others) until the event is set.

        The call is recorded (and a posted message visible) before the answer goes back, which is the
        window in which a fast user can already click on a message whose sender has not seen its ts.
        """
        release = threading.Event()
        with self._lock:
            self._holds[method] = [skip, release]
        return release

    def add_user(self, user_id: str, name: str, *, display_name: str = "", real_name: str = "") -> None:
        """A workspace member ``users.info`` knows: ``name`` is the legacy handle (``user_name`` in
        payloads), ``display_name`` / ``real_name`` what the profile says (either may be empty)."""
        with self._lock:
            self.users[user_id] = {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "deleted": False,
                "real_name": real_name,
                "is_bot": False,
                "profile": {
                    "display_name": display_name,
                    "display_name_normalized": display_name,
                    "real_name": real_name,
                    "real_name_normalized": real_name,
                    "team": TEAM_ID,
                },
            }

    def trigger_id(self) -> str:
        """A fresh trigger id, as Slack puts in slash commands and interactions (valid for 3 s)."""
        with self._lock:
            n = next(self._ids)
            tid = f"{n}.{4200 + n}.{n:032x}"
            self._triggers[tid] = self._clock()
            return tid

    # --- inspection ------------------------------------------------------------------------

    def calls(self, method: str | None = None, *, include_rejected: bool = False) -> list[Call]:
        """Calls of ``method`` (all when None) that Slack accepted; with rejected 429s/failures too."""
        with self._lock:
            return [c for c in self._calls if (method is None or c.method == method) and (include_rejected or c.ok)]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until ``count`` accepted calls of ``method`` (matching ``where``) arrived; return them."""

        def matching() -> list[Call]:
            return [c for c in self._calls if c.method == method and c.ok and (where is None or where(c))]

        with self._lock:
            if not self._lock.wait_for(lambda: len(matching()) >= count, timeout):
                seen = [(c.method, c.status, c.response.get("error")) for c in self._calls[-20:]]
                raise AssertionError(f"waited {timeout}s for {count}x {method}, got {len(matching())}; last: {seen}")
            return matching()

    def wait_until(
        self, predicate: Callable[[FakeSlackApi], bool], timeout: float = 10.0, poll: float | None = None
    ) -> None:
        """Block until ``predicate(self)`` holds: re-checked after every call the fake receives and,
        with ``poll``, at least that often (for conditions outside the fake, such as Redis state)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"condition not met within {timeout}s")
                self._lock.wait(min(remaining, poll) if poll else remaining)

    def message(self, channel: str, ts: str) -> Posted:
        with self._lock:
            return self.messages[(channel, ts)]

    def thread(self, channel: str, thread_ts: str) -> list[Posted]:
        with self._lock:
            posted = [m for m in self.messages.values() if m.channel == channel and m.thread_ts == thread_ts]
        return sorted(posted, key=lambda m: float(m.ts))

    def channel_messages(self, channel: str) -> list[Posted]:
        """Top-level messages of a channel (not thread replies), oldest first."""
        with self._lock:
            posted = [m for m in self.messages.values() if m.channel == channel and m.thread_ts is None]
        return sorted(posted, key=lambda m: float(m.ts))

    def mentions(self) -> list[str]:
        """Mention/broadcast syntax found in any mrkdwn or top-level text the bot sent."""
        found: list[str] = []
        for call in self.calls(include_rejected=True):
            for text in _texts_of(call):
                found += _MENTION.findall(text)
        return found

    # --- request handling (called from the server threads) ----------------------------------

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            self._lock.notify_all()

    def _violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def _take(self, table: dict[str, list[Any]], method: str) -> Any:
        with self._lock:
            queue = table.get(method)
            return queue.pop(0) if queue else None

    def handle(
        self, method: str, params: dict[str, Any], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        call = Call(method=method, params=params, headers=headers, body=body, at=self._clock())
        status, payload, extra = self._answer(call)
        call.status, call.response, call.response_headers = status, payload, dict(extra)
        self._record(call)
        release: threading.Event | None = None
        with self._lock:
            hold = self._holds.get(method)
            if hold is not None:
                if hold[0] > 0:
                    hold[0] -= 1
                else:
                    release = self._holds.pop(method)[1]
        if release is not None:
            release.wait(30)
        return status, payload, extra

    def _answer(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        method = call.method
        retry_after = self._take(self._rate_limits, method)
        if retry_after is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": f"{retry_after:g}"}
        failure = self._take(self._failures, method)
        if failure is not None:
            status, error = failure
            return status, {"ok": False, "error": error}, {}
        if method == "upload":
            return self._upload(call)
        if method == "response_url":
            return 200, {"ok": True}, {}
        auth = call.headers.get("authorization", "")
        token = (
            auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else str(call.params.get("token", ""))
        )
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        rejected = self._check_spec(call)
        if rejected is not None:
            return 200, rejected, {}
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
            if not self.socket_mode_url:
                return 200, {"ok": False, "error": "no_socket_server"}, {}
            return 200, {"ok": True, "url": self.socket_mode_url}, {}
        if not token.startswith("xoxb-"):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = _METHODS.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return handler(self, call)

    def _check_spec(self, call: Call) -> dict[str, Any] | None:
        """Record what breaks the spec; Slack's error answer when Slack would refuse the call
        (unknown method, missing or mistyped argument), None when it goes through (unknown arguments
        are ignored by Slack, but still recorded)."""
        problems = check_request(self.spec, call.method, call.params, call.headers.get("content-type", ""))
        for problem in problems:
            self._violation(problem.text)
        if any(p.rejected and "not a method" in p.text for p in problems):
            return {"ok": False, "error": "unknown_method"}
        refused = [p.text for p in problems if p.rejected]
        if refused:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": refused}}
        return None

    # --- methods ----------------------------------------------------------------------------

    def _auth_test(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        return (
            200,
            {
                "ok": True,
                "url": "https://fake-workspace.slack.com/",
                "team": "Fake Workspace",
                "user": "smc",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            },
            {"x-oauth-scopes": ",".join(sorted(self.scopes))},
        )

    def _next_ts(self) -> str:
        with self._lock:
            return f"{1700000000 + next(self._ts)}.{next(self._ids):06d}"

    def _message_fields(self, call: Call, *, need_channel: bool = True) -> tuple[str, str, list[dict[str, Any]]] | str:
        channel = str(call.params.get("channel", ""))
        if need_channel and not channel:
            return "channel_not_found"
        text = str(call.params.get("text") or "")
        raw_blocks = call.params.get("blocks")
        blocks = _as_json(raw_blocks) if raw_blocks is not None else []
        if raw_blocks is not None and not isinstance(blocks, list):
            return "invalid_blocks_format"
        if not text and not blocks:
            return "no_text"
        problems = check_message_blocks(blocks or [])
        if problems:
            for p in problems:
                self._violation(f"{call.method}: {p}")
            return "invalid_blocks"
        return channel, text, blocks or []

    def _post_message(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        fields = self._message_fields(call)
        if isinstance(fields, str):
            return 200, {"ok": False, "error": fields}, {}
        channel, text, blocks = fields
        thread_ts = call.params.get("thread_ts") or None
        with self._lock:
            if thread_ts is not None and (channel, thread_ts) not in self.messages:
                return 200, {"ok": False, "error": "thread_not_found"}, {}
            ts = self._next_ts()
            self.messages[(channel, ts)] = Posted(channel, ts, text, blocks, thread_ts)
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": text,
            "ts": ts,
            "bot_id": BOT_ID,
            "blocks": blocks,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": message}, {}

    def _update(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        fields = self._message_fields(call)
        if isinstance(fields, str):
            return 200, {"ok": False, "error": fields}, {}
        channel, text, blocks = fields
        ts = str(call.params.get("ts", ""))
        with self._lock:
            posted = self.messages.get((channel, ts))
            if posted is None:
                return 200, {"ok": False, "error": "message_not_found"}, {}
            posted.text, posted.blocks, posted.updates = text, blocks, posted.updates + 1
        return (
            200,
            {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "text": text,
                "message": {"text": text, "user": BOT_USER_ID, "blocks": blocks},
            },
            {},
        )

    def _post_ephemeral(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        fields = self._message_fields(call)
        if isinstance(fields, str):
            return 200, {"ok": False, "error": fields}, {}
        channel, text, blocks = fields
        user = call.params.get("user")
        if not user:
            return 200, {"ok": False, "error": "user_not_found"}, {}
        ts = self._next_ts()
        with self._lock:
            self.ephemerals.append(
                {
                    "channel": channel,
                    "user": user,
                    "text": text,
                    "blocks": blocks,
                    "thread_ts": call.params.get("thread_ts"),
                    "ts": ts,
                }
            )
        return 200, {"ok": True, "message_ts": ts}, {}

    def _views_open(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        trigger = str(call.params.get("trigger_id", ""))
        view = _as_json(call.params.get("view"))
        with self._lock:
            issued = self._triggers.pop(trigger, None)
        if issued is None:
            return (
                200,
                {
                    "ok": False,
                    "error": "invalid_arguments",
                    "response_metadata": {"messages": ["invalid `trigger_id`"]},
                },
                {},
            )
        if self._clock() - issued > 3.0:
            return 200, {"ok": False, "error": "expired_trigger_id"}, {}
        if not isinstance(view, dict):
            return 200, {"ok": False, "error": "invalid_arguments"}, {}
        problems = check_view(view)
        if problems:
            for p in problems:
                self._violation(f"views.open: {p}")
            return (
                200,
                {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}},
                {},
            )
        view_id = f"V{next(self._ids):08d}"
        opened = dict(
            view,
            id=view_id,
            team_id=TEAM_ID,
            hash=f"{time.time():.0f}.{view_id}",
            state={"values": {}},
            root_view_id=view_id,
            app_id="A0FAKE",
            bot_id=BOT_ID,
        )
        return 200, {"ok": True, "view": opened}, {}

    def _users_info(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            if "users:read" not in self.scopes:  # as Slack answers a token installed without the scope
                provided = ",".join(sorted(self.scopes))
                return 200, {"ok": False, "error": "missing_scope", "needed": "users:read", "provided": provided}, {}
            user = self.users.get(str(call.params.get("user", "")))
            if user is None:
                return 200, {"ok": False, "error": "user_not_found"}, {}
            return 200, {"ok": True, "user": json.loads(json.dumps(user))}, {}

    def _conversations_open(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        """A 1:1 direct message with the bot (``users`` = one user id): the same ``D…`` id every time."""
        users = [u for u in str(call.params.get("users", "")).split(",") if u]
        with self._lock:
            if "im:write" not in self.scopes:
                provided = ",".join(sorted(self.scopes))
                return 200, {"ok": False, "error": "missing_scope", "needed": "im:write", "provided": provided}, {}
        if len(users) != 1:
            self._violation(f"conversations.open: the fake opens 1:1 direct messages only, got users={users}")
            return 200, {"ok": False, "error": "users_list_not_supplied" if not users else "not_enough_users"}, {}
        if not users[0].startswith(("U", "W")):
            return 200, {"ok": False, "error": "user_not_found"}, {}
        with self._lock:
            already = users[0] in self.dms
            dm = self.dms.setdefault(users[0], f"D{next(self._ids):08d}")
        return 200, {"ok": True, "channel": {"id": dm}, "no_op": already, "already_open": already}, {}

    def _get_upload_url(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        filename, length = call.params.get("filename"), call.params.get("length")
        if not filename or not str(length or "").isdigit():
            self._violation(f"files.getUploadURLExternal: needs filename and length, got {call.params}")
            return 200, {"ok": False, "error": "invalid_arguments"}, {}
        file_id = f"F{next(self._ids):08d}"
        with self._lock:
            self.uploads.setdefault(file_id, b"")
            self._upload_meta[file_id] = {
                "filename": filename,
                "length": int(str(length)),
                "alt_txt": call.params.get("alt_txt"),
            }
        return (
            200,
            {
                "ok": True,
                "upload_url": f"http://127.0.0.1:{self.port}/upload/v1/{file_id}",
                "file_id": file_id,
            },
            {},
        )

    def _upload(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        file_id = str(call.params.get("file_id", ""))
        with self._lock:
            if file_id not in self._upload_meta:
                return 404, {"ok": False, "error": "file_not_found"}, {}
            self.uploads[file_id] = call.body
        return 200, {"ok": True, "text": f"OK - {len(call.body)}"}, {}

    def _complete_upload(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        files = _as_json(call.params.get("files"))
        if not isinstance(files, list) or not files:
            self._violation(
                f"files.completeUploadExternal: files must be a JSON list, got {call.params.get('files')!r}"
            )
            return 200, {"ok": False, "error": "invalid_arguments"}, {}
        out = []
        with self._lock:
            for f in files:
                meta = self._upload_meta.get(f.get("id", ""))
                data = self.uploads.get(f.get("id", ""), b"")
                if meta is None or len(data) != meta["length"]:
                    return 200, {"ok": False, "error": "file_not_found"}, {}
                entry = {
                    "id": f["id"],
                    "title": f.get("title") or meta["filename"],
                    "name": meta["filename"],
                    "size": len(data),
                    "alt_txt": meta["alt_txt"],
                    "channel_id": call.params.get("channel_id"),
                    "thread_ts": call.params.get("thread_ts"),
                }
                self.completed_files.append(entry)
                out.append(entry)
        return 200, {"ok": True, "files": out}, {}


_METHODS: dict[str, Callable[[FakeSlackApi, Call], tuple[int, dict[str, Any], dict[str, str]]]] = {
    "auth.test": FakeSlackApi._auth_test,
    "chat.postMessage": FakeSlackApi._post_message,
    "chat.update": FakeSlackApi._update,
    "chat.postEphemeral": FakeSlackApi._post_ephemeral,
    "views.open": FakeSlackApi._views_open,
    "files.getUploadURLExternal": FakeSlackApi._get_upload_url,
    "files.completeUploadExternal": FakeSlackApi._complete_upload,
    "conversations.open": FakeSlackApi._conversations_open,
    "users.info": FakeSlackApi._users_info,
}


class _Handler(BaseHTTPRequestHandler):
    api: FakeSlackApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path.startswith("/upload/v1/"):
            method = "upload"
            params["file_id"] = parts.path.rsplit("/", 1)[-1]
        elif parts.path.startswith("/hooks/"):
            method = "response_url"
            params.update(_parse_body(body, headers.get("content-type", "")))
        elif parts.path.startswith("/api/"):
            method = parts.path[len("/api/") :]
            params.update(_parse_body(body, headers.get("content-type", "")))
        else:
            self._reply(404, {"ok": False, "error": "not_found"}, {})
            return
        status, payload, extra = self.api.handle(method, params, headers, body)
        self._reply(status, payload, extra)

    def _reply(self, status: int, payload: dict[str, Any], extra: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("multipart/"):
        return {}
    text = body.decode("utf-8")
    if content_type.startswith("application/json") or text.lstrip().startswith("{"):
        data = json.loads(text)
        return data if isinstance(data, dict) else {}
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


# --- Block Kit limits (https://docs.slack.dev/reference/block-kit) -----------------------------

_MENTION = re.compile(r"<(?:!here|!channel|!everyone|!subteam\^[^>]*|@[UW][^>]*|#C[^>]*)[^>]*>")


def _texts_of(call: Call) -> Iterable[str]:
    """Texts Slack would parse as mrkdwn: top-level ``text`` and every mrkdwn text object."""
    if call.method not in ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open"):
        return []
    texts: list[str] = []
    if isinstance(call.params.get("text"), str):
        texts.append(call.params["text"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(call.blocks())
    walk(call.view())
    return texts


def _text_obj(obj: Any, where: str, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where}: not a text object: {obj!r:.80}"]
    if plain_only and obj["type"] != "plain_text":
        return [f"{where}: must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}: text must be a non-empty string"]
    if len(text) > limit:
        return [f"{where}: text is {len(text)} characters (max {limit})"]
    return []


def _option(opt: Any, where: str) -> list[str]:
    problems = _text_obj(opt.get("text") if isinstance(opt, dict) else None, f"{where}.text", 75)
    value = opt.get("value") if isinstance(opt, dict) else None
    if not isinstance(value, str) or not value or len(value) > 150:
        problems.append(f"{where}.value: 1..150 characters required")
    return problems


def _element(el: Any, where: str, action_ids: set[str]) -> list[str]:
    if not isinstance(el, dict):
        return [f"{where}: not an object"]
    problems: list[str] = []
    kind = el.get("type")
    action_id = el.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or len(action_id) > 255:
            problems.append(f"{where}.action_id: at most 255 characters")
        elif action_id in action_ids:
            problems.append(f"{where}.action_id: duplicate {action_id!r}")
        else:
            action_ids.add(action_id)
    if kind == "button":
        problems += _text_obj(el.get("text"), f"{where}.text", 75, plain_only=True)
        if "value" in el and (not isinstance(el["value"], str) or len(el["value"]) > 2000):
            problems.append(f"{where}.value: at most 2000 characters")
        if el.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}.style: {el.get('style')!r}")
    elif kind in ("checkboxes", "radio_buttons"):
        opts = el.get("options") or []
        if not 1 <= len(opts) <= 10:
            problems.append(f"{where}.options: 1..10 required, got {len(opts)}")
        for i, opt in enumerate(opts):
            problems += _option(opt, f"{where}.options[{i}]")
    elif kind in ("static_select", "multi_static_select"):
        opts = el.get("options") or []
        if not 1 <= len(opts) <= 100:
            problems.append(f"{where}.options: 1..100 required, got {len(opts)}")
        for i, opt in enumerate(opts):
            problems += _option(opt, f"{where}.options[{i}]")
        if "placeholder" in el:
            problems += _text_obj(el["placeholder"], f"{where}.placeholder", 150, plain_only=True)
    elif kind == "plain_text_input":
        if "max_length" in el and not 1 <= int(el["max_length"]) <= 3000:
            problems.append(f"{where}.max_length: 1..3000")
        if "placeholder" in el:
            problems += _text_obj(el["placeholder"], f"{where}.placeholder", 150, plain_only=True)
    elif kind in ("datepicker", "image", "plain_text", "mrkdwn"):
        pass
    else:
        problems.append(f"{where}: unknown element type {kind!r}")
    return problems


def _blocks(blocks: Any, where: str, max_blocks: int) -> list[str]:
    if not isinstance(blocks, list):
        return [f"{where}: blocks must be a list"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{where}: {len(blocks)} blocks (max {max_blocks})")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"{where}[{i}]"
        if not isinstance(block, dict):
            problems.append(f"{at}: not an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > 255:
                problems.append(f"{at}.block_id: at most 255 characters")
            elif block_id in block_ids:
                problems.append(f"{at}.block_id: duplicate {block_id!r}")
            block_ids.add(str(block_id))
        kind = block.get("type")
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{at}: section needs text or fields")
            if "text" in block:
                problems += _text_obj(block["text"], f"{at}.text", 3000)
            for j, f in enumerate(block.get("fields") or []):
                problems += _text_obj(f, f"{at}.fields[{j}]", 2000)
            if len(block.get("fields") or []) > 10:
                problems.append(f"{at}.fields: at most 10")
            if "accessory" in block:
                problems += _element(block["accessory"], f"{at}.accessory", action_ids)
        elif kind == "header":
            problems += _text_obj(block.get("text"), f"{at}.text", 150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 10:
                problems.append(f"{at}.elements: 1..10 required, got {len(elements)}")
            for j, el in enumerate(elements):
                if isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                    problems += _text_obj(el, f"{at}.elements[{j}]", 3000)
                else:
                    problems += _element(el, f"{at}.elements[{j}]", action_ids)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 25:
                problems.append(f"{at}.elements: 1..25 required, got {len(elements)}")
            for j, el in enumerate(elements):
                problems += _element(el, f"{at}.elements[{j}]", action_ids)
        elif kind == "input":
            problems += _text_obj(block.get("label"), f"{at}.label", 2000, plain_only=True)
            problems += _element(block.get("element"), f"{at}.element", action_ids)
            if "hint" in block:
                problems += _text_obj(block["hint"], f"{at}.hint", 2000, plain_only=True)
        elif kind == "divider":
            pass
        elif kind == "image":
            if not block.get("image_url") or not block.get("alt_text"):
                problems.append(f"{at}: image needs image_url and alt_text")
        else:
            problems.append(f"{at}: unknown block type {kind!r}")
    return problems


def check_message_blocks(blocks: Any) -> list[str]:
    """Problems Slack would answer ``invalid_blocks`` for (the limits this bot can run into)."""
    return _blocks(blocks, "blocks", 50)


def check_view(view: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append(f"view.type: {view.get('type')!r}")
    problems += _text_obj(view.get("title"), "view.title", 24, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            problems += _text_obj(view[key], f"view.{key}", 24, plain_only=True)
    if len(str(view.get("private_metadata", ""))) > 3000:
        problems.append("view.private_metadata: at most 3000 characters")
    if len(str(view.get("callback_id", ""))) > 255:
        problems.append("view.callback_id: at most 255 characters")
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
    if has_input and "submit" not in view:
        problems.append("view.submit: required when the view has input blocks")
    return problems + _blocks(view.get("blocks"), "view.blocks", 100)
