"""A threaded local HTTP server posing as the Mattermost REST API (v4), for tests.

It answers the calls the bot makes the way Mattermost does:

* JSON bodies with ``Content-Type: application/json`` exactly (mattermostdriver only parses JSON
  when the header is the bare media type, see PLATFORMS.md M6);
* errors as ``{"id", "message", "request_id", "status_code", "is_oauth"}``;
* ``429`` with ``X-Ratelimit-Limit/Remaining/Reset`` and the plain-text body ``limit exceeded``
  when a test asks for it (:meth:`FakeMattermost.rate_limit_next`).

Every request is recorded (thread-safe) and checked against the copied OpenAPI sources in
``tests/specs/mattermost`` (or ``$SMC_MATTERMOST_SPECS``), assembled into one OpenAPI 3.0 document
that openapi-spec-validator accepts: each JSON body is validated with jsonschema against its
operation's schema (required fields, types, enums, nested objects), and a path the reference does
not have is a violation. Violations are collected in :attr:`FakeMattermost.violations`;
tests assert that the list stays empty. Tests wait with :meth:`wait_for` (a Condition), never sleep.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import functools
import itertools
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import requests
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import OpenAPIV30SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.fakes.loopback import LoopbackServer

SPEC_DIR = Path(os.environ.get("SMC_MATTERMOST_SPECS") or Path(__file__).resolve().parents[1] / "specs" / "mattermost")
SPEC_FILES = ("posts.yaml", "files.yaml", "actions.yaml", "commands.yaml", "users.yaml", "channels.yaml")
# Hand-written (not in the copied reference): taken from SPEC_DIR when there, else from tests/specs.
HAND_WRITTEN = Path(__file__).resolve().parents[1] / "specs" / "mattermost" / "teams.yaml"

# Known mistakes in the copied (obsolete) API reference: it declares ``props`` of UpdatePost and
# PatchPost as a string, while the server's model (``PostPatch.Props *StringInterface``) takes an
# object, and every client sends one. These fields are checked as objects instead.
SPEC_OVERRIDES: dict[tuple[str, str, str], dict[str, Any]] = {
    ("PUT", "/api/v4/posts/{post_id}", "props"): {"type": "object"},
    ("PUT", "/api/v4/posts/{post_id}/patch", "props"): {"type": "object"},
}
# The reference reuses operationId SaveAcknowledgementForPost for the DELETE of the same path,
# which openapi-spec-validator rightly rejects; later versions call it DeleteAcknowledgementForPost.
_OPERATION_ID_FIXES = {("DELETE", "/api/v4/users/{user_id}/posts/{post_id}/ack"): "DeleteAcknowledgementForPost"}
_DOC_URI = "urn:smc:mattermost-api"


def _new_id() -> str:
    """A Mattermost-like 26-character id."""
    alphabet = "abcdefghijkmnopqrstuwxyz13456789"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def _millis() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------------------------
# Spec checks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    operation: dict[str, Any]


@functools.lru_cache(maxsize=8)
def _load_yaml(path: Path) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader


@functools.lru_cache(maxsize=4)
def load_document(spec_dir: Path = SPEC_DIR) -> dict[str, Any]:
    """The split reference sources assembled into one OpenAPI 3.0 document, the known mistakes
    repaired, and validated with openapi-spec-validator (an invalid copy fails loudly)."""
    definitions = _load_yaml(spec_dir / "definitions.yaml") if (spec_dir / "definitions.yaml").exists() else {}
    paths: dict[str, Any] = {}
    files = [spec_dir / name for name in SPEC_FILES]
    files.append(spec_dir / HAND_WRITTEN.name if (spec_dir / HAND_WRITTEN.name).exists() else HAND_WRITTEN)
    for path in files:
        if not path.exists():
            raise FileNotFoundError(f"Mattermost spec file missing: {path}")
        paths.update(copy.deepcopy(_load_yaml(path) or {}))
    doc: dict[str, Any] = {
        "openapi": "3.0.0",
        "info": {"title": "Mattermost API Reference (tests/specs copy)", "version": "4.0.0"},
        "paths": paths,
        "components": copy.deepcopy((definitions or {}).get("components") or {}),
    }
    for (method, template), operation_id in _OPERATION_ID_FIXES.items():
        operation = paths.get(template, {}).get(method.lower())
        if operation is not None:
            operation["operationId"] = operation_id
    for (method, template, name), schema in SPEC_OVERRIDES.items():
        body = _json_body_schema(paths.get(template, {}).get(method.lower()) or {})
        if body is not None and "$ref" not in body:
            body.setdefault("properties", {})[name] = dict(schema)
    errors = [str(e).splitlines()[0] for e in OpenAPIV30SpecValidator(doc).iter_errors()]
    if errors:
        raise AssertionError(f"the Mattermost spec in {spec_dir} is not valid OpenAPI 3.0: {errors[:5]}")
    return doc


def _json_body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = (operation.get("requestBody") or {}).get("content") or {}
    media = content.get("application/json")
    return media.get("schema") if isinstance(media, dict) else None


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _at(path: Iterable[Any]) -> str:
    return "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


_PY_TYPE_NAMES = {"array": "list", "object": "dict", "string": "str", "integer": "int", "number": "float"}


def describe(error: jsonschema.ValidationError, where: str) -> list[str]:
    """One line per problem, naming the field: ``body.post.message is required``."""
    at = _at(error.absolute_path)
    if error.validator == "required":
        names = [n for n in error.validator_value if isinstance(error.instance, dict) and n not in error.instance]
        return [f"{where}: {at}.{name} is required" for name in names]
    if error.validator == "type":
        return [f"{where}: {at} should be {error.validator_value}, got {type(error.instance).__name__}"]
    return [f"{where}: {at}: {error.message}"]


class SpecChecker:
    """Checks request bodies with jsonschema (openapi-schema-validator's OAS 3.0 dialect) against
    the operations of the copied Mattermost OpenAPI sources."""

    def __init__(self, spec_dir: Path = SPEC_DIR) -> None:
        self.document = load_document(spec_dir)
        resource: Resource[Any] = Resource.from_contents(self.document, default_specification=DRAFT4)
        self._registry: Registry[Any] = Registry().with_resource(_DOC_URI, resource)
        self._validators: dict[tuple[str, str], OAS30Validator] = {}
        self._operations: list[_Operation] = []
        for template, item in self.document["paths"].items():
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            for method, operation in item.items():
                if method.lower() in ("get", "post", "put", "delete", "patch"):
                    self._operations.append(_Operation(method.upper(), template, re.compile(regex), operation))
        # Literal paths win over templated ones (/posts/ephemeral before /posts/{post_id}).
        self._operations.sort(key=lambda op: op.template.count("{"))

    def find(self, method: str, path: str) -> _Operation | None:
        for op in self._operations:
            if op.method == method and op.pattern.match(path):
                return op
        return None

    def check(
        self, method: str, path: str, body: Any, content_type: str, form: dict[str, Any] | None = None
    ) -> list[str]:
        op = self.find(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in the Mattermost API reference"]
        where = f"{method} {op.template} ({op.operation.get('operationId', '?')})"
        request_body = op.operation.get("requestBody")
        if not request_body:
            return []
        content = request_body.get("content") or {}
        if content_type.startswith("multipart/form-data"):
            media = content.get("multipart/form-data")
            if media is None:
                return [f"{where}: multipart body, but the operation takes {sorted(content)}"]
            required = self._resolve(media.get("schema") or {}).get("required") or []
            # Multipart values are bytes or text: only which fields are there can be checked.
            return [f"{where}: multipart field {name!r} is required" for name in required if name not in (form or {})]
        if "application/json" not in content:
            return [f"{where}: JSON body, but the operation takes {sorted(content)}"]
        if body is None:
            return [f"{where}: the body is not valid JSON"] if request_body.get("required") else []
        problems: list[str] = []
        for error in self._validator(op).iter_errors(body):
            problems += [p for p in describe(error, where) if p not in problems]
        return problems

    def _validator(self, op: _Operation) -> OAS30Validator:
        key = (op.method, op.template)
        if key not in self._validators:
            pointer = _pointer("paths", op.template, op.method.lower(), "requestBody", "content", "application/json")
            schema = {"$ref": f"{_DOC_URI}#/{pointer}/schema"}
            self._validators[key] = OAS30Validator(schema, registry=self._registry)
        return self._validators[key]

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            resolved = self._registry.resolver(_DOC_URI).lookup(schema["$ref"]).contents
            return resolved if isinstance(resolved, dict) else {}
        return schema


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON (or None)
    form: dict[str, Any]  # multipart fields (files as bytes)
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return self.body


@dataclass
class _Injection:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    body: bytes
    content_type: str


class FakeMattermost(LoopbackServer):
    thread_name = "fake-mattermost"

    """The fake server. Use as a context manager, or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        token: str = "bot-token",
        bot_user_id: str = "botuserid00000000000000000",
        bot_username: str = "smc-bot",
        teams: Iterable[tuple[str, str]] = (("team1", "myteam"),),
        check_specs: bool = True,
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_user_id = bot_user_id
        self.bot_username = bot_username
        self.teams = {name: team_id for team_id, name in teams}
        self.checker = SpecChecker() if check_specs else None
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.posts: dict[str, dict[str, Any]] = {}
        self.ephemeral_posts: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.direct_channels: dict[str, dict[str, Any]] = {}  # the bot's direct messages, by the other user's id
        self.commands: dict[str, dict[str, Any]] = {}
        self.dialogs: list[dict[str, Any]] = []
        self.issued_triggers: set[str] = set()
        self.action_answers: list[dict[str, Any]] = []  # the integration's answers to clicks, as applied
        self.action_updates: list[str] = []  # the posts those answers updated
        self.action_ephemerals: list[dict[str, Any]] = []  # what those answers showed the clicker only
        self._injections: list[_Injection] = []
        self._cond = threading.Condition()
        self._seq = itertools.count(1)

    # --- lifecycle -----------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    @property
    def url(self) -> str:
        """What MATTERMOST_URL should be set to."""
        return f"http://127.0.0.1:{self.port}"

    # --- test helpers --------------------------------------------------------------------------

    def new_trigger_id(self, user_id: str = "u") -> str:
        """A trigger id as Mattermost would put into an action request (accepted once by dialogs/open)."""
        trigger = f"{_new_id()}:{user_id}:{_millis()}:sig"
        with self._cond:
            self.issued_triggers.add(trigger)
        return trigger

    def add_command(self, team_id: str, trigger: str, url: str, **extra: Any) -> dict[str, Any]:
        command = {
            "id": _new_id(),
            "token": _new_id(),
            "create_at": _millis(),
            "update_at": _millis(),
            "delete_at": 0,
            "creator_id": self.bot_user_id,
            "team_id": team_id,
            "trigger": trigger,
            "method": "P",
            "username": "",
            "icon_url": "",
            "auto_complete": False,
            "auto_complete_desc": "",
            "auto_complete_hint": "",
            "display_name": "",
            "description": "",
            "url": url,
        }
        command.update(extra)
        with self._cond:
            self.commands[command["id"]] = command
        return command

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        message: str = "Something went wrong",
    ) -> None:
        """The next ``times`` matching requests get ``status`` with Mattermost's error JSON."""
        body = json.dumps(
            {
                "id": "fake.injected.error",
                "message": message,
                "request_id": _new_id(),
                "status_code": status,
                "is_oauth": False,
            }
        ).encode()
        self._inject(method, path_regex, status, times, {}, body, "application/json")

    def rate_limit_next(self, method: str, path_regex: str, reset: int = 1, times: int = 1) -> None:
        """The next ``times`` matching requests are answered 429 as Mattermost's rate limiter does."""
        headers = {"X-Ratelimit-Limit": "10", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": str(reset)}
        self._inject(method, path_regex, 429, times, headers, b"limit exceeded\n", "text/plain; charset=utf-8")

    def _inject(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int,
        headers: dict[str, str],
        body: bytes,
        ctype: str,
    ) -> None:
        with self._cond:
            self._injections.append(
                _Injection(method.upper(), re.compile(path_regex), status, times, headers, body, ctype)
            )

    def calls_to(self, method: str | None = None, path: str | None = None) -> list[Call]:
        """Recorded calls, optionally filtered by method and a regex over the path (full match)."""
        with self._cond:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if (method is None or c.method == method.upper()) and (path is None or re.fullmatch(path, c.path))
        ]

    def wait_for(self, predicate: Callable[[FakeMattermost], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate(self)`` is truthy (re-evaluated after every request); return its value."""
        result: Any = None

        def check() -> bool:
            nonlocal result
            result = predicate(self)
            return bool(result)

        with self._cond:
            if not self._cond.wait_for(check, timeout):
                raise AssertionError(f"timed out after {timeout}s waiting for {predicate!r}")
        return result

    def wait_for_calls(self, method: str, path: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        def enough(fake: FakeMattermost) -> list[Call] | None:
            calls = [c for c in fake.calls if c.method == method and re.fullmatch(path, c.path) and c.status]
            return calls if len(calls) >= count else None

        return self.wait_for(enough, timeout)  # type: ignore[no-any-return]

    def integration_answered(self, post_id: str, user_id: str, response: Any) -> None:
        """What the server does with an integration's answer to a button on ``post_id``, before it
        answers the clicker's client (``DoPostActionWithCookie``, server/channels/app/integration_action.go).

        ``update`` replaces the post as ``UpdatePost`` does: its message and file ids, and its props
        unless they are null — keeping the server's own (``from_webhook``, ``override_username``,
        ``override_icon_url``), never ``is_pinned`` or ``has_reactions``. ``ephemeral_text`` becomes a
        post only the clicker sees, in the post's thread. The update is checked against the spec as
        the ``PUT /posts/{post_id}`` body the server turns it into."""
        if not isinstance(response, dict):
            return
        update = response.get("update")
        with self._cond:
            self.action_answers.append(response)
            post = self.posts.get(post_id)
            if isinstance(update, dict) and post is not None:
                if self.checker is not None:
                    body = {**update, "id": post_id}
                    self.violations.extend(
                        self.checker.check("PUT", f"/api/v4/posts/{post_id}", body, "application/json")
                    )
                props = update.get("props")
                if props is not None:
                    kept = {k: v for k, v in post["props"].items() if k in _SERVER_PROPS}
                    post["props"] = {**props, **kept}
                post["message"] = update.get("message", "")
                post["file_ids"] = list(update.get("file_ids") or [])
                post["update_at"] = post["edit_at"] = _millis()
                post.setdefault("history", []).append({"message": post["message"], "props": post["props"]})
                self.action_updates.append(post_id)
            text = response.get("ephemeral_text")
            if text and post is not None:
                reply = self._new_post({"channel_id": post["channel_id"], "message": text})
                reply.update(type="system_ephemeral", user_id_target=user_id, root_id=post["root_id"] or post_id)
                self.action_ephemerals.append(reply)
            self._cond.notify_all()

    def channel_posts(self, channel_id: str, root_only: bool = False) -> list[dict[str, Any]]:
        with self._cond:
            posts = sorted(self.posts.values(), key=lambda p: p["create_at"])
        return [p for p in posts if p["channel_id"] == channel_id and (not root_only or not p["root_id"])]

    # --- request handling (called by the handler thread) --------------------------------------

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        content_type = headers.get("content-type", "")
        body: Any = None
        form: dict[str, Any] = {}
        if content_type.startswith("multipart/form-data"):
            form = _parse_multipart(content_type, raw)
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        m = re.fullmatch(r"/_fake/integration-response/([^/]+)", path)
        if method == "POST" and m and isinstance(body, dict):  # not the API: the bench's stand-in for the server
            self.integration_answered(m.group(1), str(body.get("user_id", "")), body.get("response"))
            return 200, {"Content-Type": "application/json"}, b"{}"
        call = Call(method, path, query, headers, body, form)
        with self._cond:
            self.calls.append(call)
            if self.checker is not None:
                self.violations.extend(self.checker.check(method, path, body, content_type, form))
            injected = self._take_injection(method, path)
        try:
            if injected is not None:
                status, out_headers, out = injected.status, dict(injected.headers), injected.body
                out_headers["Content-Type"] = injected.content_type
            elif headers.get("authorization") != f"Bearer {self.token}":
                status, out_headers, out = self._error(
                    401,
                    "api.context.session_expired.app_error",
                    "Invalid or expired session, please login again.",
                )
            else:
                status, payload = self._dispatch(method, path, query, body if body is not None else {}, form)
                out_headers = {"Content-Type": "application/json"}
                out = json.dumps(payload).encode()
        except FakeMattermost._Error as err:
            status, out_headers, out = self._error(err.status, err.error_id, err.message)
        except Exception as exc:  # a bug in the fake must show up as a violation, not a hang
            with self._cond:
                self.violations.append(f"{method} {path}: fake crashed: {exc!r}")
            status, out_headers, out = self._error(500, "fake.crash", repr(exc))
        with self._cond:
            call.status = status
            self._cond.notify_all()
        return status, out_headers, out

    def _take_injection(self, method: str, path: str) -> _Injection | None:
        for inj in self._injections:
            if inj.times > 0 and inj.method == method and inj.pattern.fullmatch(path):
                inj.times -= 1
                return inj
        return None

    @staticmethod
    def _error(status: int, error_id: str, message: str) -> tuple[int, dict[str, str], bytes]:
        body = {
            "id": error_id,
            "message": message,
            "request_id": _new_id(),
            "status_code": status,
            "is_oauth": False,
        }
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    class _Error(Exception):
        def __init__(self, status: int, error_id: str, message: str) -> None:
            super().__init__(message)
            self.status, self.error_id, self.message = status, error_id, message

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], body: Any, form: dict[str, Any]
    ) -> tuple[int, Any]:
        E = FakeMattermost._Error
        if method == "GET" and path == "/api/v4/users/me":
            return 200, {
                "id": self.bot_user_id,
                "username": self.bot_username,
                "is_bot": True,
                "create_at": 0,
                "update_at": 0,
                "delete_at": 0,
                "roles": "system_user",
            }
        if method == "POST" and path == "/api/v4/posts":
            if not body.get("channel_id"):
                raise E(
                    400,
                    "api.context.invalid_body_param.app_error",
                    "Invalid or missing post in request body.",
                )
            post = self._new_post(body)
            with self._cond:
                if post["root_id"] and post["root_id"] not in self.posts:
                    raise E(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.")
                for fid in post["file_ids"]:
                    if fid not in self.files:
                        raise E(400, "api.post.create_post.file_ids.app_error", "Invalid file id.")
                self.posts[post["id"]] = post
            return 201, post
        if method == "POST" and path == "/api/v4/posts/ephemeral":
            inner = body.get("post") or {}
            post = self._new_post(inner)
            post["type"] = "system_ephemeral"
            post["user_id_target"] = body.get("user_id", "")
            with self._cond:
                self.ephemeral_posts.append(post)
            return 201, post
        m = re.fullmatch(r"/api/v4/posts/([^/]+)(/patch)?", path)
        if method == "PUT" and m:
            post_id, patch = m.group(1), bool(m.group(2))
            with self._cond:
                post = self.posts.get(post_id)
                if post is None:
                    raise E(404, "app.post.get.app_error", "Unable to get the post.")
                if not patch and body.get("id") != post_id:
                    raise E(
                        400,
                        "api.context.invalid_body_param.app_error",
                        "Invalid or missing id in request body.",
                    )
                if patch:
                    for key in ("message", "props", "file_ids", "is_pinned", "has_reactions"):
                        if key in body:
                            post[key] = body[key]
                else:  # update: omitted fields are treated as blank
                    post["message"] = body.get("message", "")
                    post["props"] = body.get("props") or {}
                    post["is_pinned"] = bool(body.get("is_pinned", False))
                post["update_at"] = post["edit_at"] = _millis()
                post.setdefault("history", []).append({"message": post["message"], "props": post["props"]})
                return 200, {k: v for k, v in post.items() if k != "history"}
        if method == "POST" and path == "/api/v4/files":
            channel_id = form.get("channel_id") or query.get("channel_id")
            upload = form.get("files")
            if not channel_id or not isinstance(upload, dict):
                raise E(
                    400,
                    "api.file.upload_file.incorrect_number_of_files.app_error",
                    "Unable to upload files. Incorrect number of files specified.",
                )
            info = {
                "id": _new_id(),
                "user_id": self.bot_user_id,
                "post_id": "",
                "create_at": _millis(),
                "update_at": 0,
                "delete_at": 0,
                "name": upload["filename"],
                "extension": upload["filename"].rsplit(".", 1)[-1],
                "size": len(upload["content"]),
                "mime_type": upload["content_type"],
                "width": 0,
                "height": 0,
                "has_preview_image": False,
            }
            with self._cond:
                self.files[info["id"]] = {**info, "content": upload["content"], "channel_id": channel_id}
            return 201, {"file_infos": [info], "client_ids": []}
        if method == "POST" and path == "/api/v4/channels/direct":
            users = body if isinstance(body, list) else []
            if self.bot_user_id not in users:  # "Must be one of the two users"
                raise E(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
            other = next((u for u in users if u != self.bot_user_id), self.bot_user_id)
            with self._cond:
                if other not in self.direct_channels:
                    now = _millis()
                    self.direct_channels[other] = {
                        "id": _new_id(),
                        "create_at": now,
                        "update_at": now,
                        "delete_at": 0,
                        "team_id": "",
                        "type": "D",
                        "display_name": "",
                        "name": "__".join(sorted((self.bot_user_id, other))),
                        "header": "",
                        "purpose": "",
                        "last_post_at": 0,
                        "total_msg_count": 0,
                        "creator_id": self.bot_user_id,
                    }
                return 201, dict(self.direct_channels[other])
        if method == "POST" and path == "/api/v4/actions/dialogs/open":
            trigger = body.get("trigger_id", "")
            with self._cond:
                if trigger not in self.issued_triggers:
                    raise E(
                        400,
                        "interactive_message.decode_trigger_id.signature_decode_failed",
                        "Failed to decode the trigger ID for interactive dialog.",
                    )
                self.issued_triggers.discard(trigger)
                self.dialogs.append(body)
            return 200, {"status": "OK"}
        m = re.fullmatch(r"/api/v4/teams/name/([^/]+)", path)
        if method == "GET" and m:
            team_id = self.teams.get(m.group(1))
            if team_id is None:
                raise E(404, "app.team.get_by_name.missing.app_error", "Unable to find the existing team.")
            return 200, {"id": team_id, "name": m.group(1), "display_name": m.group(1).title(), "type": "O"}
        if method == "GET" and path == "/api/v4/commands":
            team_id = query.get("team_id", "")
            with self._cond:
                found = [c for c in self.commands.values() if c["team_id"] == team_id]
            return 200, found
        if method == "POST" and path == "/api/v4/commands":
            extra = {k: v for k, v in body.items() if k not in ("team_id", "trigger", "url")}
            if body.get("method") not in ("P", "G"):
                raise E(400, "model.command.is_valid.method.app_error", "Invalid Method")
            return 201, self.add_command(body.get("team_id", ""), body.get("trigger", ""), body.get("url", ""), **extra)
        m = re.fullmatch(r"/api/v4/commands/([^/]+)", path)
        if method == "PUT" and m:
            with self._cond:
                command = self.commands.get(m.group(1))
                if command is None:
                    raise E(404, "app.command.getcommand.app_error", "Unable to get the command.")
                if body.get("id") and body["id"] != command["id"]:
                    raise E(400, "api.command.update.app_error", "Invalid command id.")
                for key, value in body.items():
                    if key not in ("id", "token", "create_at", "creator_id", "team_id"):
                        command[key] = value
                command["update_at"] = _millis()
                return 200, dict(command)
        raise E(404, "api.context.404.app_error", f"Sorry, we could not find the page ({method} {path}).")

    def _new_post(self, body: dict[str, Any]) -> dict[str, Any]:
        now = _millis() * 1000 + next(self._seq) % 1000  # strictly increasing create order
        return {
            "id": _new_id(),
            "create_at": now,
            "update_at": now,
            "edit_at": 0,
            "delete_at": 0,
            "is_pinned": False,
            "user_id": self.bot_user_id,
            "channel_id": body.get("channel_id", ""),
            "root_id": body.get("root_id", ""),
            "original_id": "",
            "message": body.get("message", ""),
            "type": "",
            "props": body.get("props") or {},
            "hashtags": "",
            "file_ids": list(body.get("file_ids") or []),
            "pending_post_id": "",
            "metadata": {},
        }


def post_action(
    session: requests.Session, fake: FakeMattermost, url: str, payload: dict[str, Any], timeout: float = 10
) -> requests.Response:
    """Send a button click as the server does (``payload``: a PostActionIntegrationRequest) and, as
    the server does before it answers the clicker's client, apply the integration's answer."""
    reply = session.post(url, data=json.dumps(payload), headers={"Content-Type": "application/json"}, timeout=timeout)
    if reply.status_code == 200 and payload.get("post_id"):
        try:
            answer = reply.json()
        except ValueError:
            answer = None
        fake.integration_answered(str(payload["post_id"]), str(payload.get("user_id") or ""), answer)
    return reply


# Props the server keeps on a post whatever an integration's update says (integration_action.go).
_SERVER_PROPS = ("from_webhook", "override_username", "override_icon_url")


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """Parse multipart/form-data with the stdlib email parser (cgi is deprecated)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + raw
    )
    fields: dict[str, Any] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            fields[str(name)] = {
                "filename": filename,
                "content": payload,
                "content_type": part.get_content_type(),
            }
        else:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields


def _make_handler(fake: FakeMattermost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeMattermost/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out_headers, out = fake._handle(self.command, self.path, headers, raw)
            self.send_response(status)
            for key, value in out_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler
