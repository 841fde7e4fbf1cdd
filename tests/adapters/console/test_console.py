"""The real ``socialmedia-check console`` process, driven like a person types: three colleagues,
kill -9 half-way (the bot and its private Redis), start again, finish; every answer is kept."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
from pathlib import Path

import pexpect
import pytest

from bot.core.dialogue.load import load_dialogue
from bot.runtime.redis_server import PIDFILE_NAME, SOCKET_NAME
from bot.store.store import Store

DIALOGUE = load_dialogue()
BY_TEXT = {DIALOGUE.text("en", qid).text: qid for qid in DIALOGUE.questions}
USERS = ("anna", "bram", "carla")
# The command installed beside this Python (a venv's bin/), else the one on PATH.
_beside = Path(sys.executable).parent / "socialmedia-check"
CLI = str(_beside) if _beside.exists() else shutil.which("socialmedia-check")


def spawn(data_dir: Path, cwd: Path) -> pexpect.spawn:
    if CLI is None:
        pytest.fail("the socialmedia-check command is not installed (pip install -e .)")
    # styles on, and the pty's width (not an inherited COLUMNS) is the terminal's
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "SMC_", "NO_COLOR", "COLUMNS"))}
    child = pexpect.spawn(
        CLI,
        ["console", "--data-dir", str(data_dir)],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(200, 200),
    )
    child.logfile_read = sys.stdout if os.environ.get("SMC_TEST_VERBOSE") else None
    return child


def send(child: pexpect.spawn, line: str, prompt: str) -> str:
    child.sendline(line)
    child.expect_exact(f"{prompt}> ")
    return child.before


def current_question(output: str) -> str | None:
    found = [BY_TEXT[m] for m in re.findall(r"^\x1b\[1m(.+)\x1b\[0m\r?$", output, flags=re.M) if m in BY_TEXT]
    return found[-1] if found else None


def answer_for(qid: str, i: int) -> str | None:
    question = DIALOGUE.question(qid)
    if qid == "leaning":
        return "2"  # "worth a try" -> the channel questions follow
    if question.is_decision:
        return "1"  # go
    if question.kind in ("scale", "single"):
        return str(1 + i % len(question.options))
    if question.kind == "multi":
        return ("1", "1,2", "2,3")[i]
    if question.kind == "date":
        return "in 6 months" if i == 0 else None
    return f"{qid} says {USERS[i]}"


def test_console_full_check_survives_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    child = spawn(data_dir, tmp_path)
    child.expect_exact("you> ")
    output = send(child, "/as anna", "anna")
    output = send(child, "/start", "anna")
    assert "Question 1 · Our situation (phase 1 of 5)" in output and "1. " in output, "progress and numbered options"
    qid = current_question(output)
    given: dict[str, dict[str, str]] = {}
    killed = False
    for _ in range(60):
        assert qid is not None, output
        for i, user in enumerate(USERS):
            text = answer_for(qid, i)
            send(child, f"/as {user}", user)
            if text is not None:
                reply = send(child, text, user)
                assert "Recorded your answer" in reply, reply
                given.setdefault(qid, {})[user] = text
        if not killed and len(given) == 8:
            # half-way: kill the bot and its private Redis without any chance to clean up
            redis_pid = int((data_dir / PIDFILE_NAME).read_text().strip())
            child.kill(signal.SIGKILL)
            os.kill(redis_pid, signal.SIGKILL)
            child.wait()
            child = spawn(data_dir, tmp_path)
            child.expect_exact("you> ")
            resumed = child.before
            assert "Resuming the running check" in resumed
            assert current_question(resumed) == qid, "the same question is open again"
            killed = True
        send(child, "/as anna", "anna")
        output = send(child, "/next", "anna")
        if "Summary" in output:
            break
        qid = current_question(output)
    else:
        raise AssertionError("the check never finished")
    assert killed
    assert "\x1b[1mParticipants:\x1b[0m anna, bram, carla" in output  # *bold* on a terminal
    assert "\x1b[1mDecision:\x1b[0m Go" in output

    # every answer given, before and after the crash, is stored exactly once
    store = Store.from_url(f"unix://{data_dir / SOCKET_NAME}", prefix="smc")
    try:
        finished = store.history("console:local:team", limit=1)[0]
    finally:
        store.close()
    for question_id, per_user in given.items():
        assert set(finished.answers_to(question_id)) == set(per_user), question_id
    assert sum(len(v) for v in finished.answers.values()) == sum(len(v) for v in given.values())

    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.wait()
    assert not (data_dir / SOCKET_NAME).exists(), "the private Redis stops with the console"


def test_console_says_how_to_get_redis_when_there_is_none(tmp_path: Path) -> None:
    if CLI is None:
        pytest.fail("the socialmedia-check command is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "SMC_"))}
    env["SMC_REDIS_SERVER"] = str(tmp_path / "no-such-redis-server")
    child = pexpect.spawn(
        sys.executable,
        [CLI, "console", "--data-dir", str(tmp_path / "d")],
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect(pexpect.EOF)
    child.wait()
    assert child.exitstatus != 0
    assert "SMC_REDIS_SERVER" in child.before
    assert "apt-get install -y redis-server" in child.before and "REDIS_URL" in child.before
    assert "Traceback" not in child.before
