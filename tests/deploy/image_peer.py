"""Slack's side of deploy/check-image.sh: the fake Web API the container talks to, and a signed command.

``python -m tests.deploy.image_peer fake --state DIR`` runs the suite's fake Slack Web API
(:class:`tests.fakes.slack_api.FakeSlackApi`, spec-validated) on 127.0.0.1 until SIGTERM. The bot
checks its token with ``auth.test`` when it starts, so it needs a Slack to answer; the fake writes its
base URL to ``DIR/api_url``, its ``response_url`` base to ``DIR/hooks_url``, and every call it gets
as one JSON line to ``DIR/calls.jsonl``.

``python -m tests.deploy.image_peer slash --bot URL --secret S --state DIR`` checks the signing code
against the published test vector (PLATFORMS.md S2), sends ``/socialmedia-check help`` signed with a
wrong secret (must be 401) and correctly signed (must be 200), then waits until the bot's answer
reached the fake. Exit 0 when all of that held, 1 with the reason otherwise.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from tests.fakes.slack_api import Call, FakeSlackApi
from tests.fakes.slack_signing import SlackSender, sign

# PLATFORMS.md S2: Slack's own test vector (python-slack-sdk's signature tests).
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TIMESTAMP = "1531420618"
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

CHANNEL = "C0IMAGE01"
USER = "U0IMAGE01"
HELP_MARK = "socialmedia-check start"  # a line of the help text (dialogues/ui.yaml, both languages)


class LoggingFakeSlackApi(FakeSlackApi):
    """The suite's fake, also appending each call to a file another process can read."""

    def __init__(self, log: Path) -> None:
        super().__init__()
        self._log = log
        self._log_lock = threading.Lock()

    def _record(self, call: Call) -> None:
        super()._record(call)
        line = {"method": call.method, "ok": call.ok, "status": call.status, "params": call.params}
        with self._log_lock, self._log.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, default=str) + "\n")


@contextmanager
def serving_fake(state: Path) -> Iterator[LoggingFakeSlackApi]:
    """The fake, listening, with its URLs written to ``state``; stopped on the way out."""
    state.mkdir(parents=True, exist_ok=True)
    with LoggingFakeSlackApi(state / "calls.jsonl") as fake:
        (state / "hooks_url").write_text(fake.hooks_url, encoding="utf-8")
        # Written last: its presence tells the script the fake is listening.
        (state / "api_url").write_text(fake.url, encoding="utf-8")
        yield fake


def run_fake(state: Path) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with serving_fake(state):
        stop.wait()
    return 0


def calls(state: Path) -> list[dict[str, Any]]:
    path = state / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def help_reply(state: Path) -> dict[str, Any] | None:
    """The bot's answer to the help command: an accepted ephemeral (or response_url post) with the help."""
    replies = (c for c in calls(state) if c["ok"] and c["method"] in ("chat.postEphemeral", "response_url"))
    return next((c for c in replies if HELP_MARK in json.dumps(c["params"], ensure_ascii=False)), None)


def run_slash(bot: str, secret: str, state: Path, timeout: float) -> int:
    if sign(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_BODY) != VECTOR_SIGNATURE:
        return _fail("the signing code does not reproduce Slack's published test vector (PLATFORMS.md S2)")
    if not any(c["method"] == "auth.test" and c["ok"] for c in calls(state)):
        return _fail("the bot never called auth.test on the fake Slack: is SLACK_API_URL set in the container?")
    hooks = (state / "hooks_url").read_text(encoding="utf-8").strip()
    sender = SlackSender(bot.rstrip("/") + "/slack/events", secret, hooks_url=hooks)
    body = sender.command_body(CHANNEL, USER, "help")

    forged = sender.send(sender.prepare(body, secret=secret + "-wrong"), timeout=10)
    if forged.status != 401:
        return _fail(f"a command signed with the wrong secret got {forged.status}, not 401: {forged.body[:200]!r}")
    reply = sender.send(sender.prepare(body), timeout=10)
    if reply.status != 200:
        return _fail(f"the signed command got {reply.status}, not 200: {reply.body[:300]!r}")

    deadline = time.monotonic() + timeout
    while (answer := help_reply(state)) is None:
        if time.monotonic() > deadline:
            seen = [(c["method"], c["status"]) for c in calls(state)[-10:]]
            return _fail(f"no help reply reached the fake Slack within {timeout:.0f} s; its last calls: {seen}")
        time.sleep(0.1)  # polling a file another process writes, with a deadline
    print(f"forged signature: 401; signed command: 200; help reply: {answer['method']} to {USER}")
    return 0


def _fail(message: str) -> int:
    print(f"image_peer: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="image_peer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fake = sub.add_parser("fake", help="run the fake Slack Web API until SIGTERM")
    fake.add_argument("--state", type=Path, required=True)
    slash = sub.add_parser("slash", help="send the signed help command and wait for its answer")
    slash.add_argument("--bot", required=True, help="the bot's base URL, e.g. http://127.0.0.1:3000")
    slash.add_argument("--secret", required=True, help="the container's SLACK_SIGNING_SECRET")
    slash.add_argument("--state", type=Path, required=True)
    slash.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    if args.command == "fake":
        return run_fake(args.state)
    return run_slash(args.bot, args.secret, args.state, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
