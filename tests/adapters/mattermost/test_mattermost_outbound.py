"""Mattermost's outbound path: the outbox against the fake REST API, with and without a request."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tenacity import wait_none

from bot.adapters.mattermost.routes import build_mattermost_adapter
from bot.app import build_service
from bot.config import load_settings
from bot.runtime.clock import ManualClock
from bot.runtime.web import create_web_app
from bot.store.store import Store
from tests.adapters.mattermost.test_mattermost_adapter import (
    CHANNEL,
    CHANNEL_ID,
    CLOCK_START,
    COMMAND_TOKENS,
    SECRET,
    Harness,
    find_action,
)
from tests.conftest import LateServer
from tests.fakes.mattermost_api import FakeMattermost

ROOT = Path(__file__).resolve().parents[3]
POSTS = r"/api/v4/posts"
PATCH = r"/api/v4/posts/\w+/patch"


@pytest.fixture
def fake() -> Iterator[FakeMattermost]:
    with FakeMattermost() as server:
        yield server
    assert server.violations == [], server.violations


@pytest.fixture
def mm(fake: FakeMattermost, store: Store) -> Iterator[Harness]:
    """The adapter with retries that do not wait (``wait_none``), behind the real web server."""
    bound = LateServer()  # bound first: buttons call back to SMC_PUBLIC_URL, the server's own URL
    clock = ManualClock(start=CLOCK_START)
    try:
        settings = load_settings(
            {
                "MATTERMOST_URL": fake.url,
                "MATTERMOST_BOT_TOKEN": fake.token,
                "MATTERMOST_COMMAND_TOKEN": ",".join(COMMAND_TOKENS),
                "SMC_SECRET": SECRET,
                "SMC_PUBLIC_URL": bound.url,
            }
        )
        service = build_service(settings, store)
        adapter = build_mattermost_adapter(
            settings, service, store, coalesce_window=0.2, wait=wait_none(), clock=clock.now
        )
    except BaseException:
        bound.discard()
        raise
    server = bound.serve(create_web_app(adapter.routes(), store.ping))
    harness = Harness(fake, settings, service, store, adapter, server, clock)
    try:
        yield harness
    finally:
        adapter.wait_idle(20)
        harness.session.close()
        server.stop()
        adapter.close()


def _has_buttons(post: dict[str, object]) -> bool:
    try:
        find_action(post, "next")  # type: ignore[arg-type]
    except AssertionError:
        return False
    return True


def test_a_second_process_posts_to_the_channel_and_the_checks_thread(mm: Harness, redis_url: str) -> None:
    assert mm.command("anna", "start").status_code == 200
    header = mm.header()
    mm.wait_question(1)
    mm.idle()
    record = mm.store.load_running(str(CHANNEL))
    assert record is not None and mm.store.get_ref(record.id, "channel") == str(CHANNEL)

    job = [sys.executable, "-m", "tests.adapters.outbox_job", "mattermost", mm.fake.url, redis_url, "test"]
    result = subprocess.run(
        [*job, str(CHANNEL), "from a job", record.id], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    posts = [p for p in mm.fake.channel_posts(CHANNEL_ID) if p["message"].startswith("from a job")]
    assert [(p["message"], p["root_id"]) for p in posts] == [("from a job", ""), ("from a job (thread)", header["id"])]


def test_two_failed_posts_after_next_are_retried_and_arrive_in_order(mm: Harness) -> None:
    assert mm.command("anna", "start").status_code == 200
    first = mm.wait_question(1)
    mm.idle()
    mm.fake.fail_next("PUT", PATCH, 500, times=2)
    mm.fake.fail_next("POST", POSTS, 500, times=2)

    reply = mm.click("anna", first, "next")
    assert reply.status_code == 200
    second = mm.wait_question(2)
    mm.idle()

    assert not _has_buttons(mm.fresh(first)), "the first question was closed"
    assert _has_buttons(second)
    writes = [c for c in mm.fake.calls if c.status is not None and c.status < 300 and c.method in ("PUT", "POST")]
    close_at = next(i for i, c in enumerate(writes) if c.method == "PUT" and first["id"] in c.path)
    post_at = next(
        i
        for i, c in enumerate(writes)
        if c.method == "POST" and c.path == POSTS and (c.body or {}).get("message") == second["message"]
    )
    assert close_at < post_at, "the question is closed before the next one is asked"
    assert [c.status for c in mm.fake.calls if c.status == 500] == [500] * 4
    assert mm.fake.ephemeral_posts == []


def test_a_post_that_keeps_failing_is_reported_privately_to_the_user_who_caused_it(mm: Harness) -> None:
    assert mm.command("anna", "start nl").status_code == 200
    first = mm.wait_question(1)
    mm.idle()
    mm.fake.fail_next("POST", POSTS, 502, times=50)

    assert mm.click("anna", first, "next").status_code == 200
    mm.idle()

    told = mm.fake.wait_for(lambda f: [e for e in f.ephemeral_posts if e.get("user_id_target") == "anna"])
    assert any("Ik kon niet alles in dit kanaal posten" in str(e) for e in told), told
    assert len(mm.question_posts()) == 1
