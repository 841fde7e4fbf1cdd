"""A Slack request is acknowledged before its work runs, and without bolt's 10 ms wait for the ack.

bolt's own listener pool leaves the request thread polling for the ``ack()`` every 10 ms, and a
busy pool holds the ack back until a thread is free; the adapter runs its listeners inline (they
ack, then hand the work to the adapter's pool), so the request thread returns at once, however busy
the pool. Real HTTP, real bolt, a service that blocks until the test lets it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import SimpleNamespace

import pytest
import slack_bolt.listener.thread_runner as bolt_runner

from bot.adapters.slack.app import LISTENER_THREADS
from bot.core.messages import ChannelKey, Event, Message, QuestionCard
from bot.store.store import Store
from tests.adapters.slack.test_slack_http import fake as fake  # noqa: F401  (the fixture)
from tests.adapters.slack.test_slack_http import make_env
from tests.fakes.slack_api import FakeSlackApi

WAIT = 10.0


class HeldService:
    """Runs a slash command only once the test releases it."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.done: list[str] = []

    def handle_command(self, channel: ChannelKey, text: str, user: str, user_name: str = "") -> list[Message]:
        self.entered.release()
        assert self.release.wait(WAIT), "the test never released the command"
        self.done.append(text)
        return []

    def handle(self, channel: ChannelKey, event: Event, delivery: object = None) -> list[Message]:
        return []

    def question_card(self, session_id: str, question_id: str) -> QuestionCard | None:
        return None

    def ui(self, language: str | None) -> Mapping[str, str]:
        return {}


def test_the_ack_goes_back_before_the_work_and_bolt_never_polls_for_it(
    fake: FakeSlackApi, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    polls: list[float] = []
    monkeypatch.setattr(bolt_runner, "time", SimpleNamespace(time=time.time, sleep=polls.append))
    service = HeldService()
    for env in make_env(fake, store, service=service):
        for n in range(LISTENER_THREADS):  # every thread of the adapter's pool busy with a held command
            assert env.slash("U0USER002", f"status {n}") == 200
            assert service.entered.acquire(timeout=WAIT)
        assert env.slash("U0USER003", "status last") == 200  # acked while nothing could run it yet
        assert service.done == []
        service.release.set()
        env.adapter.close()  # waits for the adapter's pool
        assert sorted(service.done) == sorted([f"status {n}" for n in range(LISTENER_THREADS)] + ["status last"])
    assert polls == []  # no request thread ever waited for an ack
