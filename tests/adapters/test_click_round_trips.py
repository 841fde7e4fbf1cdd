"""One Redis round trip per click, at the HTTP boundary of both platforms.

A signed Slack click and a Mattermost button go over real HTTP into the real adapters, service and
store, against the real redis-server; the platforms are the local fakes. What the bot sends Redis is
read twice, from the server itself: ``MONITOR`` tells a top-level command (a round trip) from one a
Lua script ran, and ``INFO commandstats`` counts the scripts (``evalsha``).

The tally window closes on a hand-moved clock (``tally_clock``), so each step is measured apart: the
click that leads a window, a click while it is open, the window's close (renewed: it re-renders, from
the snapshot its script returned) and the close that releases it. A click is one ``EVALSHA`` — the
dedup mark, the double-click guard, the answer, the window and, for the leader, the snapshot and the
message's ref all happen in it; a window's close is the one other call, once per window.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import requests

from bot.adapters.mattermost.api import MattermostApi
from bot.adapters.mattermost.routes import build_mattermost_adapter
from bot.adapters.outbox import Outbox
from bot.adapters.slack import blocks as sb
from bot.adapters.slack.app import SlackAdapter
from bot.app import build_service
from bot.config import load_settings
from bot.runtime.clock import ManualClock
from bot.runtime.web import create_web_app, serve_in_thread
from bot.store.store import Store
from tests.conftest import LateServer
from tests.fakes.mattermost_api import FakeMattermost, post_action
from tests.fakes.slack_api import FakeSlackApi, Posted
from tests.fakes.slack_signing import SlackSender

WINDOW = 1.0
SLACK_SECRET = "test-signing-secret-0123456789"
SLACK_CHANNEL = "C0CHECK01"
SLACK_USERS = ("U0FAC0001", "U0USER002", "U0USER003")
MM_TEAM, MM_CHANNEL = "team1", "chan1"
MM_USERS = ("anna", "bram", "carla")
MM_SECRET = "test-secret-for-mattermost-0123456789"
MM_TOKEN = "cmdtokenteamone"
_OWN = frozenset({"INFO", "ECHO"})  # the test's own commands
# A new pooled connection's handshake: once per connection when the pool grows, not per click.
_HANDSHAKE = frozenset({"HELLO", "AUTH", "SELECT", "CLIENT"})


class Traffic:
    """What reached Redis between :meth:`start` and :meth:`stop`: the top-level commands (from
    MONITOR, script-internal ones left out) and the growth of ``commandstats`` per command."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._marker = 0

    def start(self) -> None:
        self._monitor = self._client.monitor()
        self._monitor.__enter__()
        self._before = self._stats()

    def stop(self) -> tuple[list[str], dict[str, int]]:
        self._marker += 1
        marker = f"end-of-step-{self._marker}"
        self._client.echo(marker)
        top: list[str] = []
        try:
            while True:
                entry = self._monitor.next_command()
                if entry["client_type"] == "lua":
                    continue
                name = entry["command"].split(" ", 1)[0].upper()
                if name == "ECHO" and marker in entry["command"]:
                    break
                if name not in _OWN | _HANDSHAKE:
                    top.append(name)
        finally:
            self._monitor.__exit__()
        after = self._stats()
        grown = {k: after[k] - self._before.get(k, 0) for k in after if after[k] != self._before.get(k, 0)}
        for own in ("info", "echo", "hello", "client|setinfo", "auth", "select"):
            grown.pop(own, None)
        return top, grown

    def _stats(self) -> dict[str, int]:
        stats = self._client.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}

    def step(self, action: Callable[[], None]) -> tuple[list[str], dict[str, int]]:
        self.start()
        action()
        return self.stop()


class Batches:
    """Tells when the outbox finished each batch an adapter sent it (the job a click queued)."""

    def __init__(self, outbox: Outbox) -> None:
        self.done: queue.Queue[str | None] = queue.Queue()
        original = outbox.send

        def send(channel: Any, messages: Any, **options: Any) -> None:
            assert options.get("on_done") is None
            original(channel, messages, on_done=self.done.put, **options)

        outbox.send = send  # type: ignore[method-assign]

    def wait(self, timeout: float = 10.0) -> None:
        assert self.done.get(timeout=timeout) is None, "the batch failed"


def _expect_one_script(step: tuple[list[str], dict[str, int]]) -> None:
    top, grown = step
    assert top == ["EVALSHA"], f"round trips: {top}"
    assert grown.get("evalsha") == 1 and "eval" not in grown and "hgetall" not in grown, grown


def _expect_nothing(step: tuple[list[str], dict[str, int]]) -> None:
    top, grown = step
    assert top == [] and grown == {}, (top, grown)


# --- Slack ----------------------------------------------------------------------------------------------


