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
import json
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

    :meth:`hold_next_post` makes the next ``POST /api/v4/posts`` (whose body contains ``containing``)
    wait, unanswered, until the test releases it. A released hold is dropped without creating the
    post (the process that sent it was killed: nobody waits for the answer, and this server never
    completed the request), or with ``drop=False`` handled as usual (a slow answer).
    :meth:`down` answers every post and file upload (``POST /api/v4/posts``, ``/api/v4/files``) with
    503 until :meth:`up` (from the next upload on, with ``at_next_upload``); ``failed`` counts them.
    """

    def __init__(self) -> None:
        super().__init__()
        self._hold: tuple[threading.Event, threading.Event, bytes, bool] | None = None
        self._down = False
        self._down_at_upload = False
        self.failed = 0
        self.held_bodies: list[bytes] = []

    def hold_next_post(self, containing: bytes = b"", drop: bool = True) -> tuple[threading.Event, threading.Event]:
        """(arrived, release): ``arrived`` is set once the post is in flight."""
        arrived, release = threading.Event(), threading.Event()
        self._hold = (arrived, release, containing, drop)
        return arrived, release

    def down(self, at_next_upload: bool = False) -> None:
        with self._cond:
            self._down, self._down_at_upload = not at_next_upload, at_next_upload

    def up(self) -> None:
        self._down = False

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        if method == "POST" and path in ("/api/v4/posts", "/api/v4/files"):
            with self._cond:
                if path == "/api/v4/files" and self._down_at_upload:
                    self._down, self._down_at_upload = True, False
                hold = self._hold if path == "/api/v4/posts" and self._hold and self._hold[2] in raw else None
                if hold is not None:
                    self._hold = None
                    self.held_bodies.append(raw)
                down = self._down and hold is None
                if down:
                    self.failed += 1
                    self._cond.notify_all()
            if hold is not None:
                hold[0].set()
                hold[1].wait(WAIT * 2)
                if hold[3]:
                    return self._error(503, "fake.held", "dropped: the client went away")
            elif down:
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


def test_a_claimant_killed_mid_post_is_replaced_after_its_lease_and_the_reminder_posted_once(env: Env) -> None:
    first = env.launch()
    first.wait_ready()
    arrived, release = env.fake.hold_next_post()
    sid = finished_check(env.store)
    [reminder] = revisits(sid, 1, due=time.time() - 1)
    env.store.reminders.schedule([reminder])
    assert arrived.wait(WAIT), "the first worker's post never reached the fake"
    claimed_by_first = env.store.reminders.get(reminder.id)
    assert claimed_by_first is not None and claimed_by_first.state is State.CLAIMED and claimed_by_first.attempts == 1
    claimed_at = time.time()  # the claim was made before now: its own lease ends before claimed_at + LEASE

    second = env.launch()
    second.wait_ready()
    # While the claimant lives it renews its lease: the second worker polls all along and does not
    # take the reminder, well past the end of the first lease.
    wait_until(lambda: time.time() > claimed_at + 1.5 * LEASE, "the first lease and half another, in real time")
    still = env.store.reminders.get(reminder.id)
    assert still is not None and (still.state, still.attempts) == (State.CLAIMED, 1)
    assert still.token == claimed_by_first.token, "still the first claimant's"
    assert not env.fake.posts, "nobody posted while the claimant was alive and its post in flight"

    first.kill()  # SIGKILL while its post is in flight: it never reports anything
    wait_until(lambda: env.fake.posts, "the post by the second worker")
    release.set()  # the killed process's request: dropped, never completed (see Mattermost)
    wait_until(lambda: env.store.reminders.get(reminder.id).state is State.POSTED, "posted")  # type: ignore[union-attr]

    assert reminder_ids_posted(env.fake) == [(reminder.id, "c0")], "posted exactly once"
    [held] = env.fake.held_bodies  # the killed process's attempt was this reminder's post
    assert json.loads(held)["channel_id"] == "c0"
    assert len(env.fake.calls_to("POST", "/api/v4/posts")) == 1, "the fake never completed the killed one's"
    after = env.store.reminders.get(reminder.id)
    assert after is not None and after.attempts == 2, "the dead claim counts as an attempt"
    assert second.posted() == [reminder.id] and first.posted() == []


def test_a_failing_platform_that_recovers_gets_each_reminder_once(env: Env) -> None:
    workers = [env.launch(SMC_REMINDER_BACKOFF="0.2") for _ in range(2)]
    for worker in workers:
        worker.wait_ready()
    env.fake.down()  # every POST /api/v4/posts answers 503 until up()
    sid = finished_check(env.store)
    planned = revisits(sid, 3, due=time.time() - 1)
    env.store.reminders.schedule(planned)

    def retries_scheduled() -> bool:
        # the outbox's inline retries are spent and the scheduler has put each one back with back-off
        found = [env.store.reminders.get(r.id) for r in planned]
        return all(r is not None and r.attempts >= 1 and "503" in r.error for r in found)

    wait_until(retries_scheduled, "a failed attempt of each, recorded for a retry")
    failures = env.fake.failed
    assert failures >= 5 * len(planned), "each post was tried and refused several times inline"
    env.fake.up()
    wait_until(
        lambda: all(env.store.reminders.get(r.id).state is State.POSTED for r in planned),  # type: ignore[union-attr]
        "every reminder posted after the recovery",
    )
    assert sorted(reminder_ids_posted(env.fake)) == [(r.id, f"c{n}") for n, r in enumerate(planned)]
    assert len(env.fake.posts) == len(planned), "none twice"
    assert sorted(i for w in workers for i in w.posted()) == sorted(r.id for r in planned)
    assert all(env.store.reminders.get(r.id).attempts >= 2 for r in planned)  # type: ignore[union-attr]


def test_reminders_that_fell_due_while_nothing_ran_are_posted_at_start_the_old_one_marked_late(env: Env) -> None:
    sid = finished_check(env.store)
    now = time.time()
    late = Reminder("0000aaaa", Kind.REVISIT, f"mattermost:{TEAM}:late", sid, now - 3 * 86400)
    fresh = Reminder("0000bbbb", Kind.REVISIT, f"mattermost:{TEAM}:fresh", sid, now - 1)
    env.store.reminders.schedule([late, fresh])  # no process is running

    worker = env.launch()
    wait_until(lambda: len(env.fake.posts) >= 2, "both posted once a worker runs")
    worker.wait_ready()
    [late_post] = env.fake.channel_posts("late")
    [fresh_post] = env.fake.channel_posts("fresh")
    day = time.gmtime(late.due)  # SMC_TIMEZONE is UTC
    assert f"This was due on {time.strftime('%B', day)} {day.tm_mday}, {day.tm_year}" in late_post["message"]
    assert "was due on" not in fresh_post["message"], "a minute late or less is on time"
    assert sorted(reminder_ids_posted(env.fake)) == [(late.id, "late"), (fresh.id, "fresh")]


# --- the summary outbox, through a real serve process ------------------------------------------------


def slash(url: str, fake: FakeMattermost, channel_id: str, text: str, user: str = "anna") -> None:
    form = {
        "channel_id": channel_id,
        "command": "/socialmedia-check",
        "team_id": TEAM,
        "text": text,
        "token": COMMAND_TOKEN,
        "trigger_id": fake.new_trigger_id(user),
        "user_id": user,
        "user_name": user.capitalize(),
    }
    reply = requests.post(
        url + "/mattermost/command",
        data=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=WAIT,
    )
    assert reply.status_code == 200, reply.text


def serve_to_last_question(env: Env, channel_id: str) -> tuple[Proc, str]:
    """A real ``serve`` process (summary grace 1 s) and a check in ``channel_id`` that the facilitator
    moved to its last question, whose card is posted (so nothing of the check is still queued)."""
    from bot.core.dialogue.load import load_dialogue

    dialogue = load_dialogue()
    bot = env.launch("serve", SMC_SUMMARY_GRACE="1", SMC_REMINDER_BACKOFF="0.2")
    bot.wait_ready()
    url = f"http://127.0.0.1:{_LISTENING.search(bot.log()).group(1)}"  # type: ignore[union-attr]
    channel = f"mattermost:{TEAM}:{channel_id}"
    slash(url, env.fake, channel_id, "start")
    for _ in range(80):
        record = wait_until(lambda: env.store.load_running(channel), "the running check")
        if record.meta.state == LAST_QUESTION:
            break
        question = dialogue.question(record.meta.state)
        slash(url, env.fake, channel_id, "decide not-now" if question.is_decision else "next")
    else:
        raise AssertionError("the check never reached its last question")
    wait_until(lambda: env.store.get_ref(record.id, f"q:{LAST_QUESTION}"), "the last question's card posted")
    return bot, url


LAST_QUESTION = "reconsider"  # of a "not now" check


def summaries_in(fake: FakeMattermost, channel_id: str) -> list[dict[str, Any]]:
    """The summary's first post (its heading) in the channel itself."""
    return [p for p in fake.channel_posts(channel_id, root_only=True) if p["message"].startswith("#### ")]


