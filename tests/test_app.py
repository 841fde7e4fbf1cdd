"""The process's lifecycle: a REAL ``python -m bot.cli serve|socket`` against the test redis and the fakes.

Health checks in both modes; SIGTERM drains (readyz 503, the request in flight and the queued posts
finish) and exits 0; a platform that never answers cannot hold the process past the grace period.
A platform call is made slow by holding the fake's answer on an event the test sets — no sleeps.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from bot.app import App
from bot.config import load_settings
from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_signing import SlackSender
from tests.fakes.socket_mode import FakeSocketMode

ROOT = Path(__file__).resolve().parents[1]
WAIT = 30.0  # generous: only ever a bound on waiting for an outcome
TEAM, CHANNEL_ID = "team1", "chan1"
COMMAND_TOKEN = "cmdtokenteamone"
SECRET = "test-secret-for-mattermost-0123456789"
SLACK_CHANNEL = "C0SOCKET1"
_OWN_ENV = re.compile(r"^(SMC_|SLACK_|MATTERMOST_|REDIS_URL$|PORT$|HOST$)")
# bot.runtime.web logs this once its socket listens; with PORT=0 it is how the test learns the port.
_LISTENING = re.compile(r"listening on http://[^\s:]+:(\d+)")
# Where Mattermost would reach the bot (behind a proxy, say). The test plays Mattermost itself and
# sends the clicks to the process's real port; nothing calls this address.
PUBLIC_URL = "https://bot.example.test"


# --- the process ------------------------------------------------------------------------------


@dataclass
class Bot:
    proc: subprocess.Popen[bytes]
    log_path: Path
    session: requests.Session = field(default_factory=requests.Session)
    _port: int | None = None

    @property
    def port(self) -> int:
        """The port the process bound itself (PORT=0: nobody can take it first), as its log says."""
        if self._port is None:
            deadline = time.monotonic() + WAIT
            while (found := _LISTENING.search(self.log())) is None:
                assert self.proc.poll() is None, f"the bot exited with {self.proc.returncode}:\n{self.log()}"
                assert time.monotonic() < deadline, f"the bot never said where it listens:\n{self.log()}"
                self.proc_wait(0.05)
            self._port = int(found.group(1))
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=WAIT)  # a new connection every time

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the bot exited with {self.proc.returncode}:\n{self.log()}"
            try:
                if self.get("/readyz").status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            self.proc_wait(0.05)
        raise AssertionError(f"/readyz never said 200:\n{self.log()}")

    def wait_draining(self) -> requests.Response:
        """After SIGTERM: the first /readyz answer that is not 200 (the drain has begun)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            reply = self.get("/readyz")
            if reply.status_code != 200:
                return reply
            self.proc_wait(0.02)
        raise AssertionError(f"/readyz never left 200 after SIGTERM:\n{self.log()}")

    def proc_wait(self, seconds: float) -> None:
        """A pause between probes that also returns at once if the process exits."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(seconds)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def exit_code(self) -> int:
        try:
            return self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the bot did not exit after SIGTERM:\n{self.log()}") from None


@pytest.fixture
def launch(redis_url: str, tmp_path: Path) -> Iterator[Any]:
    started: list[Bot] = []

    def start(mode: str, **env: str) -> Bot:
        values = {k: v for k, v in os.environ.items() if not _OWN_ENV.match(k)}
        values.update(
            REDIS_URL=redis_url,
            SMC_REDIS_PREFIX=f"app{uuid.uuid4().hex[:8]}",
            PORT="0",  # the child binds a free port itself and logs it (see Bot.port)
            HOST="127.0.0.1",
            SMC_LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        values.update(env)
        log_path = tmp_path / f"bot-{len(started)}.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", mode], env=values, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        bot = Bot(proc, log_path)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.session.close()
        if bot.proc.poll() is None:
            bot.proc.kill()
            bot.proc.wait(WAIT)


# --- a Mattermost fake whose answers the test can hold -------------------------------------------


class HoldingMattermost(FakeMattermost):
    """:meth:`hold` makes the next matching call wait for an event before the fake handles it."""

    def __init__(self) -> None:
        super().__init__()
        self._held: tuple[str, str, threading.Event, threading.Event] | None = None

    def hold(self, method: str, path_regex: str) -> tuple[threading.Event, threading.Event]:
        """(entered, release): ``entered`` is set once the call arrived; it is answered after ``release``."""
        entered, release = threading.Event(), threading.Event()
        self._held = (method, path_regex, entered, release)
        return entered, release

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        held = self._held
        if held is not None and method == held[0] and re.fullmatch(held[1], urlsplit(raw_path).path):
            self._held = None
            held[2].set()
            held[3].wait(WAIT * 2)
        return super()._handle(method, raw_path, headers, raw)


@pytest.fixture
def mattermost() -> Iterator[HoldingMattermost]:
    with HoldingMattermost() as fake:
        yield fake
    assert fake.violations == [], fake.violations


def mattermost_env(fake: FakeMattermost) -> dict[str, str]:
    return {
        "MATTERMOST_URL": fake.url,
        "MATTERMOST_BOT_TOKEN": fake.token,
        "MATTERMOST_COMMAND_TOKEN": COMMAND_TOKEN,
        "SMC_SECRET": SECRET,
        "SMC_PUBLIC_URL": PUBLIC_URL,
    }


def command(bot: Bot, fake: FakeMattermost, user: str, text: str) -> requests.Response:
    form = {
        "channel_id": CHANNEL_ID,
        "command": "/socialmedia-check",
        "team_id": TEAM,
        "text": text,
        "token": COMMAND_TOKEN,
        "trigger_id": fake.new_trigger_id(user),
        "user_id": user,
        "user_name": user.capitalize(),
    }
    return requests.post(
        bot.url + "/mattermost/command",
        data=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=WAIT,
    )


def question_post(fake: FakeMattermost) -> dict[str, Any]:
    def first_question(f: FakeMattermost) -> dict[str, Any] | None:
        for post in f.channel_posts(CHANNEL_ID):
            attachments = (post.get("props") or {}).get("attachments") or []
            if post["root_id"] and attachments and attachments[0].get("actions"):
                return post
        return None

    return fake.wait_for(first_question, WAIT)  # type: ignore[no-any-return]


def action(post: dict[str, Any], action_id: str) -> dict[str, Any]:
    for attachment in (post.get("props") or {}).get("attachments") or []:
        for candidate in attachment.get("actions") or []:
            if candidate["id"] == action_id:
                return candidate  # type: ignore[no-any-return]
    raise AssertionError(f"no action {action_id!r}")


# --- serve ------------------------------------------------------------------------------------


def test_serve_answers_health_checks_and_exits_0_on_sigterm(launch: Any, mattermost: HoldingMattermost) -> None:
    bot = launch("serve", **mattermost_env(mattermost))
    bot.wait_ready()
    assert bot.get("/healthz").json() == {"status": "ok"}
    assert bot.get("/readyz").json() == {"status": "ready"}
    bot.terminate()
    assert bot.exit_code() == 0, bot.log()
    assert "SIGTERM" in bot.log()


def test_serve_with_no_platform_serves_health_checks_only(launch: Any) -> None:
    bot = launch("serve")
    bot.wait_ready()
    assert requests.post(bot.url + "/mattermost/command", timeout=WAIT).status_code == 404
    bot.proc.send_signal(signal.SIGINT)
    assert bot.exit_code() == 0, bot.log()


def test_sigterm_lets_the_request_in_flight_finish(launch: Any, mattermost: HoldingMattermost) -> None:
    bot = launch("serve", **mattermost_env(mattermost))
    bot.wait_ready()
    assert command(bot, mattermost, "anna", "start").status_code == 200
    post = question_post(mattermost)

    # "Add a note" opens a dialog: the bot calls Mattermost while the click's request waits.
    entered, release = mattermost.hold("POST", r"/api/v4/actions/dialogs/open")
    note = action(post, "note")["integration"]
    assert note["url"] == PUBLIC_URL + "/mattermost/actions"  # the button calls back to SMC_PUBLIC_URL
    click = {
        "user_id": "bram",
        "user_name": "Bram",
        "channel_id": CHANNEL_ID,
        "team_id": TEAM,
        "post_id": post["id"],
        "trigger_id": mattermost.new_trigger_id("bram"),
        "type": "button",
        "context": note["context"],
    }
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_flight: Future[requests.Response] = pool.submit(
            requests.post, bot.url + urlsplit(note["url"]).path, json=click, timeout=WAIT
        )
        assert entered.wait(WAIT), bot.log()

        bot.terminate()
        draining = bot.wait_draining()
        assert draining.status_code == 503 and draining.json() == {"status": "draining"}
        refused = command(bot, mattermost, "carla", "status")
        assert refused.status_code == 503  # new work is refused during the drain
        assert not in_flight.done() and bot.proc.poll() is None

        release.set()
        reply = in_flight.result(WAIT)
    assert reply.status_code == 200 and reply.json() == {}
    assert bot.exit_code() == 0, bot.log()
    assert [d for d in mattermost.dialogs if d["trigger_id"] == click["trigger_id"]]


def test_sigterm_sends_the_queued_posts_first(launch: Any, mattermost: HoldingMattermost) -> None:
    bot = launch("serve", **mattermost_env(mattermost))
    bot.wait_ready()
    entered, release = mattermost.hold("POST", r"/api/v4/posts")
    assert command(bot, mattermost, "anna", "start").status_code == 200  # answered; the posts are queued
    assert entered.wait(WAIT), bot.log()
    assert mattermost.channel_posts(CHANNEL_ID) == []

    bot.terminate()
    assert bot.wait_draining().status_code == 503
    assert bot.proc.poll() is None  # still running: the posts are not out yet
    release.set()
    assert bot.exit_code() == 0, bot.log()
    posts = mattermost.channel_posts(CHANNEL_ID)
    assert posts[0]["message"].startswith("### ")  # the header, then the thread under it
    assert question_post(mattermost)["root_id"] == posts[0]["id"]


def test_a_platform_that_never_answers_cannot_hold_the_process_past_the_grace_period(
    launch: Any, mattermost: HoldingMattermost
) -> None:
    bot = launch("serve", SMC_SHUTDOWN_GRACE="PT1S", **mattermost_env(mattermost))
    bot.wait_ready()
    entered, release = mattermost.hold("POST", r"/api/v4/posts")
    try:
        assert command(bot, mattermost, "anna", "start").status_code == 200
        assert entered.wait(WAIT), bot.log()
        bot.terminate()
        assert bot.exit_code() == 0, bot.log()
        assert not release.is_set()  # exited while the platform still held the post
        assert "did not finish within" in bot.log() or "left unsent" in bot.log()
    finally:
        release.set()


# --- socket -----------------------------------------------------------------------------------


@pytest.fixture
def socket_server() -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as server:
        yield server


@pytest.fixture
def slack(socket_server: FakeSocketMode) -> Iterator[FakeSlackApi]:
    with FakeSlackApi(socket_mode_url=socket_server.url) as api:
        yield api
    assert api.violations == []
    assert api.mentions() == []


def socket_env(fake: FakeSlackApi) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_APP_TOKEN": "xapp-1-test", "SLACK_API_URL": fake.url}


def test_socket_mode_serves_health_checks_and_nothing_else(
    launch: Any, slack: FakeSlackApi, socket_server: FakeSocketMode
) -> None:
    # Even with a signing secret, socket mode serves no platform route.
    bot = launch("socket", SLACK_SIGNING_SECRET="x" * 24, **socket_env(slack))
    bot.wait_ready()
    socket_server.wait_connected(WAIT)
    assert bot.get("/healthz").status_code == 200
    assert requests.post(bot.url + "/slack/events", timeout=WAIT).status_code == 404
    bot.terminate()
    assert bot.exit_code() == 0, bot.log()


def test_socket_mode_sigterm_finishes_the_posts_of_an_acked_command(
    launch: Any, slack: FakeSlackApi, socket_server: FakeSocketMode
) -> None:
    bot = launch("socket", **socket_env(slack))
    bot.wait_ready()
    socket_server.wait_connected(WAIT)
    release = slack.hold("chat.postMessage")
    try:
        form = SlackSender("unused", "unused").command_body(
            SLACK_CHANNEL, "U0FAC0001", "start en", user_name="fae", trigger_id=slack.trigger_id()
        )
        envelope = socket_server.send("slash_commands", dict(parse_qsl(form, keep_blank_values=True)))
        socket_server.wait_ack(envelope, WAIT)
        slack.wait_for("chat.postMessage", timeout=WAIT)  # the header: recorded, its answer held

        bot.terminate()
        assert bot.wait_draining().status_code == 503
        assert bot.proc.poll() is None
    finally:
        release.set()
    assert bot.exit_code() == 0, bot.log()
    posted = slack.calls("chat.postMessage")
    assert len(posted) >= 2  # the header, then the question in its thread
    assert posted[-1].params.get("thread_ts") == posted[0].response["ts"]


# --- the App in process: background jobs --------------------------------------------------------


@dataclass
class RecordingJob:
    events: list[str]
    app: App | None = None

    def start(self) -> None:
        self.events.append("start")

    def stop(self, timeout: float) -> None:
        assert self.app is not None and self.app.web is None  # the web server drained first
        self.events.append(f"stop:{timeout > 0}")


def test_background_jobs_start_after_the_adapters_and_stop_before_the_store(redis_url: str) -> None:
    settings = load_settings({"REDIS_URL": redis_url, "PORT": "0", "HOST": "127.0.0.1"})
    app = App(settings, "serve")
    events: list[str] = []
    job = RecordingJob(events, app=app)
    app.register(job)
    app.start()
    try:
        assert events == ["start"]
        assert app.web is not None
        assert requests.get(app.web.url + "/readyz", timeout=WAIT).status_code == 200
        with pytest.raises(RuntimeError):
            app.register(RecordingJob([]))
        assert app.store is not None and app.store.ping()
    finally:
        assert app.stop(5) is True
    assert events == ["start", "stop:True"]


def _blocked_signals(native_id: int) -> set[int]:
    """The signals a thread of this process blocks (its ``SigBlk`` mask in /proc)."""
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    mask = int(re.search(r"^SigBlk:\s*([0-9a-f]+)$", status, re.M).group(1), 16)  # type: ignore[union-attr]
    return {n for n in range(1, 65) if mask >> (n - 1) & 1}


def test_every_thread_start_makes_leaves_sigint_and_sigterm_to_the_main_thread(redis_url: str) -> None:
    """A signal the kernel hands to another thread never wakes the main thread, which waits for it
    (in readline, in the console: Ctrl-C was lost so, now and then)."""
    settings = load_settings({"REDIS_URL": redis_url, "PORT": "0", "HOST": "127.0.0.1"})
    app = App(settings, "serve")
    app.register(RecordingJob([]))
    before = {t.native_id for t in threading.enumerate()}
    app.start()
    try:
        made = [t for t in threading.enumerate() if t.native_id not in before]
        assert len(made) >= 3, "the web server's threads and the reminder scheduler at least"
        for thread in made:
            assert thread.native_id is not None
            assert {signal.SIGINT, signal.SIGTERM} <= _blocked_signals(thread.native_id), thread.name
        assert threading.get_native_id() is not None
        assert not {signal.SIGINT, signal.SIGTERM} & _blocked_signals(threading.get_native_id())
    finally:
        assert app.stop(5) is True


def test_socket_mode_without_an_app_token_refuses_to_start(launch: Any, slack: FakeSlackApi) -> None:
    bot = launch("socket", SLACK_BOT_TOKEN="xoxb-test-token", SLACK_API_URL=slack.url)
    assert bot.exit_code() == 2
    assert "SLACK_APP_TOKEN" in bot.log()