@pytest.fixture
def slack(store: Store) -> Iterator[tuple[FakeSlackApi, SlackAdapter, SlackSender, ManualClock]]:
    with FakeSlackApi() as fake:
        settings = load_settings(
            {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SLACK_SECRET, "SLACK_API_URL": fake.url}
        )
        tally_clock = ManualClock()
        adapter = SlackAdapter(
            settings,
            build_service(settings, store),
            store,
            clock=ManualClock(1_700_000_000.0).now,
            sleep=lambda s: None,
            tally_clock=tally_clock,
            tally_spread=0.0,
        )
        server = serve_in_thread(create_web_app(adapter.routes(), ready=lambda: True))
        sender = SlackSender(
            server.url + "/slack/events", SLACK_SECRET, trigger_id=fake.trigger_id, hooks_url=fake.hooks_url
        )
        try:
            yield fake, adapter, sender, tally_clock
        finally:
            server.stop()
            tally_clock.advance(3600)
            adapter.close()
        assert fake.violations == []


def _slack_button(message: Posted, action_id: str) -> dict[str, Any]:
    for block in message.blocks:
        if block.get("type") == "actions":
            for element in block["elements"]:
                if element["action_id"] == action_id:
                    return dict(element, block_id=block.get("block_id", ""))
    raise AssertionError(f"no {action_id}")


def test_a_slack_click_is_one_round_trip_and_a_window_one_more(
    slack: tuple[FakeSlackApi, SlackAdapter, SlackSender, ManualClock], redis_client: redis.Redis
) -> None:
    fake, adapter, sender, tally_clock = slack
    traffic, batches = Traffic(redis_client), Batches(adapter.outbox)
    assert sender.slash(SLACK_CHANNEL, SLACK_USERS[0], "start").status == 200
    batches.wait()
    fake.wait_until(lambda f: len(f.channel_messages(SLACK_CHANNEL)) == 1 and len(_thread(f)) == 1, 10)
    question = _thread(fake)[0]

    def click(user: str, option: int, **extra: Any) -> int:
        element = _slack_button(question, f"{sb.ANSWER}:{option}")
        return sender.click(SLACK_CHANNEL, user, question.ts, element, thread_ts=question.thread_ts, **extra).status

    for user in SLACK_USERS:  # everyone has clicked once (display names cached, scripts loaded)
        assert click(user, 1) == 200
        batches.wait()
    tally_clock.advance(WINDOW)  # the warm-up window closes (renewed: the followers' clicks)
    tally_clock.advance(WINDOW)  # and is released
    fake.wait_until(lambda f: "3 answered" in _text(f.message(SLACK_CHANNEL, question.ts)), 10)
    edits = fake.message(SLACK_CHANNEL, question.ts).updates

    def lead() -> None:
        assert click(SLACK_USERS[1], 2) == 200
        batches.wait()

    _expect_one_script(traffic.step(lead))
    assert fake.message(SLACK_CHANNEL, question.ts).updates == edits + 1, "the leader's card went out at once"

    def follow() -> None:
        assert click(SLACK_USERS[2], 3) == 200
        batches.wait()

    _expect_one_script(traffic.step(follow))
    assert fake.message(SLACK_CHANNEL, question.ts).updates == edits + 1, "a follower only marks the window"

    def retried() -> None:  # Slack retries a delivery with the same action_ts: nothing is written
        payload = sender.block_actions_payload(
            SLACK_CHANNEL,
            SLACK_USERS[2],
            question.ts,
            _slack_button(question, f"{sb.ANSWER}:1"),
            thread_ts=question.thread_ts,
        )
        first = sender.send(sender.prepare(sender.payload_body(payload)))
        again = sender.send(sender.prepare(sender.payload_body(payload)))
        assert first.status == again.status == 200
        batches.wait()
        batches.wait()

    top, grown = traffic.step(retried)
    assert top == ["EVALSHA", "EVALSHA"] and grown.get("evalsha") == 2, (top, grown)

    def close() -> None:
        tally_clock.advance(WINDOW)
        fake.wait_until(lambda f: f.message(SLACK_CHANNEL, question.ts).updates == edits + 2, 10)

    _expect_one_script(traffic.step(close))
    final = _text(fake.message(SLACK_CHANNEL, question.ts))
    assert "3 answered" in final and "2 × Poorly, 1 × Partly" in final, "the close drew the final tally"

    def release() -> None:
        tally_clock.advance(WINDOW)

    _expect_one_script(traffic.step(release))
    _expect_nothing(traffic.step(lambda: None))


def _thread(fake: FakeSlackApi) -> list[Posted]:
    header = fake.channel_messages(SLACK_CHANNEL)[0]
    return [m for m in fake.thread(SLACK_CHANNEL, header.ts) if any(b.get("type") == "actions" for b in m.blocks)]


def _text(message: Posted) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