def stopped(bot: Proc) -> str:
    """SIGTERM: the process drains (queued posts go out) and exits 0; its log."""
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.wait(WAIT) == 0, bot.log()
    return bot.log()


def test_a_summary_that_could_not_go_out_is_posted_once_when_mattermost_is_back(env: Env) -> None:
    bot, url = serve_to_last_question(env, "down")
    # The check ends; Mattermost goes down as its summary goes out (from the chart's upload on, so
    # the thread's closing notices are through first: the test need not wait out their retries).
    env.fake.down(at_next_upload=True)
    slash(url, env.fake, "down", "next")
    [finished] = wait_until(lambda: env.store.history("mattermost:team1:down", limit=1), "the finished check")
    job = reminder_id(Kind.SUMMARY, finished.id)
    # The inline post has failed for good once the facilitator is told so, privately.
    env.fake.wait_for(lambda f: any(p["user_id_target"] == "anna" for p in f.ephemeral_posts), WAIT)
    assert summaries_in(env.fake, "down") == [] and env.fake.failed >= 5
    entry = env.store.reminders.get(job)
    assert entry is not None and entry.state in (State.SCHEDULED, State.CLAIMED), "the summary is still owed"

    env.fake.up()
    wait_until(lambda: env.store.reminders.get(job).state is State.DONE, "the outbox entry done")  # type: ignore[union-attr]
    log = stopped(bot)  # whatever was still queued has gone out now
    assert len(summaries_in(env.fake, "down")) == 1, "posted once, when Mattermost was back"
    assert f"reminders: posted summary {job}" in log, "by the outbox entry"


def test_a_summary_still_in_flight_when_its_entry_comes_due_is_posted_once(env: Env) -> None:
    bot, url = serve_to_last_question(env, "slow")
    arrived, release = env.fake.hold_next_post(containing=b"#### ", drop=False)
    slash(url, env.fake, "slow", "next")  # the check ends; its summary's post hangs
    assert arrived.wait(WAIT), "the summary post never came"
    [finished] = wait_until(lambda: env.store.history("mattermost:team1:slow", limit=1), "the finished check")
    job = reminder_id(Kind.SUMMARY, finished.id)
    # The grace (1 s) passes while the inline post hangs: the scheduler claims the entry and queues
    # the summary behind the inline post in the channel.
    wait_until(lambda: env.store.reminders.get(job).state is State.CLAIMED, "the entry claimed")  # type: ignore[union-attr]
    release.set()  # the inline post goes through and settles the entry
    wait_until(lambda: env.store.reminders.get(job).state is State.DONE, "the outbox entry done")  # type: ignore[union-attr]
    log = stopped(bot)
    assert len(summaries_in(env.fake, "slow")) == 1, "the queued copy was dropped, not posted"
    assert f"{job} was settled or taken over while it waited; not posted" in log
