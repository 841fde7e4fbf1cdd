"""The outbox itself: channel keys, per-channel order under retries, failure reports, the console's output."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any, Literal

import pytest
from tenacity import wait_none

from bot.adapters.console import ConsoleChat
from bot.adapters.console_out import MemoryRefs
from bot.adapters.outbox import OutboundError, Outbox, ReplyTo
from bot.app import build_service
from bot.config import load_settings
from bot.core.messages import (
    Audience,
    ChannelKey,
    ChannelKeyError,
    HeaderCard,
    Notice,
    QuestionView,
    Summary,
    SummaryCard,
)
from bot.errors import BotError
from bot.store.store import Store
from tests.core.test_report import make_summary
from tests.team import Team

ROOT = Path(__file__).resolve().parents[2]
KEY = ChannelKey("test", "team", "room")


@dataclass
class RecordingPort:
    """A platform that records what it was asked to do; ``failures`` maps a text to errors to raise first."""

    platform: str = "test"
    chart_mode: Literal["attach", "after", "none"] = "none"
    log: list[tuple[str, str]] = field(default_factory=list)
    failures: dict[str, list[OutboundError]] = field(default_factory=dict)
    on_post: Any = None

    def post(self, channel: ChannelKey, body: dict[str, Any], thread: str | None) -> str:
        if self.on_post is not None:
            self.on_post(body["text"])
        pending = self.failures.get(body["text"])
        if pending:
            self.log.append(("failed", body["text"]))
            raise pending.pop(0)
        self.log.append(("post", body["text"]))
        return str(len(self.log))

    def update(self, channel: ChannelKey, ref: str, body: dict[str, Any]) -> None:
        self.log.append(("update", body["text"]))

    def ephemeral(self, channel: ChannelKey, user: str, body: dict[str, Any], thread: str | None) -> None:
        self.log.append((f"ephemeral:{user}", body["text"]))

    def upload_image(
        self, channel: ChannelKey, png: bytes, filename: str, title: str, alt: str, thread: str | None
    ) -> str:
        return ""

    def header_body(self, card: HeaderCard) -> dict[str, Any]:
        return {"text": card.title}

    def question_body(self, channel: ChannelKey, view: QuestionView) -> dict[str, Any]:
        return {"text": view.text}

    def notice_body(self, channel: ChannelKey, notice: Notice) -> dict[str, Any]:
        return {"text": notice.text}

    def summary_bodies(self, channel: ChannelKey, summary: Summary, file_ids: Any) -> list[dict[str, Any]]:
        return [{"text": summary.title}]


def timeout() -> OutboundError:
    return OutboundError("timed out", transient=True)


def say(text: str) -> Notice:
    return Notice(text, Audience.CHANNEL)


# --- channel keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        ChannelKey("slack", "T0FAKE001", "C0CHECK01"),
        ChannelKey("mattermost", "team1", "chan1"),
        ChannelKey("console", "", "x"),
    ],
)
def test_a_channel_key_parses_back_from_its_string(key: ChannelKey) -> None:
    assert ChannelKey.parse(str(key)) == key


@pytest.mark.parametrize("text", ["", "C0CHECK01", "team1/chan1", "slack:T1", ":T1:C1", "slack:T1:", "sl ack:T:C"])
def test_garbage_is_not_a_channel_key(text: str) -> None:
    with pytest.raises(ChannelKeyError) as caught:
        ChannelKey.parse(text)
    assert isinstance(caught.value, BotError)


# --- order and retries ---------------------------------------------------------------------------------


def test_a_call_that_times_out_once_still_lands_before_the_next_message_of_its_channel() -> None:
    port = RecordingPort(failures={"first": [timeout()]})
    outbox = Outbox(port, MemoryRefs(), workers=4, wait=wait_none())
    try:
        outbox.send(KEY, say("first"))
        outbox.send(KEY, say("second"))
        assert outbox.wait_idle(10)
    finally:
        outbox.close()
    assert port.log == [("failed", "first"), ("post", "first"), ("post", "second")]


def test_the_next_message_waits_for_a_slow_call_of_its_channel_but_not_other_channels() -> None:
    release, entered = threading.Event(), threading.Event()

    def slow(text: str) -> None:
        if text == "slow":
            entered.set()
            assert release.wait(10)

    port = RecordingPort(on_post=slow)
    outbox = Outbox(port, MemoryRefs(), workers=2, wait=wait_none())
    try:
        outbox.send(KEY, say("slow"))
        outbox.send(KEY, say("after"))
        assert entered.wait(10)
        outbox.send(ChannelKey("test", "team", "other"), say("elsewhere"))
        assert not outbox.wait_idle(0)
        release.set()
        assert outbox.wait_idle(10)
    finally:
        release.set()
        outbox.close()
    texts = [text for _, text in port.log]
    assert texts.index("slow") < texts.index("after")


def test_a_permanent_failure_is_told_to_the_actor_in_the_checks_language_and_the_rest_still_goes_out(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    team = Team(build_service(load_settings({}), store))
    port = RecordingPort(failures={"lost": [timeout() for _ in range(5)]})
    outbox = Outbox(port, MemoryRefs(), ui=team.service.ui, workers=0, wait=wait_none())
    outbox.send(KEY, [say("lost"), say("kept")], reply=ReplyTo(user="anna", language="nl"))
    assert port.log[:5] == [("failed", "lost")] * 5
    assert ("post", "kept") in port.log
    told = [text for who, text in port.log if who == "ephemeral:anna"]
    assert len(told) == 1 and told[0].startswith("Ik kon niet alles in dit kanaal posten")
    assert any("could not deliver a Notice" in r.getMessage() for r in caplog.records)


def test_a_summary_that_fails_says_it_will_come_later_and_settles_only_when_it_went_out(store: Store) -> None:
    team = Team(build_service(load_settings({}), store))
    summary = make_summary()
    settled: list[str] = []
    port = RecordingPort(failures={summary.title: [timeout() for _ in range(5)]})
    outbox = Outbox(
        port, MemoryRefs(), ui=team.service.ui, workers=0, wait=wait_none(), settle=lambda j, c: settled.append(j)
    )
    outcome: list[str | None] = []
    card = SummaryCard(summary, Audience.CHANNEL, outbox_job="0badc0de")
    outbox.send(KEY, [card], reply=ReplyTo(user="anna"), on_done=outcome.append)
    told = [text for who, text in port.log if who == "ephemeral:anna"]
    assert told and "as soon as the platform is back" in told[0]
    assert settled == [] and outcome and outcome[0] == "timed out"
    outbox.send(KEY, [card], reply=ReplyTo(user="anna"), on_done=outcome.append)
    assert settled == ["0badc0de"] and outcome[1] is None


def test_a_failure_with_nobody_to_tell_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    port = RecordingPort(failures={"lost": [OutboundError("refused")]})
    Outbox(port, MemoryRefs(), workers=0).send(KEY, say("lost"))
    assert port.log == [("failed", "lost")]
    assert any("no user is there to tell" in r.getMessage() for r in caplog.records)


def test_not_a_member_asks_for_an_invite_through_the_request(store: Store) -> None:
    port = RecordingPort(failures={"hello": [OutboundError("not_in_channel", not_member=True)]})
    said: list[str] = []
    Outbox(port, MemoryRefs(), workers=0).send(
        KEY, [say("hello"), say("never")], reply=ReplyTo(user="u", hook=said.append, language="nl")
    )
    assert len(said) == 1 and "Nodig me uit met" in said[0]
    assert ("post", "never") not in port.log


# --- the console ---------------------------------------------------------------------------------------


def test_the_console_prints_what_the_outbox_sends(store: Store) -> None:
    out = StringIO()
    chat = ConsoleChat(build_service(load_settings({}), store), out=out)
    chat.handle_line("/start")
    chat.outbox.send(chat.channel, say("a line from a job"))
    chat.outbox.send(chat.channel, Notice("private", Audience.EPHEMERAL), reply=ReplyTo(user="you"))
    lines = out.getvalue().splitlines()
    assert "a line from a job" in lines
    assert any(line.endswith("private") and "only you" in line for line in lines)


def test_a_second_process_prints_to_the_console_through_the_outbox() -> None:
    job = [sys.executable, "-m", "tests.adapters.outbox_job", "console", "", "", "", str(KEY), "from a job"]
    result = subprocess.run(job, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["from a job"]