# --- Mattermost -----------------------------------------------------------------------------------------


@pytest.fixture
def mattermost(store: Store) -> Iterator[tuple[FakeMattermost, Any, str, ManualClock, ManualClock]]:
    with FakeMattermost() as fake:
        bound = LateServer()
        settings = load_settings(
            {
                "MATTERMOST_URL": fake.url,
                "MATTERMOST_BOT_TOKEN": fake.token,
                "MATTERMOST_COMMAND_TOKEN": MM_TOKEN,
                "SMC_SECRET": MM_SECRET,
                "SMC_PUBLIC_URL": bound.url,
            }
        )
        assert settings.mattermost_url and settings.mattermost_bot_token
        clock, tally_clock = ManualClock(1_700_000_000.0), ManualClock()
        api = MattermostApi(settings.mattermost_url, settings.mattermost_bot_token)
        adapter = build_mattermost_adapter(
            settings,
            build_service(settings, store),
            store,
            api=api,
            clock=clock.now,
            tally_clock=tally_clock,
            tally_spread=0.0,
        )
        server = bound.serve(create_web_app(adapter.routes(), store.ping))
        try:
            yield fake, adapter, server.url, clock, tally_clock
        finally:
            server.stop()
            tally_clock.advance(3600)
            adapter.close()
        assert fake.violations == []


def test_a_mattermost_click_is_one_round_trip_and_a_window_one_more(
    mattermost: tuple[FakeMattermost, Any, str, ManualClock, ManualClock], redis_client: redis.Redis
) -> None:
    fake, adapter, url, clock, tally_clock = mattermost
    traffic, batches = Traffic(redis_client), Batches(adapter.outbox)
    http = requests.Session()
    form = {
        "channel_id": MM_CHANNEL,
        "team_id": MM_TEAM,
        "user_id": MM_USERS[0],
        "user_name": "Anna",
        "text": "start",
        "token": MM_TOKEN,
        "trigger_id": "t-start",
        "command": "/socialmedia-check",
    }
    assert http.post(url + "/mattermost/command", data=form, timeout=10).status_code == 200
    batches.wait()
    question = fake.wait_for(lambda f: next((p for p in f.channel_posts(MM_CHANNEL) if _mm_actions(p)), None))
    triggers = iter(range(1_000_000))

    def edits() -> int:  # by the bot's REST calls, and by the server from the bot's answers to clicks
        return len([c for c in fake.calls_to("PUT") if question["id"] in c.path]) + len(fake.action_updates)

    answers: list[dict[str, Any]] = []

    def click(user: str, option: int) -> None:
        action = next(a for a in _mm_actions(question) if a["id"] == f"opt{option}")
        payload = {
            "user_id": user,
            "user_name": user.capitalize(),
            "channel_id": MM_CHANNEL,
            "team_id": MM_TEAM,
            "post_id": question["id"],
            "trigger_id": f"t-{next(triggers)}",
            "type": "button",
            "context": action["integration"]["context"],
        }
        reply = post_action(http, fake, action["integration"]["url"], payload)
        assert reply.status_code == 200, reply.text
        answers.append(reply.json())
        if "update" not in answers[-1]:  # else the click queued nothing: its answer carried the card
            batches.wait()

    for user in MM_USERS:
        click(user, 1)
    clock.advance(60)  # past every double-click guard
    tally_clock.advance(WINDOW)  # the warm-up window closes (renewed: the followers' clicks)
    tally_clock.advance(WINDOW)  # and is released
    assert adapter.outbox.wait_idle(10)
    before = edits()

    puts = len(fake.calls_to("PUT"))
    _expect_one_script(traffic.step(lambda: click(MM_USERS[1], 2)))
    assert edits() == before + 1, "the leader's card went out at once"
    assert "update" in answers[-1] and len(fake.calls_to("PUT")) == puts, "in the click's answer, not by REST"
    _expect_one_script(traffic.step(lambda: click(MM_USERS[2], 3)))
    _expect_one_script(traffic.step(lambda: click(MM_USERS[2], 3)))  # a double click: dropped in the same script
    assert edits() == before + 1, "followers only mark the window"
    assert "update" not in answers[-2] and "update" not in answers[-1]

    def close() -> None:
        tally_clock.advance(WINDOW)
        fake.wait_for(lambda f: edits() == before + 2)

    _expect_one_script(traffic.step(close))
    _expect_one_script(traffic.step(lambda: tally_clock.advance(WINDOW)))  # released
    final = json.dumps(fake.posts[question["id"]], ensure_ascii=False)
    assert all(f"**1** · {n}." in final for n in (1, 2, 3)), "the close drew the final tally: one answer each"
    http.close()


def _mm_actions(post: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for att in (post.get("props") or {}).get("attachments") or [] for a in att.get("actions") or []]
