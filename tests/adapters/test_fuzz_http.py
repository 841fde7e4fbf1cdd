"""Hostile input at the HTTP boundary of all three endpoints (issue 8), with Hypothesis.

Requests reach the real server (bot.runtime.web) and the real adapters, service and Redis store; the
platforms' Web APIs are the local fakes. Slack requests are correctly signed (tests/fakes/slack_signing),
Mattermost commands carry a valid token and button contexts a valid signature, so what is exercised is
the bot's handling of the CONTENT: wrong types, missing and extra fields, unicode and control
characters, huge values, unknown ids. Properties: never a 5xx, never a traceback or an HTML page in a
response, and no change to any check from a request that is refused. Deterministic under the "ci"
profile (tests/conftest.py); example counts are kept small so the file runs in seconds.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import redis
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.adapters.mattermost.routes import build_mattermost_adapter
from bot.adapters.mattermost.signing import ContextSigner
from bot.adapters.slack import blocks as sb
from bot.adapters.slack.app import build_slack_adapter
from bot.app import build_service
from bot.config import load_settings
from bot.runtime.web import ServerHandle, create_web_app, serve_in_thread
from bot.store.store import Store
from tests.conftest import LateServer
from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_signing import SlackSender
from tests.fakes.socket_mode import FakeSocketMode

SLACK_SECRET = "fuzz-signing-secret-0123456789"
MM_SECRET = "fuzz-secret-for-mattermost-0123456789"
MM_TOKEN = "fuzzcommandtoken"
TEAM, CHANNEL = "team1", "C0FUZZ001"
USER = "U0FUZZ001"
PREFIX = "test"  # the store fixture's key prefix (tests/conftest.py)
FUZZ = settings(max_examples=40)

# --- hostile values -------------------------------------------------------------------------------

controls = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=31), min_size=1, max_size=8)
unicode_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(""),
    unicode_text,
    controls,
    st.sampled_from(["¹", "①", "٣", "𝟑", "ⅷ", "<!channel>", "<html>", "null", "0", "-1", "999999"]),
    st.just("x" * 20000),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with one to three fields (at any depth) replaced by hostile values, removed, or added."""
    data = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        node: Any = data
        while isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], (dict, list)):
                break
            child = node[key]
            if isinstance(child, list):
                if not child or not isinstance(child[0], dict):
                    break
                child = child[0]
            node = child
        if not isinstance(node, dict):
            continue
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        if op == "add" or not node:
            node[draw(st.text(max_size=10))] = draw(values)
        elif op == "delete":
            del node[draw(st.sampled_from(sorted(node)))]
        else:
            node[draw(st.sampled_from(sorted(node)))] = draw(values)
    return data


def assert_clean(status: int, body: bytes) -> None:
    assert status < 500, (status, body[:300])
    text = body.decode("utf-8", "replace").lower()
    assert "traceback" not in text, text[:300]
    assert "<html" not in text and "<!doctype" not in text, text[:300]


def session_state(client: redis.Redis, prefix: str) -> dict[str, Any]:
    """Every check's data (sessions, running pointers, history), not de-duplication marks."""
    state: dict[str, Any] = {}
    for kind in ("s", "ch", "hist"):
        for key in sorted(client.scan_iter(f"{prefix}:{kind}:*")):
            kind_of = client.type(key)
            if kind_of == "hash":
                state[key] = client.hgetall(key)
            elif kind_of == "string":
                state[key] = client.get(key)
            elif kind_of == "zset":
                state[key] = client.zrange(key, 0, -1)
    return state


# --- Slack ----------------------------------------------------------------------------------------


