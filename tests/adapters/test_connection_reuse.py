"""One kept-alive connection pool per platform client: a whole check costs a handful of TCP
connections to the platform, not one per call. The fakes count the connections they accept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.store.store import Store
from tests.adapters.mattermost.test_mattermost_adapter import (
    DIALOGUE,
    Harness,
    make_harness,
    question_id,
)
from tests.adapters.slack.test_slack_http import Env, answer_everything, make_env
from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import FakeSlackApi

HANDFUL = 8  # the outbox's 4 workers, the listeners, the name lookups: never one per call


@pytest.fixture
def slack_env(store: Store) -> Iterator[Env]:
    with FakeSlackApi() as fake:
        yield from make_env(fake, store, window=0.2)


def test_a_whole_slack_check_uses_a_handful_of_connections(slack_env: Env) -> None:
    env = slack_env
    start = env.fake.connections  # auth.test at start-up
    assert env.slash("U0FAC0001", "start") == 200
    answer_everything(env, ("U0FAC0001", "U0USER002", "U0USER003"))
    assert env.adapter.coalescer.wait_idle(20)
    calls = len(env.fake.calls())
    used = env.fake.connections - start
    assert calls > 100, calls
    assert used <= HANDFUL, f"{used} connections for {calls} Web API calls"


@pytest.fixture
def mm(store: Store) -> Iterator[Harness]:
    with FakeMattermost() as fake:
        yield from make_harness(fake, store, window=0.2)


def test_a_whole_mattermost_check_uses_a_handful_of_connections(mm: Harness) -> None:
    assert mm.command("anna", "start en").status_code == 200
    users = ("anna", "bram", "carla")
    for number in range(1, 60):
        post = mm.wait_question(number)
        qid = question_id(post)
        question = DIALOGUE.question(qid)
        if question.options:
            for user in users:
                assert mm.click(user, post, "opt1").status_code == 200
        else:
            assert (
                mm.type_answer("anna", post, "in 18 months" if question.kind == "date" else "a text").status_code == 200
            )
        mm.idle()
        mm.clock.advance(60)
        assert mm.click("anna", mm.fresh(post), "next").status_code == 200
        mm.idle()
        headers = [p for p in mm.fake.channel_posts("chan1", root_only=True) if p["message"].startswith("### ")]
        if len(mm.fake.channel_posts("chan1", root_only=True)) > len(headers):  # the summary is posted
            break
    else:
        raise AssertionError("the check did not finish")
    calls = len(mm.fake.calls)
    assert calls > 100, calls
    assert mm.fake.connections <= HANDFUL, f"{mm.fake.connections} connections for {calls} REST calls"
