"""Slack's outbound path: the outbox against the fake Web API, with and without an incoming request."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tenacity import wait_none

from bot.adapters.slack import blocks as sb
from bot.adapters.slack.app import SlackAdapter
from bot.app import build_service
from bot.config import load_settings
from bot.core.messages import Audience, ChannelKey, Notice
from bot.runtime.clock import ManualClock
from bot.runtime.web import create_web_app, serve_in_thread
from bot.store.store import Store
from tests.adapters.slack.test_slack_http import (
    CHANNEL,
    CLOCK_START,
    FACILITATOR,
    SECRET,
    Env,
    _is_question,
    _text,
)
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi
from tests.fakes.slack_signing import SlackSender

ROOT = Path(__file__).resolve().parents[3]
KEY = ChannelKey("slack", TEAM_ID, CHANNEL)


@pytest.fixture
def fake() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as api:
        yield api
    assert api.violations == []


@pytest.fixture
def env(fake: FakeSlackApi, store: Store) -> Iterator[Env]:
    """The adapter with retries that do not wait (``wait_none``), behind the real web server."""
    config = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.url}
    )
    clock, waits = ManualClock(start=CLOCK_START), []
    adapter = SlackAdapter(
        config,
        build_service(config, store),
        store,
        coalesce_window=0.2,
        wait=wait_none(),
        clock=clock.now,
        sleep=waits.append,
    )
    server = serve_in_thread(create_web_app(adapter.routes(), ready=lambda: True))
    sender = SlackSender(server.url + "/slack/events", SECRET, trigger_id=fake.trigger_id, hooks_url=fake.hooks_url)
    try:
        yield Env(fake, adapter, server, sender, store, clock=clock, waits=waits)
    finally:
        server.stop()
        adapter.close()


def _posted_texts(fake: FakeSlackApi) -> list[str]:
    return [_text_of(call.params) for call in fake.calls("chat.postMessage")]


def _text_of(params: dict[str, object]) -> str:
    return str(params.get("text", "")) + str(params.get("blocks", ""))


def test_a_second_process_posts_to_the_channel_and_the_checks_thread(env: Env, redis_url: str) -> None:
    assert env.slash(FACILITATOR, "start") == 200
    header = env.header()
    env.wait_questions(1)
    assert env.adapter.outbox.wait_idle(10)
    record = env.store.load_running(str(KEY))
    assert record is not None and env.store.get_ref(record.id, "channel") == str(KEY)

    job = [sys.executable, "-m", "tests.adapters.outbox_job", "slack", env.fake.url, redis_url, "test"]
    result = subprocess.run(
        [*job, str(KEY), "from a job", record.id], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    top = [m for m in env.fake.channel_messages(CHANNEL) if "from a job" in _text(m)]
    threaded = [m for m in env.fake.thread(CHANNEL, header.ts) if "from a job (thread)" in _text(m)]
    assert len(top) == 1 and len(threaded) == 1


def test_two_failed_posts_after_next_are_retried_and_arrive_in_order(env: Env) -> None:
    assert env.slash(FACILITATOR, "start") == 200
    first = env.wait_questions(1)[0]
    assert env.adapter.outbox.wait_idle(10)
    env.fake.fail("chat.update", times=2, status=500)
    env.fake.fail("chat.postMessage", times=2, status=500)

    assert env.click(FACILITATOR, first, sb.NEXT) == 200
    second = env.wait_questions(2)[1]
    assert env.adapter.outbox.wait_idle(10)

    closed = env.fake.message(CHANNEL, first.ts)
    assert not any(b.get("type") == "actions" for b in closed.blocks), "the first question was closed"
    assert _is_question(second) and any(b.get("type") == "actions" for b in second.blocks)
    accepted = [c for c in env.fake.calls() if c.method in ("chat.update", "chat.postMessage")]
    close_at = next(i for i, c in enumerate(accepted) if c.method == "chat.update" and c.params.get("ts") == first.ts)
    post_at = next(
        i for i, c in enumerate(accepted) if c.method == "chat.postMessage" and c.response.get("ts") == second.ts
    )
    assert close_at < post_at, "the question is closed before the next one is asked"
    rejected = [c for c in env.fake.calls(include_rejected=True) if not c.ok and c.status == 500]
    assert len(rejected) == 4
    assert not [e for e in env.fake.ephemerals if "could not post" in e.get("text", "")]


def test_a_post_that_keeps_failing_is_reported_privately_to_the_user_who_caused_it(env: Env) -> None:
    assert env.slash(FACILITATOR, "start nl") == 200
    first = env.wait_questions(1)[0]
    assert env.adapter.outbox.wait_idle(10)
    env.fake.fail("chat.postMessage", times=50, status=503)

    assert env.click(FACILITATOR, first, sb.NEXT) == 200
    assert env.adapter.outbox.wait_idle(10)

    told = env.wait_ephemeral(FACILITATOR)
    assert any("Ik kon niet alles in dit kanaal posten" in e["text"] for e in told), told
    assert len(env.questions()) == 1


def test_a_post_that_times_out_once_lands_before_the_next_message(env: Env) -> None:
    env.adapter.client.timeout = 1  # the held answer below outlasts it
    release = env.fake.hold("chat.postMessage")
    try:
        env.adapter.outbox.send(KEY, Notice("first", Audience.CHANNEL))
        env.adapter.outbox.send(KEY, Notice("second", Audience.CHANNEL))
        assert env.adapter.outbox.wait_idle(30)
    finally:
        release.set()
    texts = [t for t in _posted_texts(env.fake) if "first" in t or "second" in t]
    assert len(texts) >= 3 and all("first" in t for t in texts[:-1]) and "second" in texts[-1], texts
