"""The log: one JSON object per line (SMC_LOG_FORMAT=json, the default off a terminal), secrets never in it.

The formatter, the redaction, Python's warnings and the uncaught-exception hooks are tested in
this process (with the logging set-up put back afterwards); then a real ``socialmedia-check serve``
runs a whole check from signed Slack requests against the fake Slack Web API, at DEBUG, and every
line it wrote is read back: all JSON, no token or secret anywhere (even where a colleague pasted
them into the chat), and nothing people typed above DEBUG.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from bot.runtime import logs
from bot.store.store import Store
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi
from tests.fakes.slack_signing import SlackSender
from tests.runtime.slack_walk import wait_for, walk_check

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0
CHANNEL = "C0LOGS001"
FACILITATOR, BOB = "U0FAC0001", "U0BOB0002"
_OWN_ENV = re.compile(r"^(SMC_|SLACK_|MATTERMOST_|REDIS_|PORT$|HOST$)")
_LISTENING = re.compile(r"listening on http://[^\s:\"]+:(\d+)")


# --- in this process ------------------------------------------------------------------------------


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """``logs.configure`` onto a buffer; the root logger, the hooks and warnings put back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, threading.excepthook, sys.unraisablehook)
    out = io.StringIO()
    try:
        yield out
    finally:
        for handler in list(root.handlers):
            if handler not in saved[0]:
                root.removeHandler(handler)
        root.setLevel(saved[1])
        sys.excepthook, threading.excepthook, sys.unraisablehook = saved[2], saved[3], saved[4]
        logging.captureWarnings(False)
        logs._handler = None


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_json_line_carries_where_it_happened_and_keeps_its_traceback_on_the_line(configured: io.StringIO) -> None:
    logs.configure("json", "DEBUG", stream=configured)
    log = logging.getLogger("bot.test")
    with logs.bound(platform="slack", team="T1", channel="C1", check="abc123", event="answer"):
        log.info("recorded")
        with logs.bound(check=None):  # an empty value keeps what is known
            log.warning("moved on", extra={"outcome": "refused:stale_button"})
        try:
            raise ValueError("line one\nline two")
        except ValueError:
            log.exception("it broke")
    log.info("outside")
    first, second, third, fourth = lines(configured)
    assert first["message"] == "recorded" and first["level"] == "info" and first["logger"] == "bot.test"
    assert {k: first[k] for k in logs.CONTEXT_FIELDS if k in first} == {
        "platform": "slack",
        "team": "T1",
        "channel": "C1",
        "check": "abc123",
        "event": "answer",
    }
    assert second["outcome"] == "refused:stale_button" and second["check"] == "abc123"
    assert "Traceback" in third["exception"] and "line two" in third["exception"]
    assert len(configured.getvalue().splitlines()) == 4  # the traceback did not break the line
    assert not set(logs.CONTEXT_FIELDS) & set(fourth)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])


SLACK_TOKEN = "xoxb-1111-2222-abcdefABCDEF"


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_secrets_and_token_shapes_never_reach_a_line(configured: io.StringIO, fmt: logs.Format) -> None:
    configured_secrets = logs.secrets_of(
        {
            "SLACK_SIGNING_SECRET": "signing-secret-0123456789",
            "SMC_SECRET": "smc-secret-for-buttons-0123456789",
            "MATTERMOST_COMMAND_TOKEN": "cmdtokenone, cmdtokentwo",
            "REDIS_URL": "rediss://smc:p%40ssw0rd-long@redis.internal:6380/0",
            "SLACK_APP_TOKEN": "",
        }
    )
    logs.configure(fmt, "INFO", configured_secrets, stream=configured)
    log = logging.getLogger("bot.test")
    log.info("signing with %s and %s", "signing-secret-0123456789", "smc-secret-for-buttons-0123456789")
    log.info("tokens cmdtokentwo and cmdtokenone; redis at rediss://smc:p%40ssw0rd-long@redis.internal:6380/0")
    log.info("headers %r", {"Authorization": "Bearer abcdef.123456"})
    log.info("a pasted %s and xapp-1-A0-123-abc and p@ssw0rd-long", SLACK_TOKEN)
    try:
        raise RuntimeError("failed with signing-secret-0123456789")
    except RuntimeError:
        log.exception("boom")
    text = configured.getvalue()
    for secret in (
        "signing-secret-0123456789",
        "smc-secret-for-buttons-0123456789",
        "cmdtokenone",
        "cmdtokentwo",
        "p%40ssw0rd-long",
        "p@ssw0rd-long",
        "abcdef.123456",
        SLACK_TOKEN,
        "1111-2222",
        "A0-123-abc",
    ):
        assert secret not in text, secret
    assert text.count(logs.REDACTED) >= 10 and "xoxb-[redacted]" in text and "Bearer [redacted]" in text
    assert "rediss://smc:[redacted]@redis.internal" in text
    if fmt == "json":
        assert len(lines(configured)) == 5
    else:
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO bot.test: signing with", text)


