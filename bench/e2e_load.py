"""bench/e2e.py's load: requests on kept-alive connections (closed or open loop), the checks they click
on, and what is checked after (every answer recorded, every tally exact, the threads of serve)."""

from __future__ import annotations

import http.client
import json
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from e2e_procs import MM_SECRET, MM_TEAM, MM_TOKEN, QUESTION, SLACK_SECRET, TEAM, Proc

# --- load ----------------------------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict[str, str]
    # A Mattermost click: where the fake takes the bot's answer, to do what the server does with it
    # (apply its ``update`` to the post) once the answer is in, outside the measured time.
    answered: str = ""


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000 if ordered else float("nan")


def drive(url: str, requests: list[Request], clients: int, rate: float | None = None) -> Result:
    """Send ``requests`` from ``clients`` threads on kept-alive connections: as fast as answered
    (closed loop), or paced at ``rate`` per second overall (open loop: latency from the planned time)."""
    parts = urlsplit(url)
    result, lock = Result(), threading.Lock()
    server = ServerStandIn()
    start = time.perf_counter() + 0.05

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = requests[index::clients]
        for n, req in enumerate(mine):
            planned = start + (n * clients + index) / rate if rate else time.perf_counter()
            if rate:
                delay = planned - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            try:
                conn.request("POST", req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                answer = response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                ok = False
            took = time.perf_counter() - planned
            if ok and req.answered and b'"update"' in answer:
                server.answered(req, answer)
            with lock:
                if ok:
                    result.latencies.append(took)
                else:
                    result.errors += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - start
    server.close()  # every answer applied before the caller looks at the posts
    return result


class ServerStandIn:
    """What the Mattermost server does with the bot's answer to a click before it answers the user:
    the answer goes to the fake (``/_fake/integration-response/<post>``), which applies its update.

    On a thread of its own, in the order the answers came: done in the client's thread, it held up
    that client's next click, and a paced run counted the wait in that click's latency."""

    def __init__(self) -> None:
        self._answers: queue.SimpleQueue[tuple[Request, bytes] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def answered(self, req: Request, answer: bytes) -> None:
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, args=(req.answered,), daemon=True)
                self._thread.start()
        self._answers.put((req, answer))

    def _run(self, url: str) -> None:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while (item := self._answers.get()) is not None:
            req, answer = item
            body = json.dumps({"user_id": json.loads(req.body)["user_id"], "response": json.loads(answer)})
            path = urlsplit(req.answered).path
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            conn.getresponse().read()
        conn.close()

    def close(self) -> None:
        if self._thread is not None:
            self._answers.put(None)
            self._thread.join()


# --- the checks the load clicks on ----------------------------------------------------------------------


class World:
    """Checks started for real through ``serve`` (their messages exist in the fakes), and many more
    written straight into the store, each with a real question post in the fake Mattermost."""

    def __init__(self, redis_url: str, fakes: dict[str, str], serve: Proc) -> None:
        from bot.store.store import Store

        self.store = Store.from_url(redis_url, prefix="smc", session_ttl=3600)
        self.fakes, self.serve = fakes, serve
        self._n = 0

    def unique(self) -> int:
        self._n += 1
        return self._n

    # Slack: the bot's own slash command, then the button its question message shows
    def slack_checks(self, count: int) -> list[tuple[str, str, str]]:
        sender = self.slack_sender()
        out = []
        for _ in range(count):
            channel = f"CB{uuid.uuid4().hex[:8].upper()}"
            assert sender.slash(channel, "UFAC", "start").status == 200
            out.append(channel)
        return [self._question_ref("slack", TEAM, c) for c in out]

    def _question_ref(self, platform: str, team: str, channel: str) -> tuple[str, str, str]:
        """The channel's running check and its first question's message, once the outbox posted it."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = self.store.load_running(f"{platform}:{team}:{channel}")
            ref = self.store.get_ref(record.id, f"q:{QUESTION}") if record else None
            if record and ref:
                return channel, record.id, ref
            time.sleep(0.01)  # the outbox posts in the background: wait for its ref
        raise SystemExit(f"no question posted in {channel}")

    def slack_sender(self) -> Any:
        from tests.fakes.slack_signing import SlackSender

        return SlackSender(
            self.serve.url + "/slack/events",
            SLACK_SECRET,
            team_id=TEAM,
            trigger_id=lambda: f"{self.unique()}.{uuid.uuid4().hex[:10]}",
            hooks_url=self.fakes["slack"] + "/hooks",
        )

    def slack_click(self, sender: Any, check: tuple[str, str, str], user: str, option: int) -> Request:
        from bot.adapters.slack import blocks as sb

        channel, sid, ts = check
        element = {
            "action_id": f"{sb.ANSWER}:{option}",
            "type": "button",
            "block_id": f"q:{QUESTION}",
            "text": {"type": "plain_text", "text": str(option)},
            "value": sb.Ref(sid, QUESTION, option).encode(),
        }
        payload = sender.block_actions_payload(channel, user, ts, element, thread_ts=ts)
        prepared = sender.prepare(sender.payload_body(payload))
        return Request("/slack/events", prepared.body, dict(prepared.headers))

    # Mattermost: the slash command for the sustained checks; the store and a real post for the crowd
    def mm_checks(self, count: int) -> list[tuple[str, str, str]]:
        out = []
        parts = urlsplit(self.serve.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        for _ in range(count):
            channel = f"mb{uuid.uuid4().hex[:10]}"
            form = {
                "channel_id": channel,
                "team_id": MM_TEAM,
                "user_id": "facil",
                "user_name": "Facil",
                "text": "start",
                "token": MM_TOKEN,
                "trigger_id": f"t{self.unique()}",
            }
            conn.request(
                "POST",
                "/mattermost/command",
                body=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert conn.getresponse().read() is not None
            out.append(channel)
        conn.close()
        return [self._question_ref("mattermost", MM_TEAM, c) for c in out]

    def mm_crowd(self, count: int) -> list[tuple[str, str, str]]:
        """``count`` running checks written into the store at their first question, each with a post."""
        from bot.core.dialogue.load import load_dialogue
        from bot.core.session import RUNNING, SessionMeta, SessionRecord

        load_dialogue()
        parts = urlsplit(self.fakes["mm"])

        def one(_: int) -> tuple[str, str, str]:
            channel, sid, now = f"mc{uuid.uuid4().hex[:10]}", uuid.uuid4().hex[:12], time.time()
            meta = SessionMeta(
                id=sid,
                channel=f"mattermost:{MM_TEAM}:{channel}",
                dialogue="socialmedia-check",
                language="en",
                facilitator="facil",
                facilitator_name="Facil",
                state=QUESTION,
                path=[QUESTION],
                status=RUNNING,
                created_at=now,
                updated_at=now,
            )
            assert self.store.create(SessionRecord(meta=meta)).ok
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            conn.request(
                "POST",
                "/api/v4/posts",
                body=json.dumps({"channel_id": channel, "message": "q"}),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.fakes['mm_token']}"},
            )
            post = json.loads(conn.getresponse().read())
            conn.close()
            for name, value in (("channel", meta.channel), (f"q:{QUESTION}", post["id"]), ("header", post["id"])):
                self.store.set_ref(sid, name, value)
            return channel, sid, str(post["id"])

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(count)))

    def mm_click(self, check: tuple[str, str, str], user: str, option: int) -> Request:
        from bot.adapters.mattermost.signing import ContextSigner

        channel, sid, post = check
        context = ContextSigner(MM_SECRET).sign(c=channel, t=MM_TEAM, a="answer", o=option, s=sid, q=QUESTION)
        body = {
            "user_id": user,
            "user_name": user,
            "channel_id": channel,
            "team_id": MM_TEAM,
            "post_id": post,
            "trigger_id": f"t{self.unique()}",
            "type": "button",
            "context": context,
        }
        answered = f"{self.fakes['mm']}/_fake/integration-response/{post}"
        return Request("/mattermost/actions", json.dumps(body).encode(), {"Content-Type": "application/json"}, answered)

    def respondents(self, sid: str) -> set[str]:
        record = self.store.load(sid)
        return set(record.answers_to(QUESTION)) if record else set()


def clicks(
    make: Callable[[tuple[str, str, str], str, int], Request],
    checks: list[tuple[str, str, str]],
    users: int,
    count: int,
    tag: str,
) -> tuple[list[Request], dict[str, set[str]]]:
    """``count`` clicks spread over ``checks`` by ``users`` people (changing answers as they go)."""
    out, who = [], {c[1]: set() for c in checks}
    for i in range(count):
        check = checks[i % len(checks)]
        user = f"{tag}{(i // len(checks)) % users}"
        out.append(make(check, user, 1 + (i // (len(checks) * users)) % 3))
        who[check[1]].add(user)
    return out, who


class ThreadSampler:
    """The most threads the serve process had while a phase ran (sampled every 50 ms)."""

    def __init__(self, proc: Proc) -> None:
        self.peak = proc.threads()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(proc,), daemon=True)
        self._thread.start()

    def _run(self, proc: Proc) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, proc.threads())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_answers(world: World, who: dict[str, set[str]], timeout: float = 120) -> float:
    """When Redis holds every expected respondent (Slack records after the ack)."""
    deadline = time.monotonic() + timeout
    pending = dict(who)
    while pending and time.monotonic() < deadline:
        pending = {sid: users for sid, users in pending.items() if not users <= world.respondents(sid)}
        if pending:
            time.sleep(0.02)
    if pending:
        raise SystemExit(f"answers never recorded in {len(pending)} checks")
    return time.perf_counter()


def check_tallies(
    world: World,
    fakes: subprocess.Popen[str],
    slack_who: dict[str, set[str]],
    slack_checks: list,
    mm_who: dict[str, set[str]],
    mm_checks: list,
) -> str:
    assert fakes.stdin is not None and fakes.stdout is not None
    problems = []
    for who, checks, prefix in ((slack_who, slack_checks, "CB"), (mm_who, mm_checks, "mb")):
        fakes.stdin.write(f"dump {prefix}\n")
        fakes.stdin.flush()
        texts = json.loads(fakes.stdout.readline())
        for channel, sid, ref in checks:
            stored = world.respondents(sid)
            if stored != who[sid]:  # exactly the people who clicked, none lost, none extra
                problems.append(f"{sid}: Redis has {len(stored)}, clicked {len(who[sid])}")
            shown = texts.get(f"{channel}|{ref}", texts.get(ref, ""))
            if f"{len(who[sid])} answered" not in shown:  # the last edit shows the final count
                problems.append(f"{sid}: its message does not show {len(who[sid])} answered")
    return "all exact" if not problems else "; ".join(problems[:5])
