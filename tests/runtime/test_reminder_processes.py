"""Reminders exactly once across REAL processes: ``socialmedia-check worker`` (and ``serve``) against
the fake Mattermost and the session's redis-server, with real seconds.

Each worker runs only the reminder scheduler for Mattermost (and /healthz, /readyz on a port of its
own choosing: PORT=0). The tests schedule due reminders straight into the store, let the workers
race for them, and count what reached the fake: every reminder's post carries its id in its buttons
(``start:<id>``), so a post twice, or never, is seen by id and channel. A post is held in flight by
making the fake wait on an event; the platform fails by answering 503 until the test says it is
back. Every wait is on a condition (the fake's records, Redis, the log) with a timeout; no sleep
synchronises anything, and nothing asserts a duration.
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
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from bot.core.reminders import Kind, Reminder, State, reminder_id
from bot.core.session import FINISHED
from bot.store.store import Store
from tests.conftest import make_record
from tests.fakes.mattermost_api import FakeMattermost

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("socialmedia-check")  # the installed entry point in .venv/bin
WAIT = 30.0  # only ever a bound on waiting for an outcome
TEAM = "team1"
COMMAND_TOKEN = "cmdtokenteamone"
SECRET = "test-secret-for-mattermost-0123456789"
PUBLIC_URL = "https://bot.example.test"  # where buttons would call back; nothing calls it here
LEASE = 2.0  # SMC_REMINDER_LEASE of the workers: a dead claimant's reminder is free again after this
_OWN_ENV = re.compile(r"^(SMC_|SLACK_|MATTERMOST_|REDIS_URL$|PORT$|HOST$)")
_LISTENING = re.compile(r"listening on http://[^\s:]+:(\d+)")
_POSTED = re.compile(r"reminders: posted \w+ ([0-9a-f]{8}) in (\S+)")


# --- the fake: posts can be held in flight, and the platform can be down --------------------------


class Mattermost(FakeMattermost):
    """The fake Mattermost with two switches of its own.

    :meth:`hold_next_post` makes the next ``POST /api/v4/posts`` wait, unanswered, until the test
    releases it; a released hold is dropped without creating the post (the process that sent it was
    killed: nobody waits for the answer, and this server never completed the request).
    :meth:`down` answers every ``POST /api/v4/posts`` with 503 until :meth:`up`; ``failed`` counts them.
    """

    def __init__(self) -> None:
        super().__init__()
        self._hold: tuple[threading.Event, threading.Event] | None = None
        self._down = False
        self.failed = 0
        self.held_bodies: list[bytes] = []

    def hold_next_post(self) -> tuple[threading.Event, threading.Event]:
        """(arrived, release): ``arrived`` is set once the post is in flight."""
        arrived, release = threading.Event(), threading.Event()
        self._hold = (arrived, release)
        return arrived, release

    def down(self) -> None:
        self._down = True

    def up(self) -> None:
        self._down = False

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "POST" and urlsplit(raw_path).path == "/api/v4/posts":
            hold, self._hold = self._hold, None
            if hold is not None:
                self.held_bodies.append(raw)
                hold[0].set()
                hold[1].wait(WAIT * 2)
                return self._error(503, "fake.held", "dropped: the client went away")
            if self._down:
                with self._cond:
                    self.failed += 1
                    self._cond.notify_all()
                return self._error(503, "fake.down", "Mattermost is down")
        return super()._handle(method, raw_path, headers, raw)


def reminder_ids_posted(fake: FakeMattermost) -> list[tuple[str, str]]:
    """(reminder id, channel id) of every reminder post the fake created, from its buttons."""
    with fake._cond:
        posts = list(fake.posts.values())
    found = []
    for post in posts:
        for attachment in (post.get("props") or {}).get("attachments") or []:
            for action in attachment.get("actions") or []:
                value = action["integration"]["context"].get("v", "")
                if value.startswith("start:"):
                    found.append((value.partition(":")[2], post["channel_id"]))
    return found


# --- the processes ----------------------------------------------------------------------------------


@dataclass
class Proc:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def posted(self) -> list[str]:
        """The reminder ids this process reported posted, as its log says."""
        return [m.group(1) for m in _POSTED.finditer(self.log())]

    def wait_ready(self) -> None:
        """Until /readyz answers 200 on the port the process chose (it logs it)."""
        deadline = time.monotonic() + WAIT
        port: int | None = None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the process exited with {self.proc.returncode}:\n{self.log()}"
            if port is None and (found := _LISTENING.search(self.log())):
                port = int(found.group(1))
            if port is not None:
                with contextlib.suppress(requests.ConnectionError):
                    if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=WAIT).status_code == 200:
                        return
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(0.05)
        raise AssertionError(f"the process never became ready:\n{self.log()}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)


@dataclass
class Env:
    store: Store
    fake: Mattermost
    launch: Callable[..., Proc]


@pytest.fixture
def env(redis_url: str, tmp_path: Path) -> Iterator[Env]:
    prefix = f"rp{uuid.uuid4().hex[:10]}"
    store = Store.from_url(redis_url, prefix=prefix, session_ttl=3600)
    store.preload_scripts()
    started: list[Proc] = []
    with Mattermost() as fake:

        def launch(mode: str = "worker", **extra: str) -> Proc:
            values = {k: v for k, v in os.environ.items() if not _OWN_ENV.match(k)}
            values.update(
                REDIS_URL=redis_url,
                SMC_REDIS_PREFIX=prefix,
                PORT="0",  # the process binds a free port itself and logs it
                HOST="127.0.0.1",
                SMC_LOG_LEVEL="INFO",
                PYTHONUNBUFFERED="1",
                SMC_REMINDER_POLL="0.05",
                SMC_REMINDER_LEASE=str(LEASE),
                MATTERMOST_URL=fake.url,
                MATTERMOST_BOT_TOKEN=fake.token,
                MATTERMOST_COMMAND_TOKEN=COMMAND_TOKEN,
                SMC_SECRET=SECRET,
                SMC_PUBLIC_URL=PUBLIC_URL,
            )
            values.update(extra)
            log_path = tmp_path / f"{mode}-{len(started)}.log"
            command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "bot.cli"]
            with log_path.open("wb") as out:
                proc = subprocess.Popen([*command, mode], env=values, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
            started.append(Proc(proc, log_path))
            return started[-1]

        try:
            yield Env(store, fake, launch)
        finally:
            for p in started:
                if p.proc.poll() is None:
                    p.proc.terminate()
            for p in started:
                try:
                    p.proc.wait(WAIT)
                except subprocess.TimeoutExpired:
                    p.proc.kill()
                    p.proc.wait(WAIT)
            store.close()
        assert fake.violations == [], fake.violations[:5]


def finished_check(store: Store, channel: str = "mattermost:team1:home") -> str:
    """A finished check (decided "not now") the reminders belong to; its session id."""
    record = make_record(channel=channel, state="q1")
    assert store.create(record).ok
    now = time.time()
    meta = replace(record.meta, status=FINISHED, decision="not_now", revisit="2027-06-01", finished_at=now)
    assert store.save_meta(replace(record, meta=meta), record.version).ok
    return record.id


def revisits(session_id: str, count: int, due: float, first: int = 0) -> list[Reminder]:
    """``count`` revisit reminders of one check, one per channel (channel id ``c<n>``)."""
    return [
        Reminder(f"{n:08x}", Kind.REVISIT, f"mattermost:{TEAM}:c{n}", session_id, due)
        for n in range(first, first + count)
    ]


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``condition`` (reads of the fake or of Redis) until it is truthy."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # a polling interval, not a synchronisation
    return result


# --- exactly once -------------------------------------------------------------------------------------


def test_three_workers_post_a_thousand_due_reminders_exactly_once(env: Env) -> None:
    workers = [env.launch() for _ in range(3)]
    for worker in workers:
        worker.wait_ready()
    sid = finished_check(env.store)
    planned = revisits(sid, 1000, due=time.time() - 1)
    assert env.store.reminders.schedule(planned) == 1000  # all due at once: the three race for them

    wait_until(lambda: len(env.fake.posts) >= 1000, "1,000 posts")
    wait_until(
        lambda: all(env.store.reminders.get(r.id).state is State.POSTED for r in planned),  # type: ignore[union-attr]
        "every reminder reported posted",
    )
    posted = reminder_ids_posted(env.fake)
    assert len(posted) == 1000 and len(env.fake.posts) == 1000
    assert Counter(posted) == Counter((r.id, f"c{int(r.id, 16)}") for r in planned), "each once, in its channel"
    by_worker = [set(w.posted()) for w in workers]
    assert sum(len(ids) for ids in by_worker) == 1000, "every post reported by exactly one process"
    assert set().union(*by_worker) == {r.id for r in planned}
    assert sum(1 for ids in by_worker if ids) >= 2, "the processes really shared the work"
    assert env.store.reminders.pending("mattermost") == 0
