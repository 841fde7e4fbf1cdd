"""Only ASCII digits 0-9 are numbers: the cases found from outside (issue 8) stay fixed."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from bot.adapters.console import ConsoleChat
from bot.core.commands import CommandError, parse_choices, parse_command
from bot.core.dialogue.load import load_dialogue
from bot.core.engine.dispatch import parse_when
from bot.core.messages import ChannelKey, Event, Tone
from bot.core.numbers import has_non_ascii_digits, is_ascii_number, parse_number
from bot.service import CheckService
from bot.store.store import Store
from tests.team import FIXED_NOW, Team, notices, render

DIALOGUE = load_dialogue()
FOREIGN = ["¹", "²", "①", "ⅷ", "Ⅷ", "٣", "𝟑", "३", "３", "½", "¹2", "1²"]


@pytest.mark.parametrize("text", FOREIGN + ["", "-1", "+1", "1.0", "1_0", "1000", "0x1", "一"])
def test_anything_but_ascii_digits_is_not_a_number(text: str) -> None:
    assert parse_number(text) is None
    assert not is_ascii_number(text)
    assert parse_choices(text) is None


def test_ascii_digits_are_numbers() -> None:
    assert parse_number("7") == 7
    assert parse_number("007") == 7
    assert parse_number("1234", max_digits=4) == 1234
    assert parse_number(" 1") is None and parse_choices(" 1 ") == (1,)  # a list may have spaces, a number not
    assert parse_number(3) == 3 and parse_number(True) is None and parse_number(None) is None
    assert parse_choices("1, 3;2 3") == (1, 3, 2)
    assert has_non_ascii_digits("in ٣ months") and not has_non_ascii_digits("in 3 months")


@pytest.mark.parametrize("value", ["¹", "①", "٣", "𝟑", "0", "501", "x", ""])
def test_a_quorum_is_ascii_digits_from_1_to_500(value: str) -> None:
    assert parse_command(f"start --quorum {value}", "U1") == CommandError("bad_quorum", "500")
    assert parse_command(f"start --quorum={value}", "U1") == CommandError("bad_quorum", "500")
    parsed = parse_command("start --quorum 12", "U1")
    assert isinstance(parsed, Event) and parsed.quorum == 12


@pytest.fixture
def team(store: Store) -> Team:
    return Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))


@pytest.mark.parametrize("text", ["¹", "①", "ⅷ", "٣", "𝟑", "1,²"])
def test_a_foreign_digit_answer_gets_the_polite_number_refusal(team: Team, text: str) -> None:
    team.say("anna", "start")
    size = len(DIALOGUE.question(DIALOGUE.start).options)
    messages = team.say("bram", f"answer {text}")
    refusals = [n for n in notices(messages) if n.tone is Tone.REFUSAL]
    assert refusals, render(messages)
    assert f"a number from 1 to {size}" in refusals[0].text
    record = team.service._store.load_running(str(team.channel))  # type: ignore[attr-defined]
    assert record is not None and not record.answers_to(DIALOGUE.start)


def test_start_with_a_foreign_digit_quorum_is_refused_politely(team: Team) -> None:
    messages = team.say("anna", "start --quorum ¹")
    assert "whole number from 1 to 500" in render(messages)
    assert team.service.current(team.channel) is None


def test_a_date_with_foreign_digits_is_no_date() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    assert parse_when("in 3 months", "en", now) is not None
    assert parse_when("in ٣ months", "en", now) is None
    assert parse_when("over ³ jaar", "nl", now) is None


@pytest.mark.parametrize("line", ["¹", "①", "/answer ①", "/start --quorum ¹", "٣", "𝟑"])
def test_the_console_refuses_foreign_digits_without_a_traceback(store: Store, line: str) -> None:
    out = io.StringIO()
    chat = ConsoleChat(
        CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW), ChannelKey("console", "t", "n"), "anna", out
    )
    if not line.startswith("/start"):
        chat.handle_line("/start")
    assert chat.handle_line(line)
    text = out.getvalue()
    assert "Traceback" not in text
    assert "a number from 1 to" in text or "whole number from 1 to 500" in text