@dataclass
class SlackEnv:
    sender: SlackSender
    client: redis.Redis
    session: requests.Session

    def post(self, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> tuple[int, bytes]:
        prepared = self.sender.prepare(body.decode("utf-8", "surrogatepass"), content_type=content_type)
        reply = self.session.post(self.sender.url, data=body, headers=prepared.headers, timeout=10)
        return reply.status_code, reply.content


@pytest.fixture
def slack(store: Store, redis_client: redis.Redis) -> Iterator[SlackEnv]:
    with FakeSlackApi() as fake:
        config = load_settings(
            {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SLACK_SECRET, "SLACK_API_URL": fake.url}
        )
        adapter = build_slack_adapter(config, build_service(config, store), store)
        server = serve_in_thread(create_web_app(adapter.routes(), ready=lambda: True))
        sender = SlackSender(server.url + "/slack/events", SLACK_SECRET, hooks_url=fake.hooks_url)
        session = requests.Session()
        try:
            yield SlackEnv(sender, redis_client, session)
        finally:
            session.close()
            server.stop()
            adapter.close()


def _slack_bases(sender: SlackSender) -> dict[str, dict[str, Any]]:
    ref = sb.Ref(session_id=uuid.uuid4().hex, question_id="q_unknown", number=1).encode()
    button = {
        "action_id": f"{sb.ANSWER}:1",
        "type": "button",
        "text": {"type": "plain_text", "text": "1"},
        "value": ref,
    }
    click = sender.block_actions_payload(CHANNEL, USER, "1700000000.000100", button)
    modal = {"type": "modal", "callback_id": sb.ANSWER_VIEW, "private_metadata": ref, "id": "V0FUZZ"}
    submit = sender.view_submission_payload(USER, modal, {sb.INPUT_BLOCK: {sb.INPUT_ACTION: "text"}})
    return {"click": click, "submit": submit}


@FUZZ
@example(kind="raw", payload={}, raw="payload=%7Bnot-json", content_type="application/x-www-form-urlencoded")
@example(kind="raw", payload={}, raw="payload=%5B1%2C2%5D", content_type="application/x-www-form-urlencoded")
@example(kind="raw", payload={}, raw="payload=null", content_type="application/x-www-form-urlencoded")
@example(kind="raw", payload={}, raw="user_id=U1&text=hi&command=%2Fx", content_type="application/json")
@example(kind="click", payload={"actions": []}, raw="", content_type="")
@example(kind="click", payload={"actions": [{"action_id": 5}]}, raw="", content_type="")
@example(kind="click", payload={"user": "U1"}, raw="", content_type="")
@example(kind="click", payload={"channel": "C1", "container": "x"}, raw="", content_type="")
@example(kind="submit", payload={"view": "a string"}, raw="", content_type="")
@example(kind="submit", payload={"view": {"private_metadata": "x"}}, raw="", content_type="")
@given(
    kind=st.sampled_from(["click", "submit", "raw"]),
    payload=st.just({}),
    raw=st.one_of(unicode_text, st.text(max_size=200)),
    content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", ""]),
)
def test_slack_events_never_fail_on_hostile_payloads(
    slack: SlackEnv, kind: str, payload: dict[str, Any], raw: str, content_type: str
) -> None:
    before = session_state(slack.client, PREFIX)
    if kind == "raw":
        status, body = slack.post(
            raw.encode("utf-8", "surrogatepass"), content_type or "application/x-www-form-urlencoded"
        )
    else:
        data = dict(_slack_bases(slack.sender)[kind], **payload)
        status, body = slack.post(
            slack.sender.payload_body(data).encode(), content_type or "application/x-www-form-urlencoded"
        )
    assert_clean(status, body)
    if kind != "raw":  # ours: acked (or refused) at once, never bolt's 404 after a 3-second wait
        assert status in (200, 400), status
    if body.startswith(b"{") and json.loads(body).get("ok") is False:  # the guard refused it at once
        assert session_state(slack.client, PREFIX) == before


@FUZZ
@given(data=st.data(), kind=st.sampled_from(["click", "submit"]))
def test_slack_mutated_interactions_are_acked_or_refused(slack: SlackEnv, data: st.DataObject, kind: str) -> None:
    payload = data.draw(mutated(_slack_bases(slack.sender)[kind]))
    status, body = slack.post(slack.sender.payload_body(payload).encode())
    assert_clean(status, body)
    assert status in (200, 400, 404), status


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["text", "user_id", "channel_id", "team_id", "user_name", "command", "trigger_id", "extra"]),
        st.one_of(unicode_text, controls, st.just(""), st.just("y" * 5000)),
        max_size=4,
    ),
    drop=st.sets(st.sampled_from(["user_id", "channel_id", "text", "command"]), max_size=2),
)
def test_slack_slash_commands_with_hostile_fields(slack: SlackEnv, fields: dict[str, str], drop: set[str]) -> None:
    form = dict(
        {"team_id": TEAM, "channel_id": CHANNEL, "user_id": USER, "command": "/socialmedia-check", "text": "status"},
        **fields,
    )
    for name in drop:
        form.pop(name, None)
    status, body = slack.post(urlencode(form).encode())
    assert_clean(status, body)


# --- Mattermost -----------------------------------------------------------------------------------


