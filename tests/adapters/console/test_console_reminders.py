"""The real console process and its reminders, in real seconds: a revisit due while the console runs is
printed there; one that fell due while it was closed is printed when it starts again."""

from __future__ import annotations

import time
from pathlib import Path

import pexpect

from tests.adapters.console.test_console import DIALOGUE, current_question, send, spawn


def finish_quickly(child: pexpect.spawn) -> str:
    """Start a check and move through it as the facilitator, deciding "not now"."""
    output = send(child, "/start", "you")
    for _ in range(60):
        qid = current_question(output)
        assert qid is not None, output
        command = "/decide not-now" if DIALOGUE.question(qid).is_decision else "/next"
        output = send(child, command, "you")
        if "Summary" in output:
            return output
    raise AssertionError("the check never finished")


def test_a_revisit_due_while_the_console_runs_is_printed_there(tmp_path: Path) -> None:
    child = spawn(tmp_path / "data", tmp_path)
    child.expect_exact("you> ")
    summary = finish_quickly(child)
    assert "I'll come back to this channel then" in summary
    reply = send(child, "/revisit in 3 seconds", "you")
    assert "will be looked at again on" in reply
    asked = time.monotonic()
    child.expect_exact("Time to look again", timeout=15)  # printed by the scheduler, with no input
    assert time.monotonic() - asked >= 2.0, "not before its time"
    child.expect_exact("[Snooze 1 month]")
    child.expect_exact("you> ")
    listing = send(child, "/reminders", "you")
    assert "posted, waiting for an answer" in listing
    child.sendline("/quit")
    child.expect(pexpect.EOF)


def test_a_revisit_due_while_the_console_was_closed_is_printed_when_it_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    child = spawn(data_dir, tmp_path)
    child.expect_exact("you> ")
    finish_quickly(child)
    send(child, "/revisit in 2 seconds", "you")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.wait()
    closed = time.monotonic()
    child = spawn(data_dir, tmp_path)
    child.expect_exact("Time to look again", timeout=15)
    assert time.monotonic() - closed >= 1.0
    child.expect_exact("you> ")
    assert "Time to look again" not in send(child, "/status", "you"), "printed once"
    child.sendline("/quit")
    child.expect(pexpect.EOF)
