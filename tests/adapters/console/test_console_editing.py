"""The console as a person at a terminal meets it: the real ``socialmedia-check console`` in a pty
(pexpect) with line editing and history (GNU readline), Ctrl-C and Ctrl-D, text wrapped to the
terminal's width and ``*bold*`` / ``_italic_`` shown as styles; plain text when NO_COLOR is set or
the output is not a terminal. The text renderer's markup itself is checked in-process at the end."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pexpect
import pytest

from bot.adapters.console_out import Terminal
from bot.runtime.redis_server import SOCKET_NAME
from tests.adapters.console.test_console import CLI, DIALOGUE, send
from tests.adapters.console.test_console_reminders import finish_quickly

UP = "\x1b[A"  # what the arrow key sends
FIRST = DIALOGUE.text("en", DIALOGUE.start).text  # "How well would social media fit …"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # a style (Select Graphic Rendition)
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")  # any control sequence readline may send


def console(tmp_path: Path, *, cols: int = 200, **env: str) -> pexpect.spawn:
    """The console at a terminal of ``cols`` columns (xterm), with its data under ``tmp_path``."""
    if CLI is None:
        pytest.fail("the socialmedia-check command is not installed (pip install -e .)")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "SMC_", "NO_COLOR", "COLUMNS"))}
    child = pexpect.spawn(
        CLI,
        ["console", "--data-dir", str(tmp_path / "data")],
        cwd=str(tmp_path),
        env={**base, "TERM": "xterm", **env},
        encoding="utf-8",
        timeout=30,
        dimensions=(50, cols),
    )
    child.expect_exact("you> ")
    return child


def left(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.wait()
    return int(child.exitstatus)


def type_half(child: pexpect.spawn, text: str) -> None:
    """Type without Enter, and wait for the echo: a Ctrl-C before readline read the keys would have
    the terminal throw them away (as it does for a person, who is never that fast)."""
    child.send(text)
    child.expect_exact(text)


def plain(text: str) -> str:
    return ESCAPES.sub("", text).replace("\r", "")


# --- editing and leaving -----------------------------------------------------------------------------


def test_arrow_up_recalls_earlier_lines_also_after_a_restart(tmp_path: Path) -> None:
    child = console(tmp_path)
    send(child, "/as carla", "carla")
    send(child, "/as dave", "dave")
    child.send(UP + UP + "\r")  # two lines back: "/as carla" again, not the raw escape codes
    child.expect_exact("carla> ")
    assert "^[[A" not in child.before
    child.sendline("/quit")
    assert left(child) == 0

    child = console(tmp_path)  # the history is kept beside the check's data:
    child.send(UP * 3 + "\r")  # "/quit", "/as carla", "/as dave"
    child.expect_exact("dave> ")
    child.sendline("/quit")
    assert left(child) == 0


def test_ctrl_c_clears_a_half_typed_line_and_a_second_one_leaves(tmp_path: Path) -> None:
    child = console(tmp_path)
    type_half(child, "/as zed")
    child.sendintr()
    child.expect_exact("you> ")  # still here, and the half line is gone:
    send(child, "/as amy", "amy")  # "/as zed/as amy" would be refused
    child.sendintr()  # on the empty line: a hint first
    child.expect_exact("Ctrl-C again")
    child.expect_exact("amy> ")
    type_half(child, "abc")
    child.sendintr()  # clears "abc"
    child.expect_exact("amy> ")
    child.sendintr()  # and now, on the empty line, leaves
    assert left(child) == 0
    assert not (tmp_path / "data" / SOCKET_NAME).exists(), "the private Redis stopped with it"


def test_ctrl_d_leaves(tmp_path: Path) -> None:
    child = console(tmp_path)
    send(child, "/start", "you")
    child.sendeof()
    assert left(child) == 0


def test_a_reminder_printed_while_someone_types_keeps_their_line(tmp_path: Path) -> None:
    child = console(tmp_path)
    finish_quickly(child)
    send(child, "/revisit in 3 seconds", "you")
    type_half(child, "/as hal")  # typing, not sent
    child.expect_exact("Time to look again", timeout=15)  # the scheduler's thread prints it
    child.expect_exact("you> /as hal")  # the prompt and the half-typed line are back
    child.send("ey\r")
    child.expect_exact("haley> ")  # what was typed before the reminder is part of the line
    child.sendline("/quit")
    assert left(child) == 0


# --- what is shown --------------------------------------------------------------------------------------


def test_text_is_wrapped_to_the_terminal_width_and_commands_stay_whole(tmp_path: Path) -> None:
    child = console(tmp_path, cols=40)
    shown = plain(send(child, "/start", "you"))
    lines = shown.split("\n")
    assert max(len(line) for line in lines) <= 40, lines
    assert FIRST not in shown, "a question longer than the terminal is wrapped"
    assert " ".join(" ".join(lines).split()).count(FIRST) == 1, "at word boundaries, every word kept"
    helped = plain(send(child, "/help", "you"))
    command = "  /start [nl|en] [--anonymous] [--quorum N], /next, /back, /skip, /note TEXT,"
    assert command in helped.split("\n"), "a command line is not broken"
    child.sendline("/quit")
    assert left(child) == 0


def test_bold_is_a_style_on_a_terminal_not_asterisks(tmp_path: Path) -> None:
    child = console(tmp_path)
    shown = send(child, "/start", "you")
    assert f"\x1b[1m{FIRST}\x1b[0m" in shown
    assert f"*{FIRST}*" not in shown
    assert "\x1b[3m" in shown, "the question's help in italics"
    child.sendline("/quit")
    assert left(child) == 0


def test_no_color_strips_the_marks_and_sends_no_styles(tmp_path: Path) -> None:
    child = console(tmp_path, NO_COLOR="1")
    shown = send(child, "/start", "you")
    assert not SGR.search(shown), repr(shown[:300])
    assert FIRST in shown.replace("\r", "").split("\n") and f"*{FIRST}*" not in shown
    child.sendline("/quit")
    assert left(child) == 0


def test_output_that_is_not_a_terminal_is_plain_and_unwrapped(tmp_path: Path) -> None:
    assert CLI is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "SMC_", "NO_COLOR"))}
    result = subprocess.run(
        [CLI, "console", "--data-dir", str(tmp_path / "data")],
        input="/start\n/quit\n",
        env={**env, "COLUMNS": "40"},  # even a narrow COLUMNS does not wrap a pipe
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert FIRST in result.stdout.split("\n") and f"*{FIRST}*" not in result.stdout


# --- the markup, in-process ------------------------------------------------------------------------------


def test_the_terminal_renders_the_renderers_markup() -> None:
    styled, bare = Terminal(styled=True, width=0), Terminal(styled=False, width=0)
    assert styled.render("*Decision:* Go") == "\x1b[1mDecision:\x1b[0m Go"
    assert styled.render("_a hint_") == "\x1b[3ma hint\x1b[0m"
    assert styled.render("*bold _and italic_*") == "\x1b[1mbold \x1b[0m\x1b[1;3mand italic\x1b[0m"
    assert bare.render("*Decision:* Go\n_a hint_") == "Decision: Go\na hint"
    for literal in ("snake_case_name", "2*3*4", "* not bold *", "`/socialmedia-check *x*`"):
        assert styled.render(literal) == literal


def test_wrapping_keeps_indentation_hangs_list_items_and_never_breaks_a_code_span() -> None:
    narrow = Terminal(styled=False, width=24)
    assert narrow.render("  • anna: we really have no time for this").split("\n") == [
        "  • anna: we really have",
        "    no time for this",
    ]
    long_code = "see `/socialmedia-check revisit in <duration>` soon"
    assert narrow.render(long_code).split("\n") == ["see", "`/socialmedia-check revisit in <duration>`", "soon"]
    typed = "  [Snooze 1 month]  /socialmedia-check reminder 3f9a2c1b snooze 1 month"
    assert narrow.render(typed) == typed
