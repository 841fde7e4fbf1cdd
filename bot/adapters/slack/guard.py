"""A gate in front of bolt: Slack requests the bot cannot use are answered at once, never with a 500.

Bolt parses the body while building its request (before it verifies anything), and the listeners trust
the payload's shape; a correctly signed but malformed payload (``payload`` not JSON, ``actions`` empty,
``user`` a string, a view without ``state`` …) used to end in Flask's HTML error page or a 3-second
wait and a 404. :func:`screen_http` verifies the signature itself (the v0 scheme, with slack_sdk's
:class:`SignatureVerifier`), parses the body the way bolt does and inspects it: unusable requests get
a JSON 200 ack (Slack must not retry them) or a 400, plus a log line. What it verified and parsed goes
on to bolt as it is (:func:`bolt_request`): parsing a form-encoded payload was a fifth of a click's
CPU, and bolt would have verified and parsed it a second time. :class:`ShapeGuard` applies the
same shape checks to Socket Mode deliveries, which arrive already parsed and need no signature.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk.signature import SignatureVerifier

from bot.runtime.http_types import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

MAX_ID = 255  # Slack ids are short; anything longer is not one
OUR_TYPES = ("block_actions", "view_submission", "view_closed")
PASSED_THROUGH = ("url_verification", "ssl_check", "event_callback")  # Events API plumbing bolt answers itself


def screen_http(request: HttpRequest, signing_secret: str) -> HttpResponse | BoltRequest:
    """The request for bolt to dispatch, verified and parsed; or the answer to send right away."""
    verifier = _verifier(signing_secret)
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not verifier.is_valid_request(request.body, headers):
        return HttpResponse.json(401, {"error": "invalid request"})
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "the body is not UTF-8")
    try:
        body = _parse(text, headers.get("content-type", ""))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return _refuse(400, f"the body cannot be parsed ({exc})")
    reason = problem(body)
    if reason is not None:
        return _refuse(200, reason)
    assert isinstance(body, dict)  # problem() refuses anything else
    return bolt_request(text, body, request)


def bolt_request(text: str, body: dict[str, Any], request: HttpRequest) -> BoltRequest:
    """A BoltRequest of a body already verified and parsed here. Only bolt's "socket_mode" takes a
    parsed body; the mode is set back to "http" (it decides nothing else but signature checks, which
    :func:`screen_http` made and the bolt app is configured to skip)."""
    bolt = BoltRequest(body=body, query=dict(request.query), headers=dict(request.headers), mode="socket_mode")
    bolt.raw_body = text
    bolt.mode = "http"
    return bolt


class ShapeGuard(Middleware):
    """A bolt global middleware: ack (200, empty) and log what :func:`problem` refuses; else go on.

    Class-based on purpose: bolt builds every keyword argument for function middleware up front,
    ``action`` included, which itself raises on an empty ``actions`` list.
    """

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        reason = problem(req.body)
        if reason is not None:
            log.warning("refused a Slack delivery: %s", reason)
            return BoltResponse(status=200, body="")
        return next()


def problem(body: object) -> str | None:
    """Why the bot cannot use this (parsed) Slack body, or None when it can be dispatched."""
    if not isinstance(body, dict):
        return f"the payload is a {type(body).__name__}, not an object"
    if not body:
        return "the payload is empty"
    if "command" in body:
        return _command_problem(body)
    kind = body.get("type")
    # bolt reads these fields as objects even to log a request it has no listener for
    for field in ("team", "channel", "container", "message", "enterprise", "view", "event"):
        if body.get(field) is not None and not isinstance(body[field], dict):
            return f"{field} is a {type(body[field]).__name__}, not an object"
    if kind not in OUR_TYPES:
        if kind in PASSED_THROUGH:
            return None  # bolt answers those as before
        return f"a payload of type {str(kind)[:40]!r}, which this bot does not handle"
    for field in ("trigger_id", "response_url"):
        if body.get(field) is not None and not isinstance(body[field], str):
            return f"{field} is not a string"
    urls = body.get("response_urls")
    if urls is not None and not (isinstance(urls, list) and all(isinstance(u, dict) for u in urls)):
        return "response_urls is not a list of objects"
    user = body.get("user")
    if not isinstance(user, dict) or not _is_id(user.get("id")):
        return "no usable user id"
    if kind == "block_actions":
        return _where_problem(body) or _actions_problem(body.get("actions"))
    return _view_problem(body.get("view"), submission=kind == "view_submission")


def _command_problem(body: dict[str, Any]) -> str | None:
    for field in ("command", "text", "channel_id", "user_id", "team_id", "user_name", "trigger_id"):
        if field in body and not isinstance(body[field], str):
            return f"{field} is not a string"
    if not _is_id(body.get("user_id")):
        return "no usable user id"
    if not _is_id(body.get("channel_id")):
        return "no usable channel id"
    return None


def _where_problem(body: dict[str, Any]) -> str | None:
    channel, container, message = body.get("channel") or {}, body.get("container") or {}, body.get("message") or {}
    if not (_is_id(channel.get("id")) or _is_id(container.get("channel_id"))):
        return "no usable channel id"
    for part in (channel, container, message):
        for field in ("id", "channel_id", "thread_ts", "ts", "message_ts"):
            if part.get(field) is not None and not isinstance(part[field], str):
                return f"{field} is not a string"
    return None


def _actions_problem(actions: object) -> str | None:
    if not isinstance(actions, list) or not actions:
        return "actions is not a non-empty list"
    for action in actions:
        if not isinstance(action, dict):
            return "an action is not an object"
        if not isinstance(action.get("action_id"), str) or not action["action_id"]:
            return "an action_id is not a string"
        for field in ("value", "block_id", "action_ts"):
            if action.get(field) is not None and not isinstance(action[field], str):
                return f"an action's {field} is not a string"
        selected = action.get("selected_option")
        if selected is not None and not isinstance(selected, dict):
            return "selected_option is not an object"
        options = action.get("selected_options")
        if options is not None and not (isinstance(options, list) and all(isinstance(o, dict) for o in options)):
            return "selected_options is not a list of objects"
    return None


def _view_problem(view: object, *, submission: bool) -> str | None:
    if not isinstance(view, dict):
        return "view is not an object"
    for field in ("id", "hash", "callback_id", "private_metadata"):
        if view.get(field) is not None and not isinstance(view[field], str):
            return f"view.{field} is not a string"
    if not submission:
        return None
    state = view.get("state")
    if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
        return "the view submission has no state.values object"
    for block in state["values"].values():
        if not isinstance(block, dict) or not all(isinstance(a, dict) for a in block.values()):
            return "state.values is not an object of objects"
    return None


def _is_id(value: object) -> bool:
    return isinstance(value, str) and len(value.strip()) > 0 and len(value) <= MAX_ID and value.isprintable()


def _parse(text: str, content_type: str) -> object:
    """The body as bolt's parse_body reads it, but raising ValueError instead of crashing later."""
    if not text:
        return {}
    if content_type.split(";")[0].strip().lower() == "application/json" or text.startswith("{"):
        return json.loads(text)
    params = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text:
        payload = params.get("payload")
        return json.loads(payload) if payload is not None else {}
    return params


def _refuse(status: int, reason: str) -> HttpResponse:
    log.warning("refused a Slack request (answered %s): %s", status, reason)
    return HttpResponse.json(status, {"ok": False, "error": "unusable request"})


@lru_cache(maxsize=4)
def _verifier(signing_secret: str) -> SignatureVerifier:
    return SignatureVerifier(signing_secret)
