"""Hostile input to the command grammar and the console's line parser (issue 8), with Hypothesis.

Properties: parsing never raises; whatever is accepted is well-formed (numbers are ASCII digits, a
quorum is 1..500, a language is known); the console answers every line without a traceback.
Deterministic under the "ci" profile (tests/conftest.py).
"""

from __future__ import annotations

import io
import re
import uuid

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.adapters.console import ConsoleChat
from bot.core.commands import LANGUAGES, MAX_QUORUM, CommandError, parse_choices, parse_command
from bot.core.dialogue.load import load_dialogue, packaged_dialogues_dir
from bot.core.messages import ChannelKey, Event, EventKind
from bot.service import CheckService
from bot.store.store import Store
from tests.team import FIXED_NOW

DIALOGUE = load_dialogue()
UI_KEYS = set(yaml.safe_load((packaged_dialogues_dir() / "ui.yaml").read_text(encoding="utf-8"))["en"])
WORDS = ["start", "begin", "answer", "antwoord", "note", "next", "back", "skip", "status", "summary", "cancel",
         "restart", "decide", "help", "/as", "/quit", "/socialmedia-check", "--quorum", "--quorum=", "--anonymous",
         "nl", "en", "confirm", "go", "not now", "revisit", "herzien", "reminders", "reminder", "herinnering",
         "history", "geschiedenis", "in", "on", "over", "op", "seconds", "months", "snooze", "dismiss", "start",
         "answer", "cancel", "annuleer", "0badc0de", "3f9a2c1b"]  # fmt: skip
DIGITS = ["1", "2", "10", "500", "501", "0", "¹", "²", "①", "ⅷ", "Ⅷ", "٣", "𝟑", "३", "３", "½", "-1", "1.5"]
SEPARATORS = [" ", ",", ", ", ";", "\u00a0", "\t", "\n", "\u2028", "\x00", "\u200b"]
tokens = st.one_of(st.sampled_from(WORDS), st.sampled_from(DIGITS), st.text(max_size=12))
lines = st.one_of(
    st.lists(st.tuples(tokens, st.sampled_from(SEPARATORS)), max_size=8).map(lambda ts: "".join(a + b for a, b in ts)),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
    st.text(min_size=990, max_size=1100),
    st.just(""),
)
ASCII_NUMBER = re.compile(r"[0-9]{1,3}")


@example(text="answer ¹")
@example(text="start --quorum ¹")
@example(text="start --quorum=٣")
@example(text="start --quorum 𝟑")
@example(text="start --quorum")
@example(text="start --quorum 007")
@given(text=lines)
def test_the_grammar_never_raises_and_accepts_only_well_formed_commands(text: str) -> None:
    parsed = parse_command(text, "U1", "anna")
    if isinstance(parsed, CommandError):
        assert parsed.key in UI_KEYS, parsed
        return
    assert isinstance(parsed, Event) and parsed.user == "U1"
    if parsed.kind is EventKind.START:
        assert parsed.quorum is None or (type(parsed.quorum) is int and 1 <= parsed.quorum <= MAX_QUORUM)
        assert parsed.language is None or parsed.language in LANGUAGES
        if parsed.quorum is not None:
            assert any(int(run) == parsed.quorum for run in re.findall("[0-9]+", text)), text  # typed in ASCII
    if parsed.kind in (EventKind.ANSWER, EventKind.NOTE):
        assert parsed.text and parsed.text == parsed.text.strip()


@example(text="¹")
@example(text="①")
@example(text="٣")
@example(text="𝟑")
@example(text="1, ²")
@given(text=lines)
def test_choices_are_ascii_numbers_or_nothing(text: str) -> None:
    choices = parse_choices(text)
    if choices is None:
        return
    parts = text.replace(",", " ").replace(";", " ").split()
    assert parts and all(ASCII_NUMBER.fullmatch(p) for p in parts), text
    assert all(type(c) is int and 0 <= c <= 999 for c in choices)
    assert len(set(choices)) == len(choices)


@settings(max_examples=30)
@example(script=["/start", "¹"])
@example(script=["/start", "/answer ①"])
@example(script=["/start --quorum ¹"])
@example(script=["/start", "٣", "𝟑", "/next", "ⅷ"])
@given(script=st.lists(st.one_of(lines, st.builds(lambda t: "/" + t, lines)), min_size=1, max_size=8))
def test_the_console_answers_every_line_without_a_traceback(store: Store, script: list[str]) -> None:
    out = io.StringIO()
    service = CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW)
    chat = ConsoleChat(service, ChannelKey("console", "fuzz", uuid.uuid4().hex), "anna", out)
    for line in script:
        keep_going = chat.handle_line(line)
        assert isinstance(keep_going, bool)
        assert keep_going or line.strip() in ("/quit", "/exit")
    assert "Traceback" not in out.getvalue()