def test_warnings_and_uncaught_exceptions_of_threads_become_json_lines(configured: io.StringIO) -> None:
    logs.configure("json", "INFO", stream=configured)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("this will change", FutureWarning, stacklevel=1)

    def fail() -> None:
        raise LookupError("in a worker")

    worker = threading.Thread(target=fail, name="worker-7")
    worker.start()
    worker.join()
    try:
        raise KeyError("main")
    except KeyError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    warned, thread, main = lines(configured)
    assert warned["logger"] == "py.warnings" and "FutureWarning: this will change" in warned["message"]
    assert thread["message"] == "uncaught exception in thread worker-7" and "LookupError" in thread["exception"]
    assert main["level"] == "critical" and "KeyError: 'main'" in main["exception"]


def test_the_format_follows_the_setting_else_whether_stderr_is_a_terminal() -> None:
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal, open(os.devnull, "w") as file:
        assert logs.choose_format(None, terminal) == "text"
        assert logs.choose_format(None, file) == "json"
        assert logs.choose_format("json", terminal) == "json"
        assert logs.choose_format("text", file) == "text"
    os.close(leader)


# --- a real process ---------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not _OWN_ENV.match(k)}
    values.update(PYTHONUNBUFFERED="1", **extra)
    return values


def _json_lines(text: str) -> list[dict[str, Any]]:
    parsed = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"line {number} is not JSON: {line[:300]!r}") from None
        assert isinstance(parsed[-1], dict) and {"time", "level", "logger", "message"} <= set(parsed[-1])
    return parsed


def test_an_uncaught_exception_of_the_main_thread_is_one_redacted_json_line() -> None:
    code = (
        "from bot.runtime import logs; logs.configure('json', 'INFO', {'smc-secret-0123456789abc'}); "
        "raise RuntimeError('no luck with smc-secret-0123456789abc and xoxb-9-9-zz')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert done.returncode == 1 and done.stdout == ""
    [line] = _json_lines(done.stderr)
    assert (
        line["level"] == "critical" and "RuntimeError: no luck with [redacted] and xoxb-[redacted]" in line["exception"]
    )


@pytest.mark.parametrize("fmt", ["json", "", "text"])
def test_a_setting_that_does_not_validate_is_said_in_the_log_format(redis_url: str, fmt: str) -> None:
    env = _env(REDIS_URL=redis_url, PORT="not-a-port", SMC_LOG_FORMAT=fmt)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=WAIT
    )
    assert done.returncode == 2 and done.stdout == ""
    if fmt == "text":
        assert done.stderr.startswith("socialmedia-check: invalid configuration — PORT:")
        return
    [line] = _json_lines(done.stderr)  # json, and the default when stderr is not a terminal
    assert line["level"] == "error" and line["message"].startswith("socialmedia-check: invalid configuration — PORT:")