@dataclass
class MattermostEnv:
    url: str
    client: redis.Redis
    session: requests.Session
    signer: ContextSigner
    session_id: str
    question_id: str

    def post(self, path: str, body: bytes, content_type: str, **headers: str) -> tuple[int, bytes]:
        reply = self.session.post(
            self.url + path, data=body, headers={"Content-Type": content_type, **headers}, timeout=10
        )
        return reply.status_code, reply.content


@pytest.fixture
def mattermost(store: Store, redis_client: redis.Redis) -> Iterator[MattermostEnv]:
    with FakeMattermost() as fake:
        bound = LateServer()  # bound first: buttons call back to SMC_PUBLIC_URL, the server's own URL
        try:
            config = load_settings(
                {
                    "MATTERMOST_URL": fake.url,
                    "MATTERMOST_BOT_TOKEN": fake.token,
                    "MATTERMOST_COMMAND_TOKEN": MM_TOKEN,
                    "SMC_SECRET": MM_SECRET,
                    "SMC_PUBLIC_URL": bound.url,
                }
            )
            service = build_service(config, store)
            adapter = build_mattermost_adapter(config, service, store, coalesce_window=0.2)
        except BaseException:
            bound.discard()
            raise
        server: ServerHandle = bound.serve(create_web_app(adapter.routes(), store.ping))
        session = requests.Session()
        form = {
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "user_id": USER,
            "user_name": "fae",
            "text": "start",
            "token": MM_TOKEN,
        }
        started = session.post(server.url + "/mattermost/command", data=form, timeout=10)
        assert started.status_code == 200, started.text
        running = store.load_running(f"mattermost:{TEAM}:{CHANNEL}")
        assert running is not None
        try:
            yield MattermostEnv(
                server.url, redis_client, session, ContextSigner(MM_SECRET), running.id, running.meta.state
            )
        finally:
            adapter.wait_idle(20)
            session.close()
            server.stop()
            adapter.close()


@FUZZ
@example(fields={"text": "answer ¹"}, drop=set())
@example(fields={"text": "start --quorum ①"}, drop=set())
@example(fields={"user_id": ""}, drop=set())
@given(
    fields=st.dictionaries(
        st.sampled_from(["text", "user_id", "channel_id", "team_id", "user_name", "trigger_id", "extra"]),
        st.one_of(unicode_text, controls, st.just(""), st.just("z" * 5000)),
        max_size=4,
    ),
    drop=st.sets(st.sampled_from(["user_id", "channel_id", "team_id", "text"]), max_size=2),
)
def test_mattermost_commands_with_hostile_fields(
    mattermost: MattermostEnv, fields: dict[str, str], drop: set[str]
) -> None:
    form = dict(
        {"team_id": TEAM, "channel_id": CHANNEL, "user_id": USER, "text": "status", "token": MM_TOKEN}, **fields
    )
    for name in drop:
        form.pop(name, None)
    before = session_state(mattermost.client, PREFIX)
    status, body = mattermost.post("/mattermost/command", urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert_clean(status, body)
    if status >= 400 or not form.get("user_id", "").strip():
        assert session_state(mattermost.client, PREFIX) == before


@st.composite
def refused_contexts(draw: st.DrawFn, env: MattermostEnv) -> dict[str, Any]:
    """A validly signed context that must be refused: unknown ids, or an option that is no number."""
    fields: dict[str, Any] = {
        "a": draw(st.sampled_from(["answer", "toggle", "next", "event", "dlganswer", "nonsense"])),
        "s": env.session_id,
        "q": env.question_id,
        "o": draw(st.sampled_from(["1", "2", "¹", "①", "٣", "𝟑", "0", "-1", "999", ""])),
        "c": CHANNEL,
        "t": TEAM,
        "e": draw(st.sampled_from(["", "next", "unknown", "decide"])),
        "n": draw(st.text(alphabet="0123456789abcdef", min_size=8, max_size=8)),
    }
    which = draw(st.sampled_from(["session", "question", "option"]))
    if which == "session":
        fields["s"] = draw(st.one_of(st.just(uuid.uuid4().hex), unicode_text.filter(bool)))
    elif which == "question":
        fields["q"] = draw(st.one_of(st.just("q_unknown"), unicode_text.filter(lambda q: q != env.question_id)))
    else:
        fields["a"] = draw(st.sampled_from(["answer", "toggle"]))
        fields["o"] = draw(st.sampled_from(["¹", "①", "٣", "𝟑", "ⅷ", "0", "-1", "1.0", "9999", " 1", ""]))
    return env.signer.sign(**{k: v for k, v in fields.items() if v not in (None, "")})


@FUZZ
@given(data=st.data())
def test_mattermost_actions_refuse_unknown_ids_and_bad_numbers(mattermost: MattermostEnv, data: st.DataObject) -> None:
    context = data.draw(refused_contexts(mattermost))
    payload: dict[str, Any] = {
        "user_id": data.draw(st.one_of(st.just(USER), st.just("U0OTHER02"), st.just(""))),
        "user_name": data.draw(unicode_text),
        "channel_id": CHANNEL,
        "team_id": TEAM,
        "trigger_id": data.draw(st.text(alphabet="abc123", max_size=12)),
        "type": "button",
        "context": context,
    }
    payload = data.draw(st.one_of(st.just(payload), mutated(payload)))
    before = session_state(mattermost.client, PREFIX)
    status, body = mattermost.post("/mattermost/actions", json.dumps(payload).encode(), "application/json")
    assert_clean(status, body)
    if context.get("a") not in ("dlganswer",):  # opening a dialog records nothing either
        assert session_state(mattermost.client, PREFIX) == before


@FUZZ
@example(body=b"not json", content_type="application/json")
@example(body=b"[1,2]", content_type="application/json")
@example(body=b"null", content_type="application/json")
@example(body=b'{"type": "dialog_submission", "state": 5}', content_type="application/json")
@example(body=b'{"context": "x", "user_id": ["a"]}', content_type="application/json")
@given(
    body=st.one_of(
        st.binary(max_size=200),
        values.map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda v: json.dumps({"type": "dialog_submission", "state": v, "submission": v, "user_id": USER}).encode(),
            values,
        ),
    ),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
)
def test_mattermost_actions_with_hostile_bodies(mattermost: MattermostEnv, body: bytes, content_type: str) -> None:
    before = session_state(mattermost.client, PREFIX)
    status, reply = mattermost.post("/mattermost/actions", body, content_type)
    assert_clean(status, reply)
    assert session_state(mattermost.client, PREFIX) == before


