"""The Slack adapter end to end over real HTTP.

Signed requests, built the way Slack sends them, go to the real server (bot.runtime.web and .wsgi)
into the real adapter, service, engine and Redis store; the bot's real slack_sdk client talks to a
fake Slack Web API on 127.0.0.1. Users "click" the buttons the bot actually rendered.
Nothing in bolt or slack_sdk is patched.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.adapters.slack import blocks as sb
from bot.adapters.slack.app import TOGGLE_GUARD_SECONDS, SlackAdapter, build_slack_adapter
from bot.adapters.slack.text import esc
from bot.app import build_service
from bot.config import load_settings
from bot.core.messages import ChannelKey, Event, Message, QuestionCard
from bot.runtime.clock import ManualClock
from bot.runtime.web import ServerHandle, create_web_app, serve_in_thread
from bot.store.store import Store
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi, Posted
from tests.fakes.slack_signing import SlackSender

SECRET = "test-signing-secret-0123456789"
CHANNEL = "C0CHECK01"
FACILITATOR = "U0FAC0001"
USERS = ("U0FAC0001", "U0USER002", "U0USER003", "U0USER004", "U0USER005")
CLOCK_START = 1_700_000_000.0  # epoch seconds, as time.time() gives the adapter in production
EVIL_NAME = "<!channel>"  # a display name that must never ping anyone
NAMES = {
    "U0FAC0001": "fae",
    "U0USER002": "bob",
    "U0USER003": "cy",
    "U0USER004": EVIL_NAME,
    "U0USER005": "eve",
}


@dataclass
class Env:
    fake: FakeSlackApi
    adapter: SlackAdapter
    server: ServerHandle
    sender: SlackSender
    store: Store
    channel: str = CHANNEL
    # The adapter's clock (double-click guard), moved by hand, and the Retry-After waits its Web API
    # client asked for (recorded, not slept).
    clock: ManualClock = field(default_factory=lambda: ManualClock(start=CLOCK_START))
    waits: list[float] = field(default_factory=list)

    # --- reading what Slack shows -------------------------------------------------------------

    def header(self, timeout: float = 10) -> Posted:
        self.fake.wait_until(lambda f: bool(f.channel_messages(self.channel)), timeout)
        return self.fake.channel_messages(self.channel)[0]

    def questions(self) -> list[Posted]:
        header = self.header()
        return [m for m in self.fake.thread(self.channel, header.ts) if _is_question(m)]

    def wait_questions(self, count: int, timeout: float = 15) -> list[Posted]:
        self.fake.wait_until(lambda f: len(self.questions()) >= count, timeout)
        return self.questions()

    def ephemerals_for(self, user: str) -> list[dict[str, Any]]:
        return [e for e in self.fake.ephemerals if e["user"] == user]

    def wait_ephemeral(self, user: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        self.fake.wait_until(lambda f: len(self.ephemerals_for(user)) >= count, timeout)
        return self.ephemerals_for(user)

    # --- acting like a user ---------------------------------------------------------------------

    def slash(self, user: str, text: str, **kw: Any) -> int:
        return self.sender.slash(self.channel, user, text, user_name=NAMES.get(user, user), **kw).status

    def click(self, user: str, message: Posted, action_id: str, *, trigger_id: str | None = None, **extra: Any) -> int:
        element = dict(_element(message, action_id), **extra)
        reply = self.sender.click(
            self.channel,
            user,
            message.ts,
            element,
            user_name=NAMES.get(user, user),
            thread_ts=message.thread_ts,
            trigger_id=trigger_id or self.fake.trigger_id(),
        )
        return reply.status

    def open_modal(self, user: str, message: Posted, action_id: str) -> dict[str, Any]:
        """Click a button that opens a modal; return the view as Slack holds it."""
        trigger = self.fake.trigger_id()
        assert self.click(user, message, action_id, trigger_id=trigger) == 200
        opened = self.fake.wait_for("views.open", where=lambda c: c.params.get("trigger_id") == trigger)[-1]
        return dict(opened.response["view"])

    def submit_modal(self, user: str, view: dict[str, Any], text: str) -> Any:
        reply = self.sender.submit(
            user, view, {sb.INPUT_BLOCK: {sb.INPUT_ACTION: text}}, user_name=NAMES.get(user, user)
        )
        assert reply.status == 200, reply
        return reply


def _is_question(message: Posted) -> bool:
    return any(b.get("type") == "actions" for b in message.blocks) or ":lock:" in json.dumps(message.blocks)


def _elements(message: Posted) -> list[dict[str, Any]]:
    return [
        dict(el, block_id=b.get("block_id", ""))
        for b in message.blocks
        if b.get("type") == "actions"
        for el in b["elements"]
    ]


def _element(message: Posted, action_id: str) -> dict[str, Any]:
    for el in _elements(message):
        if el["action_id"] == action_id:
            return el
    raise AssertionError(f"no {action_id} in {[e['action_id'] for e in _elements(message)]}")


def _text(message: Posted) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


@pytest.fixture
def fake() -> Iterator[FakeSlackApi]:
    """The fake Slack Web API; afterwards, nothing the bot sent broke the spec, Block Kit, or pinged."""
    with FakeSlackApi() as api:
        yield api
    assert api.violations == []
    assert api.mentions() == []


def make_env(
    fake: FakeSlackApi, store: Store, service: Any = None, window: float | None = None, **settings: str
) -> Iterator[Env]:
    config = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.url,
            **settings,
        }
    )
    service = service or build_service(config, store)
    clock, waits = ManualClock(start=CLOCK_START), []
    if window is None:
        adapter = build_slack_adapter(config, service, store, clock=clock.now, sleep=waits.append)
    else:  # a shorter tally window only to make long walks quicker; coalescing itself is tested as built
        adapter = SlackAdapter(config, service, store, coalesce_window=window, clock=clock.now, sleep=waits.append)
    server = serve_in_thread(create_web_app(adapter.routes(), ready=lambda: True))
    sender = SlackSender(server.url + "/slack/events", SECRET, trigger_id=fake.trigger_id, hooks_url=fake.hooks_url)
    try:
        yield Env(fake, adapter, server, sender, store, clock=clock, waits=waits)
    finally:
        server.stop()
        adapter.close()


@pytest.fixture
def env(fake: FakeSlackApi, store: Store) -> Iterator[Env]:
    yield from make_env(fake, store)


@pytest.fixture
def quick_env(fake: FakeSlackApi, store: Store) -> Iterator[Env]:
    yield from make_env(fake, store, window=0.2)


# --- a whole check -----------------------------------------------------------------------------------


@dataclass
class Given:
    """What the test users answered, to compare with the summary."""

    texts: list[str] = field(default_factory=list)
    choices: dict[str, int] = field(default_factory=dict)  # question text -> selections made


def answer_everything(
    env: Env, users: tuple[str, ...], *, decision: str = "1", concurrent: bool = True, max_questions: int = 60
) -> Given:
    """Every user answers every question by clicking what the bot shows; the facilitator moves on."""
    given = Given()
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=len(users))
    seen = 0
    try:
        for _ in range(max_questions):
            questions = env.wait_questions(seen + 1)
            seen = len(questions)
            message = questions[-1]
            ids = [e["action_id"] for e in _elements(message)]
            question = next(b["text"]["text"] for b in message.blocks if b["type"] == "section")

            def act(i_user: tuple[int, str], message: Posted = message, ids: list[str] = ids) -> None:
                i, user = i_user
                if sb.TEXT in ids:
                    view = env.open_modal(user, message, sb.TEXT)
                    is_text = view["blocks"][1]["element"].get("multiline", False)  # else a date
                    text = f"answer-{i}-{message.ts} <!here> & <@U0BOSS>" if is_text else "in 6 months"
                    env.submit_modal(user, view, text)
                    if is_text:
                        with lock:
                            given.texts.append(text)
                elif any(a.startswith(sb.TOGGLE + ":") for a in ids):
                    toggles = [a for a in ids if a.startswith(sb.TOGGLE + ":")]
                    for action_id in toggles[: 1 + i % 2]:  # one or two options, a click each
                        assert env.click(user, message, action_id) == 200
                else:
                    buttons = [a for a in ids if a.startswith(sb.ANSWER + ":")]
                    ref = sb.Ref.decode(_element(message, buttons[0])["value"])
                    is_decision = ref is not None and ref.question_id == "decision"
                    pick = decision if is_decision else str(1 + i % len(buttons))
                    assert env.click(user, message, f"{sb.ANSWER}:{pick}") == 200

            if sb.TEXT in ids:
                selections = 0
            elif any(a.startswith(sb.TOGGLE + ":") for a in ids):
                selections = sum(1 + i % 2 for i in range(len(users)))
            else:
                selections = len(users)
            given.choices[question] = selections
            if concurrent:
                list(pool.map(act, enumerate(users)))
            else:
                for pair in enumerate(users):
                    act(pair)
            expected = f"{len(users)} answered"
            env.fake.wait_until(lambda f, m=message, e=expected: e in _text(env.fake.message(env.channel, m.ts)), 15)
            assert env.click(FACILITATOR, message, sb.NEXT) == 200
            if _finished(env):
                break
            env.fake.wait_until(lambda f, n=seen: len(env.questions()) > n or _finished(env), 15)
            if _finished(env):
                break
    finally:
        pool.shutdown()
    return given


def _finished(env: Env) -> bool:
    return len(env.fake.channel_messages(env.channel)) >= 2  # the header, then the summary


def summary_messages(env: Env) -> list[Posted]:
    top = env.fake.channel_messages(env.channel)[1:]
    out: list[Posted] = []
    for message in top:
        out.append(message)
        out += env.fake.thread(env.channel, message.ts)
    return out


def test_whole_check_five_users_clicking_at_once(quick_env: Env) -> None:
    env = quick_env
    assert env.slash(FACILITATOR, "start en") == 200
    header = env.header()
    first = env.wait_questions(1)[0]
    assert first.thread_ts == header.ts  # questions live in the check's thread

    given = answer_everything(env, USERS)

    env.fake.wait_until(lambda f: _finished(env), 20)
    env.fake.wait_for("files.completeUploadExternal", 1, timeout=20)
    env.adapter.coalescer.wait_idle(10)
    summary = "".join(_text(m) for m in summary_messages(env))
    details = answers_part(summary_messages(env))
    for text in given.texts:  # every typed answer exactly once (escaped: it quoted <!here> and <@…>)
        assert details.count(esc(text)) == 1, text
    for question, selections in given.choices.items():
        chunk = _question_chunk(details, question)
        counted = sum(int(n) for n in re.findall(r": \*(\d+)\*", chunk))
        assert counted == selections, (question, chunk[:400])
    upload = env.fake.calls("files.completeUploadExternal")[0]
    assert upload.params["channel_id"] == env.channel
    assert env.fake.uploads[json.loads(upload.params["files"])[0]["id"]].startswith(b"\x89PNG")
    header_now = env.fake.message(env.channel, header.ts)
    assert header_now.updates >= 1 and ":white_check_mark:" in _text(header_now)
    closed = [m for m in env.questions() if not any(b["type"] == "actions" for b in m.blocks)]
    assert len(closed) == len(env.questions())  # every question lost its buttons when it closed
    assert "&lt;!channel&gt;" in summary  # the evil display name is shown, harmlessly


def answers_part(messages: list[Posted]) -> str:
    """The per-question part of the summary (after the decision, themes and concerns): mrkdwn only."""
    texts: list[str] = []
    for i, message in enumerate(messages):
        blocks = message.blocks
        if i == 0:
            dividers = [n for n, b in enumerate(blocks) if b["type"] == "divider"]
            blocks = blocks[dividers[2] + 1 :] if len(dividers) >= 3 else []
        texts += [b["text"]["text"] for b in blocks if b["type"] == "section"]
    return "\n\n".join(texts)


def _question_chunk(details: str, question: str) -> str:
    q = question.strip("*")
    start = details.find(q)
    assert start >= 0, q
    end = details.find("\n\n", start)
    return details[start : end if end > 0 else len(details)]


# --- retries, signatures, rate limits, coalescing ---------------------------------------------------


def test_retried_deliveries_are_handled_once(env: Env) -> None:
    start = env.sender.prepare(
        env.sender.command_body(CHANNEL, FACILITATOR, "start", user_name="fae", trigger_id=env.fake.trigger_id())
    )
    assert env.sender.send(start).status == 200
    retry = env.sender.prepare(start.body.decode(), retry_num=1)
    assert env.sender.send(retry).status == 200
    first = env.wait_questions(1)[0]
    env.adapter.coalescer.wait_idle(5)
    assert len(env.fake.channel_messages(CHANNEL)) == 1  # one header, not two

    # a note submitted twice (Slack retried the view_submission): stored once
    view = env.open_modal("U0USER002", first, sb.NOTE)
    payload = env.sender.view_submission_payload("U0USER002", view, {sb.INPUT_BLOCK: {sb.INPUT_ACTION: "worried"}})
    body = env.sender.payload_body(payload)
    assert env.sender.send(env.sender.prepare(body)).status == 200
    assert env.sender.send(env.sender.prepare(body, retry_num=1)).status == 200
    env.wait_ephemeral("U0USER002")
    # "next" typed once but delivered twice: the check moves by one question only
    nxt = env.sender.prepare(env.sender.command_body(CHANNEL, FACILITATOR, "next", user_name="fae"))
    assert env.sender.send(nxt).status == 200
    assert env.sender.send(env.sender.prepare(nxt.body.decode(), retry_num=2)).status == 200
    env.wait_questions(2)
    env.adapter.coalescer.wait_idle(5)
    env.fake.wait_until(lambda f: ":memo: 1" in _text(f.message(CHANNEL, first.ts)))
    assert len(env.questions()) == 2
    assert len(env.ephemerals_for("U0USER002")) == 1  # one "note saved"
    # a click delivered twice (same action_ts) is recorded once
    second = env.questions()[-1]
    element = dict(_element(second, f"{sb.ANSWER}:1"))
    click = env.sender.payload_body(
        env.sender.block_actions_payload(CHANNEL, "U0USER003", second.ts, element, thread_ts=second.thread_ts)
    )
    for attempt in (None, 1):
        assert env.sender.send(env.sender.prepare(click, retry_num=attempt)).status == 200
    env.fake.wait_until(lambda f: "1 answered" in _text(f.message(CHANNEL, second.ts)))
    env.adapter.coalescer.wait_idle(5)
    assert "1 answered" in _text(env.fake.message(CHANNEL, second.ts))


def test_a_click_racing_the_question_post_still_updates_its_tally(env: Env) -> None:
    # Slack shows the question (and a user clicks) before the bot has Slack's answer with its ts.
    release = env.fake.hold("chat.postMessage", skip=2)  # the header and "started" go through
    assert env.slash(FACILITATOR, "start") == 200
    env.fake.wait_until(lambda f: len(env.questions()) == 1)
    question = env.questions()[0]
    assert env.click("U0USER002", question, f"{sb.ANSWER}:2") == 200
    key = str(ChannelKey("slack", env.sender.team_id, CHANNEL))

    def recorded(_: FakeSlackApi) -> bool:
        record = env.store.load_running(key)
        return record is not None and bool(record.answers_to("strategy"))

    env.fake.wait_until(recorded, 10, poll=0.05)  # the answer is in; its tally update now needs the ts
    release.set()
    env.fake.wait_until(lambda f: "1 answered" in _text(f.message(CHANNEL, question.ts)), 10)


def test_forged_and_stale_signatures_are_refused(env: Env, store: Store) -> None:
    body = env.sender.command_body(CHANNEL, FACILITATOR, "start")
    forged = env.sender.prepare(body, secret="not-the-secret")
    stale = env.sender.prepare(body, timestamp=int(time.time()) - 6 * 60)
    tampered = env.sender.prepare(body)
    tampered = type(tampered)(tampered.body.replace(b"start", b"stop!"), tampered.headers)
    unsigned = type(tampered)(body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    for request in (forged, stale, tampered, unsigned):
        reply = env.sender.send(request)
        assert reply.status == 401, reply
    assert env.fake.calls("chat.postMessage") == []
    assert env.fake.calls("chat.postEphemeral") == []
    assert store.load_running(str(ChannelKey("slack", env.sender.team_id, CHANNEL))) is None
    # the same request, properly signed, works
    assert env.sender.send(env.sender.prepare(body)).status == 200
    env.wait_questions(1)


def test_rate_limited_calls_are_retried_after_retry_after(env: Env) -> None:
    """Each 429 is retried only after a wait of its Retry-After (plus the SDK's up to 1 s of jitter);
    the waits are recorded, not slept, so the test asserts what the client asked for."""
    env.fake.rate_limit("chat.postMessage", times=2, retry_after=3)
    assert env.slash(FACILITATOR, "start") == 200
    env.wait_questions(1, timeout=20)
    attempts = env.fake.calls("chat.postMessage", include_rejected=True)
    assert [a.status for a in attempts[:3]] == [429, 429, 200]
    assert attempts[0].response_headers.get("Retry-After") == "3"
    assert len(env.waits) == 2 and all(3.0 <= w < 4.0 for w in env.waits), env.waits
    assert len(env.fake.channel_messages(CHANNEL)) == 1

    question = env.questions()[0]
    env.fake.rate_limit("chat.update", times=2, retry_after=1)
    assert env.click("U0USER002", question, f"{sb.ANSWER}:1") == 200
    env.fake.wait_until(lambda f: "1 answered" in _text(f.message(CHANNEL, question.ts)), 20)
    updates = env.fake.calls("chat.update", include_rejected=True)
    assert [u.status for u in updates[:3]] == [429, 429, 200]
    assert len(env.waits) == 4 and all(1.0 <= w < 2.0 for w in env.waits[2:]), env.waits


def test_thirty_clicks_in_a_second_cost_at_most_three_updates(env: Env) -> None:
    assert env.slash(FACILITATOR, "start") == 200
    question = env.wait_questions(1)[0]
    env.adapter.coalescer.wait_idle(5)
    element = _element(question, f"{sb.ANSWER}:2")
    bodies = [
        env.sender.prepare(
            env.sender.payload_body(
                env.sender.block_actions_payload(
                    CHANNEL,
                    f"U0CLICK{i:03d}",
                    question.ts,
                    element,
                    thread_ts=question.thread_ts,
                    user_name=f"clicker{i}",
                )
            )
        )
        for i in range(30)
    ]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda p: env.sender.send(p).status, bodies))
    burst = time.monotonic() - started
    assert statuses == [200] * 30
    assert env.adapter.coalescer.wait_idle(15)
    env.fake.wait_until(lambda f: "30 answered" in _text(f.message(CHANNEL, question.ts)), 10)
    assert env.adapter.coalescer.wait_idle(15)
    updates = [c for c in env.fake.calls("chat.update") if c.params.get("ts") == question.ts]
    # The leader's update goes out at once, then at most one per 1 s window the burst spans, plus the
    # closing one: the bound follows the burst's length, so a loaded machine cannot make this flaky
    # (the exact counts under a moved clock are in tests/runtime/test_coalesce.py).
    assert 1 <= len(updates) <= 2 + math.ceil(burst / 1.0), (burst, [u.at for u in updates])
    assert "30 answered" in updates[-1].params["text"]


# --- behaviour the users see ----------------------------------------------------------------------------


def test_refusals_and_stale_buttons_are_polite_ephemerals_in_the_thread(env: Env) -> None:
    assert env.slash(FACILITATOR, "start") == 200
    first = env.wait_questions(1)[0]
    assert env.click("U0USER002", first, sb.NEXT) == 200  # not the facilitator
    refusal = env.wait_ephemeral("U0USER002")[-1]
    assert refusal["thread_ts"] == first.thread_ts and "fae" in refusal["text"]
    old_button = _element(first, f"{sb.ANSWER}:1")  # as a client that has not refreshed still shows it
    assert env.click(FACILITATOR, first, sb.NEXT) == 200
    env.wait_questions(2)
    reply = env.sender.click(CHANNEL, "U0USER003", first.ts, old_button, thread_ts=first.thread_ts)
    assert reply.status == 200
    stale = env.wait_ephemeral("U0USER003")[-1]
    assert "no longer open" in stale["text"]
    assert env.slash("U0USER002", "fly to the moon") == 200
    unknown = env.wait_ephemeral("U0USER002", 2)[-1]
    assert unknown["thread_ts"] is None and "fly" in unknown["text"]


def test_restart_confirm_button(env: Env) -> None:
    assert env.slash(FACILITATOR, "start") == 200
    env.wait_questions(1)
    assert env.slash(FACILITATOR, "start") == 200
    notice = env.wait_ephemeral(FACILITATOR)[-1]
    button = next(el for b in notice["blocks"] if b["type"] == "actions" for el in b["elements"])
    assert button["style"] == "danger"
    reply = env.sender.click(CHANNEL, FACILITATOR, "0.0", button, user_name="fae", trigger_id=env.fake.trigger_id())
    assert reply.status == 200
    env.fake.wait_until(lambda f: len(f.channel_messages(CHANNEL)) >= 3)  # old header, notice, new header
    texts = [m.text for m in env.fake.channel_messages(CHANNEL)]
    assert any("restarted" in t for t in texts)


def test_a_bot_that_was_not_invited_says_how_to_invite_it(env: Env) -> None:
    env.fake.fail("chat.postMessage", error="not_in_channel")
    assert env.slash(FACILITATOR, "start") == 200
    hint = env.fake.wait_for("response_url")[0]
    assert hint.params["response_type"] == "ephemeral"
    assert "/invite @socialmedia-check" in hint.params["text"]
    assert env.fake.calls("chat.postMessage") == []


def test_long_modal_text_is_refused_in_the_modal(env: Env) -> None:
    assert env.slash(FACILITATOR, "start") == 200
    first = env.wait_questions(1)[0]
    view = env.open_modal("U0USER002", first, sb.NOTE)
    assert view["blocks"][1]["element"]["max_length"] == 1000
    reply = env.sender.submit("U0USER002", view, {sb.INPUT_BLOCK: {sb.INPUT_ACTION: "x" * 1001}})
    assert reply.status == 200
    assert reply.json()["response_action"] == "errors"
    assert "1000" in reply.json()["errors"][sb.INPUT_BLOCK]


def test_anonymous_check_shows_counts_only(env: Env) -> None:
    assert env.slash(FACILITATOR, "start --anonymous") == 200
    question = env.wait_questions(1)[0]
    for user in USERS[:3]:
        assert env.click(user, question, f"{sb.ANSWER}:1") == 200
    env.fake.wait_until(lambda f: "3 answered" in _text(f.message(CHANNEL, question.ts)), 10)
    env.adapter.coalescer.wait_idle(5)
    shown = _text(env.fake.message(CHANNEL, question.ts))
    assert "3 answered" in shown
    for user in USERS[1:3]:
        assert NAMES[user] not in shown


class ExplodingService:
    """A service that fails: the user must get a polite note, never a traceback."""

    def handle_command(self, channel: ChannelKey, text: str, user: str, user_name: str = "") -> list[Message]:
        raise RuntimeError("database on fire: Traceback (most recent call last)")

    def handle(self, channel: ChannelKey, event: Event) -> list[Message]:
        raise RuntimeError("boom")

    def question_card(self, session_id: str, question_id: str) -> QuestionCard | None:
        return None

    def ui(self, language: str | None) -> Mapping[str, str]:
        return {"error_generic": "Something went wrong on our side; nothing was lost. Please try again."}


def test_unexpected_errors_become_a_polite_ephemeral(
    fake: FakeSlackApi, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    for env in make_env(fake, store, service=ExplodingService()):
        assert env.slash("U0USER002", "status") == 200
        note = env.wait_ephemeral("U0USER002")[-1]
        assert "Something went wrong" in note["text"]
        assert "Traceback" not in json.dumps(note) and "fire" not in json.dumps(note)
    assert any("database on fire" in r.getMessage() or r.exc_info for r in caplog.records)


def test_summary_text_goes_out_when_the_chart_upload_fails(quick_env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env = quick_env
    env.fake.fail("upload", status=500)
    assert env.slash(FACILITATOR, "start") == 200
    answer_everything(env, (FACILITATOR,), concurrent=False)
    env.fake.wait_until(lambda f: _finished(env), 20)
    env.fake.wait_until(lambda f: bool(f.calls("upload", include_rejected=True)), 10)
    assert env.fake.calls("files.completeUploadExternal") == []
    summary = "".join(_text(m) for m in summary_messages(env))
    assert "Summary" in summary
    env.adapter.close()  # waits for the listeners: the failure has been handled (and logged) by now
    assert any("could not upload the summary chart" in r.getMessage() for r in caplog.records)


def test_multi_choice_keeps_earlier_picks_after_the_message_was_edited(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack resets checkbox ticks on every edit; toggles must not lose the picks made before it. A
    double click (the same option again within TOGGLE_GUARD_SECONDS on the adapter's clock) counts
    once; the same click after the window toggles the option off again."""
    caplog.set_level(logging.INFO, logger="bot.adapters.slack.app")
    assert env.slash(FACILITATOR, "start") == 200
    for number in range(1, 10):
        question = env.wait_questions(number)[-1]
        if any(a.startswith(sb.TOGGLE + ":") for a in (e["action_id"] for e in _elements(question))):
            break
        assert env.click(FACILITATOR, question, sb.NEXT) == 200
    else:
        raise AssertionError("no multiple-choice question in the first nine")
    user = USERS[0]
    assert env.click(user, question, f"{sb.TOGGLE}:1") == 200
    env.fake.wait_until(lambda f: "1 answered" in _text(f.message(CHANNEL, question.ts)), 10)  # edited
    assert env.click(user, question, f"{sb.TOGGLE}:3") == 200
    env.clock.advance(0.5)
    assert env.click(user, question, f"{sb.TOGGLE}:3") == 200  # a double click: counts once
    # Listeners run after the ack: wait until both clicks were handled before the clock moves on.
    env.fake.wait_until(lambda f: _dropped_double_clicks(caplog) == 1 and _choices(env, user) == (1, 3), 10)

    env.clock.advance(TOGGLE_GUARD_SECONDS)  # 1.5 s after the accepted click: a new click
    assert env.click(user, question, f"{sb.TOGGLE}:3") == 200
    env.fake.wait_until(lambda f: _choices(env, user) == (1,), 10)
    env.adapter.coalescer.wait_idle(5)
    assert _dropped_double_clicks(caplog) == 1
    assert _choices(env, user) == (1,)


def _choices(env: Env, user: str) -> tuple[int, ...] | None:
    record = env.store.load_running(f"slack:{TEAM_ID}:{CHANNEL}")
    assert record is not None
    answer = record.answers_to(record.meta.state).get(user)
    return answer.choices if answer is not None else None


def _dropped_double_clicks(caplog: pytest.LogCaptureFixture) -> int:
    return sum(r.getMessage() == "dropping a double click on a multi-choice option" for r in caplog.records)