def test_serve_writes_only_json_through_a_whole_check_with_no_secret_and_no_typed_text_above_debug(
    redis_url: str, tmp_path: Path
) -> None:
    prefix = f"logs{uuid.uuid4().hex[:8]}"
    token, signing, smc_secret = f"xoxb-{secrets.token_hex(8)}", secrets.token_hex(16), secrets.token_urlsafe(24)
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with FakeSlackApi() as fake:
        env = _env(
            REDIS_URL=redis_url,
            SMC_REDIS_PREFIX=prefix,
            PORT="0",
            HOST="127.0.0.1",
            SMC_LOG_FORMAT="json",
            SMC_LOG_LEVEL="DEBUG",  # the most the log ever says: people's words may appear, secrets never
            SLACK_BOT_TOKEN=token,
            SLACK_SIGNING_SECRET=signing,
            SLACK_API_URL=fake.url,
            SMC_SECRET=smc_secret,
        )
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env, stdout=out, stderr=err
            )
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        try:
            wait_for(
                "the bot to listen", lambda: _LISTENING.search(err_path.read_text()) or proc.poll() is not None, WAIT
            )
            assert proc.poll() is None, err_path.read_text()[-3000:]
            port = _LISTENING.search(err_path.read_text()).group(1)  # type: ignore[union-attr]
            sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", signing, hooks_url=fake.hooks_url)

            def slash(user: str, text: str) -> None:
                assert sender.slash(CHANNEL, user, text).status == 200

            store = Store(client, prefix=prefix, session_ttl=3600)
            # the facilitator pastes the bot's secrets into an answer: the bot shows it back in Slack,
            # and slack_sdk's DEBUG line of that request holds it — redacted
            pasted = f"{token} {signing} {smc_secret}"
            walk = walk_check(
                slash, store, f"slack:{TEAM_ID}:{CHANNEL}", FACILITATOR, (BOB,), marker="zebra", paste=pasted
            )
            assert any(pasted in json.dumps(c.params) for c in fake.calls("chat.postEphemeral"))
            # the app hands its one registry to the service, the adapter, the outbox and the store
            fake.wait_for("files.completeUploadExternal", 1, timeout=WAIT)  # the chart: the summary's last call
            ok_posts = ("smc_platform_calls_total", (("method", "post"), ("outcome", "ok"), ("platform", "slack")))
            metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

            def scraped() -> bool:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=WAIT) as reply:
                    metrics.update(
                        ((sample.name, tuple(sorted(sample.labels.items()))), sample.value)
                        for family in text_string_to_metric_families(reply.read().decode())
                        for sample in family.samples
                    )
                return metrics.get(ok_posts) == len(fake.calls("chat.postMessage"))

            wait_for("every post counted", scraped)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(WAIT)
            client.close()
    stdout, stderr = out_path.read_text(encoding="utf-8"), err_path.read_text(encoding="utf-8")
    assert code == 0, stderr[-3000:]

    entries = _json_lines(stdout) + _json_lines(stderr)  # every line, from the first, is a JSON object
    assert len(entries) > 50 and stderr.startswith("{")
    for secret in (token, signing, smc_secret, token.removeprefix("xoxb-")):
        assert secret not in stdout and secret not in stderr
    assert any(f"{logs.REDACTED} {logs.REDACTED} {logs.REDACTED}" in e["message"] for e in entries)  # the paste
    above_debug = [e for e in entries if e["level"] != "debug"]
    for text in walk.texts:
        assert not [e for e in above_debug if text in json.dumps(e)], text
    messages = [e["message"] for e in above_debug]
    assert "SIGTERM: draining (at most 0:00:20)" in messages and messages[-1] == "stopped"
    started = next(e for e in entries if e["message"].startswith(f"check {walk.check} started"))
    assert {k: started.get(k) for k in ("level", "platform", "team", "channel", "event", "check", "outcome")} == {
        "level": "info",
        "platform": "slack",
        "team": TEAM_ID,
        "channel": CHANNEL,
        "event": "start",
        "check": walk.check,
        "outcome": "started",
    }
    assert metrics[("smc_ready", ())] == 1
    assert metrics[("smc_checks_started_total", (("platform", "slack"),))] == 1
    assert metrics[("smc_checks_finished_total", (("decision", "not_now"), ("platform", "slack")))] == 1
    assert metrics[("smc_answers_recorded_total", (("platform", "slack"),))] == walk.answers
    assert metrics[("smc_redis_seconds_count", (("action", "record_answer"),))] >= walk.answers
    assert metrics[ok_posts] > 20
    finished = next(e for e in entries if e["message"] == f"check {walk.check} finished: not_now")
    assert finished["outcome"] == "finished" and finished["event"] == "next" and finished["check"] == walk.check