# --- the server itself ----------------------------------------------------------------------------


@FUZZ
@given(
    path=st.sampled_from(["/", "/nope", "/slack/events", "/mattermost/actions", "/healthz", "/%ff", "/x" * 300]),
    method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "POST"]),
)
def test_unknown_routes_and_methods_answer_json(mattermost: MattermostEnv, path: str, method: str) -> None:
    reply = mattermost.session.request(method, mattermost.url + path, data=b"{}", timeout=10)
    assert_clean(reply.status_code, reply.content)
    if reply.status_code >= 400:
        assert reply.headers["Content-Type"].startswith("application/json")
        json.loads(reply.content)


# --- Slack over Socket Mode: the same shape checks (bot.adapters.slack.guard.middleware) ---------


def test_socket_mode_acks_unusable_payloads_and_records_nothing(store: Store, redis_client: redis.Redis) -> None:
    with FakeSocketMode() as socket_server, FakeSlackApi(socket_mode_url=socket_server.url) as fake:
        config = load_settings(
            {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_APP_TOKEN": "xapp-1-test", "SLACK_API_URL": fake.url}
        )
        adapter = build_slack_adapter(config, build_service(config, store), store)
        runner = threading.Thread(target=adapter.start_socket_mode, name="socket-mode", daemon=True)
        runner.start()
        try:
            socket_server.wait_connected()
            sender = SlackSender("unused", "unused")
            bases = _slack_bases(sender)
            hostile = [
                dict(bases["click"], user="U0FUZZ001"),
                dict(bases["click"], actions=[]),
                dict(bases["click"], actions=[{"action_id": 7}]),
                dict(bases["click"], channel="C1", container="x"),
                dict(bases["click"], user={"id": ""}),
                dict(bases["submit"], view="a string"),
                dict(bases["submit"], view={"callback_id": sb.ANSWER_VIEW, "private_metadata": "x"}),
            ]
            before = session_state(redis_client, PREFIX)
            for payload in hostile:
                envelope_id = socket_server.send("interactive", payload)
                assert socket_server.wait_ack(envelope_id)["envelope_id"] == envelope_id
            command = dict(parse_qsl(sender.command_body(CHANNEL, "", "start"), keep_blank_values=True))
            socket_server.wait_ack(socket_server.send("slash_commands", command))  # no user id
            assert session_state(redis_client, PREFIX) == before
            assert fake.calls("chat.postMessage") == []
        finally:
            adapter.close()
            runner.join(10)
        assert not runner.is_alive()
